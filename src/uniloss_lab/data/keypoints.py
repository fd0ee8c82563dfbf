"""A synthetic keypoint set: rendered stick figures with known joints, standing in for MPII offline."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import TensorDataset

from uniloss_lab.data._common import _gaussian_heatmaps
from uniloss_lab.data.mpii import HEAD_SIZE_FACTOR, JOINT_NAMES

_CHUNK = 256  # parameters are drawn per chunk of 256 samples, so sample i does not depend on num_samples
_RENDER_BATCH = 64
# Limbs drawn as thick lines (joint a, joint b, colour group), torso first; the head is a disc drawn last.
_LIMBS: tuple[tuple[int, int, int], ...] = (
    (6, 7, 0), (7, 8, 0), (12, 13, 0), (2, 3, 0), (2, 1, 1), (1, 0, 1), (3, 4, 2), (4, 5, 2),
    (12, 11, 1), (11, 10, 1), (13, 14, 2), (14, 15, 2),
)  # fmt: skip
# Colours of the groups: 0 torso and head (yellow), 1 right limbs (red), 2 left limbs (blue).
_BASE_COLOURS = np.array([[0.95, 0.9, 0.35], [1.0, 0.3, 0.25], [0.25, 0.45, 1.0]], dtype=np.float32)
# Joints kept first when num_joints < 16 (reported in MPII order): head, wrists, ankles, shoulders, elbows, ...
_PRIORITY = (9, 8, 10, 15, 0, 5, 12, 13, 11, 14, 1, 4, 2, 3, 6, 7)


def _pose(rng: np.random.Generator, count: int) -> np.ndarray:
    """Draw `count` random articulated poses, ``(count, 16, 2)`` in body units (height about 1, y down)."""
    joints = np.zeros((count, len(JOINT_NAMES), 2))

    def place(child: int, parent: int, length: float, angle: np.ndarray) -> None:
        # direction (sin a, cos a): a = 0 points down, a = pi points up, a = -pi/2 points to -x
        joints[:, child] = joints[:, parent] + length * np.stack([np.sin(angle), np.cos(angle)], axis=1)

    torso = np.pi + rng.uniform(-0.3, 0.3, count)  # pelvis (joint 6, the origin) -> thorax, leaning
    place(7, 6, 0.30, torso)
    neck = torso + rng.uniform(-0.2, 0.2, count)
    place(8, 7, 0.07, neck)
    place(9, 8, 0.16, neck + rng.uniform(-0.35, 0.35, count))
    down = torso - np.pi
    # side -1 is the person's right, drawn at -x for an upright figure facing the viewer.
    for side, (shoulder, elbow, wrist, hip, knee, ankle) in ((-1, (12, 11, 10, 2, 1, 0)), (1, (13, 14, 15, 3, 4, 5))):
        place(shoulder, 7, 0.11, torso - side * np.pi / 2)
        upper_arm = down + side * rng.uniform(-0.3, 2.8, count)  # from hanging down to raised overhead
        place(elbow, shoulder, 0.17, upper_arm)
        place(wrist, elbow, 0.15, upper_arm + side * rng.uniform(-0.4, 2.2, count))
        place(hip, 6, 0.07, torso - side * np.pi / 2)
        thigh = down + side * rng.uniform(-0.25, 1.1, count)
        place(knee, hip, 0.24, thigh)
        place(ankle, knee, 0.24, thigh + rng.uniform(-0.6, 0.6, count))
    return joints


def _render(
    joints: np.ndarray, colours: np.ndarray, background: np.ndarray, width: np.ndarray, size: int
) -> np.ndarray:
    """Paint limbs as antialiased thick lines, one colour group at a time, then the head as a disc."""
    ys, xs = np.divmod(np.arange(size * size, dtype=np.float32), size)
    image = background  # (B, 3, S*S)
    for group in range(3):
        alpha = np.zeros((joints.shape[0], size * size), dtype=np.float32)
        for a, b, limb_group in _LIMBS:
            if limb_group != group:
                continue
            start, delta = joints[:, a, :, None], (joints[:, b] - joints[:, a])[:, :, None]  # (B, 2, 1)
            dx, dy = xs - start[:, 0], ys - start[:, 1]
            t = np.clip((dx * delta[:, 0] + dy * delta[:, 1]) / np.maximum((delta * delta).sum(axis=1), 1e-6), 0, 1)
            distance = np.sqrt((dx - t * delta[:, 0]) ** 2 + (dy - t * delta[:, 1]) ** 2)
            half_width = width[:, None] * (0.7 if group == 0 else 0.5) + 0.5
            np.maximum(alpha, half_width - distance, out=alpha)
        image = image + np.clip(alpha, 0, 1)[:, None] * (colours[:, group, :, None] - image)
    centre = (joints[:, 8] + joints[:, 9]) / 2
    radius = np.linalg.norm(joints[:, 9] - joints[:, 8], axis=1) / 2
    distance = np.sqrt((xs - centre[:, 0, None]) ** 2 + (ys - centre[:, 1, None]) ** 2)
    alpha = np.clip(radius[:, None] + 0.5 - distance, 0.0, 1.0)[:, None]
    return image + alpha * (colours[:, 0, :, None] - image)


def _chunk(seed: int, chunk: int, size: int, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Generate the first `count` of the 256 samples of one chunk: images ``(B, 3, S, S)``, joints px, visible."""
    rng = np.random.default_rng([seed, chunk])
    body = _pose(rng, _CHUNK)[:count]
    body -= (body.min(axis=1) + body.max(axis=1))[:, None] / 2  # centre the figure's bounding box
    height = rng.uniform(0.55, 0.95, _CHUNK)[:count] * size
    rotation = np.where(rng.random(_CHUNK) < 0.8, rng.uniform(-0.5, 0.5, _CHUNK), rng.uniform(-np.pi, np.pi, _CHUNK))
    cos, sin = np.cos(rotation[:count, None]), np.sin(rotation[:count, None])
    x, y = body[..., 0], body[..., 1]
    rotated = np.stack([cos * x - sin * y, sin * x + cos * y], axis=-1)
    position = rng.uniform(0.3, 0.7, (_CHUNK, 1, 2))[:count] * size - 0.5
    joints = (rotated * height[:, None, None] + position).astype(np.float32)  # pixel i has its centre at i
    colours = np.clip(_BASE_COLOURS + rng.uniform(-0.15, 0.15, (_CHUNK, 3, 3))[:count], 0, 1).astype(np.float32)
    base = rng.uniform(0.0, 0.55, (_CHUNK, 3, 1))[:count].astype(np.float32)
    width = np.maximum(0.045 * height, 1.5).astype(np.float32)
    # Occluders: with probability 0.25, a noisy rectangle painted over the figure hides the joints under it.
    has_occluder = (rng.random(_CHUNK) < 0.25)[:count]
    corner = rng.uniform(0.0, 0.8, (_CHUNK, 2))[:count] * size
    extent = rng.uniform(0.15, 0.35, (_CHUNK, 2))[:count] * size
    occluder_colour = rng.uniform(0.0, 1.0, (_CHUNK, 3, 1))[:count].astype(np.float32)
    noise = 0.08 * rng.standard_normal((count, 3, size * size), dtype=np.float32)  # last draw: a prefix of 256
    images = np.empty((count, 3, size * size), dtype=np.float32)
    for start in range(0, count, _RENDER_BATCH):
        part = slice(start, start + _RENDER_BATCH)
        images[part] = _render(joints[part], colours[part], base[part] + noise[part], width[part], size)
    ys, xs = np.divmod(np.arange(size * size), size)
    in_box = (
        (xs >= corner[:, None, 0]) & (xs < corner[:, None, 0] + extent[:, None, 0])
        & (ys >= corner[:, None, 1]) & (ys < corner[:, None, 1] + extent[:, None, 1])
    )  # fmt: skip
    covered = (in_box & has_occluder[:, None])[:, None]
    painted = np.clip(np.where(covered, occluder_colour + noise[:, ::-1], images), 0.0, 1.0)
    inside = ((joints >= -0.5) & (joints < size - 0.5)).all(axis=2)
    under = ((joints >= corner[:, None]) & (joints < (corner + extent)[:, None])).all(axis=2) & has_occluder[:, None]
    return painted.reshape(count, 3, size, size), joints, inside & ~under


class SyntheticKeypoints(TensorDataset):
    """Rendered stick figures with known joints and Gaussian heatmap targets, deterministic from a seed.

    Formally, each sample draws an articulated 16-joint figure in MPII joint order (torso lean, arm and leg
    angles), a height of 0.55-0.95 x ``image_size``, a position and a rotation (within +-0.5 rad, any angle
    one time in five); limbs are antialiased thick lines (right side red, left blue, torso and head yellow,
    colours jittered) on a noisy background, and one image in four gets a noisy rectangle that hides the
    joints under it. A joint is visible iff it lies in the frame and is not hidden. The heatmap of joint ``j``
    is ``exp(-||q - p_j||^2 / (2 sigma^2))`` (zero if not visible), and ``head_size = 0.6 x ||head top - upper
    neck||`` in heatmap pixels, the MPII convention. Sample ``i`` depends only on ``seed`` and ``i``.

    Args:
        num_samples: number of samples ``N``.
        image_size: image side ``S``.
        heatmap_size: heatmap side ``H``; image pixel ``x`` maps to ``(x + 1/2) * H / S - 1/2``.
        num_joints: joints reported, ``1..16``: the first `num_joints` of head top, upper neck, wrists,
            ankles, shoulders, elbows, knees, hips, pelvis, thorax, listed in MPII order (see `joint_names`).
        sigma: Gaussian standard deviation in heatmap pixels.
        seed: non-negative seed of the generator.

    Returns:
        Items ``(image, heatmaps, joints, visible, head_size)``: float32 ``(3, S, S)`` in ``[0, 1]``, float32
        ``(J, H, H)``, float32 ``(J, 2)`` as ``(x, y)`` heatmap pixels, bool ``(J,)`` and a float32 scalar.

    Raises:
        ValueError: if a size, `num_joints` or `seed` is out of range or `sigma` is not positive.

    Example:
        >>> dataset = SyntheticKeypoints(4, image_size=32, heatmap_size=16)
        >>> image, heatmaps, joints, visible, head_size = dataset[0]
        >>> image.shape, heatmaps.shape, joints.shape, dataset.joint_names[:2]
        (torch.Size([3, 32, 32]), torch.Size([8, 16, 16]), torch.Size([8, 2]), ('right_ankle', 'left_ankle'))
    """

    def __init__(
        self,
        num_samples: int,
        image_size: int = 64,
        heatmap_size: int = 32,
        num_joints: int = 8,
        sigma: float = 1.0,
        seed: int = 0,
    ) -> None:
        for name, value, low in (
            ("num_samples", num_samples, 1),
            ("image_size", image_size, 8),
            ("heatmap_size", heatmap_size, 1),
        ):
            if not isinstance(value, int) or value < low:
                raise ValueError(f"`{name}` must be an int >= {low}, but got {value!r}.")
        if not isinstance(num_joints, int) or not 1 <= num_joints <= len(JOINT_NAMES):
            raise ValueError(f"`num_joints` must be an int in 1..{len(JOINT_NAMES)}, but got {num_joints!r}.")
        if not sigma > 0:
            raise ValueError(f"`sigma` must be a positive float, but got {sigma!r}.")
        if not isinstance(seed, int) or seed < 0:
            raise ValueError(f"`seed` must be a non-negative int, but got {seed!r}.")
        chunks = [
            _chunk(seed, start // _CHUNK, image_size, min(_CHUNK, num_samples - start))
            for start in range(0, num_samples, _CHUNK)
        ]
        images, joints, visible = (np.concatenate(part) for part in zip(*chunks, strict=True))
        to_heatmap = heatmap_size / image_size
        head = np.linalg.norm(joints[:, 9] - joints[:, 8], axis=1) * HEAD_SIZE_FACTOR * to_heatmap
        keep = sorted(_PRIORITY[:num_joints])
        joints_hm = torch.from_numpy((joints[:, keep] + 0.5) * to_heatmap - 0.5)
        visible_t = torch.from_numpy(visible[:, keep])
        heatmaps = _gaussian_heatmaps(joints_hm, visible_t, heatmap_size, float(sigma))
        super().__init__(
            torch.from_numpy(images), heatmaps, joints_hm, visible_t, torch.from_numpy(head.astype(np.float32))
        )
        self.num_joints = num_joints
        self.joint_names: tuple[str, ...] = tuple(JOINT_NAMES[j] for j in keep)
        self.image_size = image_size
        self.heatmap_size = heatmap_size
