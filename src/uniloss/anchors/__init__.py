"""Anchor samplers: which exact configurations the surrogate interpolates between.

:class:`AnchorSampler` is the base class; a sampler returns an :class:`AnchorSet` (base configurations with at
most one toggled binary, then random configurations stored bit by bit in an :class:`AnchorBits`).
:func:`sample_set_entries` draws binaries among the set entries of a mask without a device sync.
"""

from uniloss.anchors.base import CURRENT, GROUND_TRUTH, AnchorSampler, AnchorSet, sample_set_entries
from uniloss.anchors.bits import AnchorBits
from uniloss.anchors.paper_anchors import PaperAnchors
from uniloss.anchors.structured_anchors import StructuredAnchors

__all__ = [
    "CURRENT",
    "GROUND_TRUTH",
    "AnchorBits",
    "AnchorSampler",
    "AnchorSet",
    "PaperAnchors",
    "StructuredAnchors",
    "sample_set_entries",
]
