"""A small U-Net for per-pixel class scores, fast enough on a CPU for 32x32 and 64x64 images."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from uniloss.core.checks import check_positive_int, check_shape, check_tensor


def _double_conv(channels_in: int, channels_out: int) -> nn.Sequential:
    """Two 3x3 convolutions, each followed by BatchNorm and ReLU."""
    return nn.Sequential(
        nn.Conv2d(channels_in, channels_out, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(channels_out, channels_out, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """U-Net (Ronneberger et al., 2015): an encoder-decoder with skip connections, one score per pixel and class.

    Formally, level ``k = 0..depth`` of the encoder is a double 3x3 conv (BatchNorm, ReLU) with ``width * 2^k``
    channels, after a 2x2 max pooling for ``k >= 1``; each decoder level upsamples by a 2x2 transposed convolution
    to ``width * 2^k`` channels, concatenates the encoder's level ``k`` and applies a double conv; a 1x1 conv gives
    the logits. Any input size works: the input is zero-padded on the bottom and right to a multiple of
    ``2^depth`` and the logits are cropped back.

    Args:
        in_channels: Number of input channels ``C_in``.
        num_classes: Number of classes ``C``, the background included; 1 gives one binary logit per pixel.
        width: Channels of the first level; level ``k`` has ``width * 2^k``.
        depth: Number of poolings (levels below the first).

    Shape:
        - Input: ``(B, C_in, H, W)``.
        - Output: ``(B, C, H, W)`` logits, or ``(B, H, W)`` if ``num_classes == 1``.

    Raises:
        TypeError: If an argument is not an integer, or at forward time if the input is not a tensor.
        ValueError: If an argument is not positive, or at forward time if the input is not ``(B, C_in, H, W)``.

    Example:
        >>> import torch
        >>> model = UNet(in_channels=1, num_classes=4, width=8, depth=2)
        >>> model(torch.randn(2, 1, 32, 32)).shape
        torch.Size([2, 4, 32, 32])
        >>> UNet(in_channels=3, num_classes=1, width=4)(torch.randn(1, 3, 21, 30)).shape
        torch.Size([1, 21, 30])
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 2, width: int = 16, depth: int = 3) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.num_classes = check_positive_int("num_classes", num_classes)
        self.width = check_positive_int("width", width)
        self.depth = check_positive_int("depth", depth)
        channels = [width * 2**level for level in range(depth + 1)]
        self.encoder = nn.ModuleList(
            _double_conv(self.in_channels if level == 0 else channels[level - 1], channels[level])
            for level in range(depth + 1)
        )
        self.upsample = nn.ModuleList(
            nn.ConvTranspose2d(channels[level + 1], channels[level], kernel_size=2, stride=2) for level in range(depth)
        )
        self.decoder = nn.ModuleList(_double_conv(2 * channels[level], channels[level]) for level in range(depth))
        self.head = nn.Conv2d(width, self.num_classes, kernel_size=1)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Score every pixel of a batch of images.

        Args:
            inputs: Images of shape ``(B, in_channels, H, W)``.

        Returns:
            Logits of shape ``(B, num_classes, H, W)``, or ``(B, H, W)`` if ``num_classes == 1``.

        Raises:
            TypeError: If ``inputs`` is not a tensor.
            ValueError: If ``inputs`` is not of shape ``(B, in_channels, H, W)``.
        """
        check_tensor("inputs", inputs)
        check_shape("inputs", inputs, ("B", self.in_channels, "H", "W"), {})
        height, width = inputs.shape[-2:]
        multiple = 2**self.depth
        x = F.pad(inputs, (0, -width % multiple, 0, -height % multiple))
        skips = []
        for level, block in enumerate(self.encoder):
            x = block(x if level == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for level in reversed(range(self.depth)):
            x = self.decoder[level](torch.cat([skips[level], self.upsample[level](x)], dim=1))
        logits = self.head(x)[..., :height, :width]
        return logits.squeeze(1) if self.num_classes == 1 else logits
