"""Fixtures of the metric tests, defined in ``tests/_helpers``."""

from tests._helpers.metric_cases import metric_case

__all__ = ["metric_case"]
