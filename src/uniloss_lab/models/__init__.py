"""Small reference models used by the examples, benchmarks and training loop."""

from __future__ import annotations

from typing import Any

from torch import nn

from uniloss_lab.models.hourglass import StackedHourglass
from uniloss_lab.models.mlp import MLP
from uniloss_lab.models.resnet20 import ResNet20
from uniloss_lab.models.small_cnn import SmallCNN
from uniloss_lab.models.unet import UNet

_MODELS: dict[str, type[nn.Module]] = {
    "hourglass": StackedHourglass,
    "mlp": MLP,
    "resnet20": ResNet20,
    "small_cnn": SmallCNN,
    "unet": UNet,
}


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a reference model by name.

    Formally, ``build_model(name, **kwargs) == MODELS[name](**kwargs)`` with ``MODELS`` mapping ``"mlp"`` to
    :class:`MLP`, ``"small_cnn"`` to :class:`SmallCNN`, ``"resnet20"`` to :class:`ResNet20`, ``"hourglass"`` to
    :class:`StackedHourglass` and ``"unet"`` to :class:`UNet`.

    Args:
        name: One of ``"hourglass"``, ``"mlp"``, ``"resnet20"``, ``"small_cnn"``, ``"unet"``.
        **kwargs: Passed to the model's constructor.

    Returns:
        The constructed model, in training mode.

    Raises:
        ValueError: If ``name`` is not a known model, or the constructor rejects a value.
        TypeError: If the constructor rejects a type or an unknown keyword.

    Example:
        >>> import torch
        >>> model = build_model("mlp", in_features=64, hidden=(32,))
        >>> model(torch.randn(5, 8, 8)).shape
        torch.Size([5])
    """
    if name not in _MODELS:
        raise ValueError(f"`name` must be one of {sorted(_MODELS)}, but got {name!r}.")
    return _MODELS[name](**kwargs)


__all__ = ["MLP", "ResNet20", "SmallCNN", "StackedHourglass", "UNet", "build_model"]
