"""How a run's training split is cut: rare positives (``positive_fraction``) and the validation part (``validation``).

Both cuts are drawn with fixed seeds (:data:`SPLIT_SEED`), not the run's seed, so every loss and every seed of a
benchmark setting trains and validates on the same examples; the test split is never touched. The validation part
is stratified by class where the split has class labels (the classification sets), so a one-vs-rest task with
rare positives keeps the same share of positives in both parts.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import Dataset, Subset, TensorDataset

from uniloss_lab.train.config import ONE_VS_REST, TrainConfig

__all__ = ["SPLIT_SEED", "class_labels", "cut_positives", "holdout", "positive_count"]

SPLIT_SEED = 0
"""Seed of the generator that draws the kept positives and the validation part (the same for every run)."""


def class_labels(dataset: Dataset[Any]) -> torch.Tensor | None:
    """The int ``(N,)`` class labels of a classification split (a ``TensorDataset`` of images, labels), else None."""
    if isinstance(dataset, TensorDataset) and len(dataset.tensors) == 2:
        labels = dataset.tensors[1]
        if labels.ndim == 1 and not labels.is_floating_point():
            return labels
    return None


def _take(dataset: Dataset[Any], indices: torch.Tensor) -> Dataset[Any]:
    if isinstance(dataset, TensorDataset):
        return TensorDataset(*(tensor[indices] for tensor in dataset.tensors))
    return Subset(dataset, indices.tolist())


def cut_positives(config: TrainConfig, train_set: Dataset[Any]) -> Dataset[Any]:
    """Keep only enough positives (``label == positive_class``) that they make ``positive_fraction`` of the split.

    Formally, with ``n`` negatives and fraction ``f``, ``k = max(1, round(f n / (1 - f)))`` positives drawn by a
    generator seeded with :data:`SPLIT_SEED` are kept (all of them if there are fewer), in their original order
    among the negatives. Without ``positive_fraction`` the split is returned unchanged.

    Raises:
        ValueError: if the split has no class labels.

    Example:
        >>> data = TensorDataset(torch.zeros(100, 1), torch.tensor([1] * 50 + [0] * 50))
        >>> labels = cut_positives(TrainConfig(positive_class=1, positive_fraction=0.2), data).tensors[1]
        >>> int(labels.sum()), len(labels)  # 12.5 -> 12 positives beside 50 negatives
        (12, 62)
    """
    if config.positive_fraction is None:
        return train_set
    labels = class_labels(train_set)
    if labels is None:
        raise ValueError(f"`positive_fraction` needs class labels, which the {config.dataset_name!r} split lacks.")
    positive = labels == config.positive_class
    negatives = int((~positive).sum())
    fraction = config.positive_fraction
    kept = max(1, round(fraction * negatives / (1 - fraction)))
    positives = torch.nonzero(positive).flatten()
    generator = torch.Generator().manual_seed(SPLIT_SEED)
    chosen = positives[torch.randperm(len(positives), generator=generator)[:kept]]
    keep = torch.cat([torch.nonzero(~positive).flatten(), chosen]).sort().values
    return _take(train_set, keep)


def holdout(config: TrainConfig, train_set: Dataset[Any]) -> tuple[Dataset[Any], Dataset[Any] | None]:
    """Split the training split into ``(train, validation)`` by ``config.validation_fraction``; ``None`` without one.

    Formally, with fraction ``f``, each class ``c`` with ``n_c`` examples gives ``round(f n_c)`` of them, drawn by a
    generator seeded with :data:`SPLIT_SEED`, to the validation part (stratified; a split without class labels is
    drawn as one class), and at least one example in all; both parts keep the original order.

    Raises:
        ValueError: if a validation part is asked of fewer than 2 training examples.

    Example:
        >>> data = TensorDataset(torch.zeros(20, 1), torch.tensor([0] * 10 + [1] * 10))
        >>> train, validation = holdout(TrainConfig(task="f1"), data)  # f1 holds out a tenth by default
        >>> len(train), validation.tensors[1].tolist()
        (18, [0, 1])
    """
    fraction = config.validation_fraction
    if fraction == 0:
        return train_set, None
    count = len(train_set)  # type: ignore[arg-type]
    if count < 2:
        raise ValueError(f"a validation split needs at least 2 training examples (one held out), but got {count}.")
    labels = class_labels(train_set)
    if labels is None:
        labels = torch.zeros(count, dtype=torch.long)
    generator = torch.Generator().manual_seed(SPLIT_SEED)
    held = []
    for value in torch.unique(labels):
        members = torch.nonzero(labels == value).flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        held.append(members[: round(fraction * len(members))])
    validation = torch.cat(held)
    if validation.numel() == 0:
        validation = torch.randperm(count, generator=generator)[:1]
    mask = torch.zeros(count, dtype=torch.bool)
    mask[validation] = True
    indices = torch.arange(count)
    return _take(train_set, indices[~mask]), _take(train_set, indices[mask])


def positive_count(config: TrainConfig, train_set: Dataset[Any]) -> tuple[int, int] | None:
    """``(positives, negatives)`` of a one-vs-rest task's training split; ``None`` for other tasks or no labels."""
    labels = class_labels(train_set)
    if config.task not in ONE_VS_REST or labels is None:
        return None
    positives = int((labels == config.positive_class).sum())
    return positives, len(labels) - positives
