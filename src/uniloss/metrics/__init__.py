"""Metrics refactored for UniLoss: one file per metric, each registered by name."""

from uniloss.metrics.accuracy import Accuracy
from uniloss.metrics.ap import AveragePrecision
from uniloss.metrics.base import MetricRefactoring
from uniloss.metrics.pck import PCK

__all__ = ["PCK", "Accuracy", "AveragePrecision", "MetricRefactoring"]
