import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from uniloss.anchors import _bits


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 5), length=st.integers(1, 30), seed=st.integers(0, 2**16))
def test_pack_then_unpack_gives_back_the_mask(rows, length, seed):
    mask = torch.rand(rows, length, generator=torch.Generator().manual_seed(seed)) < 0.5
    assert torch.equal(_bits.unpack(_bits.pack(mask), length).bool(), mask)


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 5), length=st.integers(1, 30), anchors=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_packed_dot_and_row_counts_equal_the_dense_computation(rows, length, anchors, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, length, generator=g, dtype=torch.float64)
    packed = _bits.random_bytes((anchors, rows, (length + 7) // 8), g, torch.device("cpu"))
    packed = packed & _bits.pack(torch.ones(1, length, dtype=torch.bool))
    dense = _bits.unpack(packed, length).double()
    torch.testing.assert_close(_bits.packed_dot(x, packed), (dense * x).sum((1, 2)))
    assert torch.equal(_bits.row_counts(packed), dense.sum(-1).long())


@pytest.mark.grad
def test_packed_dot_passes_gradcheck():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 11, generator=g, dtype=torch.float64, requires_grad=True)
    packed = _bits.random_bytes((4, 3, 2), g, torch.device("cpu"))
    assert torch.autograd.gradcheck(lambda x: _bits.packed_dot(x, packed), (x,))


def test_packed_dot_handles_more_bytes_than_one_chunk(monkeypatch):
    monkeypatch.setattr(_bits, "_BYTES_PER_CHUNK", 3)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 50, generator=g, dtype=torch.float64, requires_grad=True)
    packed = _bits.random_bytes((2, 4, 7), g, torch.device("cpu"))
    dense = _bits.unpack(packed, 50).double()
    out = _bits.packed_dot(x, packed)
    torch.testing.assert_close(out, (dense * x).sum((1, 2)))
    out.sum().backward()
    torch.testing.assert_close(x.grad, dense.sum(0))


def test_random_bytes_are_uniform_bits_and_repeat_with_a_seed():
    data = _bits.random_bytes((200_000,), torch.Generator().manual_seed(3), torch.device("cpu"))
    bits = _bits.unpack(data, 8 * data.numel()).double()
    assert abs(bits.mean().item() - 0.5) < 0.002
    per_position = _bits.unpack(data.view(-1, 1), 8).double().mean(0)
    assert torch.all((per_position - 0.5).abs() < 0.01)
    again = _bits.random_bytes((200_000,), torch.Generator().manual_seed(3), torch.device("cpu"))
    assert torch.equal(data, again)
