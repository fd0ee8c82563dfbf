"""Step 4 relaxed: inverse-distance weighting (Shepard) of the metric's exact values at the anchors."""

from __future__ import annotations

from typing import Any

import torch

from uniloss.core.autograd import first_order_only, zero
from uniloss.core.checks import check_positive
from uniloss.interpolators.base import Interpolator

__all__ = ["InverseDistanceWeighting"]


def _eps(dtype: torch.dtype) -> float:
    return torch.finfo(dtype).tiny ** 0.5


def _shepard(
    squared: torch.Tensor, values: torch.Tensor, power: float, slope: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The weighted mean of :class:`InverseDistanceWeighting` and, if asked, its ``(K,)`` closed-form gradient.

    With ``s = softmax(-p/2 log(d + eps))`` and ``m = s . v``, ``dm/dd_k = -p/2 s_k (v_k - m) / (d_k + eps)``; the
    result is clamped to ``[min v, max v]`` (the weights sum to 1 only up to rounding), which passes no gradient
    where it clamps, as autograd's clamp. ``values`` are taken in the dtype of ``squared``.
    """
    if values.dtype != squared.dtype:
        values = values.to(squared.dtype)
    shifted = squared + _eps(squared.dtype)
    weights = torch.softmax(torch.xlogy(-0.5 * power, shifted), dim=0)
    mixed = weights @ values
    low, high = torch.aminmax(values)
    result = mixed.clamp(low, high)
    if not slope:
        return result, None
    gradient = torch.addcdiv(
        zero(squared.dtype, squared.device), (values - mixed).mul_(weights), shifted, value=-0.5 * power
    )
    return result, gradient.mul_(result == mixed)  # (finite: no inf * 0)


class _Shepard(torch.autograd.Function):
    """:func:`_shepard` as an autograd function: the gradient is computed with the value, applied in the backward."""

    @staticmethod
    def forward(ctx: Any, squared: torch.Tensor, values: torch.Tensor, power: float) -> torch.Tensor:
        result, slope = _shepard(squared, values, power, ctx.needs_input_grad[0])
        ctx.save_for_backward(slope)
        return result

    @staticmethod
    @first_order_only
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        (slope,) = ctx.saved_tensors
        return slope * grad, None, None


class InverseDistanceWeighting(Interpolator):
    """Shepard interpolation of anchor values, safe at distance zero.

    Formally ``g(b) = sum_k w_k g(a_k) / sum_k w_k`` with ``w_k = (||b - a_k||^2 + eps)^(-power / 2)``,
    computed as a softmax of log-weights so that no weight overflows. ``eps`` is the square root of the
    dtype's smallest normal number: at an anchor the result is that anchor's value up to about
    ``1e-9`` (float32) and the gradient is finite.

    Args:
        power: positive exponent ``p`` of the inverse distance (the paper uses 1).

    Raises:
        ValueError: if ``power`` is not a positive finite number.

    Example:
        >>> idw = InverseDistanceWeighting(power=1.0)
        >>> idw(torch.tensor([0.0, 4.0]), torch.tensor([1.0, 0.0]))
        tensor(1.)
        >>> idw(torch.tensor([1.0, 1.0]), torch.tensor([1.0, 0.0]))
        tensor(0.5000)
    """

    def __init__(self, power: float = 1.0) -> None:
        self.power = check_positive("power", power)

    def __call__(self, squared_distances: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """Interpolate.

        Args:
            squared_distances: ``(K,)`` squared distances from the relaxed point to the anchors, ``>= 0``.
            values: ``(K,)`` exact metric values at the anchors.

        Returns:
            The interpolated value, a scalar tensor.
        """
        if values.requires_grad:  # rare: differentiate the values too, by autograd through the same formula
            return _shepard(squared_distances, values, self.power, False)[0]
        return _Shepard.apply(squared_distances, values, self.power)

    def value_and_slope(
        self, squared_distances: torch.Tensor, values: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The interpolated value and its closed-form gradient w.r.t. the squared distances (see the base class)."""
        result, slope = _shepard(squared_distances, values, self.power, True)
        assert slope is not None  # asked for
        return result, slope
