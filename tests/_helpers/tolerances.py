"""Tolerances per dtype, in one table, and the comparison helpers that use it.

The exact metrics compute in the default dtype (float32), so even a float64 loss carries float32 rounding of
the anchor values (about 6e-8 relative): float64 tolerances cannot be much tighter than 1e-7.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class Tolerance(NamedTuple):
    rtol: float
    atol: float


TOLERANCES: dict[torch.dtype, Tolerance] = {
    torch.float16: Tolerance(rtol=1e-3, atol=1e-3),
    torch.bfloat16: Tolerance(rtol=1e-2, atol=1e-2),
    torch.float32: Tolerance(rtol=1e-5, atol=1e-6),
    torch.float64: Tolerance(rtol=1e-7, atol=1e-6),
}
"""``(rtol, atol)`` for comparing a result of a dtype with its reference."""

GRADCHECK = {"eps": 1e-6, "atol": 1e-5, "rtol": 1e-3}
"""Arguments of ``torch.autograd.gradcheck`` (always run in float64)."""


def assert_close(actual, expected, dtype: torch.dtype | None = None, msg: str | None = None) -> None:
    """Compare with the tolerance of ``dtype`` (default: the dtype of ``actual``, float32 for non-tensors)."""
    actual = torch.as_tensor(actual)
    if dtype is None:
        dtype = actual.dtype if actual.is_floating_point() else torch.float32
    rtol, atol = TOLERANCES[dtype]
    expected = torch.as_tensor(expected, dtype=torch.float64)
    torch.testing.assert_close(actual.double(), expected, rtol=rtol, atol=atol, msg=msg)
