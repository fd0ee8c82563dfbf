"""The anchors of the UniLoss paper: ground truth, good, nearby and bad configurations."""

from __future__ import annotations

import torch

from uniloss.anchors.base import CURRENT, GROUND_TRUTH, AnchorSampler, AnchorSet, _set_entries
from uniloss.anchors.bits import AnchorBits, draw_integers
from uniloss.core.checks import check_nonnegative_int

__all__ = ["PaperAnchors"]

_LAYOUTS: dict[tuple[int, int, int, int, torch.device], tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}


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
        """Draw the anchors of one step; see :meth:`AnchorSampler.sample`.

        One draw of two integers per anchor serves every kind at once: the first picks a real binary (good
        anchors, and nearby ones when nothing is wrong), the second a wrong binary (nearby anchors).
        """
        device, size = wrong.device, wrong.numel()
        base, fixed, nearby = self._layout(device)
        if self.good or self.nearby:
            for_real, for_wrong = draw_integers((2, base.shape[0]), generator, device).unbind()
            flip, found = _set_entries(mask, size, for_real)  # a fresh tensor, filled in place
            if found is not None:
                flip = torch.where(found, flip, -1)
            flip.masked_fill_(fixed, -1)
            if self.nearby:
                wrong_index, any_wrong = _set_entries(wrong, size, for_wrong)
                assert any_wrong is not None  # flags given
                correct = nearby & any_wrong
                flip = torch.where(correct, wrong_index, flip)
                base = base.masked_fill(correct, CURRENT)
        else:
            flip = torch.full_like(base, -1)
        random = AnchorBits.uniform(self.bad, mask, wrong.shape, generator, device) if self.bad else None
        return AnchorSet(base=base, flip=flip, random=random)

    def _layout(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(K,)`` constants of the fixed anchors, made once per device.

        Base codes before the draw, whether each anchor keeps its base unchanged (toggles no binary), whether it
        is a nearby anchor; in the order ground truth, current, good, nearby.
        """
        key = (self.ground_truth, self.current, self.good, self.nearby, device)
        if key not in _LAYOUTS:
            kinds = [GROUND_TRUTH] * self.ground_truth + [CURRENT] * self.current
            kinds += [GROUND_TRUTH] * self.good + [GROUND_TRUTH] * self.nearby
            start = self.ground_truth + self.current
            unchanged = [True] * start + [False] * (self.good + self.nearby)
            nearby = [False] * (start + self.good) + [True] * self.nearby
            _LAYOUTS[key] = (
                torch.tensor(kinds, dtype=torch.long, device=device),
                torch.tensor(unchanged, device=device),
                torch.tensor(nearby, device=device),
            )
        return _LAYOUTS[key]
