"""scikit-learn's embedded handwritten digits (1,797 real 8x8 images): the offline default dataset."""

from __future__ import annotations

import numpy as np
import torch

from uniloss_lab.data._common import Split, _check_split

NUM_CLASSES = 10
TEST_FRACTION = 0.2


def _stratified_test_mask(labels: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    """Mark ``round(test_fraction * n_c)`` randomly chosen examples of every class ``c`` as test."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(labels.shape[0], dtype=bool)
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        chosen = rng.permutation(members)[: round(test_fraction * members.size)]
        mask[chosen] = True
    return mask


def load_digits(split: Split, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one split of scikit-learn's embedded 8x8 digits, no download needed.

    Formally, every class ``c`` with ``n_c`` images contributes ``round(0.2 * n_c)`` images, drawn by
    ``numpy.random.default_rng(seed)``, to ``test`` and the rest to ``train`` (a stratified 80/20 split
    that depends only on ``seed``, not on the scikit-learn version). Pixels ``0..16`` are divided by 16.

    Args:
        split: ``"train"`` (1,438 images) or ``"test"`` (359 images).
        seed: seed of the split; the two splits of one seed are disjoint and cover all 1,797 images.

    Returns:
        ``(images, labels)``: float32 ``(N, 1, 8, 8)`` in ``[0, 1]`` and int64 ``(N,)`` in ``0..9``.

    Raises:
        ValueError: if `split` is not ``"train"`` or ``"test"``.

    Example:
        >>> images, labels = load_digits("test")
        >>> images.shape, labels.dtype
        (torch.Size([359, 1, 8, 8]), torch.int64)
    """
    _check_split(split)
    from sklearn.datasets import load_digits as _sklearn_load_digits

    bunch = _sklearn_load_digits()
    pixels = np.asarray(bunch.images, dtype=np.float32) / 16.0
    labels = np.asarray(bunch.target, dtype=np.int64)
    test_mask = _stratified_test_mask(labels, TEST_FRACTION, seed)
    keep = test_mask if split == "test" else ~test_mask
    images = torch.from_numpy(np.ascontiguousarray(pixels[keep][:, None]))
    return images, torch.from_numpy(labels[keep])
