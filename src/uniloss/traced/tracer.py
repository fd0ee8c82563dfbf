"""The trace: run a metric function once under a torch function mode and record its comparisons as blocks.

It follows which tensors derive from the scores, records every comparison and ranking of score-derived tensors as
a block, and refuses at once what cannot be refactored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from uniloss.traced.errors import UnsupportedMetricError, user_location
from uniloss.traced.ops import COMPARISONS, RankSpec, call_kind, rank_result, rank_rows, rank_spec

__all__ = ["Block", "Trace", "trace"]

_OUTCOME, _SCORE = 1, 2
_LEAVES = frozenset({"item", "tolist", "numpy", "__float__", "__int__", "__bool__", "__index__", "__complex__"})
_UNSUPPORTED = frozenset(
    {
        "kthvalue", "mode", "cummax", "cummin", "msort", "searchsorted", "bucketize", "unique", "unique_consecutive",
        "histc", "histogram", "nonzero", "argwhere", "count_nonzero", "isclose", "allclose", "equal", "isin",
        "nanmedian", "median_", "sort_",
    }
)  # fmt: skip
_NO_GRADIENT = frozenset(
    {
        "round", "floor", "ceil", "trunc", "fix", "sign", "sgn", "signbit", "frac", "detach", "heaviside", "long",
        "int", "short", "byte", "char", "bool", "isnan", "isinf", "isfinite", "isposinf", "isneginf", "floor_divide",
        "remainder", "fmod", "__floordiv__", "__mod__", "argmax_", "data",
    }
)  # fmt: skip
_INDEX_AT = {
    "__getitem__": 1, "__setitem__": 1, "index_select": 2, "gather": 2, "take": 1, "take_along_dim": 1,
    "scatter": 2, "scatter_": 2, "scatter_add": 2, "scatter_add_": 2, "scatter_reduce": 2, "scatter_reduce_": 2,
    "index_add": 2, "index_add_": 2, "index_copy": 2, "index_copy_": 2, "index_fill": 2, "index_fill_": 2,
    "index_put": 1, "index_put_": 1, "index_reduce": 2, "index_reduce_": 2, "bincount": 0, "one_hot": 0,
    "embedding": 0, "masked_fill": 1, "masked_fill_": 1, "masked_scatter": 1, "masked_select": 1,
}  # fmt: skip
_DATA_SHAPED = frozenset({"nonzero", "argwhere", "masked_select", "unique", "unique_consecutive", "where"})
_IN_PLACE = frozenset({"__setitem__", "__iadd__", "__isub__", "__imul__", "__itruediv__", "__iand__", "__ior__"})


@dataclass
class _Tag:
    """What a traced tensor derives from: outcomes only (1) or score values (2), and how."""

    kind: int
    op: str = ""
    where: str = ""
    lost: str = ""  # the op that took the gradient away, if any ("round at file:line")
    dynamic: str = ""  # the op that made its shape depend on outcomes, if any


@dataclass
class Block:
    """One comparison or ranking call on score-derived tensors, as traced.

    Attributes:
        call: index of the call among all comparison and ranking calls of the function.
        kind: ``"compare"`` or ``"rank"``.
        op: the torch name of the call.
        where: ``file:line`` of the call in the user's code.
        shape: the broadcast shape of a comparison, or the ``(M, n)`` rows of a ranking.
        differences: for a comparison, the differences ``a - b`` whose strict signs make the outcome (one, or two
            for ``==`` and ``!=``), differentiable w.r.t. the scores.
        combine: for a comparison, how the strict outcomes make it (see :data:`~uniloss.traced.ops.COMPARISONS`).
        spec: for a ranking, the normalised call.
        keys: for a ranking, ``(M, n)`` keys whose descending order is the call's order, differentiable.
    """

    call: int
    kind: str
    op: str
    where: str
    shape: tuple[int, ...]
    differences: tuple[torch.Tensor, ...] = ()
    combine: str = "gt"
    spec: RankSpec | None = None
    keys: torch.Tensor | None = None

    @property
    def signature(self) -> tuple[Any, ...]:
        """What must agree between two traces of one function for their blocks to be the same comparisons."""
        return self.call, self.kind, self.op, self.shape, self.spec


@dataclass
class Trace:
    """The blocks of one run of a metric function."""

    blocks: list[Block] = field(default_factory=list)


def _tensors(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Iterator[torch.Tensor]:
    for value in (*args, *kwargs.values()):
        if isinstance(value, torch.Tensor):
            yield value
        elif isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, torch.Tensor):
                    yield item


def _outputs(result: Any) -> Iterator[torch.Tensor]:
    return _tensors((result,), {})


class _Tracer(TorchFunctionMode):
    """Runs the function, tags tensors derived from the scores, records blocks and raises at refused uses."""

    def __init__(self, scores: torch.Tensor) -> None:
        super().__init__()
        self.tags: dict[int, _Tag] = {id(scores): _Tag(_SCORE, "scores", "")}
        self.alive: list[Any] = [scores]  # keeps every tagged tensor alive so that no id is reused
        self.calls = 0
        self.trace = Trace()
        self.grad = scores.requires_grad and torch.is_grad_enabled()  # then every block must carry a gradient

    def tag(self, tensor: Any) -> _Tag | None:
        """The tag of ``tensor``, ``None`` for one that does not derive from the scores."""
        return self.tags.get(id(tensor)) if isinstance(tensor, torch.Tensor) else None

    def _set(self, tensor: torch.Tensor, tag: _Tag) -> None:
        self.tags[id(tensor)] = tag
        self.alive.append(tensor)

    def __torch_function__(
        self, func: Callable[..., Any], types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        kind = call_kind(name, args, kwargs)
        call = self.calls
        if kind is not None:
            self.calls += 1
        tags = [tag for tag in map(self.tag, _tensors(args, kwargs)) if tag is not None]
        if not tags:
            return func(*args, **kwargs)
        score = [tag for tag in tags if tag.kind == _SCORE]
        if score:
            self._refuse(name, args, kwargs, kind)
            if kind == "compare":
                return self._compare(func, name, args, kwargs, call)
            if kind == "rank":
                return self._rank(name, args, kwargs, call)
        result = func(*args, **kwargs)
        joined = _Tag(_SCORE if score else _OUTCOME, name)
        if score:
            joined.where = user_location()
            joined.lost = next((tag.lost for tag in tags if tag.lost), "")
            if name in _NO_GRADIENT or (isinstance(result, torch.Tensor) and not result.is_floating_point()):
                joined.lost = joined.lost or f"{name} at {joined.where}"
        dynamic = next((tag.dynamic for tag in tags if tag.dynamic), "")
        shaped = name in _DATA_SHAPED and (name != "where" or len(args) + len(kwargs) == 1)
        if shaped or (name == "__getitem__" and self._masks_by_outcome(args)):
            dynamic = dynamic or f"{name} at {user_location()}"
        targets = list(_outputs(result))
        if name in _IN_PLACE or (name.endswith("_") and not name.startswith("__")):
            targets.append(args[0])
        if isinstance(kwargs.get("out"), torch.Tensor):
            targets.append(kwargs["out"])
        for tensor in targets:
            self._set(tensor, _Tag(joined.kind, name, joined.where, joined.lost, "" if tensor.ndim == 0 else dynamic))
        return result

    def _masks_by_outcome(self, args: tuple[Any, ...]) -> bool:
        index = args[1] if len(args) > 1 else None
        items = index if isinstance(index, tuple | list) else (index,)
        return any(isinstance(item, torch.Tensor) and item.dtype == torch.bool and self.tag(item) for item in items)

    def _refuse(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], kind: str | None) -> None:
        """Raise if this call on score-derived tensors breaks a rule."""
        if name in _LEAVES:
            raise UnsupportedMetricError("leaves torch", name, user_location())
        if name in _UNSUPPORTED or (name in ("median", "quantile", "nanquantile") and _has_dim(name, args, kwargs)):
            detail = "`median`/`quantile` pass through only without `dim`." if name in ("median", "quantile") else ""
            raise UnsupportedMetricError("unsupported op", name, user_location(), detail)
        position = _INDEX_AT.get(name)
        if position is not None:
            index = args[position] if len(args) > position else kwargs.get("index", kwargs.get("indices"))
            items = index if isinstance(index, tuple | list) else (index,)
            for item in items:
                tag = self.tag(item)
                if tag is not None and tag.kind == _SCORE:
                    raise UnsupportedMetricError("index by scores", name, user_location())
        if kind is not None:
            operands = args[:2] if kind == "compare" else args[:1]
            for operand in operands:
                tag = self.tag(operand)
                if tag is None or tag.kind != _SCORE:
                    continue
                if tag.dynamic:
                    raise UnsupportedMetricError("outcome shapes", name, user_location(), f"(made by {tag.dynamic})")
                if tag.lost or not operand.is_floating_point():
                    raise UnsupportedMetricError("no gradient", name, user_location(), f"(lost by {tag.lost})")
                if self.grad and not operand.requires_grad:
                    detail = "(computed without a gradient: under torch.no_grad(), or through .data)"
                    raise UnsupportedMetricError("no gradient", name, user_location(), detail)

    def _compare(
        self, func: Callable[..., Any], name: str, args: tuple[Any, ...], kwargs: dict[str, Any], call: int
    ) -> Any:
        first, second = args[0], args[1] if len(args) > 1 else kwargs["other"]
        swapped, combine = COMPARISONS[name]
        a, b = (second, first) if swapped else (first, second)
        difference = a - b  # (a Python number on one side stays one: no tensor on another device)
        differences = (difference, -difference) if combine in ("eq", "ne") else (difference,)
        shape = tuple(difference.shape)
        self.trace.blocks.append(Block(call, "compare", name, user_location(), shape, differences, combine))
        result = func(*args, **kwargs)
        self._set(result, _Tag(_OUTCOME, name))
        return result

    def _rank(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], call: int) -> Any:
        x = args[0]
        spec = rank_spec(name, args, kwargs)
        rows = rank_rows(spec, x)
        keys = rows if spec.descending else -rows
        block = Block(call, "rank", name, user_location(), tuple(rows.shape), spec=spec, keys=keys)
        self.trace.blocks.append(block)
        order = torch.sort(keys.detach(), dim=-1, descending=True, stable=True).indices
        result = rank_result(spec, x, order)
        for tensor in _outputs(result):
            if tensor.is_floating_point():
                self._set(tensor, _Tag(_SCORE, name, block.where))
            else:
                self._set(tensor, _Tag(_OUTCOME, name))
        return result


def _has_dim(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    position = 2 if name in ("quantile", "nanquantile") else 1
    return (len(args) > position and args[position] is not None) or kwargs.get("dim") is not None


def trace(fn: Callable[..., Any], scores: torch.Tensor, targets: tuple[Any, ...]) -> Trace:
    """Run ``fn(scores, *targets)`` once, record its blocks and check that its value depends on outcomes only.

    Args:
        fn: the metric function.
        scores: the scores (differentiable; every block's differences derive from them).
        targets: the other arguments, passed as they are.

    Returns:
        The :class:`Trace`.

    Raises:
        UnsupportedMetricError: at the first refused use of score values, or if the value itself derives from
            score values.
    """
    tracer = _Tracer(scores)
    with tracer:
        output = fn(scores, *targets)
    tag = tracer.tag(output)
    if tag is not None and tag.kind == _SCORE:
        raise UnsupportedMetricError("arithmetic", tag.op, tag.where or user_location(), "(the returned value)")
    return tracer.trace
