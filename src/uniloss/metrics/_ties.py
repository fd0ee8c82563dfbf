"""The two rules for tied scores in the exact metrics: the field's standard, or the refactoring's (a tie is wrong).

See :mod:`uniloss.exact` for what ``ties="standard"`` means for each metric.
"""

from __future__ import annotations

from typing import Literal

from uniloss.core.checks import check_choice

__all__ = ["TIES", "Ties", "check_ties"]

Ties = Literal["standard", "pessimistic"]
TIES: tuple[Ties, ...] = ("standard", "pessimistic")


def check_ties(ties: object) -> Ties:
    """Return ``ties`` if it is ``"standard"`` or ``"pessimistic"``, else raise ``ValueError``.

    Example:
        >>> check_ties("pessimistic")
        'pessimistic'
    """
    check_choice("ties", ties, TIES)
    return ties  # type: ignore[return-value]  # one of TIES
