"""Deprecated: `uniloss.core.reference` moved to :mod:`uniloss.engine.reference` after 0.1.0.

This alias is removed in the next release.
Importing a name from here still works and raises a :class:`DeprecationWarning` naming its new home.
"""

from uniloss.core.deprecation import moved_names

_MOVED = {
    "dense_uniloss": ("uniloss.engine.reference", "dense_uniloss"),
}

__getattr__ = moved_names(__name__, _MOVED)
