"""Anchors between the current configuration and the ground truth: whole rows corrected, or half the errors."""

from __future__ import annotations

import torch

from uniloss.anchors.base import AnchorSet, sample_set_entries
from uniloss.anchors.bits import AnchorBits
from uniloss.anchors.paper_anchors import PaperAnchors
from uniloss.core.checks import check_nonnegative_int

__all__ = ["StructuredAnchors"]


class StructuredAnchors(PaperAnchors):
    """The paper's anchors plus anchors that correct many wrong binaries of the current configuration at once.

    - ``rows``: the current configuration with every wrong binary of one row corrected (AP: one positive moved
      above every negative; accuracy: one example made right; PCK: one joint made right), the row drawn
      uniformly among the rows that have a wrong binary (none: the ground truth);
    - ``halfway``: the current configuration with each wrong binary corrected independently with probability
      1/2: an anchor halfway along the path from the current configuration to the ground truth.

    Both are stored like bad anchors, one bit per binary, after the paper's kinds. Every other count
    is :class:`PaperAnchors`'s.

    Args:
        ground_truth: number of ground-truth anchors.
        good: number of good anchors.
        nearby: number of nearby anchors.
        bad: number of uniformly random anchors.
        current: number of copies of the current configuration.
        rows: number of row-corrected anchors.
        halfway: number of halfway anchors.

    Raises:
        TypeError: if a count is not an int.
        ValueError: if a count is negative or all are zero.

    Example:
        >>> sampler = StructuredAnchors(good=2, nearby=2, bad=0, rows=3, halfway=1)
        >>> wrong = torch.tensor([[False, True, False], [True, True, False]])
        >>> sampler.sample(wrong, None, torch.Generator().manual_seed(0)).num_anchors
        9
    """

    def __init__(
        self,
        ground_truth: int = 1,
        good: int = 16,
        nearby: int = 16,
        bad: int = 16,
        current: int = 0,
        rows: int = 0,
        halfway: int = 0,
    ) -> None:
        self.rows = check_nonnegative_int("rows", rows)
        self.halfway = check_nonnegative_int("halfway", halfway)
        total = ground_truth + good + nearby + bad + current
        if total + rows + halfway == 0 or total > 0:
            super().__init__(ground_truth, good, nearby, bad, current)
        else:  # only structured anchors: PaperAnchors would refuse all-zero counts
            super().__init__(0, 0, 0, 0, 1)
            self.current = 0

    def sample(self, wrong: torch.Tensor, mask: torch.Tensor | None, generator: torch.Generator | None) -> AnchorSet:
        """Draw the anchors of one step; see :meth:`AnchorSampler.sample`."""
        drawn = super().sample(wrong, mask, generator)
        extra = [drawn.random] if drawn.random is not None else []
        rows, device = wrong.shape[0], wrong.device
        if self.rows:  # padding is never wrong, so never set
            has_wrong = wrong.any(1, keepdim=True)
            row, _found = sample_set_entries(has_wrong, rows, self.rows, generator, device)
            keep = torch.arange(rows, device=device).unsqueeze(0) != row.unsqueeze(1)  # (rows_k, R)
            rows_kept = AnchorBits.from_masks(keep.unsqueeze(2))  # (groups, R, 1): one byte per row
            extra.append(AnchorBits(rows_kept.codes * wrong.to(torch.uint8), self.rows))
        if self.halfway:
            coins = AnchorBits.uniform(self.halfway, wrong, wrong.shape, generator, device)
            extra.append(coins)
        if not self.rows and not self.halfway:
            return drawn
        return AnchorSet(base=drawn.base, flip=drawn.flip, random=AnchorBits.cat(extra))

    def __repr__(self) -> str:
        return (
            f"StructuredAnchors(ground_truth={self.ground_truth}, good={self.good}, nearby={self.nearby}, "
            f"bad={self.bad}, current={self.current}, rows={self.rows}, halfway={self.halfway})"
        )
