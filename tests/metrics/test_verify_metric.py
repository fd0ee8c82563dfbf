"""``uniloss.verify_metric``: a sound metric passes every check; each deliberately broken one fails its check."""

from __future__ import annotations

import pytest
import torch

import uniloss
from tests._helpers.metric_cases import FACTORIES, make_case
from uniloss.metrics import AUROC, NDCG, MetricRefactoring
from uniloss.metrics.auroc import auroc
from uniloss.verify import MetricReport

SCORES, TARGETS = torch.tensor([0.9, -0.3, 0.4, -1.2, 0.1, 2.0]), torch.tensor([1, 0, 0, 1, 0, 1])


@pytest.mark.parametrize("name", ["auroc", "ndcg", "iou"])
def test_built_in_metrics_pass_every_check_against_their_functional(name):
    case = make_case(name, dtype=torch.float32)
    report = uniloss.verify_metric(case.metric, case.scores, *case.targets, reference=case.exact)
    assert isinstance(report, MetricReport)
    assert [line.split(":")[0] for line in report.checks] == [
        "layout",
        "identity",
        "counts",
        "ground truth",
        "gradients",
        "edge batches",
    ]
    assert report.value == pytest.approx(float(case.exact(case.scores, *case.targets)))
    assert "gradcheck" in report.checks[4]
    assert str(report).startswith(repr(case.metric))


def test_every_factory_metric_passes():
    for name in FACTORIES:
        case = make_case(name, dtype=torch.float32)
        uniloss.verify_metric(case.metric, case.scores, *case.targets, reference=case.exact)


def test_gradcheck_is_skipped_at_a_tie_and_said_so():
    report = uniloss.verify_metric(AUROC(), torch.tensor([0.5, 0.5, 1.0]), torch.tensor([1, 0, 0]))
    assert "skipped" in report.checks[4]


# --- broken metrics -------------------------------------------------------------------------------------


class _Pairs(MetricRefactoring):
    """AUROC written out, with hooks to break one part at a time."""

    name = "broken_auroc"

    def comparisons(self, scores, *targets):
        positive = targets[0].bool()
        return uniloss.Comparisons(scores[positive].unsqueeze(1) - scores[~positive].unsqueeze(0))

    def evaluate_counts(self, wrong, comparisons):
        return 1 - wrong.sum(-1).double() / max(comparisons.num_binaries, 1)


class _CountsDisagree(_Pairs):
    def evaluate(self, binaries, comparisons):  # fraction of rows without a wrong binary: not AUROC
        return (binaries > 0).all(-1).double().mean(-1)


class _PlusOneIsWrong(_Pairs):
    def evaluate_counts(self, wrong, comparisons):
        return wrong.sum(-1).double() / comparisons.num_binaries


class _NotNormalised(_Pairs):
    def evaluate_counts(self, wrong, comparisons):
        return (comparisons.num_binaries - wrong.sum(-1)).double()


class _Detached(_Pairs):
    def comparisons(self, scores, *targets):
        return super().comparisons(scores.detach(), *targets)


class _HalfDetached(_Pairs):
    def comparisons(self, scores, *targets):
        positive = targets[0].bool()
        return uniloss.Comparisons(scores[positive].unsqueeze(1) - scores.detach()[~positive].unsqueeze(0))


class _DividesBySpread(_Pairs):
    def comparisons(self, scores, *targets):
        c = super().comparisons(scores, *targets)
        return uniloss.Comparisons(c.values / (scores.max() - scores.min()))


class _Flat(_Pairs):
    def comparisons(self, scores, *targets):
        return uniloss.Comparisons(super().comparisons(scores, *targets).values.flatten())


BROKEN = [
    pytest.param(
        _Pairs(),
        lambda s, t: 0.25,
        r"identity failed: evaluate\(HardStep\(c\)\) is 0\.6+7 but reference gives 0\.25",
        id="reference",
    ),
    pytest.param(
        _CountsDisagree(),
        None,
        r"counts failed: at random configuration 0 evaluate gives 0\.3+ but evaluate_counts 0\.6+7",
        id="counts",
    ),
    pytest.param(
        _PlusOneIsWrong(),
        None,
        r"ground truth failed: the ground truth \(every binary \+1\) scores 0\.0 but another",
        id="ground-truth",
    ),
    pytest.param(_NotNormalised(), None, r"identity failed: the metric is 6\.0, outside \[0, 1\]", id="range"),
    pytest.param(_Detached(), None, r"layout failed: comparisons are detached from the scores", id="detached"),
    pytest.param(_HalfDetached(), None, r"gradients failed: .*Jacobian mismatch", id="half-detached"),
    pytest.param(_DividesBySpread(), None, r"edge batches failed: with all scores equal the loss is nan", id="nan"),
    pytest.param(
        _Flat(),
        None,
        r"layout failed: values must be a 2-D float tensor \(R, L\), but got torch\.float32 \(9,\)",
        id="flat",
    ),
]


@pytest.mark.parametrize(("metric", "reference", "pattern"), BROKEN)
def test_a_broken_metric_fails_the_check_that_catches_it_with_the_numbers(metric, reference, pattern):
    with pytest.raises(ValueError, match=pattern) as excinfo:
        uniloss.verify_metric(metric, SCORES, TARGETS, reference=reference)
    assert str(excinfo.value).startswith(f"verify_metric({metric!r}): ")
    assert not isinstance(excinfo.value, AssertionError)


def test_the_unbroken_version_passes_with_a_reference():
    report = uniloss.verify_metric(_Pairs(), SCORES, TARGETS, reference=auroc)
    assert report.value == pytest.approx(6 / 9)


def test_a_non_metric_and_invalid_input_raise():
    with pytest.raises(TypeError, match=r"`metric` must be a uniloss MetricRefactoring, but got function\."):
        uniloss.verify_metric(auroc, SCORES, TARGETS)
    with pytest.raises(ValueError, match=r"`targets` must have values in \[0, 1\]"):
        uniloss.verify_metric(AUROC(), SCORES, TARGETS + 1)
    with pytest.raises(TypeError, match=r"NDCG takes \(scores, targets\) or \(scores, targets, groups\)"):
        uniloss.verify_metric(NDCG(), SCORES)
