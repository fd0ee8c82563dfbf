"""Anchor samplers: which exact configurations the surrogate interpolates between."""

from uniloss.anchors.base import CURRENT, GROUND_TRUTH, AnchorSampler, AnchorSet
from uniloss.anchors.paper_anchors import PaperAnchors
from uniloss.anchors.structured_anchors import StructuredAnchors

__all__ = ["CURRENT", "GROUND_TRUTH", "AnchorSampler", "AnchorSet", "PaperAnchors", "StructuredAnchors"]
