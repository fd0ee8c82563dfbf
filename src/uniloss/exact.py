"""Exact metrics of scores (not differentiable), with the same definitions as the refactorings: what a user reports.

Tied scores (ReLU outputs, float16, saturated sigmoids, constant scores) follow one of two rules, chosen by the
keyword ``ties`` of every function here:

- ``ties="standard"`` (the default): the field's convention, so reported values agree with scikit-learn and
  torchmetrics. AUROC counts a tied positive-negative pair half (``roc_auc_score``); average precision and mAP
  treat tied scores as one threshold (``average_precision_score``); NDCG, precision and recall at k and top-k
  accuracy (accuracy is top-1) take the expected value over the orders of tied items, as ``ndcg_score``
  averages over ties (scikit-learn and torchmetrics break ties of top-k accuracy and of P@k / R@k by index or
  ``torch.topk`` order, so they agree with it only without ties); the confusion metrics (precision, recall,
  F-beta, balanced accuracy, binary IoU and Dice) predict a score equal to the threshold negative (torchmetrics'
  ``preds > threshold``); a tied argmax (multi-class IoU and Dice, PCK's peak) goes to the first index, as
  ``torch.argmax``.
- ``ties="pessimistic"``: the refactoring's rule, a tie is a wrong binary, so the value equals
  ``metric.evaluate`` of the hard step of ``metric.comparisons`` (what :func:`uniloss.verify_metric` and the
  loss's limit see). Use it to compare with the refactoring; it never exceeds the standard value.

Without ties the two rules agree. Each function's docstring says what its rule does there.
"""

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
