"""What the metric docstrings say about scikit-learn and torchmetrics, checked by running them.

Each test backs one statement of a docstring about a peer library; it is skipped when the peer is not installed
(``pip install uniloss[test]`` installs both). Statements checked elsewhere: the AP tie conventions
(``test_ap.py``), the confusion metrics' ``zero_division`` and threshold (``test_confusion_metrics.py``),
IoU and Dice on the kept pixels (``test_segmentation_metrics.py``).
"""

from __future__ import annotations

import warnings

import pytest
import torch

from tests._helpers.tolerances import assert_close
from uniloss.exact import (
    auroc,
    dice,
    iou,
    mean_average_precision,
    ndcg,
    precision_at_k,
    recall_at_k,
    top_k_accuracy,
)

sklearn_metrics = pytest.importorskip("sklearn.metrics")
UndefinedMetricWarning = pytest.importorskip("sklearn.exceptions").UndefinedMetricWarning


def _torchmetrics():
    return pytest.importorskip("torchmetrics")


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _queries(seed: int, positive: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Three queries of 6, 4 and 5 items with distinct scores (all above 0 if ``positive``), one without relevance."""
    generator = torch.Generator().manual_seed(seed)
    groups = torch.tensor([0] * 6 + [1] * 4 + [2] * 5)
    scores = torch.randperm(15, generator=generator).double() + (1.0 if positive else -7.0)
    targets = torch.randint(0, 2, (15,), generator=generator)
    targets[6:10] = 0  # query 1 has no relevant item
    targets[[0, 10]] = 1
    return scores, targets, groups


# --- mean average precision --------------------------------------------------------------------------------


def test_map_leaves_out_labels_without_a_positive_where_sklearn_and_torchmetrics_count_them_as_zero():
    tm = _torchmetrics()
    scores = torch.tensor([[0.9, 0.1], [0.8, 0.7], [0.2, 0.3]])  # the docstring's example
    targets = torch.tensor([[1, 0], [0, 0], [1, 0]])
    assert_close(mean_average_precision(scores, targets), 5 / 6)
    assert _quiet(sklearn_metrics.average_precision_score, targets.numpy(), scores.numpy()) == pytest.approx(5 / 12)
    peer = _quiet(tm.functional.classification.multilabel_average_precision, scores, targets, num_labels=2)
    assert_close(peer, 5 / 12)


@pytest.mark.parametrize("seed", range(3))
def test_map_agrees_with_sklearn_and_torchmetrics_when_every_label_has_a_positive(seed):
    tm = _torchmetrics()
    generator = torch.Generator().manual_seed(seed)
    scores = torch.randn(12, 4, generator=generator, dtype=torch.float64)
    targets = (torch.rand(12, 4, generator=generator) < 0.4).long()
    targets[0], targets[1] = 1, 0
    expected = sklearn_metrics.average_precision_score(targets.numpy(), scores.numpy(), average="macro")
    assert_close(mean_average_precision(scores, targets), expected)
    assert_close(tm.functional.classification.multilabel_average_precision(scores, targets, num_labels=4), expected)


# --- AUROC -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", [0, 1])
def test_auroc_of_one_class_is_zero_as_torchmetrics_gives_and_nan_in_sklearn(label):
    tm = _torchmetrics()
    scores, targets = torch.tensor([0.3, 0.2, 0.6]), torch.full((3,), label)
    assert auroc(scores, targets) == 0
    with pytest.warns(UserWarning, match=r"No (positive|negative) samples in targets"):
        assert tm.functional.classification.binary_auroc(scores, targets) == 0
    with pytest.warns(UndefinedMetricWarning, match=r"Only one class"):
        value = sklearn_metrics.roc_auc_score(targets.numpy(), scores.numpy())
    assert value != value  # NaN


# --- precision and recall at k --------------------------------------------------------------------------------


def _retrieval(tm, name: str, scores, targets, groups, **options) -> torch.Tensor:
    metric = getattr(tm.retrieval, name)(**options)
    return metric(scores.float(), targets, indexes=groups)


@pytest.mark.parametrize("top_k", [1, 2, 4])
@pytest.mark.parametrize("seed", range(3))
def test_precision_and_recall_at_k_agree_with_torchmetrics_on_positive_scores_without_ties(seed, top_k):
    tm = _torchmetrics()
    scores, targets, groups = _queries(seed)
    expected = _retrieval(tm, "RetrievalPrecision", scores, targets, groups, top_k=top_k, adaptive_k=False)
    assert_close(precision_at_k(scores, targets, groups, top_k=top_k), expected.double())
    expected = _retrieval(tm, "RetrievalRecall", scores, targets, groups, top_k=top_k)  # empty query: 0
    assert_close(recall_at_k(scores, targets, groups, top_k=top_k), expected.double())


def test_torchmetrics_counts_relevant_items_scored_at_or_below_zero_as_not_retrieved():
    tm = _torchmetrics()
    scores, targets = torch.tensor([-0.5, -1.0, -2.0, -3.0]), torch.tensor([1, 0, 1, 0])
    assert_close(precision_at_k(scores, targets, top_k=2), 1 / 2)
    assert_close(recall_at_k(scores, targets, top_k=2), 1 / 2)
    assert tm.functional.retrieval.retrieval_precision(scores, targets, top_k=2) == 0
    assert tm.functional.retrieval.retrieval_recall(scores, targets, top_k=2) == 0
    shifted = scores + 10  # the same ranking, every score positive: the same values
    assert_close(tm.functional.retrieval.retrieval_precision(shifted, targets, top_k=2).double(), 1 / 2)


def test_tied_items_count_in_expectation_where_torchmetrics_retrieves_whichever_items_topk_returns():
    # Two arrangements of two relevant items among four tied scores: torchmetrics takes the same two positions in
    # both (whichever topk / argsort returns), so its values sum to 1; the standard value is their mean, 1/2 each,
    # and the pessimistic one (a tie is wrong) 0.
    tm = _torchmetrics()
    scores = torch.full((4,), 0.5)
    for peer, ours in (
        (tm.functional.retrieval.retrieval_precision, precision_at_k),
        (tm.functional.retrieval.retrieval_recall, recall_at_k),
    ):
        values = []
        for targets in (torch.tensor([0, 0, 1, 1]), torch.tensor([1, 1, 0, 0])):
            assert ours(scores, targets, top_k=2, ties="pessimistic") == 0
            assert_close(ours(scores, targets, top_k=2), 0.5)
            values.append(float(peer(scores, targets, top_k=2)))
        assert sum(values) == pytest.approx(1.0)


def test_precision_at_k_divides_by_k_for_short_queries_as_torchmetrics_without_adaptive_k():
    tm = _torchmetrics()
    scores, targets = torch.tensor([0.5, 0.4]), torch.tensor([1, 1])
    assert_close(precision_at_k(scores, targets, top_k=5), 2 / 5)
    assert_close(tm.functional.retrieval.retrieval_precision(scores, targets, top_k=5), 2 / 5)
    assert tm.functional.retrieval.retrieval_precision(scores, targets, top_k=5, adaptive_k=True) == 1


# --- NDCG --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("top_k", [None, 3])
@pytest.mark.parametrize("seed", range(3))
def test_ndcg_agrees_with_torchmetrics_without_ties_and_counts_a_query_without_relevance(seed, top_k):
    tm = _torchmetrics()
    scores, targets, groups = _queries(seed, positive=False)
    relevance = targets * torch.randint(1, 4, targets.shape, generator=torch.Generator().manual_seed(seed))
    expected = _retrieval(tm, "RetrievalNormalizedDCG", scores, relevance, groups, top_k=top_k)
    assert_close(ndcg(scores, relevance, groups, top_k=top_k), expected.double())


def test_ndcg_averages_the_gains_of_tied_items_as_both_peers_where_pessimistic_ties_rank_the_less_relevant_first():
    tm = _torchmetrics()
    scores, relevance = torch.tensor([1.0, 1.0, 0.0]), torch.tensor([0, 2, 1])
    theirs = sklearn_metrics.ndcg_score(relevance[None].numpy(), scores[None].numpy())
    assert_close(tm.functional.retrieval.retrieval_normalized_dcg(scores, relevance).double(), theirs)
    assert_close(ndcg(scores, relevance), theirs)
    pessimistic = ndcg(scores, relevance, ties="pessimistic")
    assert pessimistic < theirs
    ideal = 2 + 1 / torch.log2(torch.tensor(3.0))
    assert_close(pessimistic, (2 / torch.log2(torch.tensor(3.0)) + 1 / 2) / ideal)  # the relevant item second


# --- top-k accuracy ------------------------------------------------------------------------------------------


def test_sklearn_top_k_accuracy_ranks_the_tied_class_of_higher_index_first_and_the_standard_value_is_its_mean():
    scores, labels = torch.tensor([[1.0, 1.0, 0.0]]), list(range(3))
    for target, expected in ((0, 0.0), (1, 1.0)):
        assert sklearn_metrics.top_k_accuracy_score([target], scores.numpy(), k=1, labels=labels) == expected
        assert top_k_accuracy(scores, torch.tensor([target]), top_k=1, ties="pessimistic") == 0  # a tie is wrong
        assert_close(top_k_accuracy(scores, torch.tensor([target]), top_k=1), 0.5)  # the mean over both orders


# --- IoU and Dice with ignore_index equal to a class ---------------------------------------------------------


def test_ignore_index_equal_to_a_class_keeps_the_class_as_sklearn_on_kept_pixels_where_torchmetrics_drops_it():
    tm = _torchmetrics()
    generator = torch.Generator().manual_seed(0)
    scores = torch.randn(2, 3, 4, 4, generator=generator, dtype=torch.float64)
    targets = torch.randint(0, 3, (2, 4, 4), generator=generator)
    predicted = scores.argmax(1)
    assert (predicted[targets != 1] == 1).any(), "class 1 must be predicted on a kept pixel"
    kept_targets, kept_predicted = targets[targets != 1].numpy(), predicted[targets != 1].numpy()
    expected = sklearn_metrics.jaccard_score(kept_targets, kept_predicted, average="macro")
    assert_close(iou(scores, targets, ignore_index=1), expected)
    expected = sklearn_metrics.f1_score(kept_targets, kept_predicted, average="macro")
    assert_close(dice(scores, targets, ignore_index=1), expected)
    per_class = tm.functional.classification.multiclass_jaccard_index(
        scores, targets, num_classes=3, ignore_index=1, average="none"
    )
    peer = tm.functional.classification.multiclass_jaccard_index(scores, targets, num_classes=3, ignore_index=1)
    assert_close(peer.double(), per_class[[0, 2]].mean().double())  # class 1 left out of the mean
    assert float(peer) != pytest.approx(float(iou(scores, targets, ignore_index=1)))
