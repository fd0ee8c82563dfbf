"""Deprecated: `uniloss.anchors._bits` moved to :mod:`uniloss.anchors.bits` after 0.1.0.

This alias is removed in the next release.
Importing a name from here still works and raises a :class:`DeprecationWarning` naming its new home.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

_MOVED = {
    "AnchorBits": ("uniloss.anchors.bits", "AnchorBits"),
    "draw": ("uniloss.anchors.bits", "draw"),
    "random_bytes": ("uniloss.anchors.bits", "random_bytes"),
}


def __getattr__(name: str) -> Any:
    """The moved object ``name``, with a ``DeprecationWarning`` that names its new module (PEP 562)."""
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    new_module, new_name = _MOVED[name]
    warnings.warn(
        f"`{__name__}.{name}` is deprecated: use `{new_module}.{new_name}`; the old path is removed in the next "
        "release.",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(new_module), new_name)
