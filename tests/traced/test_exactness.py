"""The zoo written as plain code: from_function's value equals the function and uniloss.exact, at the batch's
configuration (with ties: the function itself, rankings stable) and at configurations of other scores (the
function on those scores)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.overrides import TorchFunctionMode

import uniloss
from tests.traced import zoo
from uniloss import exact


class StableRankings(TorchFunctionMode):
    """torch with stable sorts: ``sort``/``argsort`` stable, ``topk`` the first ``k`` of a stable sort."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        name = getattr(func, "__name__", "")
        if name in ("sort", "argsort"):
            kwargs["stable"] = True
        if name == "topk":
            x, k = args[0], args[1] if len(args) > 1 else kwargs["k"]
            dim = args[2] if len(args) > 2 else kwargs.get("dim", -1)
            largest = args[3] if len(args) > 3 else kwargs.get("largest", True)
            values, indices = torch.sort(x, dim=dim, descending=largest, stable=True)
            return torch.return_types.topk((values.narrow(dim, 0, k), indices.narrow(dim, 0, k)))
        return func(*args, **kwargs)


def stable(fn, *args):
    with StableRankings():
        return fn(*args)


PROPERTY_SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _scores(data, shape, tied):
    numel = int(torch.Size(shape).numel())
    if tied:
        values = data.draw(st.lists(st.integers(-2, 2), min_size=numel, max_size=numel))
        return torch.tensor(values, dtype=torch.float64).reshape(shape)
    seed = data.draw(st.integers(0, 2**16))
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _ints(data, shape, low, high):
    numel = int(torch.Size(shape).numel())
    return torch.tensor(data.draw(st.lists(st.integers(low, high), min_size=numel, max_size=numel))).reshape(shape)


def binary(data, tied):
    n = data.draw(st.integers(1, 10))
    return _scores(data, (n,), tied), (_ints(data, (n,), 0, 1),)


def classes(data, tied):
    n = data.draw(st.integers(1, 6))
    return _scores(data, (n, 5), tied), (_ints(data, (n,), 0, 4),)


def queries(data, tied, graded=False):
    n = data.draw(st.integers(1, 10))
    return _scores(data, (n,), tied), (_ints(data, (n,), 0, 3 if graded else 1), _ints(data, (n,), 0, 2))


def graded_queries(data, tied):
    return queries(data, tied, graded=True)


def multilabel(data, tied):
    n = data.draw(st.integers(1, 6))
    return _scores(data, (n, 3), tied), (_ints(data, (n, 3), 0, 1),)


def segmentation(data, tied):
    return _scores(data, (2, 3, 3, 3), tied), (_ints(data, (2, 3, 3), 0, 2),)


def binary_masks(data, tied):
    return _scores(data, (2, 3, 3), tied), (_ints(data, (2, 3, 3), 0, 1),)


def pose(data, tied):
    joints = _ints(data, (2, 2, 2), 0, 4).double() + 0.25
    visible = _ints(data, (2, 2), 0, 1)
    head = torch.tensor(data.draw(st.lists(st.sampled_from([1.0, 2.0, 3.0]), min_size=2, max_size=2)))
    return _scores(data, (2, 2, 5, 5), tied), (joints, visible, head.double())


@dataclass(frozen=True)
class Case:
    fn: Callable
    batch: Callable
    reference: Callable
    ideal: Callable | None = None

    @property
    def name(self):
        return self.fn.__name__


CASES = [
    Case(zoo.average_precision, binary, exact.average_precision),
    Case(zoo.auroc, binary, exact.auroc),
    Case(zoo.f1, binary, exact.f1),
    Case(zoo.fbeta, binary, lambda s, t: exact.fbeta(s, t, beta=2.0)),
    Case(zoo.precision, binary, exact.precision),
    Case(zoo.recall, binary, exact.recall),
    Case(zoo.balanced_accuracy, binary, exact.balanced_accuracy),
    Case(zoo.accuracy, classes, exact.accuracy),
    Case(zoo.top_3_accuracy, classes, lambda s, y: exact.top_k_accuracy(s, y, top_k=3)),
    Case(zoo.hit_rate, classes, lambda s, y: exact.top_k_accuracy(s, y, top_k=3)),
    Case(zoo.precision_at_3, queries, lambda s, t, g: exact.precision_at_k(s, t, g, top_k=3)),
    Case(zoo.recall_at_3, queries, lambda s, t, g: exact.recall_at_k(s, t, g, top_k=3)),
    Case(zoo.ndcg_at_3, graded_queries, lambda s, r, g: exact.ndcg(s, r, g, top_k=3)),
    Case(zoo.mean_average_precision, multilabel, exact.mean_average_precision),
    Case(zoo.iou, segmentation, exact.iou),
    Case(zoo.dice, segmentation, exact.dice),
    Case(zoo.binary_iou, binary_masks, exact.iou),
    Case(zoo.binary_dice, binary_masks, exact.dice),
    Case(zoo.pck, pose, exact.pck, zoo.pck_ideal),
]
IDS = [case.name for case in CASES]


def _metric(case):
    return uniloss.from_function(case.fn, ideal=case.ideal)


def _value(metric, scores, targets):
    comparisons = metric.comparisons(scores, *targets)
    return float(metric.evaluate(uniloss.HardStep()(comparisons.values)[None], comparisons)[0]), comparisons


@pytest.mark.parametrize("case", CASES, ids=IDS)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_value_without_ties_is_the_function_and_the_exact_metric(case, data):
    scores, targets = case.batch(data, tied=False)
    value, _ = _value(_metric(case), scores, targets)
    assert value == pytest.approx(float(case.fn(scores, *targets)), abs=1e-6)
    assert value == pytest.approx(float(case.reference(scores, *targets)), abs=1e-6)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_value_with_ties_is_the_function_with_stable_rankings(case, data):
    scores, targets = case.batch(data, tied=True)
    value, _ = _value(_metric(case), scores, targets)
    assert value == pytest.approx(float(stable(case.fn, scores, *targets)), abs=1e-6)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_replay_at_the_configuration_of_other_scores_is_the_function_on_them(case, data):
    scores, targets = case.batch(data, tied=False)
    other = torch.randn(scores.shape, generator=torch.Generator().manual_seed(data.draw(st.integers(0, 999))))
    metric = _metric(case)
    comparisons = metric.comparisons(scores, *targets)
    elsewhere = metric.comparisons(other.double(), *targets).values
    assert elsewhere.shape == comparisons.values.shape
    replayed = float(metric.evaluate(uniloss.HardStep()(elsewhere)[None], comparisons)[0])
    assert replayed == pytest.approx(float(case.fn(other.double(), *targets)), abs=1e-6)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_ground_truth_is_the_best_configuration_and_the_batch_layout_is_one_row(case):
    metric = _metric(case)

    @PROPERTY_SETTINGS
    @given(data=st.data())
    def check(data):
        scores, targets = case.batch(data, tied=False)
        comparisons = metric.comparisons(scores, *targets)
        assert comparisons.shape[0] == 1
        total = comparisons.values.shape[1]
        configurations = torch.where(torch.rand(8, 1, total) < 0.5, -1.0, 1.0)
        ones = torch.ones(1, 1, total)
        values = metric.evaluate(torch.cat([ones, configurations]), comparisons)
        assert bool((values[1:] <= values[0] + 1e-6).all())

    check()


def test_sklearn_agrees_with_the_auto_metrics_without_ties():
    metrics = pytest.importorskip("sklearn.metrics")
    generator = torch.Generator().manual_seed(0)
    scores, labels = torch.randn(64, generator=generator), torch.randint(0, 2, (64,), generator=generator)
    logits, classes = torch.randn(64, 5, generator=generator), torch.randint(0, 5, (64,), generator=generator)
    pairs = [
        (zoo.average_precision, (scores, labels), metrics.average_precision_score(labels, scores)),
        (zoo.auroc, (scores, labels), metrics.roc_auc_score(labels, scores)),
        (zoo.f1, (scores, labels), metrics.f1_score(labels, scores > 0)),
        (zoo.balanced_accuracy, (scores, labels), metrics.balanced_accuracy_score(labels, scores > 0)),
        (zoo.accuracy, (logits, classes), metrics.accuracy_score(classes, logits.argmax(1))),
        (zoo.top_3_accuracy, (logits, classes), metrics.top_k_accuracy_score(classes, logits, k=3)),
    ]
    for fn, batch, expected in pairs:
        value, _ = _value(uniloss.from_function(fn), batch[0], batch[1:])
        assert value == pytest.approx(expected, abs=1e-6), fn.__name__
