"""Metrics refactored for UniLoss: one file per metric, each registered by name."""

from uniloss.metrics.accuracy import Accuracy
from uniloss.metrics.ap import AveragePrecision
from uniloss.metrics.auroc import AUROC
from uniloss.metrics.balanced_accuracy import BalancedAccuracy
from uniloss.metrics.base import DefaultParts, MetricRefactoring
from uniloss.metrics.dice import Dice
from uniloss.metrics.fbeta import F1, FBeta
from uniloss.metrics.iou import IoU
from uniloss.metrics.mean_average_precision import MeanAveragePrecision
from uniloss.metrics.ndcg import NDCG
from uniloss.metrics.pck import PCK
from uniloss.metrics.precision import Precision
from uniloss.metrics.precision_at_k import PrecisionAtK
from uniloss.metrics.recall import Recall
from uniloss.metrics.recall_at_k import RecallAtK
from uniloss.metrics.top_k_accuracy import TopKAccuracy

__all__ = [
    "AUROC",
    "F1",
    "NDCG",
    "PCK",
    "Accuracy",
    "AveragePrecision",
    "BalancedAccuracy",
    "DefaultParts",
    "Dice",
    "FBeta",
    "IoU",
    "MeanAveragePrecision",
    "MetricRefactoring",
    "Precision",
    "PrecisionAtK",
    "Recall",
    "RecallAtK",
    "TopKAccuracy",
]
