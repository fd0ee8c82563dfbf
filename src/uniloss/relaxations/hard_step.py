"""The exact step: the sign of each comparison, a tie counted wrong."""

from __future__ import annotations

import torch

from uniloss.relaxations.base import Relaxation

__all__ = ["HardStep"]


class HardStep(Relaxation):
    """The exact step: ``b = +1`` where ``c > 0`` and ``-1`` elsewhere (a tie is wrong).

    Example:
        >>> HardStep()(torch.tensor([-1.0, 0.0, 2.0]))
        tensor([-1., -1.,  1.])
    """

    def distances(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(0, 2)`` where ``c > 0`` and ``(2, 0)`` elsewhere."""
        to_right = torch.where(values > 0, 0.0, 2.0).to(values.dtype)
        return to_right, 2 - to_right

    def distances_with_slope(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(1 - b, 1 + b, 0)``: the step is flat almost everywhere."""
        to_right, to_wrong = self.distances(values)
        return to_right, to_wrong, torch.zeros_like(values)

    def __repr__(self) -> str:
        return "HardStep()"
