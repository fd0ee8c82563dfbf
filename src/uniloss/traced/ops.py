"""Which torch calls compare or rank, how their arguments read, and what a ranking returns from a permutation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["COMPARISONS", "RankSpec", "call_kind", "rank_result", "rank_spec"]

COMPARISONS: dict[str, tuple[bool, str]] = {}
"""Comparison name -> (operands swapped, combination): ``a OP b`` is built from strict ``x > y`` outcomes ``g``.

``gt``: ``g(a - b)``; ``lt``: ``g(b - a)``; ``ge``: ``not g(b - a)``; ``le``: ``not g(a - b)``; ``eq``: neither
``g(a - b)`` nor ``g(b - a)``; ``ne``: either.
"""
for _names, _entry in (
    (("gt", "__gt__", "greater"), (False, "gt")),
    (("lt", "__lt__", "less"), (True, "gt")),
    (("ge", "__ge__", "greater_equal"), (True, "not")),
    (("le", "__le__", "less_equal"), (False, "not")),
    (("eq", "__eq__"), (False, "eq")),
    (("ne", "__ne__", "not_equal"), (False, "ne")),
):
    for _name in _names:
        COMPARISONS[_name] = _entry

_RANKS = frozenset({"sort", "argsort", "topk", "argmax", "argmin"})
_MAX_MIN = frozenset({"max", "min"})


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], position: int, name: str, default: Any) -> Any:
    if len(args) > position:
        return args[position]
    return kwargs.get(name, default)


def call_kind(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    """``"compare"``, ``"rank"`` or ``None`` for a torch call, from its name and arguments only (no tags)."""
    if name in COMPARISONS:
        return "compare"
    if name in _RANKS:
        return "rank"
    if name in _MAX_MIN:  # max(x, dim) ranks; max(x) and max(x, other) pass values through
        second = _arg(args, kwargs, 1, "dim", None)
        return "rank" if second is not None and not isinstance(second, torch.Tensor) else None
    return None


@dataclass(frozen=True)
class RankSpec:
    """A ranking call, normalised: ``op`` along ``dim`` (``None``: over the flattened input), in which order."""

    op: str
    dim: int | None
    descending: bool
    k: int = 0
    keepdim: bool = False


def rank_spec(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> RankSpec:
    """The :class:`RankSpec` of a call that :func:`call_kind` calls ``"rank"``, in every argument form."""
    ndim = args[0].ndim if args else kwargs["input"].ndim
    if name in ("sort", "argsort"):
        dim, descending = _arg(args, kwargs, 1, "dim", -1), _arg(args, kwargs, 2, "descending", False)
        return RankSpec(name, int(dim) % max(ndim, 1), bool(descending))
    if name == "topk":
        k, dim = _arg(args, kwargs, 1, "k", None), _arg(args, kwargs, 2, "dim", -1)
        largest = _arg(args, kwargs, 3, "largest", True)
        return RankSpec(name, int(dim) % max(ndim, 1), bool(largest), k=int(k))
    dim, keepdim = _arg(args, kwargs, 1, "dim", None), bool(_arg(args, kwargs, 2, "keepdim", False))
    descending = name in ("argmax", "max")
    return RankSpec(name, None if dim is None else int(dim) % max(ndim, 1), descending, keepdim=keepdim)


def rank_rows(spec: RankSpec, x: torch.Tensor) -> torch.Tensor:
    """``x`` as ``(M, n)`` rows of the items ranked against each other (the ranked dimension last)."""
    if spec.dim is None:
        return x.reshape(1, -1)
    moved = x.movedim(spec.dim, -1)
    return moved.reshape(-1, moved.shape[-1]) if moved.ndim else moved.reshape(1, 1)


def rank_result(spec: RankSpec, x: torch.Tensor, perm: torch.Tensor) -> Any:
    """What the ranking call returns when its items are in the order ``perm`` (``(M, n)``, first = top).

    Args:
        spec: the call.
        x: its input.
        perm: ``(M, n)`` int64, per row the items from first to last (descending order for a descending call).

    Returns:
        The call's result: a tensor of indices, or the ``(values, indices)`` named tuple of torch.
    """
    if spec.dim is None:  # argmax / argmin of the flattened input
        return perm[0, 0]
    moved = x.movedim(spec.dim, -1)
    order = perm.reshape(*moved.shape[:-1], perm.shape[-1])
    if spec.op == "argsort":
        return order.movedim(-1, spec.dim)
    if spec.op == "sort":
        values = moved.gather(-1, order)
        return torch.return_types.sort((values.movedim(-1, spec.dim), order.movedim(-1, spec.dim)))
    if spec.op == "topk":
        top = order[..., : spec.k]
        values = moved.gather(-1, top)
        return torch.return_types.topk((values.movedim(-1, spec.dim), top.movedim(-1, spec.dim)))
    first = order[..., :1]
    if spec.op in ("argmax", "argmin"):
        return first.movedim(-1, spec.dim) if spec.keepdim else first.squeeze(-1)
    values = moved.gather(-1, first)
    if spec.keepdim:
        values, first = values.movedim(-1, spec.dim), first.movedim(-1, spec.dim)
    else:
        values, first = values.squeeze(-1), first.squeeze(-1)
    result = torch.return_types.max if spec.op == "max" else torch.return_types.min
    return result((values, first))
