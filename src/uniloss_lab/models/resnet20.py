"""CIFAR ResNet-20 of He et al. (2016), with option-A (parameter-free) shortcuts."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from uniloss.core.checks import check_image_batch, check_positive_int


class _PadShortcut(nn.Module):
    """Option-A shortcut: subsample spatially by ``stride`` and zero-pad the new channels."""

    def __init__(self, channels_in: int, channels_out: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.pad_front = (channels_out - channels_in) // 2
        self.pad_back = channels_out - channels_in - self.pad_front

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        subsampled = inputs[:, :, :: self.stride, :: self.stride]
        return F.pad(subsampled, (0, 0, 0, 0, self.pad_front, self.pad_back))


class _BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with ReLU, added to an identity (or option-A) shortcut."""

    def __init__(self, channels_in: int, channels_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels_out)
        self.conv2 = nn.Conv2d(channels_out, channels_out, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels_out)
        self.shortcut: nn.Module = (
            _PadShortcut(channels_in, channels_out, stride)
            if stride != 1 or channels_in != channels_out
            else nn.Identity()
        )

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        outputs = F.relu(self.bn1(self.conv1(inputs)))
        outputs = self.bn2(self.conv2(outputs))
        return F.relu(outputs + self.shortcut(inputs))


class ResNet20(nn.Module):
    """ResNet-20 for 32x32 images (He et al., "Deep Residual Learning for Image Recognition", 2016, section 4.2).

    Formally, a 3x3 conv with 16 channels, then 3 stages of 3 basic blocks with 16, 32 and 64 channels (stages 2 and
    3 start with stride 2), global average pooling and a linear head: ``6 * 3 + 2 = 20`` weighted layers and about
    0.27M parameters. Shortcuts are option A: identity, or subsampling plus zero-padded channels, with no parameters.
    Conv and linear weights use Kaiming normal init (fan-in, ReLU gain); BatchNorm starts at weight 1 and bias 0.

    Args:
        num_classes: Number of outputs per sample; 1 gives a single score per sample.
        in_channels: Number of input channels ``C``.

    Shape:
        - Input: ``(B, C, H, W)``, usually 32x32; any size works thanks to global average pooling.
        - Output: ``(B,)`` if ``num_classes == 1``, else ``(B, num_classes)``.

    Raises:
        TypeError: If an argument is not an integer.
        ValueError: If an argument is not positive, or at forward time if the input is not ``(B, C, H, W)``.

    Example:
        >>> import torch
        >>> model = ResNet20(num_classes=10)
        >>> model(torch.randn(2, 3, 32, 32)).shape
        torch.Size([2, 10])
        >>> sum(p.numel() for p in model.parameters())
        269722
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        self.num_classes = check_positive_int("num_classes", num_classes)
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.stem = nn.Sequential(
            nn.Conv2d(self.in_channels, 16, kernel_size=3, stride=1, padding=1, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(inplace=True),
        )
        blocks: list[nn.Module] = []
        channels_in = 16
        for stage, channels_out in enumerate((16, 32, 64)):
            for index in range(3):
                stride = 2 if stage > 0 and index == 0 else 1
                blocks.append(_BasicBlock(channels_in, channels_out, stride))
                channels_in = channels_out
        self.stages = nn.Sequential(*blocks)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(64, self.num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

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
        outputs = self.head(self.pool(self.stages(self.stem(inputs))))
        return outputs.squeeze(-1) if self.num_classes == 1 else outputs
