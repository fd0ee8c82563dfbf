"""``uniloss diagnose``: a training run with a :class:`uniloss.SurrogateMonitor` fed from every step."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, cast

import torch

from uniloss import SurrogateMonitor, UniLoss
from uniloss_lab.train import Callback, RunInfo, StepInfo, TrainConfig, load_data, train
from uniloss_lab.train.atomic import write_json
from uniloss_lab.train.batching import count_batches
from uniloss_lab.train.outputs import check_output, run_label

__all__ = ["diagnose"]


class _MonitorCallback(Callback):
    """Feeds a :class:`SurrogateMonitor` from every training step of :func:`~uniloss_lab.train.train`."""

    def __init__(self, steps: int | None, progress: bool) -> None:
        self.steps, self.progress = steps, progress
        self.total = 0
        self.monitor: SurrogateMonitor | None = None
        self.label = ""
        self.criterion: UniLoss | None = None
        self.pose = False

    def on_train_begin(self, run: RunInfo) -> None:
        criterion = run.task.criterion
        if not isinstance(criterion, UniLoss):
            raise TypeError(f"diagnose needs the run's UniLoss criterion, but got {type(criterion).__name__}.")
        self.monitor, self.criterion = SurrogateMonitor(criterion), criterion
        self.pose = run.config.task == "pck"
        self.label = run_label(run.config, run.task.loss_name)
        epochs = run.config.epochs - run.start_epoch
        self.total = epochs * run.steps_per_epoch if self.steps is None else self.steps

    def on_train_batch_end(self, step: StepInfo) -> bool:
        monitor, criterion = self.monitor, self.criterion
        if monitor is None or criterion is None:  # on_train_begin was not called
            return False
        targets = step.targets[1:] if self.pose else step.targets  # PCK's UniLoss takes no target heatmaps
        stacks = step.outputs if isinstance(step.outputs, (list, tuple)) else [step.outputs]
        last = stacks[-1]
        if len(stacks) > 1:  # the loss summed every stack: the surrogate of the last one alone, anchors untouched
            generator = criterion.generator
            state = generator.get_state() if generator is not None else None
            with torch.no_grad():
                monitor.record(criterion(last.detach(), *targets), last, *targets)
            if generator is not None and state is not None:
                generator.set_state(state)
        else:
            monitor.record(step.loss, last, *targets)
        done = len(monitor.steps)
        if self.progress and (done % max(1, self.total // 10) == 0 or done == self.total):
            surrogate, exact = monitor.surrogate[-1], monitor.exact[-1]
            print(f"{self.label} step {done}/{self.total}: surrogate {surrogate:.4f}  exact {exact:.4f}", flush=True)
        return self.steps is not None and done >= self.steps


def diagnose(
    config: TrainConfig, steps: int | None = None, progress: bool = True, out: str | Path | None = None
) -> tuple[dict[str, Any], Path]:
    """Train ``config`` with UniLoss, recording the surrogate and the exact metric of every training batch.

    Formally the run of :func:`uniloss_lab.train.train` itself (the same data order, model, optimiser, schedule,
    seeded UniLoss and evaluation; no checkpoints) with a callback that feeds a :class:`SurrogateMonitor` after
    every step, on the loss of the last hourglass stack for PCK (computed without touching the anchors the run
    draws). Writes ``diagnostic.png`` and ``diagnostic.json`` into ``out`` (default ``config.out``), which must not
    hold them already unless ``config.overwrite``.

    Args:
        config: a :class:`~uniloss_lab.train.TrainConfig` (its ``loss`` is taken as UniLoss).
        steps: stop after this many training steps (running more than ``config.epochs`` epochs when they need
            more); ``None`` for ``config.epochs`` epochs.
        progress: print a line every tenth of the run.
        out: the folder to write into; ``None`` for ``config.out`` (``.`` when that is unset).

    Returns:
        ``(summary, png_path)``; ``summary`` as :meth:`SurrogateMonitor.summary`.

    Raises:
        ValueError: if ``steps`` is not positive, the folder holds a diagnostic and ``config.overwrite`` is False,
            ``config.resume`` is set (a diagnostic cannot be continued), or as :func:`uniloss_lab.train.train`.

    Example:
        >>> import tempfile
        >>> from uniloss_lab.train import TrainConfig
        >>> config = TrainConfig(epochs=1, limit_train=256, limit_test=64, device="cpu")
        >>> summary, png = diagnose(config, steps=3, progress=False, out=tempfile.mkdtemp())
        >>> len(summary["exact"]), png.name
        (3, 'diagnostic.png')
    """
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise ValueError(f"`steps` must be a positive int or None, but got {steps!r}.")
    folder = Path(out if out is not None else (config.out or "."))
    check_output(folder, config.resume, config.overwrite, "diagnose", clear=True)
    config = config.replace(loss="uniloss", out=None, resume=False, overwrite=False, stop_after=None)
    if steps is not None:
        per_epoch = max(1, count_batches(len(load_data(config)[0]), config.batch_size))  # type: ignore[arg-type]
        config = config.replace(epochs=max(config.epochs, math.ceil(steps / per_epoch)))
    callback = _MonitorCallback(steps, progress)
    train(config, progress=False, callbacks=[callback])
    monitor = cast(SurrogateMonitor, callback.monitor)  # set by on_train_begin, which train() always calls
    png = monitor.save_png(
        folder / "diagnostic.png", title=f"UniLoss diagnostic: {config.task} on {config.dataset_name}"
    )
    summary = monitor.summary()
    write_json(folder / "diagnostic.json", summary)
    return summary, png
