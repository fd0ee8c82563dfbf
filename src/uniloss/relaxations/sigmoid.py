"""The smooth step of UniLoss: a scaled sigmoid of each comparison."""

from __future__ import annotations

import torch

from uniloss.core.autograd import zero
from uniloss.core.checks import check_float32_normal
from uniloss.relaxations.base import Relaxation

__all__ = ["Sigmoid"]


class Sigmoid(Relaxation):
    """The smooth step of UniLoss: ``b = 2 * sigmoid(c / temperature) - 1``.

    Formally ``1 - b = 2 sigmoid(-c / t)`` and ``1 + b = 2 sigmoid(c / t)``, computed without cancellation.
    As ``temperature -> 0`` it tends to :class:`HardStep`.

    Args:
        temperature: positive scale ``t`` of the comparisons (the paper uses 1).

    Raises:
        TypeError: if ``temperature`` is not a number.
        ValueError: if ``temperature`` is not a positive float32 normal number (in ``[1.18e-38, 3.4e38]``).

    Example:
        >>> Sigmoid(temperature=1.0)(torch.tensor([0.0, 100.0]))
        tensor([0., 1.])
    """

    def __init__(self, temperature: float = 1.0) -> None:
        self.temperature = check_float32_normal(
            "temperature", temperature, "comparisons are divided by it and its inverse is a float32 factor"
        )

    def distances(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(2 sigmoid(-c / t), 2 sigmoid(c / t))``."""
        scaled = values if self.temperature == 1 else values / self.temperature
        return 2 * torch.sigmoid(-scaled), 2 * torch.sigmoid(scaled)

    def distances_with_slope(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(1 - b, 1 + b, (1 - b)(1 + b) / (2 t))``, the slope exact where ``b`` saturates.

        Not differentiable (the engine's closed-form backward calls it): computed in place, six passes.
        """
        scaled = values if self.temperature == 1 else values / self.temperature
        to_right = torch.neg(scaled).sigmoid_().mul_(2)
        to_wrong = torch.sigmoid(scaled).mul_(2)
        slope = torch.addcmul(zero(values.dtype, values.device), to_right, to_wrong, value=0.5 / self.temperature)
        return to_right, to_wrong, slope
