"""Step 3 of the refactoring: binary variables from comparisons, exact or relaxed."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch

from uniloss.core.checks import check_positive
from uniloss.core.reprs import constructor_repr

__all__ = ["HardStep", "Relaxation", "Sigmoid"]


class Relaxation(ABC):
    """Maps comparisons ``c`` to binary variables ``b`` in ``[-1, 1]``.

    Subclasses give the two distances ``1 - b`` (to the right value ``+1``) and ``1 + b`` (to the wrong
    value ``-1``). Working with these distances rather than with ``b`` keeps precision where ``b``
    saturates to ``+-1`` in floating point, which is where the published code divided by zero.
    """

    @abstractmethod
    def distances(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(1 - b, 1 + b)`` elementwise, both in ``[0, 2]`` and summing to 2.

        Args:
            values: comparisons ``c`` of any shape.

        Returns:
            Two tensors of the shape of ``values``.
        """

    def distances_with_slope(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(1 - b, 1 + b, db/dc)`` elementwise; the slope by autograd unless a subclass knows it.

        Args:
            values: comparisons ``c`` of any shape.

        Returns:
            Three tensors of the shape of ``values``, none of them attached to a graph.
        """
        with torch.enable_grad():
            leaf = values.detach().requires_grad_()
            to_right, to_wrong = self.distances(leaf)
            (slope,) = torch.autograd.grad(((to_wrong - to_right) / 2).sum(), leaf, allow_unused=True)
        if slope is None:
            slope = torch.zeros_like(values)
        return to_right.detach(), to_wrong.detach(), slope

    def __call__(self, values: torch.Tensor) -> torch.Tensor:
        """Return the binary variables ``b`` in ``[-1, 1]`` of the comparisons ``values``."""
        to_right, to_wrong = self.distances(values)
        return (to_wrong - to_right) / 2

    def __repr__(self) -> str:
        """The constructor call: every ``__init__`` argument kept as a same-named attribute, defaults included."""
        return constructor_repr(self)


class Sigmoid(Relaxation):
    """The smooth step of UniLoss: ``b = 2 * sigmoid(c / temperature) - 1``.

    Formally ``1 - b = 2 sigmoid(-c / t)`` and ``1 + b = 2 sigmoid(c / t)``, computed without cancellation.
    As ``temperature -> 0`` it tends to :class:`HardStep`.

    Args:
        temperature: positive scale ``t`` of the comparisons (the paper uses 1).

    Raises:
        ValueError: if ``temperature`` is not a positive finite number.

    Example:
        >>> Sigmoid(temperature=1.0)(torch.tensor([0.0, 100.0]))
        tensor([0., 1.])
    """

    def __init__(self, temperature: float = 1.0) -> None:
        self.temperature = check_positive("temperature", temperature)

    def distances(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(2 sigmoid(-c / t), 2 sigmoid(c / t))``."""
        scaled = values / self.temperature
        return 2 * torch.sigmoid(-scaled), 2 * torch.sigmoid(scaled)

    def distances_with_slope(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(1 - b, 1 + b, (1 - b)(1 + b) / (2 t))``, the slope exact where ``b`` saturates."""
        to_right, to_wrong = self.distances(values)
        return to_right, to_wrong, to_right * to_wrong / (2 * self.temperature)


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
