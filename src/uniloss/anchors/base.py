"""Anchor configurations described sparsely: a base configuration plus at most one toggled bit."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch

from uniloss.anchors.bits import AnchorBits, count_per_row, draw_integers
from uniloss.core.checks import check_instance, check_same_device, check_shape, check_tensor
from uniloss.core.reprs import constructor_repr

__all__ = ["CURRENT", "GROUND_TRUTH", "AnchorSampler", "AnchorSet", "sample_set_entries"]

GROUND_TRUTH = 0
"""Base code of the ground-truth configuration: every binary ``+1``."""
CURRENT = 1
"""Base code of the current configuration: the sign of each comparison."""


@dataclass(frozen=True)
class AnchorSet:
    """Anchor configurations of one step, never materialised as an ``(anchors, binaries)`` matrix.

    Anchor ``k < K`` is ``base[k]`` (``GROUND_TRUTH`` or ``CURRENT``) with the flat binary ``flip[k]``
    toggled (``-1``: none). The ``random`` anchors follow, one bit per binary each (a set bit: that
    binary is ``-1``; padding is never set).

    Args:
        base: ``(K,)`` int64 base codes.
        flip: ``(K,)`` int64 flat indices into the ``(R, L)`` layout, or ``-1``.
        random: optional ``Kr`` configurations stored bit by bit.

    Raises:
        TypeError: if ``base`` or ``flip`` is not an int64 tensor, or ``random`` not ``AnchorBits`` or None.
        ValueError: if ``base`` is not 1-D, or ``flip`` has another shape or device.
    """

    base: torch.Tensor
    flip: torch.Tensor
    random: AnchorBits | None = None

    def __post_init__(self) -> None:
        for name in ("base", "flip"):
            value = check_tensor(name, getattr(self, name))
            if value.dtype != torch.int64:
                raise TypeError(f"`{name}` must be an int64 tensor, but got {value.dtype}.")
        sizes: dict[str, int] = {}
        check_shape("base", self.base, ("K",), sizes)
        check_shape("flip", self.flip, ("K",), sizes)
        check_same_device("base", self.base, flip=self.flip)
        if self.random is not None:
            check_instance("random", self.random, AnchorBits, "AnchorBits or None")

    @property
    def num_anchors(self) -> int:
        """Total number of anchors, ``K + Kr``."""
        return self.base.shape[0] + (0 if self.random is None else self.random.count)

    def toggled_to_wrong(self, wrong: torch.Tensor) -> torch.Tensor:
        """``(K,)`` whether each toggled binary is wrong in its anchor (meaningless where ``flip == -1``).

        Toggling a binary of the ground truth makes it wrong; toggling one of the current configuration swaps
        it (a wrong binary becomes right, a right one wrong).
        """
        was_wrong = wrong.reshape(-1)[self.flip.clamp_min(0)]
        return torch.where(self.base == CURRENT, ~was_wrong, True)

    def materialise(self, wrong: torch.Tensor, start: int = 0, stop: int | None = None) -> torch.Tensor:
        """Anchors ``start:stop`` as a dense ``(k, R, L)`` bool tensor of wrong binaries (slow path).

        Args:
            wrong: ``(R, L)`` bool, the current configuration's wrong binaries.
            start: first anchor.
            stop: one past the last anchor (default: all).

        Returns:
            ``(stop - start, R, L)`` bool, ``True`` where the anchor's binary is ``-1``.
        """
        rows, length = wrong.shape
        fixed = self.base.shape[0]
        stop = self.num_anchors if stop is None else stop
        parts = []
        if start < fixed:
            base, flip = self.base, self.flip
            if (start, stop) != (0, fixed) and (start, stop) != (0, self.num_anchors):
                base, flip = base[start:stop], flip[start:stop]
            size = rows * length
            # Rows of a table (zeros, then the current configuration), then a gather-scatter of one entry per anchor
            # (flip -1 writes back its entry 0 unchanged): no pass over (anchors x binaries) but the copies.
            table = torch.nn.functional.pad(wrong.reshape(1, size), (0, 0, 1, 0))
            dense = table.index_select(0, base)  # GROUND_TRUTH (0) and CURRENT (1) index the table
            flip = flip.unsqueeze(1)
            column = flip.clamp_min(0)
            dense.scatter_(1, column, dense.gather(1, column) ^ (flip >= 0))
            parts.append(dense.view(-1, rows, length))
        if self.random is not None and stop > fixed:
            parts.append(self.random.dense(max(start - fixed, 0), stop - fixed))
        return torch.cat(parts) if len(parts) > 1 else parts[0]


class AnchorSampler(ABC):
    """Chooses the anchor configurations at which the exact metric is evaluated, anew at every step."""

    @abstractmethod
    def sample(self, wrong: torch.Tensor, mask: torch.Tensor | None, generator: torch.Generator | None) -> AnchorSet:
        """Draw the anchors of one step.

        Args:
            wrong: ``(R, L)`` bool, the binaries that are ``-1`` in the current configuration (never padding).
            mask: ``(R, L)`` bool of real binaries, or ``None`` when every entry is one.
            generator: source of randomness; ``None`` uses PyTorch's default generator.

        Returns:
            The anchors, on the device of ``wrong``.
        """

    def __repr__(self) -> str:
        """The constructor call: every ``__init__`` argument kept as a same-named attribute, defaults included."""
        return constructor_repr(self)


def sample_set_entries(
    flags: torch.Tensor | None, size: int, count: int, generator: torch.Generator | None, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``count`` flat indices uniformly (with replacement) among the set entries of ``flags``.

    Sync-free: the number of set entries stays on the device, so a sampler can call it on every step. The
    paper's good and nearby anchors are drawn with it (a real binary to make wrong, a wrong one to correct).

    Args:
        flags: bool tensor of ``size`` entries (any shape; flattened), or ``None`` for every entry set.
        size: number of entries of ``flags`` (of the layout when ``flags`` is ``None``), at least 1.
        count: number of draws.
        generator: source of randomness; ``None`` uses PyTorch's default generator.
        device: device of the results.

    Returns:
        ``(count,)`` int64 flat indices and ``(count,)`` bools, per draw whether any entry was set (where none
        is, the index is meaningless).

    Example:
        >>> flags = torch.tensor([[False, True], [False, True]])
        >>> index, found = sample_set_entries(flags, 4, 3, torch.Generator().manual_seed(0), torch.device("cpu"))
        >>> index.tolist(), found.tolist()
        ([3, 1, 3], [True, True, True])
    """
    index, found = _set_entries(flags, size, draw_integers((count,), generator, device))
    if found is None:
        return index, torch.ones(count, dtype=torch.bool, device=device)
    return index.clamp_max_(size - 1), found.expand(count)


def _set_entries(
    flags: torch.Tensor | None, size: int, draws: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The set entries of ``flags`` picked by uniform integer ``draws`` (:func:`draw_integers`), and whether any is.

    The work of :func:`sample_set_entries` on draws made elsewhere (a sampler draws for all its anchors at once):
    flat int64 indices, each ``draws % set_count``-th set entry, and a 0-dim bool tensor (``None`` when ``flags``
    is ``None``: every entry is set). Where none is set the index is ``size``, out of range.
    """
    if flags is None:
        return draws % size, None
    if flags.dim() == 2 and size >= _TWO_STAGE_SIZE:  # a row, then an entry in it: no pass of 4 bytes per binary
        return _set_entries_by_row(flags, draws)
    narrow = _TWO_STAGE_SIZE <= size < 2**31  # int32 halves the pass of a large layout; int64 is faster below
    cumulative = flags.reshape(-1).cumsum(0, dtype=torch.int32 if narrow else torch.int64)
    total = cumulative[-1]
    return torch.searchsorted(cumulative, draws % total.clamp_min(1), right=True), total > 0


_TWO_STAGE_SIZE = 1 << 18  # layouts from this many entries draw a row first (more operations, less work)


def _set_entries_by_row(flags: torch.Tensor, draws: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`_set_entries` of ``(R, L)`` flags through the count of set entries per row: O(R + draws * L) work."""
    rows, length = flags.shape
    per_row = count_per_row(flags)
    cumulative = per_row.cumsum(0)
    total = cumulative[-1]
    rank = draws % total.clamp_min(1)
    row = torch.searchsorted(cumulative, rank, right=True).clamp_max_(rows - 1)
    within = (rank - cumulative[row]).add_(per_row[row])  # rank among the set entries of its row
    column = torch.searchsorted(flags[row].cumsum(1, dtype=torch.int32), within.unsqueeze(1), right=True)
    return row.mul_(length).add_(column.squeeze(1)), total > 0
