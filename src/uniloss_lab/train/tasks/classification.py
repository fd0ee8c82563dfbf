"""Classification tasks: AP and F1 of one class against the rest, and multi-class accuracy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from uniloss import exact
from uniloss.metrics import F1, Accuracy, AveragePrecision, FBeta, MetricRefactoring, TopKAccuracy
from uniloss_lab.train.tasks.base import Task, _Accumulator, _ClassesTask

__all__: list[str] = []


class _OneVsRestTask(Task):
    """One class against the rest: labels become ``label == positive_class``, one logit per example.

    The baseline is binary cross-entropy on the logits; the metric (:meth:`_pooled`) is pooled over the whole split.
    """

    def split(self, batch: Sequence[torch.Tensor]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        inputs, (labels,) = super().split(batch)
        return inputs, ((labels == self.config.positive_class).long(),)

    def _baseline(self, outputs: Any, target: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(outputs.float(), target.float())

    def _pooled(self, scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The exact metric of ``scores`` and ``labels`` (a batch, or the whole split)."""
        raise NotImplementedError

    def batch_metric(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> tuple[float, float]:
        return float(self._pooled(outputs.detach().float(), targets[0])), float(outputs.shape[0])

    def accumulator(self) -> _Accumulator:
        return _Accumulator(self._pooled)

    def update(self, accumulator: _Accumulator, outputs: Any, targets: tuple[torch.Tensor, ...]) -> None:
        accumulator.add_scores(outputs, targets[0])


class _APTask(_OneVsRestTask):
    """AP of one class against the rest, pooled over the whole split."""

    def _refactoring(self) -> MetricRefactoring:
        return AveragePrecision(mode=self.config.ap_mode)

    def _pooled(self, scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return exact.average_precision(scores, labels, validate_args=False)


class _F1Task(_OneVsRestTask):
    """F1 of one class against the rest at logit 0 (a positive prediction is a logit above 0), over the whole split.

    The loop also reports the test F1 at the threshold that maximises F1 on a held-out tenth of the training
    split (:mod:`uniloss_lab.train.thresholds`): for the baseline, that is binary cross-entropy with a tuned threshold.
    """

    tunes_threshold = True

    def _refactoring(self) -> MetricRefactoring:
        return F1(threshold=0.0)

    def _pooled(self, scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return exact.f1(scores, labels, threshold=0.0, validate_args=False)


class _FBetaTask(_OneVsRestTask):
    """F-beta of one class against the rest at logit 0 (``config.beta``), over the whole split; as :class:`_F1Task`."""

    tunes_threshold = True

    def _refactoring(self) -> MetricRefactoring:
        return FBeta(beta=self.config.beta, threshold=0.0)

    def _pooled(self, scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return exact.fbeta(scores, labels, self.config.beta, threshold=0.0, validate_args=False)


class _AccuracyTask(_ClassesTask):
    """Multi-class accuracy (a tie for the top score counts as wrong)."""

    def _refactoring(self) -> MetricRefactoring:
        return Accuracy(num_classes=self.num_classes, candidates=self.config.candidates)

    def batch_metric(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> tuple[float, float]:
        value = exact.accuracy(outputs.detach().float(), targets[0], validate_args=False)
        return float(value), float(outputs.shape[0])


class _TopKTask(_ClassesTask):
    """Top-``config.top_k`` accuracy over classes (a class tied with the true one counts above it)."""

    def _refactoring(self) -> MetricRefactoring:
        return TopKAccuracy(num_classes=self.num_classes, top_k=self.config.top_k)

    def batch_metric(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> tuple[float, float]:
        value = exact.top_k_accuracy(outputs.detach().float(), targets[0], self.config.top_k, validate_args=False)
        return float(value), float(outputs.shape[0])
