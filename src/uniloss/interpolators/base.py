"""Step 4 relaxed: the base class of interpolators of the exact metric between anchor configurations."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch

from uniloss.core.reprs import constructor_repr

__all__ = ["Interpolator"]


class Interpolator(ABC):
    """Interpolates the exact metric values at the anchors, given the squared distances to the anchors.

    The engine calls an interpolator once per batch with ``(K,)`` squared distances ``||b - a_k||^2`` from the
    relaxed binaries ``b`` to the anchors ``a_k`` (differentiable w.r.t. the scores) and the ``(K,)`` exact metric
    values ``g(a_k)`` (constants). The result is the surrogate ``g~(b)``; its gradient w.r.t. the distances is
    the only way the scores get one, so it must be finite, also at distance zero. A subclass implements
    :meth:`__call__`; it should return a value between the smallest and the largest anchor value.

    Example:
        >>> class Nearest(Interpolator):
        ...     def __call__(self, squared_distances, values):
        ...         return values[squared_distances.argmin()].to(squared_distances.dtype)
        >>> Nearest()(torch.tensor([4.0, 1.0]), torch.tensor([0.0, 1.0]))
        tensor(1.)
    """

    @abstractmethod
    def __call__(self, squared_distances: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """Interpolate.

        Args:
            squared_distances: ``(K,)`` squared distances from the relaxed point to the anchors, ``>= 0``.
            values: ``(K,)`` exact metric values at the anchors.

        Returns:
            The interpolated value, a scalar tensor.
        """

    def value_and_slope(
        self, squared_distances: torch.Tensor, values: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The interpolated value and its gradient w.r.t. the squared distances; by autograd unless a subclass knows it.

        The engine's small-problem path calls this once per batch and applies the chain rule to the binaries itself
        (one autograd node for distances and interpolation together).

        Args:
            squared_distances: ``(K,)`` squared distances, ``>= 0``, not attached to a graph.
            values: ``(K,)`` exact metric values at the anchors, constants.

        Returns:
            The value (a scalar tensor) and ``(K,)`` its derivative w.r.t. each squared distance, both detached.
        """
        with torch.enable_grad():
            leaf = squared_distances.detach().requires_grad_()
            value = self(leaf, values)
            # an interpolator without a graph (nearest anchor) has slope zero
            (slope,) = torch.autograd.grad(value, leaf, allow_unused=True) if value.requires_grad else (None,)
        if slope is None:
            slope = torch.zeros_like(squared_distances)
        return value.detach(), slope

    def __repr__(self) -> str:
        """The constructor call: every ``__init__`` argument kept as a same-named attribute, defaults included."""
        return constructor_repr(self)
