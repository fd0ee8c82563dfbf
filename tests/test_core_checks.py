"""``check_finite_and_range``: the two checks it stands for, in one read-back of four extremes."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from uniloss.core import checks

_SPECIAL = st.sampled_from([0.0, -2.5, 1e30, math.inf, -math.inf, math.nan])


def _outcome(check, *args):
    try:
        check(*args)
    except (TypeError, ValueError) as error:
        return type(error), str(error)
    return None


@given(
    specials=st.lists(_SPECIAL, max_size=4),
    labels=st.lists(st.integers(-3, 4), max_size=6),
    dtype=st.sampled_from([torch.float16, torch.bfloat16, torch.float32, torch.float64]),
    label_dtype=st.sampled_from([torch.int64, torch.int32, torch.uint8, torch.bool, torch.float32]),
    high=st.integers(0, 3),
)
@settings(max_examples=200, deadline=None)
def test_it_raises_exactly_what_check_finite_then_check_integer_range_raise(specials, labels, dtype, label_dtype, high):
    scores = torch.tensor(specials, dtype=torch.float64).to(dtype)
    if label_dtype == torch.uint8:
        labels = [abs(v) for v in labels]
    targets = torch.tensor(labels, dtype=torch.int64).to(label_dtype)

    def both(scores, targets, low, high):
        checks._check_integer_dtype("targets", targets, True)
        checks.check_finite("scores", scores)
        checks.check_integer_range("targets", targets, low, high)

    expected = _outcome(both, scores, targets, 0, high)
    assert _outcome(checks.check_finite_and_range, scores, targets, 0, high) == expected


def test_half_scores_do_not_round_a_label_into_the_range():
    scores = torch.zeros(2, dtype=torch.float16)  # float16 holds 3001 as 3000: the labels are compared in float32
    with pytest.raises(ValueError, match=r"values in \[0, 3000\], but got values in \[0, 3001\]"):
        checks.check_finite_and_range(scores, torch.tensor([0, 3001]), 0, 3000)


def test_custom_names_and_refused_bools_name_their_argument():
    with pytest.raises(TypeError, match=r"`labels` must be an integer tensor, but got torch\.bool"):
        checks.check_finite_and_range(torch.zeros(2), torch.ones(2, dtype=torch.bool), 0, 1, False, ("x", "labels"))
    with pytest.raises(ValueError, match="`x` must be finite, but got NaN values"):
        checks.check_finite_and_range(torch.tensor([math.nan]), torch.zeros(1).long(), 0, 1, names=("x", "t"))
