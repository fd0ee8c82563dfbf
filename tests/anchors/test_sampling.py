"""Drawing set entries: by row then entry for large layouts, the same entries as one cumulative sum."""

import pytest
import torch

from uniloss.anchors import base as anchors_base
from uniloss.anchors.bits import draw_integers


@pytest.mark.parametrize(("rows", "length", "fraction"), [(30, 40, 0.3), (30, 40, 0.0), (30, 40, 0.002), (1, 900, 0.5)])
def test_drawing_by_row_gives_the_entries_of_one_cumulative_sum(monkeypatch, rows, length, fraction):
    g = torch.Generator().manual_seed(0)
    flags = torch.rand(rows, length, generator=g) < fraction
    draws = draw_integers((5000,), g, torch.device("cpu"))
    monkeypatch.setattr(anchors_base, "_TWO_STAGE_SIZE", 1 << 60)
    flat_index, flat_found = anchors_base._set_entries(flags, flags.numel(), draws)
    monkeypatch.setattr(anchors_base, "_TWO_STAGE_SIZE", 1)
    index, found = anchors_base._set_entries(flags, flags.numel(), draws)
    assert torch.equal(index, flat_index)
    assert bool(found) == bool(flat_found) == bool(flags.any())
    if flags.any():
        assert flags.reshape(-1)[index].all()
        assert index.unique().numel() == min(int(flags.sum()), 5000)  # every set entry is reachable
    else:
        assert torch.all(index == flags.numel())  # out of range: never used


def test_public_draws_stay_in_range_when_nothing_is_set():
    index, found = anchors_base.sample_set_entries(
        torch.zeros(3, 4, dtype=torch.bool), 12, 5, torch.Generator().manual_seed(0), torch.device("cpu")
    )
    assert not found.any()
    assert torch.all((index >= 0) & (index < 12))
