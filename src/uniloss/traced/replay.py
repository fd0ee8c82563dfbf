"""Replay a metric function with any configuration of its binaries in place of the comparisons' outcomes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from uniloss.traced.errors import UnsupportedMetricError
from uniloss.traced.layout import Layout, Part, replay_order
from uniloss.traced.ops import call_kind, rank_result, rank_spec

__all__ = ["Replay"]


class _Replayer(TorchFunctionMode):
    """Answers the traced comparison and ranking calls from ``outcomes``; runs every other call as it is."""

    def __init__(self, parts: dict[int, Part], outcomes: torch.Tensor, orders: dict[int, torch.Tensor]) -> None:
        super().__init__()
        self.parts, self.outcomes, self.orders = parts, outcomes, orders
        self.calls = self.used = 0

    def __torch_function__(
        self, func: Callable[..., Any], types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        kwargs = kwargs or {}
        kind = call_kind(getattr(func, "__name__", ""), args, kwargs)
        if kind is None:
            return func(*args, **kwargs)
        call, self.calls = self.calls, self.calls + 1
        part = self.parts.get(call)
        if part is None:
            return func(*args, **kwargs)
        self.used += 1
        block = part.block
        if kind != block.kind:
            raise _changed(part, f"`{func.__name__}`")
        if kind == "compare":
            shape = torch.broadcast_shapes(*(getattr(x, "shape", ()) for x in args[:2]))
            if tuple(shape) != block.shape:
                raise _changed(part, f"shape {tuple(shape)}")
            strict = _strict(part, self.outcomes, shape)
            if block.combine in ("gt", "not"):
                return strict[0] if block.combine == "gt" else ~strict[0]
            above, below = strict
            return ~above & ~below if block.combine == "eq" else above | below
        spec = rank_spec(func.__name__, args, kwargs)
        if spec != block.spec:
            raise _changed(part, f"{spec}")
        order = self.orders.get(call)
        if order is None:
            order = replay_order(part, self.outcomes[None])[0]
        return rank_result(spec, args[0], order)


def _strict(part: Part, outcomes: torch.Tensor, shape: torch.Size) -> list[torch.Tensor]:
    """The strict outcomes of each difference of a comparison part (one, or two for ``==``/``!=``), in its shape."""
    bits = outcomes[part.offset : part.offset + part.count]
    size = shape.numel()
    return [bits[start : start + size].reshape(shape) for start in range(0, part.count, max(size, 1))] or [
        bits.reshape(shape)
    ] * (2 if part.block.combine in ("eq", "ne") else 1)


def _changed(part: Part, seen: str) -> UnsupportedMetricError:
    block = part.block
    return UnsupportedMetricError(
        "outcome shapes", block.op, block.where, f"(at another configuration this call is {seen}, traced {block.shape})"
    )


class Replay:
    """The exact metric of configurations, by replaying the function: batched with ``vmap``, else in a loop.

    Args:
        fn: the metric function.
        scores: the batch's scores (detached).
        targets: its other arguments.
        layout: the traced binaries.
        state: a dict shared by the replays of one function; ``state["vmap"]`` is set ``False`` once ``vmap``
            refuses the function (data-dependent control flow, ``.item()`` of outcomes), so later batches loop.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        scores: torch.Tensor,
        targets: tuple[Any, ...],
        layout: Layout,
        state: dict[str, bool],
    ) -> None:
        self.fn, self.scores, self.targets, self.layout, self.state = fn, scores, targets, layout, state
        self.parts = {part.block.call: part for part in layout.parts}

    def one(self, outcomes: torch.Tensor, orders: dict[int, torch.Tensor] | None = None) -> torch.Tensor:
        """The metric of one configuration, ``(T,)`` strict outcomes (``orders``: rankings given directly)."""
        replayer = _Replayer(self.parts, outcomes, orders or {})
        with replayer:
            value = self.fn(self.scores, *self.targets)
        if replayer.used != len(self.parts):
            part = self.layout.parts[min(replayer.used, len(self.parts) - 1)]
            raise _changed(part, f"made {replayer.used} of {len(self.parts)} traced calls")
        return torch.as_tensor(value, device=self.scores.device).to(torch.get_default_dtype()).reshape(())

    def __call__(self, outcomes: torch.Tensor) -> torch.Tensor:
        """``(K,)`` metric of ``(K, T)`` strict outcomes."""
        if outcomes.shape[0] == 0:
            return outcomes.new_zeros(0, dtype=torch.get_default_dtype())
        orders = {  # the rankings of every configuration at once, outside vmap (its scatter is slower than a loop)
            part.block.call: replay_order(part, outcomes) for part in self.layout.parts if part.block.kind == "rank"
        }
        if self.state.get("vmap", True):
            try:
                return torch.func.vmap(self.one)(outcomes, orders)
            except UnsupportedMetricError:
                raise
            except Exception:  # vmap refuses data-dependent control flow, .item() and dynamic shapes: loop
                self.state["vmap"] = False
        return torch.stack([self.one(row, {c: o[k] for c, o in orders.items()}) for k, row in enumerate(outcomes)])
