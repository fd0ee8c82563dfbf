"""Checks of a user-defined metric refactoring on an example batch, before training with it."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch

from uniloss.anchors.paper_anchors import PaperAnchors
from uniloss.core.comparisons import Comparisons
from uniloss.engine.loss import exact_without_binaries, uniloss
from uniloss.metrics.base import MetricRefactoring
from uniloss.relaxations.hard_step import HardStep
from uniloss.relaxations.sigmoid import Sigmoid

__all__ = ["MetricReport", "verify_metric"]

_TOLERANCE = 1e-6


@dataclass(frozen=True)
class MetricReport:
    """What :func:`verify_metric` verified: one line per check, and the numbers it saw."""

    metric: str
    """``repr`` of the metric."""
    layout: tuple[int, int]
    """``(R, L)`` layout of the example's comparisons."""
    num_binaries: int
    """Real (unmasked) binaries of the example."""
    value: float
    """The metric at the example's current configuration, ``evaluate(HardStep(c), c)``."""
    checks: tuple[str, ...]
    """One line per check that passed (or was skipped, with the reason)."""

    def __str__(self) -> str:
        lines = [f"{self.metric}: layout {self.layout}, {self.num_binaries} binaries, metric {self.value:.6g}"]
        return "\n".join(lines + [f"  ok  {check}" for check in self.checks])


def _fail(metric: MetricRefactoring, check: str, detail: str) -> ValueError:
    return ValueError(f"verify_metric({metric!r}): {check} failed: {detail}")


def _shrink(scores: torch.Tensor, targets: tuple[torch.Tensor, ...], size: int) -> tuple[torch.Tensor, ...]:
    """The first ``size`` examples of the scores and of every target with the same first dimension."""
    num = scores.shape[0]
    return tuple(t[:size] if t.ndim and t.shape[0] == num else t for t in (scores, *targets))


def _evaluate(metric: MetricRefactoring, check: str, binaries: torch.Tensor, comparisons: Comparisons) -> torch.Tensor:
    values = metric.evaluate(binaries, comparisons)
    if tuple(values.shape) != (binaries.shape[0],):
        raise _fail(
            metric, check, f"evaluate returned shape {tuple(values.shape)} for {binaries.shape[0]} configurations"
        )
    if not bool(torch.isfinite(values).all()):
        raise _fail(metric, check, f"evaluate returned non-finite values {values.tolist()}")
    return values.double()


def _value_without_binaries(metric: MetricRefactoring, comparisons: Comparisons) -> float:
    """The metric of the example's layout emptied of binaries, as the engine computes a batch without any."""
    values = comparisons.values.detach()
    empty = Comparisons(
        values[:, :0], None if comparisons.mask is None else comparisons.mask[:, :0], comparisons.context
    )
    layout = f"layout ({values.shape[0]}, 0)"
    try:
        value = exact_without_binaries(metric, empty)
    except Exception as error:  # any failure of the user's metric is the finding
        raise _fail(metric, "edge batches", f"without binaries ({layout}): {type(error).__name__}: {error}") from None
    if value.numel() != 1 or not bool(torch.isfinite(value)):
        raise _fail(metric, "edge batches", f"without binaries ({layout}) the metric is {value.tolist()}")
    result = float(value)
    if metric.higher_is_better and not -_TOLERANCE <= result <= 1 + _TOLERANCE:
        raise _fail(metric, "edge batches", f"without binaries ({layout}) the metric is {result}, outside [0, 1]")
    return result


def verify_metric(
    metric: MetricRefactoring,
    scores: torch.Tensor,
    *targets: torch.Tensor,
    reference: Callable[..., torch.Tensor | float] | None = None,
    temperature: float = 1.0,
    num_configurations: int = 32,
    max_gradcheck_examples: int = 8,
    seed: int = 0,
) -> MetricReport:
    """Check that ``metric`` is a sound UniLoss refactoring on an example batch, and report what was checked.

    Formally, with ``c = metric.comparisons(scores, *targets)`` and ``g = metric.evaluate``, it checks:

    1. layout: ``c.values`` is an ``(R, L)`` float tensor, finite, differentiable w.r.t. ``scores``; the mask is
       bool of the same shape;
    2. identity: ``g(HardStep(c))`` is one finite number (in ``[0, 1]`` when ``higher_is_better``) and equals
       ``reference(scores, *targets)`` if given;
    3. counts: for a metric with ``evaluate_counts``, dense ``evaluate`` equals ``evaluate_counts`` of the
       per-row wrong counts, at the current, the ground-truth and ``num_configurations`` random configurations;
    4. ground truth: the configuration with every binary ``+1`` (right) scores at least as well as every other
       configuration tried, and every value is in ``[0, 1]`` when ``higher_is_better``;
    5. gradients: ``torch.autograd.gradcheck`` of the loss in float64 on the first ``max_gradcheck_examples``
       examples (anchors fixed by ``seed``); skipped when a comparison is within ``1e-4`` of 0 (a tie, where the
       loss is not differentiable);
    6. edge batches: loss and gradients are finite with all scores equal and with scores scaled by ``1e4``; and
       a layout without any binary (the example's rows with no entry, as a batch without pairs gives) has one
       finite metric value, in ``[0, 1]`` when ``higher_is_better``, by the path the engine takes for it
       (``evaluate_counts`` of zero counts, else dense ``evaluate``).

    Args:
        metric: the refactoring to check.
        scores: an example batch of scores (float).
        *targets: its targets, as the metric takes them.
        reference: optional ``(scores, *targets) -> metric`` computed another way (for example a NumPy loop),
            with a tie counted wrong as the hard step does: for a function of :mod:`uniloss.exact`, pass
            ``functools.partial(function, ties="pessimistic")``.
        temperature: temperature of the sigmoid in the gradient and edge-batch checks.
        num_configurations: random configurations compared between the dense and the count paths.
        max_gradcheck_examples: examples kept (along the first dimension) for gradcheck.
        seed: seed of the random configurations and anchors.

    Returns:
        A :class:`MetricReport`; ``print(report)`` lists the checks.

    Raises:
        TypeError: if ``metric`` is not a :class:`~uniloss.metrics.MetricRefactoring`; the metric's own
            ``check`` raises for invalid input.
        ValueError: naming the check that failed and the numbers it saw.

    Example:
        >>> import uniloss
        >>> scores, targets = torch.tensor([0.9, -0.3, 0.4, -1.2]), torch.tensor([1, 0, 0, 1])
        >>> report = uniloss.verify_metric(uniloss.metrics.AUROC(), scores, targets, reference=lambda s, t: 0.5)
        >>> report.value, report.layout
        (0.5, (2, 2))
    """
    if not isinstance(metric, MetricRefactoring):
        raise TypeError(f"`metric` must be a uniloss MetricRefactoring, but got {type(metric).__name__}.")
    metric.check(scores, *targets)
    checks: list[str] = []

    # 1. layout
    with torch.enable_grad():
        comparisons = metric.comparisons(scores.detach().clone().requires_grad_(), *targets)
    if not isinstance(comparisons, Comparisons):
        raise _fail(metric, "layout", f"comparisons returned {type(comparisons).__name__}, not a Comparisons")
    values, mask = comparisons.values, comparisons.mask
    if values.ndim != 2 or not values.is_floating_point():
        raise _fail(
            metric, "layout", f"values must be a 2-D float tensor (R, L), but got {values.dtype} {tuple(values.shape)}"
        )
    if mask is not None and (mask.dtype != torch.bool or mask.shape != values.shape):
        raise _fail(
            metric, "layout", f"mask must be bool of shape {tuple(values.shape)}, got {mask.dtype} {tuple(mask.shape)}"
        )
    if not bool(torch.isfinite(values).all()):
        raise _fail(metric, "layout", "comparisons hold non-finite values")
    if values.numel() and not values.requires_grad:
        raise _fail(metric, "layout", "comparisons are detached from the scores: the loss would have no gradient")
    real = torch.ones_like(values, dtype=torch.bool) if mask is None else mask
    checks.append(f"layout: {tuple(values.shape)} float values, {'no mask' if mask is None else 'bool mask'}")
    values = values.detach()

    # 2. identity
    current = _evaluate(metric, "identity", HardStep()(values)[None], comparisons)
    value = float(current[0])
    if metric.higher_is_better and not -_TOLERANCE <= value <= 1 + _TOLERANCE:
        raise _fail(metric, "identity", f"the metric is {value}, outside [0, 1] (the loss is 1 - metric)")
    if reference is not None:
        expected = float(reference(scores, *targets))
        if not math.isclose(value, expected, rel_tol=1e-5, abs_tol=_TOLERANCE):
            raise _fail(metric, "identity", f"evaluate(HardStep(c)) is {value} but reference gives {expected}")
        checks.append(f"identity: evaluate(HardStep(c)) = {value:.6g} = reference")
    else:
        checks.append(f"identity: evaluate(HardStep(c)) = {value:.6g} (no reference given)")

    # 3. counts
    generator = torch.Generator().manual_seed(seed)
    shape = (num_configurations, *values.shape)
    random = torch.rand(shape, generator=generator) < torch.rand(num_configurations, 1, 1, generator=generator)
    wrong = torch.cat([(values <= 0)[None], torch.zeros_like(values, dtype=torch.bool)[None], random.to(values.device)])
    wrong &= real
    dense = _evaluate(metric, "counts", torch.where(wrong, -1.0, 1.0).to(values.dtype), comparisons)
    names = ["the current configuration", "the ground truth"] + [f"random configuration {k}" for k in range(shape[0])]
    if metric.uses_counts:
        counted = metric.evaluate_counts(wrong.sum(-1), comparisons).double()
        if counted.shape != dense.shape:
            raise _fail(
                metric, "counts", f"evaluate_counts returned shape {tuple(counted.shape)}, not {tuple(dense.shape)}"
            )
        differs = ((counted - dense).abs() > _TOLERANCE).nonzero().flatten()
        if differs.numel():
            k = int(differs[0])
            raise _fail(
                metric,
                "counts",
                f"at {names[k]} evaluate gives {float(dense[k])} but evaluate_counts {float(counted[k])}",
            )
        checks.append(f"counts: evaluate = evaluate_counts at {len(dense)} configurations")
    else:
        checks.append("counts: skipped (no evaluate_counts; the engine evaluates anchors densely)")

    # 4. ground truth
    truth, others = dense[1], torch.cat([dense[:1], dense[2:]])
    better = others - truth if metric.higher_is_better else truth - others
    if bool((better > _TOLERANCE).any()):
        best = float(others[better.argmax()])
        raise _fail(
            metric,
            "ground truth",
            f"the ground truth (every binary +1) scores {float(truth)} but another configuration scores {best}: "
            "does evaluate treat +1 as right?",
        )
    if metric.higher_is_better and not bool(((dense >= -_TOLERANCE) & (dense <= 1 + _TOLERANCE)).all()):
        raise _fail(
            metric, "ground truth", f"values range over [{float(dense.min())}, {float(dense.max())}], not [0, 1]"
        )
    checks.append(f"ground truth: scores best ({float(truth):.6g}) of {len(dense)} configurations")

    # 5. gradients
    def loss(inputs: torch.Tensor, *batch: torch.Tensor) -> torch.Tensor:
        return uniloss(
            inputs,
            *batch,
            metric=metric,
            relax=Sigmoid(temperature),
            anchors=PaperAnchors(good=4, nearby=4, bad=4),
            generator=torch.Generator().manual_seed(seed),
        )

    small, *small_targets = _shrink(scores, targets, max_gradcheck_examples)
    nearest = metric.comparisons(small.detach().double(), *small_targets)
    if nearest.values.numel() == 0:  # the shrunk batch has no comparison: check the whole one
        small, small_targets = scores, list(targets)
        nearest = metric.comparisons(small.detach().double(), *small_targets)
    gaps = nearest.values.abs() if nearest.mask is None else nearest.values.abs()[nearest.mask]
    if gaps.numel() and float(gaps.min()) < 1e-4:
        checks.append(f"gradients: gradcheck skipped, a comparison is {float(gaps.min()):.2g} from a tie")
    else:
        inputs = small.detach().double().requires_grad_()
        fast = inputs.numel() > 64
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            try:
                torch.autograd.gradcheck(
                    lambda x: loss(x, *small_targets),
                    (inputs,),
                    eps=1e-6,
                    atol=1e-5,
                    rtol=1e-3,
                    fast_mode=fast,
                )
            except RuntimeError as error:  # GradcheckError
                detail = " ".join(str(error).split("\n\nThe max per-element")[0].split())
                raise _fail(metric, "gradients", detail) from None
        mode = " (fast mode: random projections)" if fast else ""
        checks.append(f"gradients: gradcheck{mode} passed on float64 scores of shape {tuple(inputs.shape)}")

    # 6. edge batches
    nothing = _value_without_binaries(metric, comparisons)
    for name, edge in [("all scores equal", torch.zeros_like(scores)), ("scores x 1e4", scores.detach() * 1e4)]:
        inputs = edge.detach().clone().requires_grad_()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # a batch without comparisons warns once
            result = loss(inputs, *targets)
            result.backward()
            result = result.detach()
        if not bool(torch.isfinite(result)):
            raise _fail(metric, "edge batches", f"with {name} the loss is {float(result)}")
        if inputs.grad is None or not bool(torch.isfinite(inputs.grad).all()):
            grad = None if inputs.grad is None else inputs.grad[~torch.isfinite(inputs.grad)][:4].tolist()
            raise _fail(metric, "edge batches", f"with {name} the gradient is not finite: {grad}")
    checks.append(
        "edge batches: finite loss and gradients with all scores equal and with scores x 1e4; "
        f"metric {nothing:.6g} without binaries"
    )

    return MetricReport(repr(metric), (values.shape[0], values.shape[1]), int(real.sum()), value, tuple(checks))
