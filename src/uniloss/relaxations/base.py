"""Step 3 of the refactoring: the base class of relaxations, which map comparisons to binary variables."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch

from uniloss.core.reprs import constructor_repr

__all__ = ["Relaxation"]


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
            binaries = ((to_wrong - to_right) / 2).sum()
            # a relaxation without a graph (a step) has slope zero
            (slope,) = torch.autograd.grad(binaries, leaf, allow_unused=True) if binaries.requires_grad else (None,)
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
