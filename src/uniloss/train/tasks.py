"""Tasks: what a run does with model outputs (its targets, training loss and exact metric), for AP, accuracy, PCK."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from uniloss import functional
from uniloss.data import dataset_info
from uniloss.engine import UniLoss
from uniloss.metrics import PCK, Accuracy, AveragePrecision, MetricRefactoring
from uniloss.train.config import TrainConfig

__all__ = ["Criterion", "Task", "build_task"]

Criterion = Callable[..., torch.Tensor]
"""A training loss called as the task calls UniLoss: ``criterion(scores, *targets)`` (see :func:`build_task`)."""


class _Accumulator:
    """Exact metric over many batches: a weighted mean of batch metrics, or AP over all stored scores."""

    def __init__(self, pooled_ap: bool) -> None:
        self.pooled_ap = pooled_ap
        self.total = 0.0
        self.weight = 0.0
        self.scores: list[torch.Tensor] = []
        self.labels: list[torch.Tensor] = []

    def add(self, value: float, weight: float) -> None:
        self.total += value * weight
        self.weight += weight

    def add_scores(self, scores: torch.Tensor, labels: torch.Tensor) -> None:
        self.scores.append(scores.detach().float().cpu())
        self.labels.append(labels.detach().cpu())

    def compute(self) -> float:
        if self.pooled_ap:
            if not self.scores:
                return 0.0
            scores, labels = torch.cat(self.scores), torch.cat(self.labels)
            return float(functional.average_precision(scores, labels, validate_args=False))
        return self.total / self.weight if self.weight > 0 else 0.0


class Task:
    """What a task does with model outputs: the training loss (UniLoss or baseline) and the exact metric.

    Formally a task maps a data batch to ``(inputs, targets)``, model outputs and targets to a scalar loss
    (UniLoss of the task's metric, or the baseline), and accumulates the exact metric over a whole split. Build
    one with :func:`build_task`.

    Args:
        config: the run's configuration.
        device: where batches are moved.
        distributed: build UniLoss with ``distributed=True`` (the loss of the batch gathered from every process).
        criterion: a training loss to use instead of ``config.loss`` (see :func:`build_task`), or ``None``.

    Attributes:
        metric_name: ``"average_precision"``, ``"accuracy"`` or ``"pck"``.
        loss_name: ``"UniLoss"``, the baseline's name, or the given criterion's name.
        criterion: the UniLoss module, the given criterion, or ``None`` for the baseline.
        global_loss: ``True`` when the criterion computes the loss of the batch gathered from every process
            (the task's own UniLoss); a baseline or a given criterion computes the loss of the local part.
        generator: seeds the anchors of the task's own UniLoss (seeded with ``config.seed``).
    """

    metric_name = ""

    def __init__(
        self,
        config: TrainConfig,
        device: torch.device,
        distributed: bool = False,
        criterion: Criterion | None = None,
    ) -> None:
        self.config = config
        self.device = device
        self.generator = torch.Generator(device=device).manual_seed(config.seed)
        self.criterion: Criterion | None = criterion
        self.global_loss = False
        if criterion is not None:
            self.loss_name = _criterion_name(criterion)
        elif config.loss == "uniloss":
            self.loss_name = "UniLoss"
            self.global_loss = True
            self.criterion = UniLoss(
                self._refactoring(),
                temperature=config.temperature,
                power=config.power,
                generator=self.generator,
                validate_args=False,
                distributed=distributed,
                memory=config.memory,
            )
        else:
            self.loss_name = config.baseline_name

    def _refactoring(self) -> MetricRefactoring:
        raise NotImplementedError

    def split(self, batch: Sequence[torch.Tensor]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Move a data batch to the device and split it into ``(inputs, targets)``."""
        moved = [tensor.to(self.device, non_blocking=True) for tensor in batch]
        return moved[0], tuple(moved[1:])

    def loss(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """The training loss of one batch (UniLoss or the baseline)."""
        raise NotImplementedError

    def batch_metric(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> tuple[float, float]:
        """Exact metric of one batch and its weight (examples or visible joints)."""
        raise NotImplementedError

    def accumulator(self) -> _Accumulator:
        """A fresh accumulator of the exact metric over a split."""
        return _Accumulator(pooled_ap=False)

    def update(self, accumulator: _Accumulator, outputs: Any, targets: tuple[torch.Tensor, ...]) -> None:
        """Add one batch to ``accumulator``."""
        accumulator.add(*self.batch_metric(outputs, targets))

    def gather_batch(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> tuple[Any, tuple[torch.Tensor, ...]]:
        """The detached outputs and targets of every process's part of the batch, for :meth:`batch_metric`."""
        from uniloss.distributed import gather

        return gather(outputs.detach()), tuple(gather(target) for target in targets)


class _APTask(Task):
    """One class against the rest: labels become ``label == positive_class``; AP over the whole split."""

    metric_name = "average_precision"

    def _refactoring(self) -> MetricRefactoring:
        return AveragePrecision(mode=self.config.ap_mode)

    def split(self, batch: Sequence[torch.Tensor]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        inputs, (labels,) = super().split(batch)
        return inputs, ((labels == self.config.positive_class).long(),)

    def loss(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> torch.Tensor:
        (labels,) = targets
        if self.criterion is not None:
            return self.criterion(outputs, labels)
        return F.binary_cross_entropy_with_logits(outputs.float(), labels.float())

    def batch_metric(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> tuple[float, float]:
        value = functional.average_precision(outputs.detach().float(), targets[0], validate_args=False)
        return float(value), float(outputs.shape[0])

    def accumulator(self) -> _Accumulator:
        return _Accumulator(pooled_ap=True)

    def update(self, accumulator: _Accumulator, outputs: Any, targets: tuple[torch.Tensor, ...]) -> None:
        accumulator.add_scores(outputs, targets[0])


class _AccuracyTask(Task):
    """Multi-class accuracy (a tie for the top score counts as wrong)."""

    metric_name = "accuracy"

    def __init__(
        self,
        config: TrainConfig,
        device: torch.device,
        num_classes: int,
        distributed: bool = False,
        criterion: Criterion | None = None,
    ) -> None:
        self.num_classes = num_classes
        super().__init__(config, device, distributed, criterion)

    def _refactoring(self) -> MetricRefactoring:
        return Accuracy(num_classes=self.num_classes, candidates=self.config.candidates)

    def loss(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> torch.Tensor:
        (labels,) = targets
        if self.criterion is not None:
            return self.criterion(outputs, labels)
        return F.cross_entropy(outputs.float(), labels)

    def batch_metric(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> tuple[float, float]:
        value = functional.accuracy(outputs.detach().float(), targets[0], validate_args=False)
        return float(value), float(outputs.shape[0])


class _PCKTask(Task):
    """PCK on heatmaps; with several hourglass stacks the loss is summed over stacks, the metric uses the last."""

    metric_name = "pck"

    def _refactoring(self) -> MetricRefactoring:
        return PCK(threshold=self.config.threshold)

    @staticmethod
    def _stacks(outputs: Any) -> list[torch.Tensor]:
        return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]

    def loss(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> torch.Tensor:
        heatmaps, joints, visible, head_size = targets
        total = torch.zeros((), device=self.device)
        weight = visible.to(heatmaps.dtype)[..., None, None]
        for stack in self._stacks(outputs):
            if self.criterion is not None:
                total = total + self.criterion(stack, joints, visible, head_size)
            else:
                total = total + ((stack.float() - heatmaps) ** 2 * weight).mean()
        return total

    def batch_metric(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> tuple[float, float]:
        _, joints, visible, head_size = targets
        last = self._stacks(outputs)[-1].detach().float()
        value = functional.pck(last, joints, visible, head_size, threshold=self.config.threshold, validate_args=False)
        return float(value), float(visible.sum())

    def gather_batch(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> tuple[Any, tuple[torch.Tensor, ...]]:
        from uniloss.distributed import gather

        heatmaps, *rest = targets  # the target heatmaps are not needed by the metric: not sent
        return gather(self._stacks(outputs)[-1].detach()), (heatmaps, *(gather(target) for target in rest))


def build_task(
    config: TrainConfig,
    device: torch.device | str = "cpu",
    distributed: bool = False,
    criterion: Criterion | None = None,
) -> Task:
    """Build the task object of ``config``: targets, training loss and exact metric for its model outputs.

    Formally, for ``ap`` the targets are ``label == positive_class`` and the losses UniLoss(AveragePrecision)
    or binary cross-entropy on logits; for ``accuracy`` UniLoss(Accuracy) or cross-entropy; for ``pck``
    UniLoss(PCK) or the heatmap MSE over visible joints, summed over hourglass stacks. The UniLoss anchors
    are drawn from a generator seeded with ``config.seed``. A given ``criterion`` replaces the loss of
    ``config.loss`` and is called as UniLoss would be: ``criterion(scores, labels)`` for ``ap`` and
    ``accuracy``, ``criterion(heatmaps, joints, visible, head_size)`` for each hourglass stack of ``pck``.

    Args:
        config: the run's configuration.
        device: device of the batches and of the UniLoss generator.
        distributed: build UniLoss with ``distributed=True``: under a process group it computes the loss of
            the batch gathered from every process (used by ``nproc > 1``).
        criterion: a training loss to use instead of ``config.loss`` (for example a UniLoss with other parts,
            or a loss under study), or ``None``.

    Returns:
        The :class:`Task`.

    Example:
        >>> task = build_task(TrainConfig(task="ap", positive_class=3))
        >>> task.metric_name, task.loss_name
        ('average_precision', 'UniLoss')
        >>> def hinge(scores, labels):
        ...     return torch.relu(1 - (2 * labels - 1) * scores).mean()
        >>> build_task(TrainConfig(task="ap"), criterion=hinge).loss_name
        'hinge'

    """
    device = torch.device(device)
    if criterion is not None and not callable(criterion):
        raise TypeError(f"`criterion` must be callable or None, but got {type(criterion).__name__}.")
    if config.task == "ap":
        return _APTask(config, device, distributed, criterion)
    if config.task == "accuracy":
        num_classes = dataset_info(config.dataset_name)["num_classes"]
        return _AccuracyTask(config, device, num_classes, distributed, criterion)
    return _PCKTask(config, device, distributed, criterion)


def _criterion_name(criterion: Criterion) -> str:
    """``"UniLoss"`` for a UniLoss module, else the function's or the class's name."""
    if isinstance(criterion, UniLoss):
        return "UniLoss"
    name = getattr(criterion, "__name__", None)
    return name if isinstance(name, str) else type(criterion).__name__
