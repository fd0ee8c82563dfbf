"""The paper preset: the published recipe (sigmoid-score comparisons, temperature 1, power 1, 49 anchors)."""

from __future__ import annotations

import pytest
import torch

import uniloss
from uniloss.presets import PaperUniLoss, paper


def _seeded() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def test_paper_ap_compares_sigmoid_scores() -> None:
    scores = torch.randn(32, generator=_seeded(), dtype=torch.float64)
    labels = (torch.arange(32) % 4 == 0).long()
    metric = uniloss.metrics.AveragePrecision()
    preset = paper(metric, generator=_seeded())
    manual = uniloss.UniLoss(
        metric,
        temperature=1.0,
        power=1.0,
        anchors=uniloss.anchors.PaperAnchors(ground_truth=1, good=16, nearby=16, bad=16),
        generator=_seeded(),
    )
    torch.testing.assert_close(preset(scores, labels), manual(torch.sigmoid(scores), labels))
    assert preset.sigmoid_scores


def test_paper_gradient_flows_through_the_sigmoid() -> None:
    scores = torch.randn(16, 5, generator=_seeded(), dtype=torch.float64, requires_grad=True)
    labels = torch.arange(16) % 5
    preset = paper(uniloss.metrics.Accuracy(num_classes=5), generator=_seeded())
    assert preset.sigmoid_scores
    preset(scores, labels).backward()
    assert scores.grad is not None
    assert torch.isfinite(scores.grad).all()


def test_paper_pck_keeps_raw_heatmaps_and_parts() -> None:
    preset = paper(uniloss.metrics.PCK())
    assert isinstance(preset, PaperUniLoss)
    assert isinstance(preset, uniloss.UniLoss)
    assert not preset.sigmoid_scores
    assert preset.relax.temperature == 1.0
    assert preset.interpolator.power == 1.0
    assert repr(preset.anchors) == "PaperAnchors(ground_truth=1, good=16, nearby=16, bad=16, current=0)"


def test_paper_sigmoid_override_and_errors() -> None:
    assert not paper(uniloss.metrics.AveragePrecision(), sigmoid_scores=False).sigmoid_scores
    with pytest.raises(TypeError, match="MetricRefactoring"):
        paper("ap")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("metric", "make_batch", "default_power"),
    [
        (
            uniloss.metrics.AveragePrecision(),
            lambda g: (torch.randn(32, generator=g), (torch.arange(32) % 4 == 0).long()),
            1.5,
        ),
        (
            uniloss.metrics.Accuracy(num_classes=5),
            lambda g: (torch.randn(16, 5, generator=g), torch.arange(16) % 5),
            2.0,
        ),
    ],
    ids=["ap", "accuracy"],
)
def test_defaults_are_the_measured_recipe_and_differ_from_the_paper(metric, make_batch, default_power) -> None:
    """The defaults (docs/ablation.md) are raw logits and a larger power; the preset is the paper's recipe."""
    scores, labels = make_batch(_seeded())
    explicit = uniloss.uniloss(
        scores,
        labels,
        metric=metric,
        relax=uniloss.Sigmoid(1.0),
        anchors=uniloss.anchors.PaperAnchors(ground_truth=1, good=16, nearby=16, bad=16),
        interpolator=uniloss.InverseDistanceWeighting(default_power),
        generator=_seeded(),
    )
    default = uniloss.UniLoss(metric, generator=_seeded())
    assert not isinstance(default, PaperUniLoss)
    torch.testing.assert_close(default(scores, labels), explicit)  # raw scores, the metric's power
    preset = paper(metric, generator=_seeded())
    assert preset.interpolator.power == 1.0 != default_power
    assert not torch.allclose(preset(scores, labels), explicit)
