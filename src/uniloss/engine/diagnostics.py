"""Warnings the loss gives once per run, at the user's line: inputs that train badly or not at all."""

from __future__ import annotations

import torch

from uniloss.core.user_warnings import warn_user
from uniloss.relaxations.base import Relaxation
from uniloss.relaxations.sigmoid import Sigmoid

__all__ = ["PROBABILITIES", "SATURATED", "warn_if_probabilities", "warn_if_saturated", "warn_once"]

_WARNED: set[str] = set()
"""The kinds of warning already given in this process (the text before the first colon)."""
_CALLS: dict[str, int] = {}
"""How many times each check was asked for: it runs at the 1st, 2nd, 4th, 8th, ... time (its cost vanishes)."""

PROBABILITIES = "scores look like probabilities"
SATURATED = "the relaxation is saturated"


def warn_once(message: str) -> None:
    """Warn once per run and message kind (the text before its first colon), at the user's line."""
    key = message.split(":")[0]
    if key not in _WARNED:
        _WARNED.add(key)
        warn_user(message, UserWarning)


def _due(kind: str) -> bool:
    """Whether the check of ``kind`` runs at this call: not once warned, else at call numbers that are powers of 2."""
    if kind in _WARNED:
        return False
    count = _CALLS[kind] = _CALLS.get(kind, 0) + 1
    return count & (count - 1) == 0


def warn_if_probabilities(scores: torch.Tensor, relax: Relaxation) -> None:
    """Warn once if every score lies in ``[0, 1]`` while the relaxation is a :class:`Sigmoid` of raw logits.

    Sigmoid outputs as scores (the published code's mistake) keep every comparison within ``[-1, 1]``, so the
    relaxed binaries never approach an anchor. One reduction and one device sync, at the 1st, 2nd, 4th, ... call.
    """
    if not isinstance(relax, Sigmoid) or scores.numel() < 2 or not _due(PROBABILITIES):
        return
    low, high = torch.aminmax(scores.detach())
    if bool((low >= 0) & (high <= 1)):
        warn_once(
            f"{PROBABILITIES}: every score lies in [0, 1], as sigmoid or softmax outputs do, but {relax!r} relaxes "
            "differences of raw logits. Pass the model's output before its sigmoid (logits); from probabilities "
            "the relaxed binaries stay far from +-1 and the loss trains poorly. This warning is shown once per run."
        )


def warn_if_saturated(values: torch.Tensor, mask: torch.Tensor | None, relax: Relaxation) -> None:
    """Warn once if even the comparison nearest 0 has a slope of exactly 0 under a :class:`Sigmoid` relaxation.

    The sigmoid's slope falls with ``|c|``, so then every slope underflows and the gradient is exactly zero.
    A few operations and one device sync, at the 1st, 2nd, 4th, ... call.
    """
    if not isinstance(relax, Sigmoid) or not values.requires_grad or not _due(SATURATED):
        return
    size = values.detach().abs()
    if mask is not None:
        size = size.masked_fill(~mask, float("inf"))  # padding is no comparison
    nearest = values.detach().reshape(-1)[size.reshape(-1).argmin()].reshape(1)
    slope = relax.distances_with_slope(nearest)[2]
    if bool(slope == 0):
        warn_once(
            f"{SATURATED}: every comparison is so large against the temperature of {relax!r} (the smallest "
            f"|c| is {float(nearest.abs()):.3g}) that the sigmoid's slope is exactly 0 in {values.dtype}, so the "
            "gradient is zero. Raise the temperature or scale the scores down. This warning is shown once per run."
        )
