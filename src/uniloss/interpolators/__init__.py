"""Interpolators of the exact metric between anchor configurations."""

from uniloss.interpolators.idw import InverseDistanceWeighting

__all__ = ["InverseDistanceWeighting"]
