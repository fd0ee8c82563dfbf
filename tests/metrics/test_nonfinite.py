"""Non-finite scores: every exact metric refuses them by default, and unchecked gives the documented value.

Parametrized from ``uniloss.exact.__all__`` and ``uniloss.METRICS``, so a new metric is covered as soon as it
has a factory in ``tests/_helpers/metric_cases.py`` (the registry name is also the functional's name). Checked,
a NaN (one or all), ``+inf`` or ``-inf`` in the scores raises a ``ValueError`` naming the scores' argument: in the
functional, in ``metric.check``, in ``metric.exact`` (where a metric has one) and in the loss. Unchecked
(``validate_args=False``), a NaN gives NaN and an infinity acts as a score beyond every finite one.
"""

from __future__ import annotations

import inspect

import pytest
import torch

import uniloss
from tests._helpers.metric_cases import FACTORIES, MetricCase, make_case

FUNCTIONALS = sorted(uniloss.exact.__all__)
REGISTERED = sorted(name for name, cls in uniloss.METRICS.items() if cls.__module__.startswith("uniloss."))
OPTIONS = {
    "precision_at_k": {"top_k": 2},
    "recall_at_k": {"top_k": 2},
    "ndcg": {"top_k": 3},
    "top_k_accuracy": {"top_k": 2},
    "iou": {"ignore_index": 255},
    "dice": {"ignore_index": 255},
}
"""Options the functionals need for the factories' batches (a required ``top_k``, the ignored pixel's label)."""
NAN, INF = float("nan"), float("inf")
MUTATIONS = {"one-nan": (NAN, False), "all-nan": (NAN, True), "plus-inf": (INF, False), "minus-inf": (-INF, False)}


def _mutated(scores: torch.Tensor, mutation: str, position: int = 1) -> torch.Tensor:
    value, everywhere = MUTATIONS[mutation]
    out = scores.clone()
    if everywhere:
        out.fill_(value)
    else:
        out.view(-1)[position] = value
    return out


def _functional(name: str, case: MetricCase, scores: torch.Tensor, **kwargs) -> torch.Tensor:
    return getattr(uniloss.exact, name)(scores, *case.targets, **OPTIONS.get(name, {}), **kwargs)


def _scores_name(name: str) -> str:
    """The name of the functional's first argument, which its error messages use."""
    return next(iter(inspect.signature(getattr(uniloss.exact, name)).parameters))


def _pattern(name: str, mutation: str) -> str:
    kind = "NaN" if "nan" in mutation else "infinite"
    return rf"`{_scores_name(name)}` must be finite, but got {kind} values\."


def test_every_functional_and_registered_metric_has_a_case():
    missing = sorted(set(FUNCTIONALS) - set(FACTORIES))
    assert not missing, f"functionals without a factory in tests/_helpers/metric_cases.py: {missing}"
    assert set(REGISTERED) <= set(FUNCTIONALS), "a registered metric needs a functional of the same name"


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
@pytest.mark.parametrize("name", FUNCTIONALS)
def test_functional_refuses_non_finite_scores_by_default(name, mutation):
    case = make_case(name)
    with pytest.raises(ValueError, match=_pattern(name, mutation)):
        _functional(name, case, _mutated(case.scores, mutation))


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
@pytest.mark.parametrize("name", REGISTERED)
def test_metric_check_exact_and_loss_refuse_non_finite_scores(name, mutation):
    case = make_case(name)
    scores = _mutated(case.scores, mutation)
    pattern = _pattern(name, mutation)
    with pytest.raises(ValueError, match=pattern):
        case.metric.check(scores, *case.targets)
    with pytest.raises(ValueError, match=pattern):
        uniloss.UniLoss(case.metric)(scores, *case.targets)
    if hasattr(case.metric, "exact"):
        with pytest.raises(ValueError, match=pattern):
            case.metric.exact(scores, *case.targets, ties="pessimistic")


@pytest.mark.parametrize("mutation", ["one-nan", "all-nan"])
@pytest.mark.parametrize("name", FUNCTIONALS)
def test_unchecked_functional_gives_nan_for_nan_scores(name, mutation):
    case = make_case(name)
    value = _functional(name, case, _mutated(case.scores, mutation), validate_args=False)
    assert value.shape == ()
    assert torch.isnan(value)


def _position_that_matters(name: str, case: MetricCase) -> int:
    """The first score whose value changes the metric between the largest and the smallest finite float."""
    largest = torch.finfo(case.scores.dtype).max
    for position in range(case.scores.numel()):
        high, low = case.scores.clone(), case.scores.clone()
        high.view(-1)[position], low.view(-1)[position] = largest, -largest
        if _functional(name, case, high) != _functional(name, case, low):
            return position
    pytest.fail(f"no score of the {name} case changes its value")


@pytest.mark.parametrize("sign", [1, -1])
@pytest.mark.parametrize("name", FUNCTIONALS)
def test_unchecked_functional_takes_an_infinite_score_as_beyond_every_finite_one(name, sign):
    case = make_case(name)
    position = _position_that_matters(name, case)
    infinite, extreme = case.scores.clone(), case.scores.clone()
    infinite.view(-1)[position] = sign * INF
    extreme.view(-1)[position] = sign * torch.finfo(case.scores.dtype).max
    value = _functional(name, case, infinite, validate_args=False)
    assert torch.isfinite(value)
    assert value == _functional(name, case, extreme)


@pytest.mark.parametrize("name", FUNCTIONALS)
def test_unchecked_functional_takes_all_infinite_scores_as_all_tied(name):
    case = make_case(name)
    largest = torch.finfo(case.scores.dtype).max
    value = _functional(name, case, torch.full_like(case.scores, INF), validate_args=False)
    assert value == _functional(name, case, torch.full_like(case.scores, largest))


@pytest.mark.parametrize("name", FUNCTIONALS)
def test_functional_docstring_says_what_unchecked_non_finite_scores_give(name):
    doc = inspect.getdoc(getattr(uniloss.exact, name)) or ""
    assert "Unchecked, a NaN in" in doc
    assert "gives NaN" in doc
    assert "``+inf`` / ``-inf``" in doc


def test_pck_unchecked_gives_nan_for_nan_joints_or_head_sizes():
    case = make_case("pck")
    heatmaps, joints, visible, head_size = case.scores, *case.targets
    nan_joint = joints.clone()
    nan_joint[0, 0, 0] = NAN
    assert torch.isnan(uniloss.exact.pck(heatmaps, nan_joint, visible, head_size, validate_args=False))
    nan_size = head_size.clone()
    nan_size[0] = NAN
    assert torch.isnan(uniloss.exact.pck(heatmaps, joints, visible, nan_size, validate_args=False))


def test_pck_radius_over_the_whole_heatmap_is_right_even_for_minus_inf_scores():
    heatmaps = torch.full((1, 1, 2, 2), -INF)
    joints, visible, head_size = torch.tensor([[[0.5, 0.5]]]), torch.tensor([[True]]), torch.tensor([4.0])
    assert uniloss.exact.pck(heatmaps, joints, visible, head_size, validate_args=False) == 1


def test_accuracy_with_one_class_is_right_even_for_a_minus_inf_score():
    scores = torch.tensor([[-INF], [0.0]])
    assert uniloss.exact.accuracy(scores, torch.tensor([0, 0]), validate_args=False) == 1


def test_the_issue_example_ap_of_all_nan_scores_is_refused_not_perfect():
    labels = torch.tensor([1, 0, 1, 0, 0, 1])
    with pytest.raises(ValueError, match=r"`scores` must be finite, but got NaN values\."):
        uniloss.exact.average_precision(torch.full((6,), NAN), labels)
    assert torch.isnan(uniloss.exact.average_precision(torch.full((6,), NAN), labels, validate_args=False))


@pytest.mark.parametrize("name", REGISTERED)
def test_a_metric_that_says_it_checks_finite_scores_does(name):
    case = make_case(name)
    scores = case.scores.clone()
    scores.view(-1)[0] = float("nan")
    assert case.metric.checks_finite, "every built-in metric's check refuses non-finite scores"
    with pytest.raises(ValueError, match=r"must be finite"):
        case.metric.check(scores, *case.targets)


def test_the_loss_refuses_nan_scores_of_a_metric_whose_check_accepts_anything():
    class Plain(uniloss.metrics.AveragePrecision):
        checks_finite = False

        def check(self, scores, *targets):
            pass

    scores = torch.tensor([0.5, float("nan"), -1.0, 2.0])
    with pytest.raises(ValueError, match=r"`scores` must be finite"):
        uniloss.UniLoss(Plain())(scores, torch.tensor([1, 0, 1, 0]))
