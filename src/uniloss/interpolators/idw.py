"""Step 4 relaxed: inverse-distance weighting (Shepard) of the metric's exact values at the anchors."""

from __future__ import annotations

import torch

from uniloss.core.checks import check_positive
from uniloss.interpolators.base import Interpolator

__all__ = ["InverseDistanceWeighting"]


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
        eps = torch.finfo(squared_distances.dtype).tiny ** 0.5
        log_weights = -0.5 * self.power * torch.log(squared_distances + eps)
        values = values.to(log_weights.dtype)
        mixed = (torch.softmax(log_weights, dim=0) * values).sum()
        return mixed.clamp(values.min(), values.max())  # weights sum to 1 only up to rounding

    def __repr__(self) -> str:
        return f"InverseDistanceWeighting(power={self.power})"
