import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from uniloss.anchors import bits as bits_module
from uniloss.anchors.bits import AnchorBits


def _bits_and_dense(count, rows, length, seed, with_mask=False):
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(rows, length, generator=g) < 0.6 if with_mask else None
    anchors = AnchorBits.uniform(count, mask, (rows, length), g, torch.device("cpu"))
    return anchors, anchors.dense(), mask, g


@settings(max_examples=40, deadline=None)
@given(
    count=st.integers(1, 20),
    rows=st.integers(1, 5),
    length=st.integers(1, 30),
    seed=st.integers(0, 2**16),
    with_mask=st.booleans(),
)
def test_sums_adjoint_and_row_counts_equal_the_dense_computation(count, rows, length, seed, with_mask):
    anchors, dense, mask, g = _bits_and_dense(count, rows, length, seed, with_mask)
    assert dense.shape == (count, rows, length)
    if mask is not None:
        assert not torch.any(dense & ~mask)
    x = torch.randn(rows, length, generator=g, dtype=torch.float64)
    weights = torch.randn(count, generator=g, dtype=torch.float64)
    torch.testing.assert_close(anchors.sums(x), (dense * x).sum((1, 2)))
    torch.testing.assert_close(anchors.sums_adjoint(weights), (dense * weights.view(-1, 1, 1)).sum(0))
    assert torch.equal(anchors.row_counts(), dense.sum(-1))


@pytest.mark.parametrize("long_rows", [False, True])
def test_the_scatter_histogram_of_accelerators_agrees_with_bincount(monkeypatch, long_rows):
    anchors, _dense, _mask, g = _bits_and_dense(13, 4, 33, seed=6, with_mask=True)
    x = torch.randn(4, 33, generator=g, dtype=torch.float64)
    weights = torch.randn(13, generator=g, dtype=torch.float64)
    if long_rows:
        monkeypatch.setattr(bits_module, "_ROW_HISTOGRAM_MIN_LENGTH", 1)
    expected = anchors.sums(x), anchors.sums_adjoint(weights), anchors.row_counts()
    monkeypatch.setattr(bits_module, "_BINCOUNT_DEVICES", set())  # the path CUDA takes, on the CPU
    got = anchors.sums(x), anchors.sums_adjoint(weights), anchors.row_counts()
    torch.testing.assert_close(got[0], expected[0])
    torch.testing.assert_close(got[1], expected[1])
    assert torch.equal(got[2], expected[2])


@pytest.mark.parametrize("count", [5, 8, 19])  # one group, one full group, three groups (the last partial)
def test_row_counts_of_short_rows_in_chunks_of_rows_agree(monkeypatch, count):
    anchors, dense, _mask, _g = _bits_and_dense(count, 7, 9, seed=4, with_mask=True)
    monkeypatch.setattr(bits_module, "_UNPACK_ENTRIES", 1)  # one row at a time
    out = torch.full((count, 7), -1, dtype=torch.long)
    assert anchors.row_counts(out=out) is out
    assert torch.equal(out, dense.sum(-1))


def test_row_counts_of_the_longest_short_rows_with_every_bit_set_do_not_overflow():
    length = bits_module._ROW_HISTOGRAM_MIN_LENGTH - 1  # counted in bytes up to here
    anchors = AnchorBits.from_masks(torch.ones(16, 3, length, dtype=torch.bool))
    assert torch.equal(anchors.row_counts(), torch.full((16, 3), length))


def test_row_counts_of_long_rows_use_the_histogram_and_agree(monkeypatch):
    anchors, dense, _mask, _g = _bits_and_dense(19, 3, 40, seed=2)
    direct = anchors.row_counts()
    monkeypatch.setattr(bits_module, "_ROW_HISTOGRAM_MIN_LENGTH", 1)
    assert torch.equal(anchors.row_counts(), direct)
    assert torch.equal(direct, dense.sum(-1))


def test_no_bit_past_the_count_is_set():
    anchors = AnchorBits.uniform(11, None, (50, 60), torch.Generator().manual_seed(0), torch.device("cpu"))
    assert anchors.codes.shape == (2, 50, 60)
    assert not torch.any(anchors.codes[1] >> 3)
    assert torch.any(anchors.codes[1])


@settings(max_examples=30, deadline=None)
@given(sizes=st.lists(st.integers(0, 11), min_size=1, max_size=4), seed=st.integers(0, 2**16))
def test_from_masks_and_cat_keep_every_anchor_in_order(sizes, seed):
    g = torch.Generator().manual_seed(seed)
    masks = [torch.rand(size, 3, 7, generator=g) < 0.5 for size in sizes]
    parts = [AnchorBits.from_masks(mask) for mask in masks]
    for part, mask in zip(parts, masks, strict=True):
        assert torch.equal(part.dense(), mask)
    joined = AnchorBits.cat(parts)
    assert joined.count == sum(sizes)
    assert torch.equal(joined.dense(), torch.cat(masks))
    assert torch.equal(joined.dense(2, 5), torch.cat(masks)[2:5])


def test_rows_restricts_every_anchor_to_those_rows():
    anchors, dense, _mask, g = _bits_and_dense(9, 6, 10, seed=3)
    part = anchors.rows(slice(2, 5))
    x = torch.randn(3, 10, generator=g, dtype=torch.float64)
    torch.testing.assert_close(part.sums(x), (dense[:, 2:5] * x).sum((1, 2)))


def test_float32_sums_stay_accurate_over_many_binaries():
    g = torch.Generator().manual_seed(4)
    anchors = AnchorBits.uniform(16, None, (64, 4096), g, torch.device("cpu"))
    x = torch.rand(64, 4096, generator=g)
    exact = (anchors.dense().double() * x.double()).sum((1, 2))
    torch.testing.assert_close(anchors.sums(x).double(), exact, rtol=1e-5, atol=0)


def test_random_bytes_are_uniform_bits_and_repeat_with_a_seed():
    data = bits_module.random_bytes((200_000,), torch.Generator().manual_seed(3), torch.device("cpu"))
    bits = AnchorBits(data.view(1, 1, -1), 8).dense().double()  # (8 bit positions, 1, N)
    assert abs(bits.mean().item() - 0.5) < 0.002
    assert torch.all((bits.mean((1, 2)) - 0.5).abs() < 0.01)
    again = bits_module.random_bytes((200_000,), torch.Generator().manual_seed(3), torch.device("cpu"))
    assert torch.equal(data, again)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sums_keep_the_dtype(dtype):
    anchors = AnchorBits.uniform(3, None, (2, 5), torch.Generator().manual_seed(5), torch.device("cpu"))
    assert anchors.sums(torch.ones(2, 5, dtype=dtype)).dtype == dtype
    assert anchors.sums_adjoint(torch.ones(3, dtype=dtype)).dtype == dtype


@given(rows=st.integers(0, 5), length=st.integers(0, 300), seed=st.integers(0, 2**31 - 1))
@settings(max_examples=40, deadline=None)
def test_count_per_row_equals_the_sum_of_each_row(rows, length, seed):
    flags = torch.rand(rows, length, generator=torch.Generator().manual_seed(seed)) < 0.4
    counts = bits_module.count_per_row(flags)
    assert counts.dtype == torch.int64
    assert torch.equal(counts, flags.sum(1))
