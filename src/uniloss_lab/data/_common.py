"""Helpers shared by the dataset loaders: split checking and Gaussian heatmap targets."""

from __future__ import annotations

from typing import Literal, get_args

import torch

Split = Literal["train", "test"]
_SPLITS: tuple[str, ...] = get_args(Split)


def _check_split(split: str) -> None:
    """Raise `ValueError` unless `split` is ``"train"`` or ``"test"``."""
    if split not in _SPLITS:
        raise ValueError(f"`split` must be one of {', '.join(map(repr, _SPLITS))}, but got {split!r}.")


def _gaussian_heatmaps(joints: torch.Tensor, visible: torch.Tensor, size: int, sigma: float) -> torch.Tensor:
    """Render one unnormalised Gaussian per joint; invisible joints get an all-zero map.

    Formally, ``H[..., j, y, x] = visible_j * exp(-((x - x_j)^2 + (y - y_j)^2) / (2 sigma^2))``.

    Args:
        joints: ``(..., J, 2)`` float joint positions ``(x, y)`` in heatmap pixel coordinates.
        visible: ``(..., J)`` bool mask.
        size: heatmap side ``S``.
        sigma: Gaussian standard deviation in heatmap pixels.

    Returns:
        ``(..., J, S, S)`` float32 heatmaps with peak value 1 at a joint that falls on a pixel centre.
    """
    grid = torch.arange(size, dtype=torch.float32)
    dx = grid - joints[..., 0:1].float()  # (..., J, S)
    dy = grid - joints[..., 1:2].float()
    gx = torch.exp(-(dx * dx) / (2.0 * sigma * sigma))
    gy = torch.exp(-(dy * dy) / (2.0 * sigma * sigma))
    maps = gy.unsqueeze(-1) * gx.unsqueeze(-2)  # (..., J, S, S): rows are y, columns are x
    return maps * visible[..., None, None].to(maps.dtype)
