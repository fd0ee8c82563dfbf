"""Deprecated: `uniloss.core.engine` moved to :mod:`uniloss.engine` after 0.1.0.

This alias is removed in the next release.
Importing a name from here still works and raises a :class:`DeprecationWarning` naming its new home.
"""

from uniloss.core.deprecation import moved_names

_MOVED = {
    "UniLoss": ("uniloss.engine.loss", "UniLoss"),
    "uniloss": ("uniloss.engine.loss", "uniloss"),
    "anchor_values": ("uniloss.engine.loss", "anchor_values"),
}

__getattr__ = moved_names(__name__, _MOVED)
