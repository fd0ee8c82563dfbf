"""Deprecated: `uniloss.anchors._bits` moved to :mod:`uniloss.anchors.bits` after 0.1.0.

This alias is removed in the next release.
Importing a name from here still works and raises a :class:`DeprecationWarning` naming its new home.
"""

from uniloss.core.deprecation import moved_names

_MOVED = {
    "AnchorBits": ("uniloss.anchors.bits", "AnchorBits"),
    "draw": ("uniloss.anchors.bits", "draw"),
    "random_bytes": ("uniloss.anchors.bits", "random_bytes"),
}

__getattr__ = moved_names(__name__, _MOVED)
