"""Random anchor configurations stored bit by bit: for every binary variable, one byte per eight anchors."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from uniloss.core.checks import check_nonnegative_int, check_tensor

__all__ = ["AnchorBits", "count_per_row", "draw", "draw_integers", "random_bytes"]

_ROW_HISTOGRAM_MIN_LENGTH = 64  # shorter rows count their bits directly, in bytes (at most 255; a histogram is larger)
_BINCOUNT_DEVICES = {"cpu"}  # device types whose histograms use bincount (elsewhere it reads its size back: a sync)


def draw(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Uniform floats in ``[0, 1)`` from ``generator`` (on the generator's device), moved to ``device``."""
    source = generator.device if generator is not None else device
    uniform = torch.rand(shape, generator=generator, device=source)
    return uniform if source == device else uniform.to(device)


def draw_integers(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Uniform int64 in ``[0, 2^62)`` from ``generator`` (on its device), moved to ``device``.

    ``draws % n`` is then uniform in ``[0, n)`` up to a bias of ``n / 2^62``, with ``n`` a tensor (no device sync).
    """
    source = generator.device if generator is not None else device
    draws = torch.randint(2**62, shape, generator=generator, device=source)
    return draws if source == device else draws.to(device)


def random_bytes(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Uniform random bytes of ``shape``: the eight bytes of each full-range 64-bit integer draw, no copy."""
    count = 1
    for size in shape:
        count *= size
    source = generator.device if generator is not None else device
    words = torch.empty(((count + 7) // 8,), dtype=torch.int64, device=source)
    words.random_(-(2**63), None, generator=generator)  # every bit uniform (the default range leaves the top one 0)
    data = words.view(torch.uint8)
    data = (data if data.numel() == count else data[:count]).view(shape)
    return data if source == device else data.to(device)


def count_per_row(flags: torch.Tensor) -> torch.Tensor:
    """``(R,)`` int64 numbers of set entries in each row of ``(R, L)`` bool ``flags``, without a sync.

    A sum of the flags' bytes in int32, with no copy of the layout (a sum of the bools into int64 converts them
    entry by entry; ``python benchmarks/bench_floor.py --profile ap-4096`` times both call sites).

    Example:
        >>> count_per_row(torch.tensor([[True, False, True], [False, False, False]]))
        tensor([2, 0])
    """
    return flags.view(torch.uint8).sum(1, dtype=torch.int32).long()


_CONSTANTS: dict[tuple[str, torch.dtype, torch.device], torch.Tensor] = {}


def _bit_table(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``(256, 8)``: entry ``[v, k]`` is bit ``k`` of the byte ``v`` (made once per dtype and device)."""
    key = ("table", dtype, device)
    if key not in _CONSTANTS:
        values = torch.arange(256, device=device).unsqueeze(1)
        _CONSTANTS[key] = ((values >> torch.arange(8, device=device)) & 1).to(dtype)
    return _CONSTANTS[key]


def _bit_masks(device: torch.device) -> torch.Tensor:
    """``(8, 1)`` uint8 ``1 << k``: ``(codes & masks) != 0`` unpacks the eight anchors of each byte."""
    key = ("masks", torch.uint8, device)
    if key not in _CONSTANTS:
        _CONSTANTS[key] = (1 << torch.arange(8, device=device)).to(torch.uint8).view(8, 1)
    return _CONSTANTS[key]


def _bit_shifts(device: torch.device) -> torch.Tensor:
    """``(8, 1, 1)`` uint8 ``k``, the shift that brings bit ``k`` down to 1."""
    key = ("shifts", torch.uint8, device)
    if key not in _CONSTANTS:
        _CONSTANTS[key] = torch.arange(8, dtype=torch.uint8, device=device).view(8, 1, 1)
    return _CONSTANTS[key]


_UNPACK_ENTRIES = 1 << 20  # anchor-binary entries unpacked at once (one byte each) by the short-row counts
_HISTOGRAM_ENTRIES = 1 << 18  # binaries per row-count histogram: transients stay in reused, cached memory


def _histogram(index: torch.Tensor, weights: torch.Tensor | None, bins: int) -> torch.Tensor:
    """Sum of ``weights`` (or count) per value of the flat integer ``index``, every value below ``bins``.

    ``bincount`` on the CPU (one deterministic pass); an ``index_add_`` elsewhere, since ``bincount`` reads the
    largest index back to the host. ``index_add_`` takes an int32 index (a byte plane costs a 4-byte copy, an int32
    index none) and a count adds an expanded scalar, so no transient wider than the index is allocated.
    """
    if index.device.type in _BINCOUNT_DEVICES:
        return torch.bincount(index, weights=weights, minlength=bins)
    if index.dtype not in (torch.int32, torch.int64):
        index = index.int()
    if weights is None:
        weights = torch.ones((), dtype=torch.long, device=index.device).expand(index.shape)
    return weights.new_zeros(bins).index_add_(0, index, weights)


@dataclass(frozen=True)
class AnchorBits:
    """``count`` anchor configurations, one bit per anchor and binary, never a float matrix.

    Bit ``k % 8`` of ``codes[k // 8, r, l]`` is set where anchor ``k`` has binary ``(r, l)`` wrong (``-1``);
    padding binaries and bits past ``count`` are never set. Keeping the eight anchors of a byte together
    turns the sums over each anchor's wrong binaries into one 256-bin histogram per byte plane.

    This is the public storage of random anchors (:attr:`AnchorSet.random <uniloss.anchors.AnchorSet.random>`).
    A sampler builds it with :meth:`uniform`, :meth:`from_masks` or :meth:`cat`; the engine reads it only through
    :attr:`count`, :meth:`rows`, :meth:`sums` and :meth:`sums_adjoint` (the distances and their backward),
    :meth:`row_counts` (metrics with counts) and :meth:`dense` (metrics without), never through the bytes.

    Args:
        codes: ``(ceil(count / 8), R, L)`` uint8.
        count: number of anchors.

    Example:
        >>> wrong = torch.tensor([[[True, False], [False, False]], [[True, True], [False, True]]])
        >>> anchors = AnchorBits.from_masks(wrong)  # two anchors of a (2, 2) layout
        >>> anchors.count, tuple(anchors.codes.shape)
        (2, (1, 2, 2))
        >>> anchors.row_counts().tolist()  # wrong binaries per row of each anchor
        [[1, 0], [2, 1]]
        >>> anchors.sums(torch.tensor([[1.0, 2.0], [3.0, 4.0]])).tolist()  # each anchor's sum over its wrong binaries
        [1.0, 7.0]
        >>> torch.equal(anchors.dense(), wrong)
        True
    """

    codes: torch.Tensor
    count: int

    def __post_init__(self) -> None:
        check_tensor("codes", self.codes)
        count = check_nonnegative_int("count", self.count)
        if self.codes.dtype != torch.uint8 or self.codes.dim() != 3:
            raise ValueError(
                f"`codes` must be a uint8 tensor of shape (ceil(count / 8), R, L), but got {self.codes.dtype} "
                f"{tuple(self.codes.shape)}."
            )
        if self.codes.shape[0] != -(-count // 8):
            raise ValueError(
                f"`codes` must have ceil(count / 8) = {-(-count // 8)} byte planes for `count` = {count}, but got "
                f"{self.codes.shape[0]}."
            )

    @staticmethod
    def uniform(
        count: int,
        mask: torch.Tensor | None,
        shape: tuple[int, ...],
        generator: torch.Generator | None,
        device: torch.device,
    ) -> AnchorBits:
        """``count`` uniformly random configurations of the ``shape`` layout, wrong only where ``mask`` is set."""
        codes = random_bytes(((count + 7) // 8, *shape), generator, device)
        if count % 8:
            codes[-1] &= (1 << count % 8) - 1
        if mask is not None:
            codes *= mask  # in place: zero bytes on padding
        return AnchorBits(codes, count)

    @staticmethod
    def from_masks(masks: torch.Tensor) -> AnchorBits:
        """Pack ``(K, R, L)`` bools (``True``: wrong) into bytes of eight anchors."""
        count = masks.shape[0]
        padded = torch.nn.functional.pad(masks.to(torch.uint8), (0, 0, 0, 0, 0, (-count) % 8))
        shifts = torch.arange(8, dtype=torch.uint8, device=masks.device).view(1, 8, 1, 1)
        codes = (padded.view(-1, 8, *masks.shape[1:]) << shifts).sum(1, dtype=torch.uint8)
        return AnchorBits(codes, count)

    @staticmethod
    def cat(parts: list[AnchorBits]) -> AnchorBits:
        """The anchors of every part, in order."""
        if not any(part.count for part in parts):
            return parts[0]
        parts = [part for part in parts if part.count]
        total = sum(part.count for part in parts)
        if all(part.count % 8 == 0 for part in parts[:-1]):
            return AnchorBits(torch.cat([part.codes for part in parts]), total)
        sources = [(part.codes, anchor) for part in parts for anchor in range(part.count)]
        codes = parts[0].codes.new_zeros(((total + 7) // 8, *parts[0].codes.shape[1:]))
        for target, (source, anchor) in enumerate(sources):  # move each anchor's bit plane, byte by byte
            codes[target // 8] |= ((source[anchor // 8] >> (anchor % 8)) & 1) << (target % 8)
        return AnchorBits(codes, total)

    def rows(self, part: slice) -> AnchorBits:
        """The same anchors restricted to the rows ``part`` of the layout."""
        return AnchorBits(self.codes[:, part], self.count)

    def sums(self, x: torch.Tensor) -> torch.Tensor:
        """``(count,)`` sums of ``x`` (``(R, L)``) over each anchor's wrong binaries.

        One weighted 256-bin histogram of the codes per byte plane, then each anchor adds the bins whose code
        has its bit: O(binaries * count / 8) reads, deterministic on the CPU. Not differentiable (the engine
        uses :meth:`sums_adjoint`).
        """
        if self.count == 0:
            return x.new_zeros(0)
        flat = x.reshape(-1)
        histograms = torch.stack([_histogram(plane.view(-1), flat, 256) for plane in self.codes])
        sums = (histograms @ _bit_table(histograms.dtype, x.device)).view(-1)  # (groups * 8,)
        return sums if sums.shape[0] == self.count else sums[: self.count]

    def sums_adjoint(self, grad: torch.Tensor) -> torch.Tensor:
        """The transpose of :meth:`sums`: ``(count,)`` weights to ``(R, L)`` sums of the weighted anchors."""
        groups, rows, length = self.codes.shape
        if grad.shape[0] != groups * 8:
            grad = torch.nn.functional.pad(grad, (0, groups * 8 - grad.shape[0]))
        per_code = grad.view(groups, 8) @ _bit_table(grad.dtype, grad.device).T  # (groups, 256)
        out = None
        for codes, plane in zip(per_code, self.codes, strict=True):
            part = codes.index_select(0, plane.view(-1).int())
            out = part if out is None else out.add_(part)
        assert out is not None  # at least one group
        return out.view(rows, length)

    def row_counts(self, out: torch.Tensor | None = None) -> torch.Tensor:
        """``(count, R)`` int64 numbers of wrong binaries in each row of each anchor, written into ``out`` if given."""
        groups, rows, length = self.codes.shape
        device = self.codes.device
        if out is None:
            out = torch.empty((self.count, rows), dtype=torch.long, device=device)
        if length < _ROW_HISTOGRAM_MIN_LENGTH:  # unpack the eight bits of each byte and count them along the rows
            step = max(1, _UNPACK_ENTRIES // (8 * groups * max(length, 1)))
            shifts = _bit_shifts(device)
            full = self.count == 8 * groups
            for start in range(0, rows, step):  # every group at once: (groups, 8, rows, L) bits, one byte each
                part = slice(start, start + step)
                bits = ((self.codes if step >= rows else self.codes[:, part]).unsqueeze(1) >> shifts).bitwise_and_(1)
                counts = bits.sum(-1, dtype=torch.uint8).view(8 * groups, -1)  # at most L < 64 a row: no overflow
                out[:, part] = counts if full else counts[: self.count]
            return out
        step = max(1, _HISTOGRAM_ENTRIES // length)  # rows per histogram: small transients (no fresh pages)
        index_dtype = torch.int32 if min(step, rows) * 256 < 2**31 else torch.int64
        offsets = torch.arange(0, min(step, rows) * 256, 256, dtype=index_dtype, device=device).unsqueeze(1)
        table = _bit_table(torch.float64, device)
        for group, plane in enumerate(self.codes):
            first, stop = 8 * group, min(8 * group + 8, self.count)
            for start in range(0, rows, step):
                part = plane if step >= rows else plane[start : start + step]
                index = part.to(index_dtype).add_(offsets[: part.shape[0]]).view(-1)  # (uint8 + int32 is slower)
                histogram = _histogram(index, None, part.shape[0] * 256).view(-1, 256)
                counts = (histogram.double() @ table).T  # exact: at most 2^53 per row
                out[first:stop, start : start + step] = counts if stop - first == 8 else counts[: stop - first]
        return out

    def dense(self, start: int = 0, stop: int | None = None) -> torch.Tensor:
        """Anchors ``start:stop`` as a ``(k, R, L)`` bool tensor, ``True`` where the binary is wrong."""
        stop = self.count if stop is None else min(stop, self.count)
        start = min(start, stop)
        groups, rows, length = self.codes.shape
        first, last = start // 8, (stop + 7) // 8
        codes = self.codes if (first, last) == (0, groups) else self.codes[first:last]
        bits = ((codes.view(last - first, 1, rows * length) & _bit_masks(codes.device)) != 0).view(-1, rows, length)
        offset = start - 8 * first
        return bits if (offset, bits.shape[0]) == (0, stop - start) else bits[offset : offset + stop - start]
