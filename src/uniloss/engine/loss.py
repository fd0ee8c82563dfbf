"""The UniLoss engine: comparisons -> relaxed binaries -> distances to anchors -> interpolated metric."""

from __future__ import annotations

import torch

from uniloss.anchors.base import AnchorSampler, AnchorSet
from uniloss.anchors.bits import count_per_row
from uniloss.core.checks import (
    check_bool,
    check_finite,
    check_has_values,
    check_instance,
    check_nonempty,
    check_tensor,
)
from uniloss.core.comparisons import Comparisons
from uniloss.engine.diagnostics import warn_if_probabilities, warn_if_saturated, warn_once
from uniloss.engine.distances import AnchorPlan, anchor_plan, dense_interpolation, squared_distances
from uniloss.engine.memory import ExampleMemory
from uniloss.interpolators.base import Interpolator
from uniloss.interpolators.idw import InverseDistanceWeighting
from uniloss.metrics.base import MetricRefactoring, check_parts
from uniloss.relaxations.base import Relaxation
from uniloss.relaxations.sigmoid import Sigmoid

__all__ = ["UniLoss", "anchor_values", "exact_without_binaries", "uniloss"]

_DENSE_CHUNK = 1 << 22  # entries of materialised anchors evaluated at once for metrics without counts
_OWN_STREAM = 0x5EED_0F_1055  # mixed into torch.initial_seed() for the loss's own generator
_SMALL_ENTRIES = 1 << 18  # anchors x binaries up to which every anchor is materialised (fewer, larger operations)


def _wrong_counts(wrong: torch.Tensor, anchors: AnchorSet, plan: AnchorPlan) -> torch.Tensor:
    """``(K_all, R)`` numbers of wrong binaries per row at every anchor, without materialising anchors."""
    rows, length = wrong.shape
    fixed = plan.current.shape[0]
    counts = torch.empty((anchors.num_anchors, rows), dtype=torch.long, device=wrong.device)  # filled, never copied
    base = counts[:fixed]
    torch.mul(plan.current.unsqueeze(1), count_per_row(wrong), out=base)
    base.scatter_add_(1, (plan.toggled // max(length, 1)).unsqueeze(1), plan.sign.unsqueeze(1))
    if anchors.random is not None:
        anchors.random.row_counts(out=counts[fixed:])
    return counts


def anchor_values(
    metric: MetricRefactoring,
    comparisons: Comparisons,
    wrong: torch.Tensor,
    anchors: AnchorSet,
    plan: AnchorPlan | None = None,
) -> torch.Tensor:
    """Exact metric at every anchor, ``(K_all,)``: from row counts when the metric allows, else densely.

    Args:
        metric: the refactored metric.
        comparisons: the layout of the batch.
        wrong: ``(R, L)`` bool, the current configuration's wrong binaries.
        anchors: the anchors of this step.
        plan: their :class:`~uniloss.engine.distances.AnchorPlan`, if already made.

    Returns:
        ``(K_all,)`` float metric values, in the order of ``anchors``.
    """
    if metric.uses_counts:
        plan = anchor_plan(wrong, anchors) if plan is None else plan
        return metric.evaluate_counts(_wrong_counts(wrong, anchors, plan), comparisons)
    total = anchors.num_anchors
    step = max(1, _DENSE_CHUNK // max(1, wrong.numel()))
    values = [
        metric.evaluate(
            torch.where(anchors.materialise(wrong, start, min(start + step, total)), -1.0, 1.0), comparisons
        )
        for start in range(0, total, step)
    ]
    return torch.cat(values)


def exact_without_binaries(metric: MetricRefactoring, comparisons: Comparisons) -> torch.Tensor:
    """The exact metric of a layout without any binary (``R * L == 0``), a scalar: the loss of such a batch.

    From ``evaluate_counts`` of zero wrong binaries per row when the metric has it, else from ``evaluate`` of the
    one (empty) configuration, so a metric that implements only ``evaluate`` works here too.

    Args:
        metric: the refactored metric.
        comparisons: a layout with no entry (``R`` rows of none, or no row).

    Returns:
        A scalar tensor.

    Example:
        >>> from uniloss.metrics import AveragePrecision
        >>> empty = AveragePrecision().comparisons(torch.tensor([0.5, -1.0]), torch.tensor([0, 0]))
        >>> empty.shape, exact_without_binaries(AveragePrecision(), empty)
        ((0, 2), tensor(0.))
    """
    rows, length = comparisons.shape
    values = comparisons.values
    if metric.uses_counts:
        return metric.evaluate_counts(values.new_zeros((1, rows), dtype=torch.long), comparisons)[0]
    return metric.evaluate(values.new_ones((1, rows, length)), comparisons)[0]


def _surrogate(
    scores: torch.Tensor,
    targets: tuple[torch.Tensor, ...],
    metric: MetricRefactoring,
    relax: Relaxation,
    anchors: AnchorSampler,
    interpolator: Interpolator,
    generator: torch.Generator | None,
    compiled: bool = False,
    diagnose: bool = False,
) -> torch.Tensor:
    """The loss of one batch: ``g~(b)``, or ``1 - g~(b)`` for a higher-is-better metric (see :func:`uniloss`)."""
    comparisons = metric.comparisons(scores, *targets)
    values = comparisons.values
    mask = comparisons.mask
    if diagnose and values.numel():
        warn_if_saturated(values, mask, relax)
    if values.numel() == 0:
        exact = exact_without_binaries(metric, comparisons)
        warn_once(
            f"{metric!r}: the batch gives no comparison (layout {tuple(values.shape)}), so the loss is constant "
            "and its gradient zero. Check the batch (for AP: both classes present; for PCK: a visible joint). "
            "This warning is shown once per run."
        )
        value = exact.to(values.dtype) + (scores * 0).sum().to(values.dtype)  # zero gradient, never inf * 0
        return 1 - value if metric.higher_is_better else value
    with torch.no_grad():
        wrong = values <= 0
        if mask is not None:
            wrong &= mask
        drawn = anchors.sample(wrong, mask, generator)
        small = values.numel() * drawn.num_anchors <= _SMALL_ENTRIES  # few operations over every anchor
        if small:
            dense = drawn.materialise(wrong)
            anchors_at = dense.view(torch.uint8).to(values.dtype)  # (from bytes: several times faster than bools)
            if metric.uses_counts:
                ones = anchors_at.new_ones(anchors_at.shape[-1])  # (a product: faster than a sum along short rows)
                exact_values = metric.evaluate_counts((anchors_at @ ones).long(), comparisons)
            else:
                exact_values = metric.evaluate(torch.where(dense, -1.0, 1.0), comparisons)
        else:
            plan = anchor_plan(wrong, drawn)
            exact_values = anchor_values(metric, comparisons, wrong, drawn, plan)
    if small:  # (compiled kernels: slower calls here)
        return dense_interpolation(
            values, relax, mask, anchors_at, exact_values, interpolator, complement=metric.higher_is_better
        )
    squared = squared_distances(values, relax, mask, wrong, drawn, plan, compiled)
    value = interpolator(squared, exact_values)
    if squared.requires_grad and not value.requires_grad:  # an interpolator without a graph: a zero gradient
        value = value + (squared * 0).sum()
    return 1 - value if metric.higher_is_better else value


def _parts(
    metric: MetricRefactoring,
    relax: Relaxation | None,
    anchors: AnchorSampler | None,
    interpolator: Interpolator | None,
) -> tuple[Relaxation, AnchorSampler, Interpolator]:
    """The given parts, the metric's default parts in place of those not given."""
    if relax is not None and anchors is not None and interpolator is not None:
        return relax, anchors, interpolator
    defaults = metric.default_parts()
    return (
        defaults.relax if relax is None else relax,
        defaults.anchors if anchors is None else anchors,
        defaults.interpolator if interpolator is None else interpolator,
    )


@torch.compiler.disable
def uniloss(
    scores: torch.Tensor,
    *targets: torch.Tensor,
    metric: MetricRefactoring,
    relax: Relaxation | None = None,
    anchors: AnchorSampler | None = None,
    interpolator: Interpolator | None = None,
    generator: torch.Generator | None = None,
    validate_args: bool = True,
    compile: bool = False,
) -> torch.Tensor:
    """The UniLoss surrogate of ``metric`` on one batch, differentiable w.r.t. ``scores``.

    Formally ``loss = 1 - sum_k w_k g(a_k) / sum_k w_k`` (``g`` itself for a lower-is-better metric) with
    ``w_k = ||b - a_k||^-p``, ``b = relax(comparisons(scores))`` and anchors ``a_k`` drawn by ``anchors``.
    Gradients come from autograd through this formula. A batch without any binary (for example AP with no
    positive) gives the constant ``1 - metric`` with zero gradients. Under ``torch.compile`` the loss runs
    eagerly (one graph break): its seeded random draws and data-dependent layouts would break the graph
    a dozen times anyway.

    Args:
        scores: raw scores (logits, heatmaps) of the shape the metric expects.
        *targets: the metric's targets (labels; or joints, visibility and head sizes).
        metric: the refactored metric.
        relax: relaxation of the binaries (default: ``metric.default_parts().relax``).
        anchors: anchor sampler (default: ``metric.default_parts().anchors``).
        interpolator: interpolation (default: ``metric.default_parts().interpolator``).
        generator: random source of the anchors; a seeded one repeats exactly. Without one this function draws
            from the global random stream, as torch's random functions do; :class:`UniLoss` keeps its own.
        validate_args: check the inputs and that scores are finite (device syncs), and warn as
            :class:`UniLoss` does about probabilities as scores and a saturated relaxation; ``False`` for hot loops.
        compile: on layouts too large for the small-problem path (anchors x binaries above 2^18), run the
            elementwise work of the distances and their gradient as kernels compiled by ``torch.compile``
            (inductor; on the CPU it needs a C++ compiler, on CUDA Triton). The first such call compiles (seconds
            to tens of seconds on a CPU), later calls with other shapes do not (dynamic shapes). Small layouts stay
            eager: a compiled call costs more than the few operations it replaces there. Values and gradients are
            the eager ones up to rounding; ``benchmarks/bench_floor.py --compile`` measures the gain.

    Returns:
        A scalar loss tensor in the dtype of the comparisons (float32 at least).

    Raises:
        TypeError: for non-tensor or wrongly typed input.
        ValueError: for wrong shapes, devices or values, including NaN or infinite scores and empty batches.

    Example:
        >>> from uniloss.metrics import AveragePrecision
        >>> scores = torch.tensor([2.0, -1.0, 0.5, -3.0], requires_grad=True)
        >>> loss = uniloss(scores, torch.tensor([1, 0, 1, 0]), metric=AveragePrecision(),
        ...                generator=torch.Generator().manual_seed(0))
        >>> loss.backward()
        >>> bool(0 <= loss <= 1), bool(torch.isfinite(scores.grad).all())
        (True, True)
    """
    if not isinstance(metric, MetricRefactoring):
        raise TypeError(f"`metric` must be a uniloss MetricRefactoring, but got {type(metric).__name__}.")
    check_tensor("scores", scores)
    check_has_values("scores", scores)
    if validate_args:
        check_parts(relax, anchors, interpolator, optional=True)
        check_nonempty("scores", scores)
        metric.check(scores, *targets)
        if not metric.checks_finite:
            check_finite("scores", scores)
    relax, anchors, interpolator = _parts(metric, relax, anchors, interpolator)
    if validate_args:
        warn_if_probabilities(scores, relax)

    if scores.dtype in (torch.float16, torch.bfloat16):
        scores = scores.float()  # comparisons and distances in float32 at least
    if torch.is_autocast_enabled(scores.device.type):
        with torch.autocast(device_type=scores.device.type, enabled=False):
            return _surrogate(scores, targets, metric, relax, anchors, interpolator, generator, compile, validate_args)
    # (entering the context costs as much as a few small operations)
    return _surrogate(scores, targets, metric, relax, anchors, interpolator, generator, compile, validate_args)


class UniLoss(torch.nn.Module):
    """A training loss that optimises ``metric``: the module form of :func:`uniloss`.

    ``temperature`` and ``power`` are shorthands for ``relax=Sigmoid(temperature)`` and
    ``interpolator=InverseDistanceWeighting(power)``; give one form or the other. A part not given is the
    metric's (:meth:`~uniloss.metrics.MetricRefactoring.default_parts`).

    Args:
        metric: the refactored metric, e.g. ``uniloss.metrics.AveragePrecision()``.
        temperature: temperature of a sigmoid relaxation (shorthand for ``relax=Sigmoid(temperature)``).
        power: power of an inverse-distance weighting (shorthand for ``interpolator=InverseDistanceWeighting(power)``).
        relax: a relaxation (default: ``metric.default_parts().relax``).
        anchors: an anchor sampler (default: ``metric.default_parts().anchors``).
        interpolator: an interpolator (default: ``metric.default_parts().interpolator``).
        generator: random source of the anchors; a seeded one makes runs repeat exactly. Without one the loss
            makes its own at the first call, on the scores' device, seeded from ``torch.initial_seed()``: the
            global random stream (dropout, shuffling) is left untouched, as with any other loss, and
            ``torch.manual_seed(s)`` before building the loss still repeats a run. Inside CUDA graph capture the
            default CUDA generator is used (the one capture registers).
        validate_args: check inputs on every call (device syncs), and warn once when every score lies in
            ``[0, 1]`` (probabilities, where raw logits are expected) or the relaxation is saturated (zero
            gradient), looked for at the 1st, 2nd, 4th, 8th, ... call; ``False`` for hot loops.
        compile: compile the elementwise work of the distances with ``torch.compile`` (see :func:`uniloss`).
        distributed: under an initialised process group of several ranks, gather scores and targets from
            every rank (keeping the local gradient) and return the loss of the global batch, identical on
            every rank; with DDP's gradient averaging each parameter then gets exactly the gradient of the
            single-process loss on the concatenated batch. Anchors are drawn identically on every rank: from
            ``generator`` (seed it identically on every rank) or, without one, from the loss's own generator,
            seeded by rank 0 on the first call. Ignored without a process group.
        memory: number of earlier examples ranked together with each batch (0: none). In training mode the
            scores (detached) and targets of the last ``memory`` examples are kept and appended to each batch
            along the first dimension, so a batch-level metric such as AP is measured on a larger sample than
            a small batch; gradients reach the current batch only. With ``distributed`` the global batch is
            remembered, identically on every rank. A batch is remembered only once its loss is computed, so a
            batch that fails the checks (``validate_args``) never enters; with ``validate_args=False`` a batch of
            non-finite scores does, and :meth:`reset_memory` should follow a skipped batch. Only a batch whose
            loss can train is remembered: one computed under ``torch.no_grad()`` or ``torch.inference_mode()``, or
            of scores without gradient (``requires_grad=False``), such as a validation batch, is ranked with the
            memory but never enters it. The loss then
            measures the pooled sample, not the batch alone. Call the module once per step (not once per
            output head), or each call remembers the same examples again. In ``eval()`` mode the memory is
            neither used nor updated. Refused by metrics that are not ``poolable`` (query groups). The examples
            live in :attr:`example_memory` (an :class:`~uniloss.engine.ExampleMemory`).

    Raises:
        TypeError: if ``metric`` is not a :class:`~uniloss.metrics.MetricRefactoring`.
        ValueError: if both ``temperature`` and ``relax`` (or ``power`` and ``interpolator``) are given, a
            value is invalid, or ``memory`` is asked of a metric that cannot pool batches.

    Example:
        >>> import uniloss
        >>> criterion = uniloss.UniLoss(uniloss.metrics.Accuracy(num_classes=3),
        ...                             generator=torch.Generator().manual_seed(0))
        >>> logits = torch.randn(8, 3, requires_grad=True)
        >>> criterion(logits, torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])).backward()
        >>> logits.grad.shape
        torch.Size([8, 3])
    """

    def __init__(
        self,
        metric: MetricRefactoring,
        *,
        temperature: float | None = None,
        power: float | None = None,
        relax: Relaxation | None = None,
        anchors: AnchorSampler | None = None,
        interpolator: Interpolator | None = None,
        generator: torch.Generator | None = None,
        validate_args: bool = True,
        compile: bool = False,
        distributed: bool = False,
        memory: int = 0,
    ) -> None:
        super().__init__()
        if not isinstance(metric, MetricRefactoring):
            raise TypeError(f"`metric` must be a uniloss MetricRefactoring, but got {type(metric).__name__}.")
        if temperature is not None and relax is not None:
            raise ValueError("give either `temperature` or `relax`, not both.")
        if power is not None and interpolator is not None:
            raise ValueError("give either `power` or `interpolator`, not both.")
        self.metric = metric
        if temperature is not None:
            relax = Sigmoid(temperature)
        if power is not None:
            interpolator = InverseDistanceWeighting(power)
        check_parts(relax, anchors, interpolator, optional=True)
        if generator is not None:
            check_instance("generator", generator, torch.Generator, "a torch.Generator or None")
        self.relax, self.anchors, self.interpolator = _parts(metric, relax, anchors, interpolator)
        self.generator = generator
        self._own_generator: torch.Generator | None = None
        self.validate_args = check_bool("validate_args", validate_args)
        self.compile_kernels = check_bool("compile", compile)
        self.distributed = check_bool("distributed", distributed)
        self.example_memory = ExampleMemory(memory)
        if self.memory and not metric.poolable:
            raise ValueError(f"`memory` needs a metric whose batches can be pooled, but {metric!r} cannot.")

    @property
    def memory(self) -> int:
        """The number of earlier examples pooled with each batch in training mode (``example_memory.size``)."""
        return self.example_memory.size

    def forward(self, scores: torch.Tensor, *targets: torch.Tensor) -> torch.Tensor:
        """Return the loss of one batch; see :func:`uniloss` for the arguments."""
        check_tensor("scores", scores)
        check_has_values("scores", scores)
        generator = self.generator if self.generator is not None else self._default_generator(scores.device)
        if self.distributed:
            from uniloss import distributed

            if distributed.is_distributed():
                scores = distributed.gather(scores)
                targets = tuple(distributed.gather(target) for target in targets)
        pooling = bool(self.memory) and self.training
        if pooling:
            scores, *rest = self.example_memory.pool((scores, *targets))
            targets = tuple(rest)
        loss = uniloss(
            scores,
            *targets,
            metric=self.metric,
            relax=self.relax,
            anchors=self.anchors,
            interpolator=self.interpolator,
            generator=generator,
            validate_args=self.validate_args,
            compile=self.compile_kernels,
        )
        if pooling and scores.requires_grad:  # only a checked batch whose loss can train (not under no_grad)
            self.example_memory.remember((scores, *targets))
        return loss

    def _default_generator(self, device: torch.device) -> torch.Generator | None:
        """The loss's own random source when no ``generator`` is given (see the class docstring).

        Made at the first call, on the scores' device, from a seed derived from ``torch.initial_seed()`` (rank
        0's, broadcast, under ``distributed``), so ``torch.manual_seed`` repeats runs and the global stream is
        never drawn from. ``None`` (the default generator, which capture registers) inside CUDA graph capture.
        """
        if device.type == "cuda" and torch.cuda.is_current_stream_capturing():
            return None
        if self._own_generator is None:
            seed = (torch.initial_seed() ^ _OWN_STREAM) % (1 << 63)  # not the global stream's own seed
            if self.distributed:
                from uniloss import distributed

                if distributed.is_distributed():
                    seed = distributed.broadcast_seed(torch.Generator().manual_seed(seed), device)
            self._own_generator = torch.Generator(device).manual_seed(seed)
        return self._own_generator

    def get_extra_state(self) -> dict[str, list[torch.Tensor]]:
        """The remembered examples (see ``memory``), kept by ``state_dict()`` so a resumed run repeats exactly."""
        return self.example_memory.state()

    def set_extra_state(self, state: dict[str, list[torch.Tensor]]) -> None:
        """Restore the remembered examples of :meth:`get_extra_state`."""
        self.example_memory.load_state(state)

    def reset_memory(self) -> None:
        """Forget the examples remembered from earlier batches (see ``memory``)."""
        self.example_memory.reset()

    def extra_repr(self) -> str:
        """The parts, then ``validate_args``, ``distributed``, ``memory`` and ``compile`` where not the default.

        ``repr(module)`` thus reads as a constructor call that rebuilds the loss, up to its random source.
        """
        options = {
            "validate_args": (self.validate_args, True),
            "distributed": (self.distributed, False),
            "memory": (self.memory, 0),
            "compile": (self.compile_kernels, False),
        }
        changed = "".join(f", {name}={value!r}" for name, (value, default) in options.items() if value != default)
        return (
            f"metric={self.metric!r}, relax={self.relax!r}, anchors={self.anchors!r}, "
            f"interpolator={self.interpolator!r}{changed}"
        )
