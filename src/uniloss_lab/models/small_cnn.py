"""Three-block convolutional network that is fast on a CPU for 8x8, 28x28 and 32x32 images."""

from __future__ import annotations

import torch
from torch import nn

from uniloss.core.checks import check_image_batch, check_positive_int


def _conv_block(channels_in: int, channels_out: int, stride: int) -> nn.Sequential:
    """3x3 convolution, BatchNorm and ReLU."""
    return nn.Sequential(
        nn.Conv2d(channels_in, channels_out, kernel_size=3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(inplace=True),
    )


class SmallCNN(nn.Module):
    """Small convolutional classifier: three conv blocks, global average pooling and a linear head.

    Formally, ``f(x) = W avgpool(B_3(B_2(B_1(x)))) + b`` where ``B_k`` is a 3x3 conv, BatchNorm and ReLU with
    ``width``, ``2 * width`` and ``4 * width`` channels; blocks 2 and 3 have stride 2. Global average pooling makes
    any input size of at least 1x1 work; it is meant for 8x8 (sklearn digits), 28x28 (MNIST) and 32x32 (CIFAR).

    Args:
        in_channels: Number of input channels ``C``.
        num_classes: Number of outputs per sample; 1 gives a single score per sample.
        width: Channels of the first block; the next blocks have ``2 * width`` and ``4 * width``.

    Shape:
        - Input: ``(B, C, H, W)``.
        - Output: ``(B,)`` if ``num_classes == 1``, else ``(B, num_classes)``.

    Raises:
        TypeError: If an argument is not an integer.
        ValueError: If an argument is not positive, or at forward time if the input is not ``(B, C, H, W)``.

    Example:
        >>> import torch
        >>> model = SmallCNN(in_channels=1, num_classes=10)
        >>> model(torch.randn(2, 1, 28, 28)).shape
        torch.Size([2, 10])
        >>> SmallCNN(in_channels=3, num_classes=1, width=8)(torch.randn(2, 3, 32, 32)).shape
        torch.Size([2])
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: int = 32) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.num_classes = check_positive_int("num_classes", num_classes)
        self.width = check_positive_int("width", width)
        self.features = nn.Sequential(
            _conv_block(self.in_channels, width, stride=1),
            _conv_block(width, 2 * width, stride=2),
            _conv_block(2 * width, 4 * width, stride=2),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(4 * width, self.num_classes)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Classify a batch of images.

        Args:
            inputs: Images of shape ``(B, C, H, W)``.

        Returns:
            Logits of shape ``(B, num_classes)``, or scores of shape ``(B,)`` if ``num_classes == 1``.

        Raises:
            ValueError: If ``inputs`` is not of shape ``(B, in_channels, H, W)``.
        """
        check_image_batch("inputs", inputs, self.in_channels)
        outputs = self.head(self.features(inputs))
        return outputs.squeeze(-1) if self.num_classes == 1 else outputs
