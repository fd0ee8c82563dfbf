"""``MetricRefactoring.default_parts()``: the parts a metric's loss uses when none is given, as objects."""

import pytest
import torch

import uniloss
from tests._helpers.metric_cases import FACTORIES
from uniloss.anchors import PaperAnchors, StructuredAnchors
from uniloss.metrics import AveragePrecision, DefaultParts, MetricRefactoring

POWERS = {"average_precision": 1.5, "accuracy": 2.0}
"""The metrics whose defaults differ from the paper's parts (docs/ablation.md), and their power."""


def _metric(name):
    return FACTORIES[name](torch.Generator().manual_seed(0), torch.float64).metric


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_each_metric_names_its_default_parts_and_the_loss_uses_them(name):
    metric = _metric(name)
    parts = metric.default_parts()
    assert isinstance(parts, DefaultParts)
    assert isinstance(parts.relax, uniloss.Sigmoid)
    assert parts.relax.temperature == 1.0
    assert isinstance(parts.anchors, PaperAnchors)
    assert (parts.anchors.ground_truth, parts.anchors.good, parts.anchors.nearby, parts.anchors.bad) == (1, 16, 16, 16)
    assert isinstance(parts.interpolator, uniloss.InverseDistanceWeighting)
    assert parts.interpolator.power == POWERS.get(name, 1.0)
    criterion = uniloss.UniLoss(metric)
    assert type(criterion.relax) is type(parts.relax)
    assert type(criterion.anchors) is type(parts.anchors)
    assert criterion.interpolator.power == parts.interpolator.power
    again = metric.default_parts()
    assert again.relax is not parts.relax  # fresh objects: two losses never share a part
    assert again.anchors is not parts.anchors


class _SharpAP(AveragePrecision):
    def default_parts(self):
        return DefaultParts(relax=uniloss.Sigmoid(0.25), anchors=StructuredAnchors(rows=4))


def test_a_metric_overriding_default_parts_gets_them_and_shorthands_replace_one_part():
    criterion = uniloss.UniLoss(_SharpAP())
    assert criterion.relax.temperature == 0.25
    assert isinstance(criterion.anchors, StructuredAnchors)
    assert criterion.interpolator.power == 1.0  # a field left out is the paper's
    shorthand = uniloss.UniLoss(_SharpAP(), temperature=2.0, power=3.0)
    assert shorthand.relax.temperature == 2.0
    assert shorthand.interpolator.power == 3.0
    assert isinstance(shorthand.anchors, StructuredAnchors)
    scores = torch.tensor([0.3, -0.2, 0.1, 0.9])
    labels = torch.tensor([1, 0, 0, 1])
    functional = uniloss.uniloss(scores, labels, metric=_SharpAP(), generator=torch.Generator().manual_seed(0))
    module = uniloss.UniLoss(_SharpAP(), generator=torch.Generator().manual_seed(0))(scores, labels)
    torch.testing.assert_close(functional, module)


def test_a_metric_of_the_base_class_gets_the_papers_parts():
    class _Pairs(MetricRefactoring):
        def comparisons(self, scores, *targets):
            return uniloss.Comparisons(scores.unsqueeze(0))

        def evaluate_counts(self, wrong, comparisons):
            return 1 - wrong[:, 0].double() / comparisons.num_binaries

    parts = _Pairs().default_parts()
    assert parts.relax.temperature == 1.0
    assert parts.interpolator.power == 1.0
    assert isinstance(parts.anchors, PaperAnchors)
