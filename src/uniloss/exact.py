"""Exact metrics of scores (not differentiable), with the same definitions as the refactorings: what a user reports."""

from uniloss.metrics.accuracy import accuracy
from uniloss.metrics.ap import average_precision
from uniloss.metrics.auroc import auroc
from uniloss.metrics.balanced_accuracy import balanced_accuracy
from uniloss.metrics.dice import dice
from uniloss.metrics.fbeta import f1, fbeta
from uniloss.metrics.iou import iou
from uniloss.metrics.mean_average_precision import mean_average_precision
from uniloss.metrics.ndcg import ndcg
from uniloss.metrics.pck import pck
from uniloss.metrics.precision import precision
from uniloss.metrics.precision_at_k import precision_at_k
from uniloss.metrics.recall import recall
from uniloss.metrics.recall_at_k import recall_at_k
from uniloss.metrics.top_k_accuracy import top_k_accuracy

__all__ = [
    "accuracy",
    "auroc",
    "average_precision",
    "balanced_accuracy",
    "dice",
    "f1",
    "fbeta",
    "iou",
    "mean_average_precision",
    "ndcg",
    "pck",
    "precision",
    "precision_at_k",
    "recall",
    "recall_at_k",
    "top_k_accuracy",
]
