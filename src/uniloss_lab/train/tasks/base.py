"""The task base class: a run's targets, training loss (UniLoss, baseline, peer or a given criterion) and metric."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from uniloss.engine import UniLoss
from uniloss.metrics import MetricRefactoring
from uniloss_lab.train.config import TrainConfig
from uniloss_lab.train.peers import PEERS, build_peer
from uniloss_lab.train.user_metric import load_metric

__all__ = ["Criterion", "Task"]

Criterion = Callable[..., torch.Tensor]
"""A training loss called as the task calls UniLoss: ``criterion(scores, *targets)`` (see :func:`build_task`)."""


class _Accumulator:
    """Exact metric over many batches: a weighted mean of batch metrics, or ``pooled(scores, targets)`` of them all."""

    def __init__(self, pooled: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None) -> None:
        self.pooled = pooled
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
        if self.pooled is not None:
            if not self.scores:
                return 0.0
            return float(self.pooled(torch.cat(self.scores), torch.cat(self.labels)))
        return self.total / self.weight if self.weight > 0 else 0.0


class Task:
    """What a task does with model outputs: the training loss (UniLoss, baseline or peer) and the exact metric.

    Formally a task maps a data batch to ``(inputs, targets)``, model outputs and targets to a scalar loss
    (UniLoss of the task's metric, the baseline, or a peer loss of :data:`~uniloss_lab.train.peers.PEERS`), and
    accumulates the exact metric over a whole split. Build one with :func:`~uniloss_lab.train.build_task`.

    Args:
        config: the run's configuration.
        device: where batches are moved.
        distributed: build UniLoss with ``distributed=True`` (the loss of the batch gathered from every process).
        criterion: a training loss to use instead of ``config.loss`` (see :func:`build_task`), or ``None``.
        train_size: number of training examples, needed by a peer that keeps a state per example
            (``needs_index``: LibAUC's AP loss).

    Attributes:
        metric_name: the name of the task's exact metric, ``config.metric_name`` (``"average_precision"``, ...).
        loss_name: ``"UniLoss"``, the baseline's name, the peer's name, or the given criterion's name.
        criterion: the UniLoss module, the peer module, the given criterion, or ``None`` for the baseline.
        needs_index: the criterion takes the batch's training indices as its last argument (a peer's
            ``needs_index``); :meth:`loss` then needs ``indices``.
        tunes_threshold: the loop also reports the test metric at a threshold tuned on a held-out part of the
            training split (the ``f1`` task; see :mod:`uniloss_lab.train.thresholds`).
        global_loss: ``True`` when the criterion computes the loss of the batch gathered from every process
            (the task's own UniLoss); a baseline or a given criterion computes the loss of the local part.
        generator: seeds the anchors of the task's own UniLoss (seeded with ``config.seed``).
    """

    tunes_threshold = False

    def __init__(
        self,
        config: TrainConfig,
        device: torch.device,
        distributed: bool = False,
        criterion: Criterion | None = None,
        train_size: int | None = None,
        pos_weight: float | None = None,
    ) -> None:
        self.config = config
        self.device = device
        self.generator = torch.Generator(device=device).manual_seed(config.seed)
        self.criterion: Criterion | None = criterion
        self.global_loss = False
        self.needs_index = False
        if criterion is not None:
            self.loss_name = criterion_name(criterion)
        elif config.loss == "uniloss":
            self.loss_name = "UniLoss"
            self.global_loss = True
            self.criterion = UniLoss(
                self._refactoring() if config.metric is None else load_metric(config.metric),
                temperature=config.temperature,
                power=config.power,
                generator=self.generator,
                validate_args=False,
                distributed=distributed,
                memory=config.memory,
            )
        elif config.loss == "baseline":
            self.loss_name = config.baseline_name
        else:
            self.loss_name = config.loss
            self.criterion = self._peer(config.loss, train_size, pos_weight)
        if config.task_weight and criterion is None:
            self.loss_name = f"UniLoss + {config.task_weight:g} x {config.baseline_name}"

    @property
    def metric_name(self) -> str:
        """The name of the task's exact metric (``config.metric_name``)."""
        return self.config.metric_name

    def _peer(self, name: str, train_size: int | None, pos_weight: float | None) -> torch.nn.Module:
        """Build the peer loss ``name`` (its package is imported now: a missing one fails before training)."""
        peer = PEERS[name]
        options: dict[str, Any] = {}
        if peer.needs_index:
            if train_size is None:
                raise ValueError(f"`train_size` must be given for the peer {name!r} (it keeps a state per example).")
            options["data_len"] = train_size
            self.needs_index = True
        if "pos_weight" in peer.options:
            if pos_weight is None:
                raise ValueError(f"`pos_weight` must be given for the peer {name!r} (negatives / positives).")
            options["pos_weight"] = pos_weight
        if "beta" in peer.options:
            options["beta"] = self.config.beta if self.config.task == "fbeta" else 1.0
        return build_peer(name, **options).to(self.device)

    def _criterion(self, *arguments: torch.Tensor, indices: torch.Tensor | None) -> torch.Tensor:
        """Call the criterion on ``arguments``, and the batch's training ``indices`` when it needs them."""
        assert self.criterion is not None
        if not self.needs_index:
            return self.criterion(*arguments)
        if indices is None:
            raise ValueError(f"`indices` must be given for the loss {self.loss_name!r}, but got None.")
        return self.criterion(*arguments, indices.to(self.device))

    def _refactoring(self) -> MetricRefactoring:
        raise NotImplementedError

    def split(self, batch: Sequence[torch.Tensor]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Move a data batch to the device and split it into ``(inputs, targets)``."""
        moved = [tensor.to(self.device, non_blocking=True) for tensor in batch]
        return moved[0], tuple(moved[1:])

    def loss(
        self, outputs: Any, targets: tuple[torch.Tensor, ...], indices: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The training loss of one batch (UniLoss, the baseline or a peer).

        ``indices`` are the batch's indices in the training split, needed when :attr:`needs_index`. A task with
        one target gives only its baseline (:meth:`_baseline`); a task with several overrides this method.
        """
        (target,) = targets
        if self.criterion is None:
            return self._baseline(outputs, target)
        loss = self._criterion(outputs, target, indices=indices)
        if self.config.task_weight and self.config.loss == "uniloss":
            loss = loss + self.config.task_weight * self._baseline(outputs, target)  # UniLoss + w x task loss
        return loss

    def _baseline(self, outputs: Any, target: torch.Tensor) -> torch.Tensor:
        """The task's usual loss of one batch (binary or per-pixel cross-entropy, ...)."""
        raise NotImplementedError

    def batch_metric(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> tuple[float, float]:
        """Exact metric of one batch and its weight (examples or visible joints)."""
        raise NotImplementedError

    def accumulator(self) -> _Accumulator:
        """A fresh accumulator of the exact metric over a split."""
        return _Accumulator()

    def update(self, accumulator: _Accumulator, outputs: Any, targets: tuple[torch.Tensor, ...]) -> None:
        """Add one batch to ``accumulator``."""
        accumulator.add(*self.batch_metric(outputs, targets))

    def gather_batch(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> tuple[Any, tuple[torch.Tensor, ...]]:
        """The detached outputs and targets of every process's part of the batch, for :meth:`batch_metric`."""
        from uniloss.distributed import gather

        return gather(outputs.detach()), tuple(gather(target) for target in targets)


def criterion_name(criterion: Criterion) -> str:
    """``"UniLoss"`` for a UniLoss module, else the function's or the class's name."""
    if isinstance(criterion, UniLoss):
        return "UniLoss"
    name = getattr(criterion, "__name__", None)
    return name if isinstance(name, str) else type(criterion).__name__


class _ClassesTask(Task):
    """A task over ``num_classes`` classes (accuracy, segmentation): the count comes from the dataset's registry."""

    def __init__(
        self,
        config: TrainConfig,
        device: torch.device,
        num_classes: int,
        distributed: bool = False,
        criterion: Criterion | None = None,
        train_size: int | None = None,
    ) -> None:
        self.num_classes = num_classes
        super().__init__(config, device, distributed, criterion, train_size)

    def _baseline(self, outputs: Any, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(outputs.float(), target)
