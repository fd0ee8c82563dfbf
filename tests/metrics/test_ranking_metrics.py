"""Precision at k, recall at k and NDCG: oracles (scikit-learn, NumPy), tie conventions, the refactoring
identity, bounds on arbitrary configurations, gradients and degenerate batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import ndcg_score

from tests._helpers.losses import (
    IGNORE_NO_COMPARISON_WARNING,
    assert_counts_equal_dense,
    assert_finite_loss_and_grad,
    assert_gradcheck,
    exact_from_hard_step,
    random_configurations,
)
from tests._helpers.properties import PROPERTY_SETTINGS, spread_values, tied_values
from tests._helpers.tolerances import assert_close
from uniloss.metrics import NDCG, PrecisionAtK, RecallAtK
from uniloss.metrics.ndcg import ndcg
from uniloss.metrics.precision_at_k import precision_at_k
from uniloss.metrics.recall_at_k import recall_at_k


def _metrics(top_k: int):
    """``(instance, functional of (scores, targets, groups, **options), graded)`` per ranking metric at ``top_k``."""
    return [
        (PrecisionAtK(top_k), lambda s, t, g, **o: precision_at_k(s, t, g, top_k=top_k, **o), False),
        (RecallAtK(top_k), lambda s, t, g, **o: recall_at_k(s, t, g, top_k=top_k, **o), False),
        (NDCG(top_k), lambda s, t, g, **o: ndcg(s, t, g, top_k=top_k, **o), True),
        (NDCG(), lambda s, t, g, **o: ndcg(s, t, g, **o), True),
    ]


@st.composite
def ranking_batches(draw, tie_free: bool = False):
    """``(scores, relevance in 0..3, groups or None, top_k)``: up to 10 items in up to 3 queries."""
    num = draw(st.integers(1, 10))
    values = st.lists(spread_values, min_size=num, max_size=num, unique=True)
    if not tie_free:
        values = st.lists(st.one_of(tied_values, spread_values), min_size=num, max_size=num)
    scores = torch.tensor(draw(values), dtype=torch.float32)
    relevance = torch.tensor(draw(st.lists(st.integers(0, 3), min_size=num, max_size=num)))
    groups = draw(st.one_of(st.none(), st.lists(st.sampled_from([4, -1, 9]), min_size=num, max_size=num)))
    groups = None if groups is None else torch.tensor(groups)
    return scores, relevance, groups, draw(st.integers(1, 5))


def _by_query(scores, relevance, groups):
    """``(scores, relevance)`` NumPy arrays of each query."""
    if groups is None:
        return [(scores.numpy(), relevance.numpy())]
    return [(scores[groups == g].numpy(), relevance[groups == g].numpy()) for g in groups.unique()]


def numpy_at_k(scores, relevant, groups, top_k: int, kind: str) -> float:
    """Precision or recall at k written out: sort each query, count relevant items in the first k."""
    values = []
    for s, r in _by_query(scores, relevant, groups):
        hits = int(r[np.argsort(-s, kind="stable")][:top_k].sum())
        values.append(hits / top_k if kind == "precision" else (hits / r.sum() if r.sum() else 0.0))
    return float(np.mean(values))


def sklearn_ndcg(scores, relevance, groups, top_k) -> float:
    values = []
    for s, r in _by_query(scores, relevance, groups):
        if len(s) == 1:  # scikit-learn needs two documents; one is at rank 1
            values.append(float(r[0] > 0))
        else:
            values.append(ndcg_score(r[None], s[None], k=top_k))
    return float(np.mean(values))


# --- oracle ---------------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(ranking_batches(tie_free=True))
def test_metrics_equal_their_oracles_on_tie_free_scores(batch):
    scores, relevance, groups, top_k = batch
    relevant = (relevance > 1).long()
    assert_close(
        precision_at_k(scores, relevant, groups, top_k=top_k), numpy_at_k(scores, relevant, groups, top_k, "precision")
    )
    assert_close(
        recall_at_k(scores, relevant, groups, top_k=top_k), numpy_at_k(scores, relevant, groups, top_k, "recall")
    )
    assert_close(ndcg(scores, relevance, groups, top_k=top_k), sklearn_ndcg(scores, relevance, groups, top_k))
    assert_close(ndcg(scores, relevance, groups), sklearn_ndcg(scores, relevance, groups, None))


def test_a_relevant_item_tied_with_an_irrelevant_one_ranks_below_it():
    scores, targets = torch.tensor([1.0, 1.0, 0.0]), torch.tensor([1, 0, 0])
    assert precision_at_k(scores, targets, top_k=1, ties="pessimistic") == 0
    assert recall_at_k(scores, targets, top_k=1, ties="pessimistic") == 0
    assert_close(ndcg(scores, targets, ties="pessimistic"), 1 / np.log2(3))
    assert_close(ndcg_score(targets[None].numpy(), scores[None].numpy()), (1 + 1 / np.log2(3)) / 2)  # averaged


def test_tied_items_of_the_same_relevance_are_ordered_among_themselves():
    scores, targets = torch.tensor([1.0, 1.0, 0.0]), torch.tensor([1, 1, 0])
    assert precision_at_k(scores, targets, top_k=1) == 1
    assert_close(recall_at_k(scores, targets, top_k=1), 1 / 2)
    assert_close(ndcg(scores, targets), 1.0)


def test_a_tie_between_relevance_levels_ranks_the_less_relevant_item_first():
    scores, relevance = torch.tensor([1.0, 1.0, 0.0]), torch.tensor([2, 1, 0])
    ideal = 2 + 1 / np.log2(3)
    assert_close(ndcg(scores, relevance, ties="pessimistic"), (1 + 2 / np.log2(3)) / ideal)


@pytest.mark.parametrize(
    ("scores", "targets", "groups", "expected"),
    [
        pytest.param([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 1], None, (0.5, 1 / 3), id="docstring-example"),
        pytest.param([0.9, 0.8], [0, 0], None, (0.0, 0.0), id="no-relevant-item"),
        pytest.param([0.9, 0.8, 0.7], [1, 1, 1], None, (1.0, 2 / 3), id="all-relevant"),
        pytest.param([0.5], [1], None, (0.5, 1.0), id="one-item-fewer-than-k"),
        pytest.param([0.9, 0.8, 0.7, 0.1], [1, 0, 0, 0], [0, 0, 1, 1], (0.25, 0.5), id="query-without-relevant"),
    ],
)
def test_precision_and_recall_at_two_follow_the_documented_conventions(scores, targets, groups, expected):
    args = torch.tensor(scores), torch.tensor(targets), None if groups is None else torch.tensor(groups)
    assert_close(precision_at_k(*args, top_k=2), expected[0])
    assert_close(recall_at_k(*args, top_k=2), expected[1])


def test_ndcg_of_a_query_without_relevance_is_zero_and_counts_in_the_mean_as_in_sklearn():
    scores = torch.tensor([1.0, 2.0, 3.0, 3.0, 2.0, 1.0])
    relevance, groups = torch.tensor([0, 0, 0, 1, 0, 0]), torch.tensor([0, 0, 0, 1, 1, 1])
    assert_close(ndcg(scores, relevance, groups), 0.5)
    assert ndcg_score([[0, 0, 0], [1, 0, 0]], [[1, 2, 3], [3, 2, 1]]) == 0.5


def test_ndcg_takes_float_relevance_and_validate_args_false_gives_the_same_value():
    scores, relevance = torch.tensor([0.1, 0.2, 0.3, 4.0]), torch.tensor([10, 0, 0, 1])
    assert ndcg(scores, relevance.double()) == ndcg(scores, relevance) == ndcg(scores, relevance, validate_args=False)


# --- refactoring identity and layout --------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(ranking_batches())
def test_evaluate_of_hard_step_equals_the_functionals_with_ties(batch):
    scores, relevance, groups, top_k = batch
    for metric, functional, graded in _metrics(top_k):
        targets = relevance if graded else (relevance > 1).long()
        inputs = (targets,) if groups is None else (targets, groups)
        assert exact_from_hard_step(metric, scores, *inputs) == functional(
            scores, targets, groups, ties="pessimistic"
        ), f"{metric}"


@PROPERTY_SETTINGS
@given(ranking_batches())
def test_values_stay_in_unit_interval_and_ground_truth_is_best_on_random_configurations(batch):
    scores, relevance, groups, top_k = batch
    for metric, _, graded in _metrics(top_k):
        targets = relevance if graded else (relevance > 1).long()
        comparisons = metric.comparisons(scores, *((targets,) if groups is None else (targets, groups)))
        values = metric.evaluate(random_configurations(comparisons, 16), comparisons)
        best = metric.evaluate(torch.ones(1, *comparisons.shape), comparisons)
        assert (values >= 0).all(), f"{metric}"
        assert (values <= best + 1e-6).all(), f"{metric}"
        assert best <= 1 + 1e-6


@pytest.mark.parametrize("top_k", [1, 3])
@pytest.mark.parametrize("grouped", [False, True])
def test_row_counts_give_the_same_value_as_dense_configurations(top_k, grouped):
    generator = torch.Generator().manual_seed(top_k)
    scores, relevance = torch.randn(12, generator=generator), torch.randint(0, 4, (12,), generator=generator)
    groups = torch.tensor([0, 1, 2] * 4) if grouped else None
    for metric, _, graded in _metrics(top_k):
        targets = relevance if graded else (relevance > 1).long()
        inputs = (targets,) if groups is None else (targets, groups)
        assert_counts_equal_dense(metric, metric.comparisons(scores, *inputs))


def test_binary_layout_compares_each_relevant_item_with_the_irrelevant_items_of_its_query():
    scores, targets, groups = torch.arange(6.0), torch.tensor([1, 0, 1, 1, 0, 0]), torch.tensor([0, 0, 0, 1, 1, 1])
    comparisons = PrecisionAtK(top_k=1).comparisons(scores, targets, groups)
    assert comparisons.shape == (3, 2)  # three relevant items, against the two other items of their query
    assert comparisons.mask.sum(1).tolist() == [1, 1, 2]


def test_graded_layout_compares_each_relevant_item_with_the_less_then_the_more_relevant_items():
    scores, relevance = torch.arange(4.0), torch.tensor([2, 1, 0, 1])
    comparisons = NDCG().comparisons(scores, relevance)
    # rows: 3 relevant items against the less relevant ones, then the 2 of relevance 1 against the item of 2
    expected = [[-2.0, -1.0, -3.0], [-1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [-3.0, 0.0, 0.0]]
    assert comparisons.values.tolist() == expected
    assert comparisons.mask.sum(1).tolist() == [3, 1, 1, 1, 1]
    assert comparisons.context.row_item.tolist() == [0, 1, 2, 1, 2]


def _pairs_of_the_layout(comparisons, relevant):
    """Sorted ``(item, direction, value)`` of the real entries; direction 1 for the rows against more relevant."""
    rows, columns = comparisons.mask.nonzero(as_tuple=True)
    items = relevant[comparisons.context.row_item[rows]]
    more = (rows >= comparisons.context.less_rows).long()
    return sorted(zip(items.tolist(), more.tolist(), comparisons.values[rows, columns].tolist(), strict=True))


def _pairs_written_out(scores, relevance, groups, graded):
    """The same, from every pair of items of a query."""
    groups = torch.zeros_like(relevance) if groups is None else groups
    pairs = []
    for i in (relevance > 0).nonzero().flatten().tolist():
        for j in (groups == groups[i]).nonzero().flatten().tolist():
            if relevance[j] < relevance[i]:
                pairs.append((i, 0, float(scores[i] - scores[j])))
            elif graded and relevance[j] > relevance[i]:
                pairs.append((i, 1, float(scores[j] - scores[i])))
    return sorted(pairs)


@PROPERTY_SETTINGS
@given(ranking_batches(), st.integers(1, 40))
def test_layout_holds_each_comparison_of_a_relevant_item_exactly_once(batch, extra):
    scores, relevance, groups, _ = batch
    scores = torch.cat([scores, torch.linspace(-1.0, 1.0, extra)])  # a long query of irrelevant items too
    relevance = torch.cat([relevance, torch.zeros(extra, dtype=torch.long)])
    groups = None if groups is None else torch.cat([groups, torch.full((extra,), 4)])
    for metric, _, graded in _metrics(1)[1:3]:
        targets = relevance if graded else (relevance > 1).long()
        comparisons = metric.comparisons(scores, *((targets,) if groups is None else (targets, groups)))
        relevant = (targets > 0).nonzero().flatten()
        assert _pairs_of_the_layout(comparisons, relevant) == _pairs_written_out(scores, targets, groups, graded)
        assert (comparisons.values[~comparisons.mask] == 0).all()


def test_padding_of_many_equal_queries_is_a_fraction_of_the_binaries():
    generator = torch.Generator().manual_seed(0)  # the benchmark's ndcg-64x64: 64 queries of 64 items
    scores, relevance = torch.randn(64 * 64, generator=generator), torch.randint(0, 4, (64 * 64,), generator=generator)
    comparisons = NDCG(top_k=10).comparisons(scores, relevance, torch.arange(64).repeat_interleave(64))
    binaries = int(comparisons.mask.sum())
    assert comparisons.num_binaries <= 1.3 * binaries  # rows padded to the largest query: 2.7 x
    assert comparisons.shape[0] <= binaries / 12


@pytest.mark.parametrize("index", [0, 2], ids=["precision_at_k", "ndcg"])
def test_autograd_keeps_no_index_of_the_size_of_the_layout(index):
    metric, _, graded = _metrics(2)[index]
    generator = torch.Generator().manual_seed(index)
    scores = torch.randn(60, generator=generator, requires_grad=True)
    targets = torch.randint(0, 4 if graded else 2, (60,), generator=generator)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t.numel()) or t, lambda t: t):
        comparisons = metric.comparisons(scores, targets, torch.arange(60) % 3)
    assert max(saved, default=0) <= scores.numel() < comparisons.num_binaries


@pytest.mark.grad
@pytest.mark.parametrize("index", [0, 2], ids=["precision_at_k", "ndcg"])
def test_comparisons_pass_gradcheck(index):
    metric, _, graded = _metrics(2)[index]
    scores = torch.randn(9, generator=torch.Generator().manual_seed(index), dtype=torch.float64)
    targets = torch.tensor([2, 0, 1, 0, 3, 1, 0, 0, 1]) if graded else torch.tensor([1, 0, 1, 0, 1, 1, 0, 0, 1])
    groups = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 1])
    values = lambda s: metric.comparisons(s, targets, groups).values  # noqa: E731
    assert torch.autograd.gradcheck(values, (scores.requires_grad_(),))


# --- gradients ------------------------------------------------------------------------------------------


@pytest.mark.grad
@pytest.mark.parametrize("index", [0, 1, 2, 3], ids=["precision_at_k", "recall_at_k", "ndcg_at_k", "ndcg"])
def test_loss_passes_gradcheck(index):
    metric, _, graded = _metrics(2)[index]
    order = torch.randperm(8, generator=torch.Generator().manual_seed(index)).double()
    targets = torch.tensor([2, 0, 1, 0, 3, 1, 0, 0]) if graded else torch.tensor([1, 0, 1, 0, 1, 1, 0, 0])
    assert_gradcheck(metric, 0.5 * order, targets, torch.tensor([0, 0, 0, 0, 1, 1, 1, 1]))


DEGENERATE = [
    pytest.param([0.3, -1.2, 2.0, 0.1], [0, 0, 0, 0], None, 1.0, id="no-relevant-item"),
    pytest.param([0.3, -1.2, 2.0, 0.1], [1, 1, 1, 1], None, 1.0, id="all-relevant"),
    pytest.param([0.3], [1], None, 1.0, id="one-item"),
    pytest.param([0.3, -1.2, 2.0], [1, 0, 1], [0, 1, 2], 1.0, id="queries-of-one-item"),
    pytest.param([0.0, 0.0, 0.0, 0.0], [1, 0, 1, 0], [0, 0, 1, 1], 1.0, id="all-scores-equal"),
    pytest.param([1e4, -1e4, -1e4, 1e4], [1, 0, 1, 0], None, 0.01, id="saturated"),
]


@IGNORE_NO_COMPARISON_WARNING
@pytest.mark.parametrize("index", [0, 1, 2], ids=["precision_at_k", "recall_at_k", "ndcg_at_k"])
@pytest.mark.parametrize(("scores", "targets", "groups", "temperature"), DEGENERATE)
def test_grads_are_finite_on_degenerate_batches(dtype, index, scores, targets, groups, temperature):
    metric = _metrics(2)[index][0]
    inputs = (torch.tensor(targets),) if groups is None else (torch.tensor(targets), torch.tensor(groups))
    assert_finite_loss_and_grad(metric, torch.tensor(scores, dtype=dtype), *inputs, temperature=temperature)


@given(st.lists(st.integers(0, 300), min_size=1, max_size=40))
def test_row_length_is_the_narrowest_cheapest_width_of_the_grid(lengths):
    from uniloss.metrics import ranking as _ranking

    chosen = _ranking.row_length(torch.tensor(lengths))
    real = [n for n in lengths if n > 0]
    if not real:
        assert chosen == 1
        return
    grid = sorted({min(max(real), round(2 ** (step / 4))) for step in range(4 * max(real).bit_length() + 1)})
    costs = [sum(-(-n // width) for n in real) * (width + _ranking._ROW_COST) for width in grid]
    assert chosen == grid[costs.index(min(costs))]
