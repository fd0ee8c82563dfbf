"""The ``f1`` task's second reading: the test F1 at a threshold chosen on a held-out part of the training split.

F1 at a fixed threshold (logit 0) is what UniLoss, sigmoidF1 and binary cross-entropy are trained for; the
usual practice with cross-entropy is to choose the threshold afterwards on validation data. So a run of the
``f1`` task holds out the last tenth of its (possibly limited) training split, trains on the rest, and after
every epoch records, besides the test F1 at logit 0 (``test_metric``), the threshold that maximises F1 on the
held-out part (``tuned_threshold``) and the test F1 at that threshold (``tuned_test_metric``). Every loss gets
both readings; for the baseline they are "BCE at threshold 0" and "BCE with its threshold chosen on a
validation split".
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset, Subset, TensorDataset

from uniloss import exact
from uniloss_lab.train.batching import split_batches
from uniloss_lab.train.config import TrainConfig
from uniloss_lab.train.tasks import Task

__all__ = ["HOLDOUT_FRACTION", "TUNED_SERIES", "best_threshold", "holdout", "tuned_metric"]

HOLDOUT_FRACTION = 0.1
"""Part of the training split held out to tune the ``f1`` task's threshold (at least one example)."""
TUNED_SERIES = ("tuned_threshold", "tuned_test_metric")
"""The per-epoch lists a run of a task that tunes a threshold adds to its history."""


def _slice(dataset: Dataset[Any], start: int, stop: int) -> Dataset[Any]:
    if isinstance(dataset, TensorDataset):
        return TensorDataset(*(tensor[start:stop] for tensor in dataset.tensors))
    return Subset(dataset, range(start, stop))


def holdout(config: TrainConfig, train_set: Dataset[Any]) -> tuple[Dataset[Any], Dataset[Any] | None]:
    """Split off the validation part of the training split for the ``f1`` task: ``(train, validation)``.

    Formally, with ``n`` training examples and ``k = max(1, floor(0.1 n))``, the first ``n - k`` train and the
    last ``k`` validate; other tasks keep the whole split and get ``None``.

    Raises:
        ValueError: if the ``f1`` task has fewer than 2 training examples.

    Example:
        >>> data = TensorDataset(torch.zeros(20, 1), torch.zeros(20))
        >>> [len(part) for part in holdout(TrainConfig(task="f1"), data)]
        [18, 2]
    """
    if config.task != "f1":
        return train_set, None
    count = len(train_set)  # type: ignore[arg-type]
    if count < 2:
        raise ValueError(f"the 'f1' task needs at least 2 training examples (one held out), but got {count}.")
    kept = count - max(1, int(count * HOLDOUT_FRACTION))
    return _slice(train_set, 0, kept), _slice(train_set, kept, count)


def best_threshold(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """The threshold ``t`` maximising F1 of ``scores > t`` against ``labels``: a midpoint between two scores.

    Formally, over the cuts between distinct sorted scores (and above the highest one), the cut with the
    highest ``2 TP / (TP + FP + P)``; the first such cut from the top on a tie. Without a positive every cut
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
    f1 = 2 * hits.cumsum(0) / (torch.arange(1, count + 1) + hits.sum())
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
    model: nn.Module, task: Task, validation: Dataset[Any], test: Dataset[Any], batch_size: int = 512
) -> tuple[float, float]:
    """``(threshold, test F1)``: the threshold of :func:`best_threshold` on ``validation``, and F1 on ``test`` at it.

    Args:
        model: the model; put in eval mode and left there.
        task: the ``f1`` task (its :meth:`~uniloss_lab.train.Task.split` gives the binary labels).
        validation: the held-out part of the training split (:func:`holdout`).
        test: the test split.
        batch_size: evaluation batch size (does not change the values).

    Returns:
        The threshold and the exact test F1 there.
    """
    threshold = best_threshold(*_scores(model, task, validation, batch_size))
    scores, labels = _scores(model, task, test, batch_size)
    return threshold, float(exact.f1(scores, labels, threshold=threshold, validate_args=False))
