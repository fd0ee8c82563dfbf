"""What the exact metrics return for non-finite input when ``validate_args=False`` (no device sync).

Checked (the default), every exact metric refuses a NaN or an infinity in its scores with a ``ValueError``.
Unchecked, a NaN anywhere in a floating-point input makes the result NaN, so a diverged model is never reported
with a plausible value; ``+inf`` and ``-inf`` are ordered values, above and below every finite score.
"""

from __future__ import annotations

import torch


def nan_if_any_nan(value: torch.Tensor, *inputs: torch.Tensor) -> torch.Tensor:
    """``value``, or NaN when a floating-point tensor of ``inputs`` holds a NaN; one reduction, no device sync."""
    for tensor in inputs:
        if tensor.is_floating_point():
            value = torch.where(torch.isnan(tensor).any(), torch.nan, value)
    return value
