"""StructuredAnchors: whole-row corrections and halfway anchors, gradients and a dense reference."""

from __future__ import annotations

import pytest
import torch

import uniloss
from uniloss.anchors import PaperAnchors, StructuredAnchors
from uniloss.engine.reference import dense_uniloss


def _layout(seed: int = 0, rows: int = 6, length: int = 11) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(rows, length, generator=g) < 0.8
    wrong = (torch.rand(rows, length, generator=g) < 0.4) & mask
    return wrong, mask


def test_row_anchors_correct_every_wrong_binary_of_one_row() -> None:
    wrong, mask = _layout()
    sampler = StructuredAnchors(ground_truth=0, good=0, nearby=0, bad=0, rows=40)
    anchors = sampler.sample(wrong, mask, torch.Generator().manual_seed(1))
    assert anchors.num_anchors == 40
    dense = anchors.materialise(wrong)
    changed = (dense != wrong).any(-1)  # (K, R): rows that differ from the current configuration
    assert torch.all(changed.sum(1) <= 1)
    assert torch.all(~dense | wrong)  # only corrections
    corrected = changed.any(1)
    rows = changed[corrected].float().argmax(1)
    assert torch.all(~dense[corrected].gather(1, rows.view(-1, 1, 1).expand(-1, 1, wrong.shape[1])))
    assert torch.all(wrong.any(1)[rows])  # only rows with a wrong binary are drawn


def test_halfway_anchors_are_subsets_of_the_wrong_binaries() -> None:
    wrong, mask = _layout(rows=20, length=40)
    sampler = StructuredAnchors(ground_truth=0, good=0, nearby=0, bad=0, halfway=30)
    dense = sampler.sample(wrong, mask, torch.Generator().manual_seed(2)).materialise(wrong)
    assert torch.all(~dense | wrong)
    kept = dense.sum((1, 2)).double() / wrong.sum()
    assert 0.35 < float(kept.mean()) < 0.65


def test_without_structured_kinds_it_is_paper_anchors() -> None:
    wrong, mask = _layout()
    structured = StructuredAnchors(good=3, nearby=3, bad=2).sample(wrong, mask, torch.Generator().manual_seed(3))
    paper = PaperAnchors(good=3, nearby=3, bad=2).sample(wrong, mask, torch.Generator().manual_seed(3))
    assert torch.equal(structured.base, paper.base)
    assert torch.equal(structured.flip, paper.flip)
    assert structured.random is not None
    assert paper.random is not None
    assert torch.equal(structured.random.codes, paper.random.codes)


def test_counts_are_checked() -> None:
    with pytest.raises(ValueError, match="rows"):
        StructuredAnchors(rows=-1)
    with pytest.raises(ValueError, match="at least one anchor"):
        StructuredAnchors(0, 0, 0, 0, 0, rows=0, halfway=0)
    only_rows = StructuredAnchors(0, 0, 0, 0, 0, rows=2)
    wrong, mask = _layout()
    assert only_rows.sample(wrong, mask, None).num_anchors == 2


def _ap_case(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(24, generator=g, dtype=torch.float64)
    labels = (torch.arange(24) % 3 == 0).long()
    return scores, labels


@pytest.mark.parametrize("metric", [uniloss.metrics.AveragePrecision(), uniloss.metrics.Accuracy(num_classes=4)])
def test_engine_matches_dense_reference(metric: uniloss.metrics.MetricRefactoring) -> None:
    sampler = StructuredAnchors(good=3, nearby=3, bad=2, current=1, rows=4, halfway=3)
    for seed in range(3):
        if isinstance(metric, uniloss.metrics.Accuracy):
            g = torch.Generator().manual_seed(seed)
            scores = torch.randn(12, 4, generator=g, dtype=torch.float64)
            targets = torch.arange(12) % 4
        else:
            scores, targets = _ap_case(seed)
        values, grads = [], []
        for fn in (uniloss.uniloss, dense_uniloss):
            s = scores.clone().requires_grad_()
            loss = fn(
                s,
                targets,
                metric=metric,
                relax=uniloss.Sigmoid(0.5),
                anchors=sampler,
                interpolator=uniloss.InverseDistanceWeighting(2.0),
                generator=torch.Generator().manual_seed(seed),
            )
            loss.backward()
            values.append(loss.detach())
            grads.append(s.grad)
        torch.testing.assert_close(values[0], values[1])
        torch.testing.assert_close(grads[0], grads[1])


def test_gradcheck_float64() -> None:
    scores, labels = _ap_case(4)
    sampler = StructuredAnchors(good=4, nearby=4, bad=2, rows=4, halfway=4)

    def loss(s: torch.Tensor) -> torch.Tensor:
        return uniloss.uniloss(
            s,
            labels,
            metric=uniloss.metrics.AveragePrecision(),
            relax=uniloss.Sigmoid(2.0),
            anchors=sampler,
            interpolator=uniloss.InverseDistanceWeighting(2.0),
            generator=torch.Generator().manual_seed(0),
        )

    assert torch.autograd.gradcheck(loss, (scores.clone().requires_grad_(),), eps=1e-6, atol=1e-7)
