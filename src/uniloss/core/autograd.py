"""Helpers for the library's own autograd functions (closed-form backwards)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch

__all__ = ["first_order_only", "zero"]

_MESSAGE = b"trying to differentiate twice a function that was marked with @once_differentiable"


def first_order_only(backward: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate an ``autograd.Function.backward`` whose gradient is not itself differentiable.

    Like ``torch.autograd.function.once_differentiable``, but the gradient refuses a second backward whenever
    the first one builds a graph (``create_graph=True``), even if the incoming gradient is a constant: the
    closed-form backwards here read saved tensors that depend on the inputs, so a constant incoming gradient
    does not make the result constant. Without a graph the gradient comes back unchanged.

    Args:
        backward: the ``backward(ctx, *grads)`` staticmethod body.

    Returns:
        The wrapped backward.
    """

    @functools.wraps(backward)
    def wrapper(ctx: Any, *grads: Any) -> Any:
        if not torch.is_grad_enabled():  # a backward without a graph (the usual one): nothing to refuse
            return backward(ctx, *grads)
        with torch.no_grad():
            outputs = backward(ctx, *grads)
        single = not isinstance(outputs, tuple)
        outputs = (outputs,) if single else outputs
        tensors = [i for i, out in enumerate(outputs) if isinstance(out, torch.Tensor)]
        refused = torch._C._functions.DelayedError(_MESSAGE, len(tensors))(
            *[outputs[i].detach().requires_grad_() for i in tensors]
        )
        refused = (refused,) if isinstance(refused, torch.Tensor) else refused
        result = list(outputs)
        for i, out in zip(tensors, refused, strict=True):
            result[i] = out
        return result[0] if single else tuple(result)

    return wrapper


_ZEROS: dict[tuple[torch.dtype, torch.device], torch.Tensor] = {}


def zero(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A 0-dim zero, made once per dtype and device (never write into it).

    ``torch.addcmul(zero(...), a, b, value=v)`` is ``v a b`` in one operation: no ``new_zeros``, no pass to scale.
    """
    key = (dtype, device)
    if key not in _ZEROS:
        _ZEROS[key] = torch.zeros((), dtype=dtype, device=device)
    return _ZEROS[key]
