"""Does the surrogate follow the metric? The interpolated metric next to the exact one on the same batches.

Use it inside any training loop::

    monitor = uniloss.SurrogateMonitor(criterion)
    for inputs, labels in loader:
        scores = model(inputs)
        loss = criterion(scores, labels)
        monitor.record(loss, scores, labels)       # no gradient, one extra comparison pass
        ...
    monitor.correlation()                          # Pearson r of surrogate and exact metric
    monitor.save_png("diagnostic.png")             # both curves along training, and their scatter (matplotlib)

``uniloss diagnose`` (the lab) runs a training with a monitor fed from every step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from uniloss.anchors.bits import count_per_row
from uniloss.engine import UniLoss, pool_examples
from uniloss.metrics import MetricRefactoring

__all__ = ["SurrogateMonitor", "exact_batch_metric", "pearson"]


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
            return float(metric.evaluate_counts(count_per_row(wrong).unsqueeze(0), comparisons)[0])
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
