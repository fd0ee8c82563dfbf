"""Stacked hourglass network for pose estimation (Newell, Yang and Deng, ECCV 2016), written from the paper."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from uniloss.core.checks import check_image_batch, check_positive_int

_STEM_STRIDES = (1, 2, 4)


class _Residual(nn.Module):
    """Pre-activation bottleneck: BN-ReLU-1x1, BN-ReLU-3x3, BN-ReLU-1x1, plus a 1x1 skip when widths differ."""

    def __init__(self, channels_in: int, channels_out: int) -> None:
        super().__init__()
        middle = max(channels_out // 2, 1)
        self.body = nn.Sequential(
            nn.BatchNorm2d(channels_in),
            nn.ReLU(inplace=False),
            nn.Conv2d(channels_in, middle, kernel_size=1),
            nn.BatchNorm2d(middle),
            nn.ReLU(inplace=True),
            nn.Conv2d(middle, middle, kernel_size=3, padding=1),
            nn.BatchNorm2d(middle),
            nn.ReLU(inplace=True),
            nn.Conv2d(middle, channels_out, kernel_size=1),
        )
        self.skip: nn.Module = (
            nn.Identity() if channels_in == channels_out else nn.Conv2d(channels_in, channels_out, kernel_size=1)
        )

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.body(inputs) + self.skip(inputs)


class _Hourglass(nn.Module):
    """One hourglass: a skip branch at this resolution plus a half-resolution branch that recurses ``depth - 1``."""

    def __init__(self, depth: int, width: int) -> None:
        super().__init__()
        self.skip = _Residual(width, width)
        self.down = _Residual(width, width)
        self.inner: nn.Module = _Hourglass(depth - 1, width) if depth > 1 else _Residual(width, width)
        self.up = _Residual(width, width)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        low = self.up(self.inner(self.down(F.max_pool2d(inputs, kernel_size=2))))
        return self.skip(inputs) + F.interpolate(low, scale_factor=2.0, mode="nearest")


class StackedHourglass(nn.Module):
    """Stacked hourglass network with intermediate supervision, giving one set of joint heatmaps per stack.

    Formally, a stem reduces ``(B, C, S, S)`` images by ``stem_stride`` to ``width`` channels (7x7 conv with
    stride 2, a residual module, 2x2 max-pool, two residual modules for ``stem_stride=4``, as in the paper); then each
    stack applies a recursive hourglass of ``depth`` halvings, a residual module, a 1x1 conv-BN-ReLU and a 1x1 conv to
    ``num_joints`` heatmaps. Between stacks, the features and the heatmaps (mapped back by 1x1 convs) are added to
    the stack's input. The paper's model is ``num_stacks=8, width=256, depth=4``; a CPU-sized one is
    ``num_stacks=1, width=32, depth=2`` on 64x64 images.

    Args:
        num_joints: Number of heatmaps ``K`` per stack.
        num_stacks: Number of hourglasses; each one's heatmaps are returned for intermediate supervision.
        width: Feature channels inside the hourglasses; the stem uses ``width // 4`` and ``width // 2`` (at least 1).
        depth: Number of times each hourglass halves the resolution.
        in_channels: Number of input channels ``C``.
        stem_stride: Resolution reduction of the stem: 4 (as in the paper), 2 (no max-pool) or 1 (stride-1 conv).

    Shape:
        - Input: ``(B, C, H, W)`` with ``H`` and ``W`` divisible by ``stem_stride * 2**depth``
          (64 for the defaults, e.g. 64, 128 or 256; 16 for ``depth=2`` with ``stem_stride=4``).
          In training mode with ``B == 1``, use twice that so the innermost BatchNorm sees more than one value.
        - Output: a list of ``num_stacks`` tensors of shape ``(B, K, H / stem_stride, W / stem_stride)``.

    Raises:
        TypeError: If a size is not an integer.
        ValueError: If a size is not positive, ``stem_stride`` is not 1, 2 or 4, or at forward time if the input is
            not ``(B, C, H, W)`` with ``H`` and ``W`` divisible by ``stem_stride * 2**depth``.

    Example:
        >>> import torch
        >>> model = StackedHourglass(num_joints=16, num_stacks=2, width=32, depth=2)
        >>> [heatmaps.shape for heatmaps in model(torch.randn(2, 3, 64, 64))]
        [torch.Size([2, 16, 16, 16]), torch.Size([2, 16, 16, 16])]
        >>> small = StackedHourglass(num_joints=4, num_stacks=1, width=8, depth=2, stem_stride=2)
        >>> small(torch.randn(1, 3, 64, 64))[0].shape
        torch.Size([1, 4, 32, 32])
    """

    def __init__(
        self,
        num_joints: int = 16,
        num_stacks: int = 2,
        width: int = 64,
        depth: int = 4,
        in_channels: int = 3,
        stem_stride: Literal[1, 2, 4] = 4,
    ) -> None:
        super().__init__()
        self.num_joints = check_positive_int("num_joints", num_joints)
        self.num_stacks = check_positive_int("num_stacks", num_stacks)
        self.width = check_positive_int("width", width)
        self.depth = check_positive_int("depth", depth)
        self.in_channels = check_positive_int("in_channels", in_channels)
        if isinstance(stem_stride, bool) or stem_stride not in _STEM_STRIDES:
            raise ValueError(f"`stem_stride` must be one of {_STEM_STRIDES}, but got {stem_stride!r}.")
        self.stem_stride = stem_stride

        quarter, half = max(width // 4, 1), max(width // 2, 1)
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, quarter, kernel_size=7, stride=1 if stem_stride == 1 else 2, padding=3),
            nn.BatchNorm2d(quarter),
            nn.ReLU(inplace=True),
            _Residual(quarter, half),
            nn.MaxPool2d(kernel_size=2) if stem_stride == 4 else nn.Identity(),
            _Residual(half, half),
            _Residual(half, width),
        )
        self.hourglasses = nn.ModuleList([_Hourglass(depth, width) for _ in range(num_stacks)])
        self.features = nn.ModuleList(
            [
                nn.Sequential(
                    _Residual(width, width),
                    nn.Conv2d(width, width, kernel_size=1),
                    nn.BatchNorm2d(width),
                    nn.ReLU(inplace=True),
                )
                for _ in range(num_stacks)
            ]
        )
        self.scores = nn.ModuleList([nn.Conv2d(width, num_joints, kernel_size=1) for _ in range(num_stacks)])
        self.merge_features = nn.ModuleList([nn.Conv2d(width, width, kernel_size=1) for _ in range(num_stacks - 1)])
        self.merge_scores = nn.ModuleList([nn.Conv2d(num_joints, width, kernel_size=1) for _ in range(num_stacks - 1)])

    def forward(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        """Predict joint heatmaps after every stack.

        Args:
            inputs: Images of shape ``(B, C, H, W)`` with ``H`` and ``W`` divisible by ``stem_stride * 2**depth``.

        Returns:
            ``num_stacks`` heatmap tensors of shape ``(B, K, H / stem_stride, W / stem_stride)``; the last is the
            final prediction, the others are for intermediate supervision.

        Raises:
            ValueError: If ``inputs`` is not ``(B, in_channels, H, W)`` with ``H`` and ``W`` divisible by
                ``stem_stride * 2**depth``.
        """
        check_image_batch("inputs", inputs, self.in_channels)
        multiple = self.stem_stride * 2**self.depth
        if inputs.shape[2] % multiple or inputs.shape[3] % multiple:
            raise ValueError(
                f"`inputs` must have H and W divisible by stem_stride * 2**depth = {multiple}, "
                f"but got shape {tuple(inputs.shape)}."
            )
        features = self.stem(inputs)
        heatmaps: list[torch.Tensor] = []
        for stack in range(self.num_stacks):
            stack_features = self.features[stack](self.hourglasses[stack](features))
            scores = self.scores[stack](stack_features)
            heatmaps.append(scores)
            if stack < self.num_stacks - 1:
                features = features + self.merge_features[stack](stack_features) + self.merge_scores[stack](scores)
        return heatmaps
