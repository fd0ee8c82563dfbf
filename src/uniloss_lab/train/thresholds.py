"""The second reading of the ``f1`` and ``fbeta`` tasks: the test metric at a threshold chosen on validation data.

F1 (or F-beta) at a fixed threshold (logit 0) is what UniLoss, sigmoidF1, AnyLoss and binary cross-entropy are
trained for; the usual practice with cross-entropy is to choose the threshold afterwards on validation data. So a
run of these tasks holds out a validation part of its training split (:func:`uniloss_lab.train.splits.holdout`), and
after every epoch records the threshold that maximises the metric there (``tuned_threshold``) and, when it reads
the test split, the test metric at that threshold (``tuned_test_metric``). Every loss gets both readings; for the
baseline they are "BCE at threshold 0" and "BCE with its threshold chosen on a validation split".
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from uniloss import exact
from uniloss_lab.train.batching import split_batches
from uniloss_lab.train.tasks import Task

__all__ = ["TUNED_SERIES", "best_threshold", "tuned_metric"]

TUNED_SERIES = ("tuned_threshold", "tuned_test_metric")
"""The per-epoch lists a run of a task that tunes a threshold adds to its history."""


def best_threshold(scores: torch.Tensor, labels: torch.Tensor, beta: float = 1.0) -> float:
    """The threshold ``t`` maximising F-beta of ``scores > t`` against ``labels``: a midpoint between two scores.

    Formally, over the cuts between distinct sorted scores (and above the highest one), the cut with the
    highest ``(1 + beta^2) TP / (TP + FP + beta^2 P)`` (F1 for ``beta = 1``); the first such cut from the top on a
    tie. Without a positive every cut
    gives 0 and the threshold is just above the highest score.

    Example:
        >>> best_threshold(torch.tensor([3.0, 1.0, 0.5, -2.0]), torch.tensor([1, 1, 0, 0]))
        0.75
    """
    scores = scores.detach().float().flatten().cpu()
    labels = labels.detach().flatten().cpu().float()
    order = torch.argsort(scores, descending=True)
    ranked, hits = scores[order], labels[order]
    count = ranked.numel()
    if count == 0:
        return 0.0
    f1 = (1 + beta**2) * hits.cumsum(0) / (torch.arange(1, count + 1) + beta**2 * hits.sum())
    cut = torch.ones(count, dtype=torch.bool)
    cut[:-1] = ranked[:-1] > ranked[1:]  # a cut after a score tied with the next one is not a threshold
    f1 = torch.where(cut, f1, torch.full_like(f1, -1.0))
    best = int(torch.argmax(f1))
    if float(f1[best]) <= 0:
        return float(ranked[0]) + 1.0
    below = float(ranked[best + 1]) if best + 1 < count else float(ranked[best]) - 2.0
    return (float(ranked[best]) + below) / 2


@torch.no_grad()
def _scores(model: nn.Module, task: Task, dataset: Dataset[Any], batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    model.eval()
    scores, labels = [], []
    for batch in split_batches(dataset, batch_size, None, 0):
        inputs, (targets,) = task.split(batch)
        scores.append(model(inputs).detach().float().cpu())
        labels.append(targets.cpu())
    return torch.cat(scores), torch.cat(labels)


def tuned_metric(
    model: nn.Module, task: Task, validation: Dataset[Any], test: Dataset[Any] | None, batch_size: int = 512
) -> tuple[float, float | None]:
    """``(threshold, test metric)``: :func:`best_threshold` on ``validation``, and F-beta on ``test`` there.

    Args:
        model: the model; put in eval mode and left there.
        task: the ``f1`` or ``fbeta`` task (its :meth:`~uniloss_lab.train.Task.split` gives the binary labels; its
            ``config.beta`` the beta, 1 for ``f1``).
        validation: the held-out part of the training split (:func:`uniloss_lab.train.splits.holdout`).
        test: the test split, or ``None`` for an epoch that does not read it.
        batch_size: evaluation batch size (does not change the values).

    Returns:
        The threshold and the exact test metric there (``None`` without ``test``).
    """
    beta = task.config.beta if task.config.task == "fbeta" else 1.0
    threshold = best_threshold(*_scores(model, task, validation, batch_size), beta=beta)
    if test is None:
        return threshold, None
    scores, labels = _scores(model, task, test, batch_size)
    return threshold, float(exact.fbeta(scores, labels, beta, threshold=threshold, validate_args=False))
