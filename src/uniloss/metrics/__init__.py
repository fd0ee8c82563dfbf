"""Metrics refactored for UniLoss: one file per metric, each registered by name.

A new metric subclasses :class:`MetricRefactoring`, or the base of its family: :class:`RankingMetric` and
:class:`CutoffMetric` (items ranked per query), :class:`ThresholdMetric` (a confusion matrix at a decision
threshold) or :class:`MaskMetric` (segmentation masks). Each family's module docstring gives its refactoring.
"""

from uniloss.metrics.accuracy import Accuracy
from uniloss.metrics.ap import AveragePrecision
from uniloss.metrics.auroc import AUROC
from uniloss.metrics.balanced_accuracy import BalancedAccuracy
from uniloss.metrics.base import DefaultParts, MetricRefactoring
from uniloss.metrics.confusion import Counts, ThresholdMetric
from uniloss.metrics.dice import Dice
from uniloss.metrics.fbeta import F1, FBeta
from uniloss.metrics.iou import IoU
from uniloss.metrics.mean_average_precision import MeanAveragePrecision
from uniloss.metrics.ndcg import NDCG
from uniloss.metrics.pck import PCK
from uniloss.metrics.precision import Precision
from uniloss.metrics.precision_at_k import PrecisionAtK
from uniloss.metrics.ranking import CutoffMetric, RankingMetric
from uniloss.metrics.recall import Recall
from uniloss.metrics.recall_at_k import RecallAtK
from uniloss.metrics.segmentation import MaskMetric
from uniloss.metrics.top_k_accuracy import TopKAccuracy

__all__ = [
    "AUROC",
    "F1",
    "NDCG",
    "PCK",
    "Accuracy",
    "AveragePrecision",
    "BalancedAccuracy",
    "Counts",
    "CutoffMetric",
    "DefaultParts",
    "Dice",
    "FBeta",
    "IoU",
    "MaskMetric",
    "MeanAveragePrecision",
    "MetricRefactoring",
    "Precision",
    "PrecisionAtK",
    "RankingMetric",
    "Recall",
    "RecallAtK",
    "ThresholdMetric",
    "TopKAccuracy",
]
