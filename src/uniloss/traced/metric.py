"""``uniloss.from_function``: a metric written as plain PyTorch code, refactored by tracing it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, overload

import torch

from uniloss.core.checks import check_bool, check_floating, check_tensor
from uniloss.core.comparisons import Comparisons
from uniloss.metrics.base import MetricRefactoring
from uniloss.traced.errors import UnsupportedMetricError, user_location
from uniloss.traced.layout import Layout, lay_out, permuted_orders
from uniloss.traced.replay import Replay
from uniloss.traced.tracer import trace

__all__ = ["FunctionMetric", "from_function", "guess_ideal"]

_TOLERANCE = 1e-6


def guess_ideal(scores: torch.Tensor, *targets: Any) -> torch.Tensor:
    """Scores of a perfect prediction, guessed from the first target: what orients every comparison.

    Formally: targets ``t`` of the scores' shape in ``{0, 1}`` (or bool) give ``2 t - 1``; other numeric targets
    of that shape (graded relevance) give ``t``; integer class indices of the scores' shape without dimension 1
    (``(N,)`` for ``(N, C)``, ``(N, H, W)`` for ``(N, C, H, W)``) give ``+1`` at the class and ``-1`` elsewhere
    (an index outside ``[0, C)`` gives ``-1`` everywhere).

    Args:
        scores: ``(N, ...)`` float scores.
        *targets: the metric's other arguments.

    Returns:
        Ideal scores, of the scores' shape, dtype and device.

    Raises:
        UnsupportedMetricError: (rule ``no ideal``) when none of these forms fits.

    Example:
        >>> guess_ideal(torch.zeros(2, 3), torch.tensor([2, 0]))
        tensor([[-1., -1.,  1.],
                [ 1., -1., -1.]])
    """
    target = targets[0] if targets else None
    if isinstance(target, torch.Tensor) and not target.is_complex():
        if target.shape == scores.shape:
            values = target.to(scores.dtype)
            binary = ((values == 0) | (values == 1)).all()  # a tensor: no host-device sync
            return torch.where(binary, 2 * values - 1, values)
        if (
            not target.is_floating_point()
            and target.dtype != torch.bool
            and scores.ndim == target.ndim + 1
            and scores.ndim >= 2
            and target.shape == scores.shape[:1] + scores.shape[2:]
        ):
            classes = scores.shape[1]
            valid = (target >= 0) & (target < classes)
            ideal = -torch.ones_like(scores)
            top = torch.where(valid, 1.0, -1.0).to(scores.dtype).unsqueeze(1)
            return ideal.scatter(1, target.clamp(0, classes - 1).long().unsqueeze(1), top)
    shapes = [tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__ for t in targets]
    raise UnsupportedMetricError(
        "no ideal", "guess_ideal", user_location(), f"(scores {tuple(scores.shape)}, targets {shapes})"
    )


@dataclass(frozen=True)
class _Context:
    """What :meth:`FunctionMetric.evaluate` needs of a batch: its layout and the replay of its function."""

    layout: Layout
    replay: Replay


class FunctionMetric(MetricRefactoring):
    """A metric given as a plain PyTorch function, refactored by tracing (see :func:`from_function`).

    Args:
        fn: ``fn(scores, *targets) -> metric`` (a scalar tensor or number).
        higher_is_better: whether a higher value is better (the loss is ``1 - metric``, else ``metric``).
        ideal: ``ideal(scores, *targets) -> scores of a perfect prediction``; default :func:`guess_ideal`.
        prune: rank only pairs of items the ideal scores order, where a permutation test on the first batch with
            ideal ties finds the function indifferent to the order of tied items.
        name: the metric's name (default: the function's name).
        poolable: whether batches may be pooled along the first dimension (``UniLoss(memory=...)``).

    Example:
        >>> metric = FunctionMetric(lambda s, t: ((s > 0) == t.bool()).float().mean(), name="accuracy")
        >>> c = metric.comparisons(torch.tensor([1.0, -2.0, 3.0]), torch.tensor([1, 1, 0]))
        >>> metric.evaluate(torch.tensor([[[1.0, 1.0, 1.0]], [[1.0, -1.0, 1.0]]]), c)
        tensor([1.0000, 0.6667])
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        higher_is_better: bool = True,
        ideal: Callable[..., torch.Tensor] | None = None,
        prune: bool = True,
        name: str | None = None,
        poolable: bool = True,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"`fn` must be callable, but got {type(fn).__name__}.")
        if ideal is not None and not callable(ideal):
            raise TypeError(f"`ideal` must be callable or None, but got {type(ideal).__name__}.")
        for option, value in (("higher_is_better", higher_is_better), ("prune", prune), ("poolable", poolable)):
            check_bool(option, value)
        self.fn, self.ideal, self.prune = fn, ideal, prune
        setattr(self, "name", name or getattr(fn, "__name__", "metric"))  # noqa: B010  (a class attribute)
        setattr(self, "higher_is_better", higher_is_better)  # noqa: B010
        setattr(self, "poolable", poolable)  # noqa: B010
        self._state: dict[str, bool] = {}

    @property
    def _fn_name(self) -> str:
        """The function's qualified name, as the refusals and the repr show it."""
        return getattr(self.fn, "__qualname__", repr(self.fn))

    def __repr__(self) -> str:
        """``from_function(name, ...)`` with the options that differ from the defaults."""
        options = {"higher_is_better": (self.higher_is_better, True), "prune": (self.prune, True)}
        shown = "".join(f", {key}={value!r}" for key, (value, default) in options.items() if value != default)
        if self.ideal is not None:
            shown += f", ideal={getattr(self.ideal, '__name__', repr(self.ideal))}"
        return f"from_function({self._fn_name}{shown}, name={self.name!r})"

    def check(self, scores: torch.Tensor, *targets: torch.Tensor) -> None:
        """Refuse scores that are not a floating-point tensor."""
        check_floating("scores", check_tensor("scores", scores))

    def _ideal(self, scores: torch.Tensor, targets: tuple[Any, ...]) -> torch.Tensor:
        ideal = guess_ideal(scores, *targets) if self.ideal is None else self.ideal(scores, *targets)
        if not isinstance(ideal, torch.Tensor) or ideal.shape != scores.shape:
            raise ValueError(
                f"`ideal` must return scores of shape {tuple(scores.shape)}, but got "
                f"{tuple(ideal.shape) if isinstance(ideal, torch.Tensor) else type(ideal).__name__}."
            )
        return ideal.detach().to(scores.dtype)

    def comparisons(self, scores: torch.Tensor, *targets: Any) -> Comparisons:
        """Trace the function on the batch and on its ideal scores; the oriented binaries as one row ``(1, T)``."""
        traced = trace(self.fn, scores, targets)
        if traced.blocks:
            self._state["compared"] = True
        elif not self._state.get("compared"):  # a later batch without comparisons is a constant (no binary)
            raise UnsupportedMetricError("no comparison", self._fn_name, user_location(), "(on the first batch)")
        ideal = trace(self.fn, self._ideal(scores, targets), targets)
        prune = self.prune and self._state.get("prune", True)
        layout = lay_out(traced.blocks, ideal.blocks, prune, scores)
        replay = Replay(self.fn, scores.detach(), targets, layout, self._state)
        if prune and "prune" not in self._state and any(part.pruned for part in layout.parts):
            if self._order_matters(layout, replay):
                self._state["prune"] = False
                layout = lay_out(traced.blocks, ideal.blocks, False, scores)
                replay = Replay(self.fn, scores.detach(), targets, layout, self._state)
            else:
                self._state["prune"] = True
        if "verified" not in self._state:
            self._verify(layout, replay)
        return Comparisons(layout.values[None], None, _Context(layout, replay))

    def _order_matters(self, layout: Layout, replay: Replay) -> bool:
        """Whether reordering the items the ideal scores tie (reversed, shuffled) changes the function's value.

        Tried at the batch's configuration, at the ground truth (every binary right), at its reverse (every binary
        wrong) and at the two configurations right in every other row of each ranking (wrong in the others: so that
        which tied item leads a wrong row shows beside right rows, as for the class of a false positive).
        """
        right = layout.values.detach() > 0
        alternate = torch.zeros_like(right)
        for part in layout.parts:
            rows = part.first // part.block.shape[1] if part.first is not None else torch.arange(part.count)
            alternate[part.offset : part.offset + part.count] = rows.to(right.device) % 2 == 0
        generator = torch.Generator().manual_seed(0)
        pruned = [part for part in layout.parts if part.pruned]
        for configuration in (right, torch.ones_like(right), torch.zeros_like(right), alternate, ~alternate):
            configuration = layout.outcomes(configuration)
            value = replay.one(configuration)
            alternatives = [permuted_orders(part, configuration, generator) for part in pruned]
            for which in range(2):
                orders = {part.block.call: orders[which] for part, orders in zip(pruned, alternatives, strict=True)}
                if not torch.isclose(replay.one(configuration, orders), value, atol=_TOLERANCE):
                    return True
        return False

    def _verify(self, layout: Layout, replay: Replay) -> None:
        """Refuse (rule ``not ideal``) when the ground truth scores worse than the current configuration."""
        right = layout.values.detach() > 0
        values = replay(layout.outcomes(torch.stack([torch.ones_like(right), right])))
        truth, current = values.tolist()  # one host-device sync
        worse = current - truth if self.higher_is_better else truth - current
        if worse > _TOLERANCE:
            raise UnsupportedMetricError(
                "not ideal",
                self._fn_name,
                user_location(),
                f"(every comparison as the ideal scores order it gives {truth:.6g}, the batch {current:.6g})",
            )
        self._state["verified"] = True

    def evaluate(self, binaries: torch.Tensor, comparisons: Comparisons) -> torch.Tensor:
        """The function's value at ``(K, 1, T)`` configurations, by replaying it (padding and no binary: right)."""
        context: _Context = comparisons.context
        total = context.layout.values.numel()
        right = binaries.reshape(binaries.shape[0], -1) > 0
        if right.shape[1] != total:  # a layout emptied of its binaries (verify_metric): every binary right
            right = right.new_ones((binaries.shape[0], total))
        return context.replay(context.layout.outcomes(right))


@overload
def from_function(
    fn: Callable[..., Any],
    *,
    higher_is_better: bool = ...,
    ideal: Callable[..., torch.Tensor] | None = ...,
    prune: bool = ...,
    name: str | None = ...,
    poolable: bool = ...,
) -> FunctionMetric: ...


@overload
def from_function(
    fn: None = ...,
    *,
    higher_is_better: bool = ...,
    ideal: Callable[..., torch.Tensor] | None = ...,
    prune: bool = ...,
    name: str | None = ...,
    poolable: bool = ...,
) -> Callable[[Callable[..., Any]], FunctionMetric]: ...


def from_function(
    fn: Callable[..., Any] | None = None,
    *,
    higher_is_better: bool = True,
    ideal: Callable[..., torch.Tensor] | None = None,
    prune: bool = True,
    name: str | None = None,
    poolable: bool = True,
) -> FunctionMetric | Callable[[Callable[..., Any]], FunctionMetric]:
    """A :class:`~uniloss.metrics.MetricRefactoring` of a metric written as plain PyTorch code; also a decorator.

    Formally, ``fn(scores, *targets)`` is run once per batch under a torch function mode that records every
    comparison of score-derived tensors (``>``, ``<``, ``>=``, ``<=``, ``==``, ``!=``) as strict differences, and
    every ranking (``sort``, ``argsort``, ``topk``, ``argmax``/``argmin``, ``max``/``min`` with ``dim``) as the
    pairs of items it orders; the exact metric of a configuration is ``fn`` replayed with its outcomes. A tied
    comparison counts as wrong (the library's rule). ``docs/metric_as_code.md`` lists what is supported.

    Args:
        fn: ``fn(scores, *targets) -> metric``; ``None`` to use ``from_function(...)`` as a decorator.
        higher_is_better: ``False`` for a metric that is better when lower (an error rate).
        ideal: ``ideal(scores, *targets) -> scores of a perfect prediction`` (default: :func:`guess_ideal`).
        prune: rank only pairs of items with different ideal scores, when the function treats tied items alike.
        name: the metric's name (default: ``fn.__name__``).
        poolable: whether batches can be pooled along the first dimension (``UniLoss(memory=...)``).

    Returns:
        A :class:`FunctionMetric`, or a decorator that makes one.

    Raises:
        TypeError: for a non-callable ``fn`` or ``ideal``, or a non-bool option.

    Example:
        >>> import uniloss
        >>> @uniloss.from_function
        ... def accuracy(scores, labels):
        ...     return ((scores > 0) == labels.bool()).float().mean()
        >>> loss = uniloss.UniLoss(accuracy)(torch.tensor([1.0, -1.0], requires_grad=True), torch.tensor([1, 0]))
        >>> 0 <= float(loss) <= 1
        True
    """
    options = {"higher_is_better": higher_is_better, "ideal": ideal, "prune": prune, "name": name}

    def make(function: Callable[..., Any]) -> FunctionMetric:
        return FunctionMetric(function, poolable=poolable, **options)  # type: ignore[arg-type]

    return make if fn is None else make(fn)
