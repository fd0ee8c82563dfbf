"""Does the surrogate follow the metric? The interpolated metric next to the exact one on the same batches.

Use it inside any training loop::

    monitor = uniloss.reports.SurrogateMonitor(criterion)
    for inputs, labels in loader:
        scores = model(inputs)
        loss = criterion(scores, labels)
        monitor.record(loss, scores, labels)       # no gradient, one extra comparison pass
        ...
    monitor.save_png("diagnostic.png")             # both curves along training, and their scatter
    monitor.correlation()                          # Pearson r of surrogate and exact metric

or from the command line: ``uniloss diagnose --task ap --dataset fashion-mnist --epochs 1``, which is
:func:`diagnose`: the run of ``uniloss.train.train`` with a callback that records every step in a monitor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import torch

from uniloss.engine import UniLoss, pool_examples
from uniloss.metrics import MetricRefactoring
from uniloss.train import Callback, RunInfo, StepInfo, TrainConfig, load_data, train
from uniloss.train.atomic import write_json
from uniloss.train.batching import count_batches
from uniloss.train.outputs import check_output, run_label

__all__ = ["SurrogateMonitor", "diagnose", "exact_batch_metric", "pearson"]


def exact_batch_metric(metric: MetricRefactoring, scores: torch.Tensor, *targets: torch.Tensor) -> float:
    """The exact metric of one batch, through the same comparisons the surrogate uses.

    Formally ``g(sign(comparisons(scores)))`` with a tie counted wrong. A batch without any comparison gives the
    metric's value of the empty configuration (e.g. AP with no positive: 0).

    Args:
        metric: the refactored metric.
        scores: the scores the loss was given.
        *targets: the loss's targets.

    Returns:
        The metric as a float.

    Example:
        >>> from uniloss.metrics import AveragePrecision
        >>> round(exact_batch_metric(AveragePrecision(), torch.tensor([2.0, 1.0, 0.0]), torch.tensor([1, 0, 1])), 4)
        0.8333
    """
    with torch.no_grad():
        comparisons = metric.comparisons(scores.detach(), *targets)
        values = comparisons.values
        wrong = values <= 0
        if comparisons.mask is not None:
            wrong &= comparisons.mask
        if metric.uses_counts:
            return float(metric.evaluate_counts(wrong.sum(-1).unsqueeze(0), comparisons)[0])
        return float(metric.evaluate(torch.where(wrong, -1.0, 1.0).unsqueeze(0), comparisons)[0])


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson correlation of two equally long sequences; ``nan`` when fewer than 2 points or no variance.

    Example:
        >>> round(pearson([1.0, 2.0, 3.0], [2.0, 4.0, 6.5]), 4)
        0.9979
    """
    if len(x) != len(y):
        raise ValueError(f"`x` and `y` must have the same length, but got {len(x)} and {len(y)}.")
    n = len(x)
    if n < 2:
        return math.nan
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    if sxx <= 0 or syy <= 0:
        return math.nan
    return sxy / math.sqrt(sxx * syy)


class SurrogateMonitor:
    """Records the surrogate metric ``1 - loss`` next to the exact metric of the same batch, step by step.

    Formally at each :meth:`record` it stores ``surrogate = 1 - loss`` (``loss`` itself for a lower-is-better
    metric) and ``exact = g(sign(comparisons(scores)))``. :meth:`correlation` is the Pearson correlation of the
    two series (``detrend=True``: of their step-to-step changes, which removes the common upward trend of
    training and asks whether the surrogate moves with the metric batch by batch).

    With a criterion built with ``memory=M`` and in training mode, the loss measures the batch pooled with the
    last ``M`` examples, so ``exact`` is the metric of the same pooled sample: after each :meth:`record` the
    monitor keeps what the criterion's memory holds for its next call. Record every criterion call, once. After
    ``criterion.reset_memory()`` one step still pools the forgotten examples; under ``distributed`` the
    criterion pools the global batch and the monitor only sees the local one.

    Args:
        criterion: the :class:`~uniloss.UniLoss` module (or a metric: then pass the loss to :meth:`record`).

    Example:
        >>> import uniloss
        >>> criterion = uniloss.UniLoss(uniloss.metrics.AveragePrecision(), generator=torch.Generator().manual_seed(0))
        >>> monitor = SurrogateMonitor(criterion)
        >>> scores, labels = torch.tensor([2.0, -1.0, 0.5, -3.0]), torch.tensor([1, 0, 1, 0])
        >>> monitor.record(criterion(scores, labels), scores, labels)
        >>> monitor.exact
        [1.0]
    """

    def __init__(self, criterion: UniLoss | MetricRefactoring) -> None:
        metric = criterion.metric if isinstance(criterion, UniLoss) else criterion
        if not isinstance(metric, MetricRefactoring):
            raise TypeError(
                f"`criterion` must be a UniLoss or a MetricRefactoring, but got {type(criterion).__name__}."
            )
        self.metric = metric
        self.criterion = criterion if isinstance(criterion, UniLoss) else None
        self._remembered: tuple[torch.Tensor, ...] | None = None
        self.steps: list[int] = []
        self.surrogate: list[float] = []
        self.exact: list[float] = []

    def record(self, loss: torch.Tensor | float, scores: torch.Tensor, *targets: torch.Tensor) -> None:
        """Store one batch: the loss UniLoss returned on ``(scores, *targets)`` and the exact metric there."""
        value = float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss)
        self.steps.append(len(self.steps) + 1)
        self.surrogate.append(1 - value if self.metric.higher_is_better else value)
        self.exact.append(exact_batch_metric(self.metric, *self._pooled(scores, *targets)))

    def _pooled(self, scores: torch.Tensor, *targets: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The batch, followed by the examples the criterion's memory held for it (see the class docstring)."""
        criterion = self.criterion
        if criterion is None or not criterion.memory or not criterion.training:
            return (scores, *targets)
        batch = (scores.detach(), *targets)
        held = self._remembered
        self._remembered = criterion.example_memory.examples  # what the next call pools
        if held is None or len(held) != len(batch):
            return batch
        return pool_examples(batch, held)

    def correlation(self, detrend: bool = False) -> float:
        """Pearson correlation of the surrogate and the exact metric (of their changes with ``detrend``)."""
        if detrend:
            ds = [b - a for a, b in zip(self.surrogate, self.surrogate[1:], strict=False)]
            de = [b - a for a, b in zip(self.exact, self.exact[1:], strict=False)]
            return pearson(ds, de)
        return pearson(self.surrogate, self.exact)

    def summary(self) -> dict[str, Any]:
        """The series and both correlations, JSON-ready."""
        return {
            "metric": getattr(self.metric, "name", type(self.metric).__name__),
            "steps": list(self.steps),
            "surrogate": list(self.surrogate),
            "exact": list(self.exact),
            "correlation": self.correlation(),
            "correlation_of_changes": self.correlation(detrend=True),
        }

    def save_png(self, path: str | Path, title: str | None = None, smooth: int = 0) -> Path:
        """Write a PNG: both series along training (left) and exact against surrogate with r (right).

        Args:
            path: the PNG file.
            title: figure title (default: the metric's name).
            smooth: also draw running means over this many steps (0: ``len / 20``, at least 1).

        Returns:
            The path written.
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        figure = Figure(figsize=(10.0, 4.0), dpi=100)
        FigureCanvasAgg(figure)
        left, right = figure.subplots(1, 2)
        window = smooth or max(1, len(self.steps) // 20)
        for series, label, colour in (
            (self.surrogate, "surrogate 1 - loss", "#1f77b4"),
            (self.exact, "exact", "#ff7f0e"),
        ):
            left.plot(self.steps, series, color=colour, alpha=0.3, linewidth=0.8)
            left.plot(self.steps, _running_mean(series, window), color=colour, label=f"{label} (mean of {window})")
        left.set_xlabel("step")
        left.set_ylabel(f"{self.metric.name or 'metric'} on the training batch")
        left.legend(loc="lower right", fontsize=8)
        right.scatter(self.surrogate, self.exact, s=6, alpha=0.5)
        right.set_xlabel("surrogate")
        right.set_ylabel("exact")
        right.set_title(
            f"r = {self.correlation():.3f}, r of changes = {self.correlation(detrend=True):.3f}", fontsize=9
        )
        figure.suptitle(title or f"UniLoss diagnostic: {self.metric.name or type(self.metric).__name__}")
        figure.tight_layout()
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(target)
        return target


def _running_mean(values: Sequence[float], window: int) -> list[float]:
    out, total = [], 0.0
    for index, value in enumerate(values):
        total += value
        if index >= window:
            total -= values[index - window]
        out.append(total / min(index + 1, window))
    return out


class _MonitorCallback(Callback):
    """Feeds a :class:`SurrogateMonitor` from every training step of :func:`~uniloss.train.train`."""

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

    Formally the run of :func:`uniloss.train.train` itself (the same data order, model, optimiser, schedule,
    seeded UniLoss and evaluation; no checkpoints) with a callback that feeds a :class:`SurrogateMonitor` after
    every step, on the loss of the last hourglass stack for PCK (computed without touching the anchors the run
    draws). Writes ``diagnostic.png`` and ``diagnostic.json`` into ``out`` (default ``config.out``), which must not
    hold them already unless ``config.overwrite``.

    Args:
        config: a :class:`~uniloss.train.TrainConfig` (its ``loss`` is taken as UniLoss).
        steps: stop after this many training steps (running more than ``config.epochs`` epochs when they need
            more); ``None`` for ``config.epochs`` epochs.
        progress: print a line every tenth of the run.
        out: the folder to write into; ``None`` for ``config.out`` (``.`` when that is unset).

    Returns:
        ``(summary, png_path)``; ``summary`` as :meth:`SurrogateMonitor.summary`.

    Raises:
        ValueError: if ``steps`` is not positive, the folder holds a diagnostic and ``config.overwrite`` is False,
            ``config.resume`` is set (a diagnostic cannot be continued), or as :func:`uniloss.train.train`.

    Example:
        >>> import tempfile
        >>> from uniloss.train import TrainConfig
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
