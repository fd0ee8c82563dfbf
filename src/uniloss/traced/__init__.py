"""Metrics written as plain PyTorch code, refactored into comparisons by tracing: :func:`from_function`."""

from uniloss.traced.errors import RULES, UnsupportedMetricError
from uniloss.traced.metric import FunctionMetric, from_function, guess_ideal

__all__ = ["RULES", "FunctionMetric", "UnsupportedMetricError", "from_function", "guess_ideal"]
