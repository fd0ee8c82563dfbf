"""Callbacks: code that runs inside :func:`uniloss_lab.train.train` (diagnostics, studies), never a copy of the loop.

A callback subclasses :class:`Callback` and overrides the hooks it needs, as Lightning's ``Callback`` and the
``TrainerCallback`` of Hugging Face do::

    class PrintLoss(Callback):
        def on_train_batch_end(self, step):
            print(step.epoch, step.step, float(step.loss))

    train(config, callbacks=[PrintLoss()])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from uniloss_lab.train.config import TrainConfig
from uniloss_lab.train.tasks import Criterion, Task

__all__ = ["Callback", "RunInfo", "StepInfo"]


@dataclass
class RunInfo:
    """The objects of a run, as a callback sees them (the run's own objects, not copies).

    Attributes:
        config: the run's configuration.
        model: the model being trained (not its ``DistributedDataParallel`` wrapper).
        optimizer: the optimiser.
        task: the task: targets, training loss and exact metric (:func:`~uniloss_lab.train.build_task`).
        train_set: the training split.
        test_set: the test split.
        history: the history so far, as :func:`~uniloss_lab.train.train` returns it; its series grow each epoch.
        steps_per_epoch: the number of training steps in one epoch.
        start_epoch: the number of epochs already done (more than 0 when resuming).
    """

    config: TrainConfig
    model: nn.Module
    optimizer: torch.optim.Optimizer
    task: Task
    train_set: Dataset[Any]
    test_set: Dataset[Any]
    history: dict[str, Any]
    steps_per_epoch: int
    start_epoch: int


@dataclass(frozen=True)
class StepInfo:
    """One training step, after the optimiser step.

    Attributes:
        epoch: the 1-based epoch.
        step: the 1-based step within the epoch.
        indices: the indices, in the training split, of the batch's examples (this process's part).
        outputs: the model's outputs on the batch (a list of stacks for the hourglass), with their graph.
        targets: the task's targets of the batch (``(labels,)``; for PCK ``(heatmaps, joints, visible,
            head_size)``).
        loss: the loss the step minimised, detached (its backward has run).
        model: the model being trained.
        criterion: the training loss called on ``outputs`` (``None`` for a built-in baseline).
        optimizer: the optimiser.
    """

    epoch: int
    step: int
    indices: torch.Tensor
    outputs: Any
    targets: tuple[torch.Tensor, ...]
    loss: torch.Tensor
    model: nn.Module
    criterion: Criterion | None
    optimizer: torch.optim.Optimizer


class Callback:
    """Hooks that :func:`~uniloss_lab.train.train` calls in order; each does nothing unless overridden.

    Formally, after the run is set up (and a checkpoint resumed) ``on_train_begin(run)``; after every optimiser
    step ``on_train_batch_end(step)``, which may return ``True`` to stop the run there (the epoch in progress is
    then neither evaluated nor recorded nor checkpointed, as with a killed run); after each epoch's evaluation and
    history entry, before its checkpoint, ``on_epoch_end(run)``. Batches skipped for a non-finite loss reach no
    hook. Callbacks run in the training process: ``nproc > 1`` refuses them (they are not sent to spawned
    processes); under ``torchrun`` every process calls its own.

    Example:
        >>> from uniloss_lab.train import TrainConfig, train
        >>> class StopAfter(Callback):
        ...     def __init__(self, steps):
        ...         self.steps, self.losses = steps, []
        ...     def on_train_batch_end(self, step):
        ...         self.losses.append(float(step.loss))
        ...         return len(self.losses) >= self.steps
        >>> stop = StopAfter(3)
        >>> history = train(TrainConfig(epochs=2, limit_train=256, device="cpu"), progress=False, callbacks=[stop])
        >>> len(stop.losses), history["epoch"], history["completed"]
        (3, [1], False)
    """

    def on_train_begin(self, run: RunInfo) -> None:
        """Called once, before the first step of the run (or of the resumed run)."""

    def on_train_batch_end(self, step: StepInfo) -> bool | None:
        """Called after every optimiser step; return ``True`` to stop the run after this step."""
        return None

    def on_epoch_end(self, run: RunInfo) -> None:
        """Called after each epoch's evaluation, once ``run.history`` holds the epoch."""
