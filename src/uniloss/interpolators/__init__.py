"""Interpolators of the exact metric between anchor configurations: a base class and its implementations."""

from uniloss.interpolators.base import Interpolator
from uniloss.interpolators.idw import InverseDistanceWeighting

__all__ = ["Interpolator", "InverseDistanceWeighting"]
