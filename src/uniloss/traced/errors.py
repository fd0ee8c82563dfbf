"""What :func:`uniloss.from_function` refuses, and where in the user's code: the rules and their error."""

from __future__ import annotations

import os
import sys

import torch

__all__ = ["RULES", "UnsupportedMetricError", "user_location"]

RULES: dict[str, tuple[str, str]] = {
    "arithmetic": (
        "the metric uses score values arithmetically (its value depends on the scores other than through comparisons)",
        "compare the scores instead, e.g. `(scores > 0).float().mean()` rather than `scores.sigmoid().mean()`",
    ),
    "leaves torch": (
        "score values leave torch (a Python number or array made of scores)",
        "keep them tensors and compare them, e.g. `scores > t` rather than `scores.item() > t`",
    ),
    "index by scores": (
        "a tensor is indexed by score values",
        "index by outcomes: `scores.argmax(1)`, `scores.argsort()` or `scores.topk(k).indices`, not `scores.long()`",
    ),
    "outcome shapes": (
        "the shape of a comparison depends on outcomes of comparisons",
        "compare the whole tensor and mask the outcomes, e.g. `(scores > t) & keep` rather than `scores[keep] > t` "
        "with `keep` made of comparisons",
    ),
    "no gradient": (
        "a comparison of a piecewise-constant function of the scores (rounded, cast to integers, detached): its "
        "difference has no gradient",
        "compare the float scores themselves, e.g. `scores >= 0.5` rather than `scores.round() == 1`",
    ),
    "unsupported op": (
        "an operation on scores that is not supported",
        "rank with `sort`, `argsort`, `topk`, `argmax`/`argmin` or `max`/`min` with `dim`, and compare",
    ),
    "no comparison": (
        "the metric does not depend on any comparison of the scores",
        "compare the scores (`>`, `sort`, `topk`, `argmax`, ...) and compute the metric from the outcomes",
    ),
    "not ideal": (
        "the ideal scores guessed from the targets are not the best configuration of this metric",
        "pass `ideal=` (a function of the scores and targets giving scores of a perfect prediction), or "
        "`higher_is_better=False` for a metric that is better when lower",
    ),
    "no ideal": (
        "no ideal scores can be guessed from these targets",
        "pass `ideal=`, a function `(scores, *targets) -> ideal scores` of the scores' shape",
    ),
}
"""Rule name -> (what it refuses, the supported rewrite)."""

_SKIPPED = tuple(
    os.path.dirname(os.path.abspath(path)) + os.sep
    for path in (torch.__file__, os.path.dirname(os.path.abspath(__file__)))
)
_SKIPPED_FILES = ("<frozen", "contextlib.py", "functools.py")


def user_location() -> str:
    """``file:line`` of the innermost frame of the call stack outside torch and ``uniloss.traced``."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith(_SKIPPED) and not any(part in name for part in _SKIPPED_FILES):
            return f"{name}:{frame.f_lineno}"
        frame = frame.f_back  # type: ignore[assignment]
    return "<unknown>"


class UnsupportedMetricError(ValueError):
    """A metric function that :func:`uniloss.from_function` cannot refactor, with the rule, the op and the line.

    A ``ValueError`` (never a ``TypeError``: ``Tensor.__gt__`` would turn that into "'>' not supported").

    Args:
        rule: a key of :data:`RULES`.
        op: the operation that broke it (``"mean"``, ``"item"``, ...).
        where: ``file:line`` in the user's code.
        detail: optional extra sentence.

    Example:
        >>> error = UnsupportedMetricError("arithmetic", "mean", "my_metrics.py:3")
        >>> error.rule, isinstance(error, ValueError)
        ('arithmetic', True)
    """

    def __init__(self, rule: str, op: str, where: str, detail: str = "") -> None:
        self.rule, self.op, self.where = rule, op, where
        what, rewrite = RULES[rule]
        extra = f" {detail}" if detail else ""
        super().__init__(f"from_function refuses `{op}` at {where}: [{rule}] {what}.{extra} Rewrite: {rewrite}.")
