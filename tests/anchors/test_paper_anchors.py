import pytest
import torch

from uniloss.anchors import CURRENT, GROUND_TRUTH, PaperAnchors


def _layout(seed=0, rows=6, length=9, with_mask=True):
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(rows, length, generator=g) < 0.7 if with_mask else None
    wrong = torch.rand(rows, length, generator=g) < 0.3
    if mask is not None:
        wrong &= mask
    return wrong, mask


def test_counts_of_each_kind_add_up():
    wrong, mask = _layout()
    anchors = PaperAnchors(ground_truth=1, good=3, nearby=4, bad=5, current=2).sample(wrong, mask, None)
    assert anchors.num_anchors == 15
    assert anchors.base.shape == anchors.flip.shape == (10,)
    assert anchors.random.count == 5
    assert anchors.random.codes.shape == (1, 6, 9)


def test_good_anchors_flip_one_real_binary_of_the_ground_truth():
    wrong, mask = _layout()
    anchors = PaperAnchors(ground_truth=0, good=50, nearby=0, bad=0).sample(
        wrong, mask, torch.Generator().manual_seed(1)
    )
    assert torch.all(anchors.base == GROUND_TRUTH)
    assert torch.all(mask.reshape(-1)[anchors.flip])


def test_nearby_anchors_correct_one_wrong_binary_of_the_current_configuration():
    wrong, mask = _layout()
    anchors = PaperAnchors(ground_truth=0, good=0, nearby=50, bad=0).sample(
        wrong, mask, torch.Generator().manual_seed(2)
    )
    assert torch.all(anchors.base == CURRENT)
    assert torch.all(wrong.reshape(-1)[anchors.flip])
    dense = anchors.materialise(wrong)
    assert torch.all((dense ^ wrong).flatten(1).sum(1) == 1)


def test_nearby_anchors_fall_back_to_good_anchors_when_nothing_is_wrong():
    wrong, mask = _layout()
    wrong = torch.zeros_like(wrong)
    anchors = PaperAnchors(ground_truth=0, good=0, nearby=8, bad=0).sample(
        wrong, mask, torch.Generator().manual_seed(2)
    )
    assert torch.all(anchors.base == GROUND_TRUTH)
    assert torch.all(mask.reshape(-1)[anchors.flip])


def test_random_anchors_never_touch_padding():
    wrong, mask = _layout(length=13)
    anchors = PaperAnchors(ground_truth=0, good=0, nearby=0, bad=30).sample(
        wrong, mask, torch.Generator().manual_seed(3)
    )
    dense = anchors.materialise(wrong)
    assert not torch.any(dense & ~mask)
    assert dense.float().mean() > 0.25


def test_without_mask_random_anchors_cover_the_whole_row_and_no_bit_past_the_count():
    wrong, _ = _layout(length=13, with_mask=False)
    anchors = PaperAnchors(ground_truth=0, good=0, nearby=0, bad=64).sample(
        wrong, None, torch.Generator().manual_seed(4)
    )
    dense = anchors.materialise(wrong)
    assert dense.shape == (64, 6, 13)
    assert torch.all(dense.float().mean((0, 1)) > 0.3)
    odd = PaperAnchors(ground_truth=0, good=0, nearby=0, bad=13).sample(wrong, None, torch.Generator().manual_seed(4))
    assert not torch.any(odd.random.codes[-1] >> 5)


def test_the_same_seed_draws_the_same_anchors():
    wrong, mask = _layout()
    first = PaperAnchors().sample(wrong, mask, torch.Generator().manual_seed(5))
    second = PaperAnchors().sample(wrong, mask, torch.Generator().manual_seed(5))
    third = PaperAnchors().sample(wrong, mask, torch.Generator().manual_seed(6))
    assert torch.equal(first.flip, second.flip)
    assert torch.equal(first.random.codes, second.random.codes)
    assert not torch.equal(first.random.codes, third.random.codes)


def test_an_empty_mask_gives_ground_truth_anchors_only():
    wrong = torch.zeros(2, 3, dtype=torch.bool)
    mask = torch.zeros(2, 3, dtype=torch.bool)
    anchors = PaperAnchors(good=4, nearby=4, bad=2).sample(wrong, mask, None)
    assert torch.all(anchors.flip == -1)
    assert not torch.any(anchors.materialise(wrong))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"good": -1}, ValueError, "`good` must be a non-negative int, but got -1"),
        ({"bad": 1.5}, TypeError, "`bad` must be a non-negative int, but got float 1.5"),
        ({"ground_truth": 0, "good": 0, "nearby": 0, "bad": 0}, ValueError, "at least one anchor"),
    ],
)
def test_invalid_counts_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        PaperAnchors(**kwargs)
