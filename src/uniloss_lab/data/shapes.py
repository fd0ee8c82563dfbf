"""A synthetic segmentation set: filled discs, squares and triangles among clutter, deterministic from a seed."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

from uniloss.core.checks import check_nonnegative_int, check_positive_int

_CHUNK = 256  # parameters are drawn per chunk of 256 samples, so sample i does not depend on num_samples
_RENDER_BATCH = 64
_TARGETS = 4  # object slots per image: up to 4 labelled shapes and up to 3 distractors
_DISTRACTORS = 3
_SLOTS = _TARGETS + _DISTRACTORS
CLASS_NAMES = ("background", "disc", "square", "triangle")
_RING, _BAR = 3, 4  # distractor kinds, labelled background
# Normals of an equilateral triangle's edges; its circumradius is 1.3 r and its inradius half of that.
_TRIANGLE = np.array([[np.cos(a), np.sin(a)] for a in np.pi / 2 + 2 * np.pi * np.arange(3) / 3], dtype=np.float32)


def _inside(kind: int, u: np.ndarray, v: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Pixels inside a shape of `kind` at offsets ``(u, v)`` in the shape's own frame, size ``r`` ``(n, 1)``."""
    if kind == 0:  # disc of radius r
        return u * u + v * v <= r * r
    if kind == 1:  # square of side 1.6 r
        return np.maximum(np.abs(u), np.abs(v)) <= 0.8 * r
    if kind == 2:  # equilateral triangle
        distances = u[..., None] * _TRIANGLE[:, 0] + v[..., None] * _TRIANGLE[:, 1]  # along each edge's normal
        return np.asarray((distances <= 0.65 * r[..., None]).all(-1))
    if kind == _RING:  # annulus: a disc's outline without its inside
        rho2 = u * u + v * v
        return (rho2 <= r * r) & (rho2 >= (0.55 * r) ** 2)
    return (np.abs(u) <= r) & (np.abs(v) <= 0.22 * r)  # bar


def _render(params: dict[str, np.ndarray], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Paint the slots in depth order over the background: images ``(B, C, S*S)`` and masks ``(B, S*S)``."""
    ys, xs = np.divmod(np.arange(size * size, dtype=np.float32), size)
    kind, active, colour = params["kind"], params["active"], params["colour"]
    dx = xs - params["centre"][..., 0:1]  # (B, K, P)
    dy = ys - params["centre"][..., 1:2]
    cos, sin = np.cos(params["angle"])[..., None], np.sin(params["angle"])[..., None]
    u, v = cos * dx + sin * dy, cos * dy - sin * dx
    inside = np.zeros(dx.shape, dtype=bool)
    radius = params["radius"][..., None]
    for k in range(5):
        chosen = (kind == k) & active
        if chosen.any():
            inside[chosen] = _inside(k, u[chosen], v[chosen], radius[chosen])
    label = np.where(kind < _RING, kind + 1, 0)
    images, masks = params["background"].copy(), np.zeros((kind.shape[0], size * size), dtype=np.int64)
    rows = np.arange(kind.shape[0])
    for depth in range(_SLOTS):
        slot = params["order"][:, depth]
        painted = inside[rows, slot]  # (B, P)
        images = np.where(painted[:, None], colour[rows, slot][..., None], images)
        masks = np.where(painted, label[rows, slot][:, None], masks)
    return images, masks


def _chunk(seed: int, chunk: int, size: int, count: int, classes: int, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Generate the first `count` of the 256 samples of one chunk: images ``(B, C, S, S)`` and masks ``(B, S, S)``."""
    rng = np.random.default_rng([seed, chunk])
    n = _CHUNK
    n_targets = rng.integers(1, _TARGETS + 1, n)
    n_distractors = rng.integers(1, _DISTRACTORS + 1, n)
    slot = np.arange(_SLOTS)
    active = np.where(slot < _TARGETS, slot < n_targets[:, None], slot - _TARGETS < n_distractors[:, None])
    kind = np.concatenate(
        [rng.integers(0, classes - 1, (n, _TARGETS)), rng.integers(_RING, _BAR + 1, (n, _DISTRACTORS))], axis=1
    )
    centre = rng.uniform(0.1, 0.9, (n, _SLOTS, 2)) * (size - 1)
    radius = np.maximum(rng.uniform(0.08, 0.2, (n, _SLOTS)) * size, 2.0)
    angle = rng.uniform(0.0, 2 * np.pi, (n, _SLOTS))
    order = rng.random((n, _SLOTS)).argsort(axis=1)  # painting order: later slots hide earlier ones
    level = rng.uniform(0.2, 0.8, (n, channels))
    # Every object is brighter or darker than the background at random, per channel: no intensity separates classes.
    contrast = rng.choice([-1.0, 1.0], (n, _SLOTS, channels)) * rng.uniform(0.2, 0.45, (n, _SLOTS, channels))
    colour = np.clip(level[:, None] + contrast, 0.0, 1.0)
    slope = rng.uniform(-0.15, 0.15, (n, 2))  # a linear shading across the image
    amplitude = rng.uniform(0.0, 0.08, n)  # and a sinusoidal texture of period 5 to 12 pixels
    frequency = 2 * np.pi / rng.uniform(5.0, 12.0, n)
    direction = rng.uniform(0.0, 2 * np.pi, n)
    phase = rng.uniform(0.0, 2 * np.pi, n)
    sigma = rng.uniform(0.02, 0.08, n)
    ys, xs = np.divmod(np.arange(size * size, dtype=np.float64), size)
    part = slice(0, count)
    shading = slope[part, 0:1] * (xs / size - 0.5) + slope[part, 1:2] * (ys / size - 0.5)
    wave = np.cos(direction[part, None]) * xs + np.sin(direction[part, None]) * ys
    texture = amplitude[part, None] * np.sin(frequency[part, None] * wave + phase[part, None])
    background = (level[part, :, None] + (shading + texture)[:, None]).astype(np.float32)
    params = {
        "kind": kind[part], "active": active[part], "centre": centre[part].astype(np.float32),
        "radius": radius[part].astype(np.float32), "angle": angle[part].astype(np.float32), "order": order[part],
        "colour": colour[part].astype(np.float32), "background": background,
    }  # fmt: skip
    noise = rng.standard_normal((count, channels, size * size), dtype=np.float32)  # last draw: a prefix of 256
    images = np.empty((count, channels, size * size), dtype=np.float32)
    masks = np.empty((count, size * size), dtype=np.int64)
    for start in range(0, count, _RENDER_BATCH):
        batch = slice(start, start + _RENDER_BATCH)
        images[batch], masks[batch] = _render({key: value[batch] for key, value in params.items()}, size)
    # A 3x3 binomial blur softens the edges, then per-image Gaussian noise.
    blur = torch.tensor([1.0, 2.0, 1.0]) / 4
    kernel = (blur[:, None] * blur[None, :]).expand(channels, 1, 3, 3)
    clean = torch.from_numpy(images).view(count, channels, size, size)
    blurred = F.conv2d(F.pad(clean, (1, 1, 1, 1), mode="replicate"), kernel, groups=channels).numpy()
    noisy = blurred + sigma[part, None, None, None].astype(np.float32) * noise.reshape(blurred.shape)
    return np.clip(noisy, 0.0, 1.0), masks.reshape(count, size, size)


class SyntheticShapes(TensorDataset):
    """Filled discs, squares and triangles among rings, bars, shading, texture and noise, with per-pixel classes.

    Formally, each sample draws 1-4 labelled shapes (disc, square of side 1.6 r, equilateral triangle of
    circumradius 1.3 r; the first ``num_classes - 1`` kinds) and 1-3 distractors labelled background (a ring,
    the outline of a disc between 0.55 r and r, and a bar 2 r x 0.44 r), each of size ``r`` in ``[0.08, 0.2] x
    image_size`` (at least 2 pixels), at a random position and rotation, painted in a random depth order (a
    later shape hides an earlier one, in the image and the mask). The background is a random level in
    ``[0.2, 0.8]`` with a linear shading and a sinusoidal texture; each object is brighter or darker than the
    background by 0.2-0.45 at random, per channel, so intensity alone cannot tell a shape from the background
    or one class from another. The image is blurred by a 3x3 binomial kernel, then gets Gaussian noise of
    standard deviation 0.02-0.08 and is clipped to ``[0, 1]``. The mask holds the class of each pixel's centre.
    Sample ``i`` depends only on ``seed`` and ``i``.

    Args:
        num_samples: number of samples ``N``.
        image_size: image side ``S``, at least 16.
        num_classes: classes including the background, 2-4: background, disc, square, triangle (see
            `class_names`); 2 gives binary masks.
        channels: 1 (grey) or 3 (each channel's contrast drawn on its own).
        seed: non-negative seed of the generator.

    Returns:
        Items ``(image, mask)``: float32 ``(C, S, S)`` in ``[0, 1]`` and int64 ``(S, S)`` in ``[0, num_classes)``.

    Raises:
        TypeError: if an argument is not an int.
        ValueError: if an argument is out of range.

    Example:
        >>> dataset = SyntheticShapes(4, image_size=32)
        >>> image, mask = dataset[0]
        >>> image.shape, mask.shape, mask.dtype, dataset.class_names
        (torch.Size([1, 32, 32]), torch.Size([32, 32]), torch.int64, ('background', 'disc', 'square', 'triangle'))
    """

    def __init__(
        self, num_samples: int, image_size: int = 64, num_classes: int = 4, channels: int = 1, seed: int = 0
    ) -> None:
        check_positive_int("num_samples", num_samples)
        check_positive_int("image_size", image_size)
        if image_size < 16:
            raise ValueError(f"`image_size` must be an int >= 16, but got {image_size}.")
        check_positive_int("num_classes", num_classes)
        if not 2 <= num_classes <= len(CLASS_NAMES):
            raise ValueError(f"`num_classes` must be an int in 2..{len(CLASS_NAMES)}, but got {num_classes}.")
        check_positive_int("channels", channels)
        if channels not in (1, 3):
            raise ValueError(f"`channels` must be 1 or 3, but got {channels}.")
        check_nonnegative_int("seed", seed)
        chunks = [
            _chunk(seed, start // _CHUNK, image_size, min(_CHUNK, num_samples - start), num_classes, channels)
            for start in range(0, num_samples, _CHUNK)
        ]
        images, masks = (np.concatenate(part) for part in zip(*chunks, strict=True))
        super().__init__(torch.from_numpy(images), torch.from_numpy(masks))
        self.num_classes = num_classes
        self.class_names: tuple[str, ...] = CLASS_NAMES[:num_classes]
        self.image_size = image_size
        self.channels = channels
