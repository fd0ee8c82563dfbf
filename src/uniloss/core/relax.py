"""Deprecated: `uniloss.core.relax` moved to :mod:`uniloss.relaxations` after 0.1.0.

This alias is removed in the next release.
Importing a name from here still works and raises a :class:`DeprecationWarning` naming its new home.
"""

from uniloss.core.deprecation import moved_names

_MOVED = {
    "HardStep": ("uniloss.relaxations.hard_step", "HardStep"),
    "Relaxation": ("uniloss.relaxations.base", "Relaxation"),
    "Sigmoid": ("uniloss.relaxations.sigmoid", "Sigmoid"),
}

__getattr__ = moved_names(__name__, _MOVED)
