"""The anchors of the UniLoss paper: ground truth, good, nearby and bad configurations."""

from __future__ import annotations

import torch

from uniloss.anchors.base import CURRENT, GROUND_TRUTH, AnchorSampler, AnchorSet, sample_set_entries
from uniloss.anchors.bits import AnchorBits
from uniloss.core.checks import check_nonnegative_int

__all__ = ["PaperAnchors"]


class PaperAnchors(AnchorSampler):
    """The four kinds of anchors of UniLoss, drawn anew at every step (paper: 16 of each kind, 49 in all).

    - ``ground_truth``: every binary right (``+1``);
    - ``good``: the ground truth with one random binary flipped to wrong;
    - ``nearby``: the current configuration (signs of the comparisons) with one random wrong binary
      corrected; when none is wrong, a good anchor instead;
    - ``bad``: uniformly random configurations;
    - ``current``: the current configuration itself (not in the paper; with it, the loss tends to the exact
      loss as the temperature goes to 0).

    Each count may be zero; at least one anchor is needed. Ground-truth, good, nearby and current anchors cost
    O(1) memory each; a bad anchor costs one bit per binary (eight anchors to a byte).

    Args:
        ground_truth: number of ground-truth anchors.
        good: number of good anchors.
        nearby: number of nearby anchors.
        bad: number of uniformly random anchors.
        current: number of copies of the current configuration.

    Raises:
        TypeError: if a count is not an int.
        ValueError: if a count is negative or all are zero.

    Example:
        >>> sampler = PaperAnchors(good=2, nearby=2, bad=1)
        >>> wrong = torch.tensor([[False, True, False]])
        >>> sampler.sample(wrong, None, torch.Generator().manual_seed(0)).num_anchors
        6
    """

    def __init__(
        self, ground_truth: int = 1, good: int = 16, nearby: int = 16, bad: int = 16, current: int = 0
    ) -> None:
        self.ground_truth = check_nonnegative_int("ground_truth", ground_truth)
        self.good = check_nonnegative_int("good", good)
        self.nearby = check_nonnegative_int("nearby", nearby)
        self.bad = check_nonnegative_int("bad", bad)
        self.current = check_nonnegative_int("current", current)
        if ground_truth + good + nearby + bad + current == 0:
            raise ValueError("`PaperAnchors` needs at least one anchor, but every count is 0.")

    def sample(self, wrong: torch.Tensor, mask: torch.Tensor | None, generator: torch.Generator | None) -> AnchorSet:
        """Draw the anchors of one step; see :meth:`AnchorSampler.sample`."""
        device, size = wrong.device, wrong.numel()

        def full(count: int, value: int) -> torch.Tensor:
            return torch.full((count,), value, dtype=torch.long, device=device)

        bases, flips = (
            [full(self.ground_truth, GROUND_TRUTH), full(self.current, CURRENT)],
            [full(self.ground_truth + self.current, -1)],
        )
        if self.good:
            index, found = sample_set_entries(mask, size, self.good, generator, device)
            bases.append(full(self.good, GROUND_TRUTH))
            flips.append(torch.where(found, index, -1))
        if self.nearby:
            wrong_index, any_wrong = sample_set_entries(wrong, size, self.nearby, generator, device)
            good_index, found = sample_set_entries(mask, size, self.nearby, generator, device)
            bases.append(torch.where(any_wrong, CURRENT, GROUND_TRUTH))
            flips.append(torch.where(any_wrong, wrong_index, torch.where(found, good_index, -1)))
        random = AnchorBits.uniform(self.bad, mask, wrong.shape, generator, device) if self.bad else None
        return AnchorSet(base=torch.cat(bases), flip=torch.cat(flips), random=random)

    def __repr__(self) -> str:
        return (
            f"PaperAnchors(ground_truth={self.ground_truth}, good={self.good}, nearby={self.nearby}, "
            f"bad={self.bad}, current={self.current})"
        )
