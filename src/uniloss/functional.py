"""Exact metrics computed from scores, with the same definitions as the refactorings."""

from uniloss.metrics.accuracy import accuracy
from uniloss.metrics.ap import average_precision
from uniloss.metrics.pck import pck

__all__ = ["accuracy", "average_precision", "pck"]
