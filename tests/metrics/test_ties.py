"""Tied scores: the exact metrics agree with scikit-learn and torchmetrics by default (``ties="standard"``).

The inputs where ties are common in practice: ReLU outputs, float16 sigmoid outputs, constant scores and scores of
few distinct values. ``ties="pessimistic"`` (the refactoring's rule) is tested against the hard step in each
metric's own file; here it is checked never to exceed the standard value and to equal it without ties.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from sklearn import metrics as sk

import uniloss
from tests._helpers.properties import PROPERTY_SETTINGS, spread_values, tied_values
from tests._helpers.tolerances import assert_close

tm = pytest.importorskip("torchmetrics")


def _logits(kind: str, shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    """Float32 scores with the ties of ``kind``: ReLU outputs, float16 sigmoid outputs, constant, few values."""
    raw = torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * 3
    if kind == "relu":
        return torch.relu(raw)
    if kind == "float16-sigmoid":
        return torch.sigmoid(raw * 4).half().float()  # saturated: many exact 0s and 1s, and roundings
    if kind == "constant":
        return torch.zeros(shape)
    if kind == "sigmoid-of-relu":
        return torch.sigmoid(torch.relu(raw))  # probabilities, exactly 0.5 where the ReLU gives 0
    return raw.round().clamp(-2, 2)  # "few-values"


KINDS = ["relu", "float16-sigmoid", "constant", "few-values"]


def _probabilities(scores: torch.Tensor) -> torch.Tensor:
    """Scores mapped into [0, 1] keeping their order and ties (torchmetrics applies a sigmoid to other scores,
    which can merge distinct scores that round to the same probability)."""
    return torch.unique(scores, return_inverse=True)[1].float() / scores.numel()


def _binary_targets(n: int, seed: int = 1) -> torch.Tensor:
    targets = (torch.rand(n, generator=torch.Generator().manual_seed(seed)) < 0.3).long()
    targets[:2] = torch.tensor([1, 0])
    return targets


# --- the examples of the issue ---------------------------------------------------------------------------------


def test_constant_scores_give_auroc_one_half_and_ap_the_fraction_of_positives():
    scores, targets = torch.zeros(10), torch.tensor([1] + [0] * 9)
    assert_close(uniloss.exact.auroc(scores, targets), 0.5)
    assert_close(uniloss.exact.average_precision(scores, targets), 0.1)
    assert uniloss.exact.auroc(scores, targets, ties="pessimistic") == 0


# --- binary ranking metrics: AUROC, AP, mAP --------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_auroc_and_ap_of_tied_scores_equal_sklearn_and_torchmetrics(kind):
    scores, targets = _logits(kind, (64,)), _binary_targets(64)
    auroc = uniloss.exact.auroc(scores, targets)
    assert_close(auroc, sk.roc_auc_score(targets.numpy(), scores.numpy()))
    assert_close(auroc, tm.functional.classification.binary_auroc(_probabilities(scores), targets))
    ap = uniloss.exact.average_precision(scores, targets)
    assert_close(ap, sk.average_precision_score(targets.numpy(), scores.numpy()))
    assert_close(ap, tm.functional.classification.binary_average_precision(_probabilities(scores), targets))


@pytest.mark.parametrize("kind", KINDS)
def test_map_of_tied_scores_is_the_mean_of_sklearn_ap_over_labels(kind):
    scores = _logits(kind, (40, 3))
    targets = torch.stack([_binary_targets(40, seed) for seed in range(3)], 1)
    expected = sk.average_precision_score(targets.numpy(), scores.numpy(), average="macro")
    assert_close(uniloss.exact.mean_average_precision(scores, targets), expected)
    interpolated = uniloss.exact.mean_average_precision(scores, targets, mode="interpolated")
    assert interpolated >= uniloss.exact.mean_average_precision(scores, targets) - 1e-6


# --- ranking metrics: NDCG, P@k, R@k ---------------------------------------------------------------------------


def _over_orders(scores: np.ndarray, statistic) -> float:
    """Mean of ``statistic(order)`` over every order of the items that sorts the scores decreasingly."""
    values = []
    for permutation in itertools.permutations(range(len(scores))):
        order = sorted(permutation, key=lambda item: -scores[item])  # stable: ties in the permutation's order
        values.append(statistic(np.array(order)))
    return float(np.mean(values))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("top_k", [None, 1, 3])
def test_ndcg_of_tied_scores_equals_sklearn_and_torchmetrics(kind, top_k):
    scores = _logits(kind, (12,))
    relevance = torch.randint(0, 4, (12,), generator=torch.Generator().manual_seed(2))
    value = uniloss.exact.ndcg(scores, relevance, top_k=top_k)
    assert_close(value, sk.ndcg_score(relevance[None].numpy(), scores[None].numpy(), k=top_k))
    peer = tm.functional.retrieval.retrieval_normalized_dcg(scores, relevance, top_k=top_k)
    assert_close(value, peer.double())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("top_k", [1, 2, 4])
def test_precision_and_recall_at_k_of_tied_scores_are_their_mean_over_the_orders_of_the_ties(kind, top_k):
    scores, targets = _logits(kind, (6,), seed=top_k), _binary_targets(6, seed=top_k)
    relevant = targets.numpy()
    precision = _over_orders(scores.numpy(), lambda order: relevant[order[:top_k]].sum() / top_k)
    recall = _over_orders(scores.numpy(), lambda order: relevant[order[:top_k]].sum() / relevant.sum())
    assert_close(uniloss.exact.precision_at_k(scores, targets, top_k=top_k), precision)
    assert_close(uniloss.exact.recall_at_k(scores, targets, top_k=top_k), recall)


# --- top-k accuracy and accuracy -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("top_k", [1, 2, 3])
def test_top_k_accuracy_of_tied_scores_is_sklearns_mean_over_the_orders_of_the_classes(kind, top_k):
    classes = 4
    scores = _logits(kind, (10, classes))
    targets = torch.randint(0, classes, (10,), generator=torch.Generator().manual_seed(3))
    values = []
    for permutation in itertools.permutations(range(classes)):  # sklearn breaks ties by class index
        columns = torch.tensor(permutation)
        relabelled = torch.argsort(columns)[targets]
        values.append(
            sk.top_k_accuracy_score(relabelled.numpy(), scores[:, columns].numpy(), k=top_k, labels=range(classes))
        )
    assert_close(uniloss.exact.top_k_accuracy(scores, targets, top_k=top_k), float(np.mean(values)))
    if top_k == 1:
        assert_close(uniloss.exact.accuracy(scores, targets), float(np.mean(values)))


# --- confusion metrics at a threshold, IoU and Dice ------------------------------------------------------------

CONFUSION = {
    "precision": (uniloss.exact.precision, sk.precision_score, tm.functional.classification.binary_precision),
    "recall": (uniloss.exact.recall, sk.recall_score, tm.functional.classification.binary_recall),
    "f1": (uniloss.exact.f1, sk.f1_score, tm.functional.classification.binary_f1_score),
    "balanced_accuracy": (uniloss.exact.balanced_accuracy, sk.balanced_accuracy_score, None),
}


@pytest.mark.parametrize(("kind", "threshold"), [("relu", 0.0), ("few-values", 0.0), ("sigmoid-of-relu", 0.5)])
@pytest.mark.parametrize("name", sorted(CONFUSION))
def test_a_score_at_the_threshold_is_predicted_negative_as_sklearn_on_scores_above_it_and_torchmetrics(
    kind, threshold, name
):
    ours, sklearn, peer = CONFUSION[name]
    scores, targets = _logits(kind, (64,)), _binary_targets(64)
    assert bool((scores == threshold).any())  # ties at the threshold
    expected = sklearn(targets.numpy(), (scores > threshold).long().numpy())
    assert_close(ours(scores, targets, threshold=threshold), expected)
    if peer is not None and threshold == 0.5:  # torchmetrics takes probabilities: preds > threshold
        assert_close(ours(scores, targets, threshold=threshold), peer(scores, targets, threshold=threshold))


def test_binary_iou_and_dice_predict_a_pixel_at_the_threshold_negative():
    scores = torch.relu(torch.randn(2, 5, 5, generator=torch.Generator().manual_seed(4)))
    targets = (torch.rand(2, 5, 5, generator=torch.Generator().manual_seed(5)) < 0.4).long()
    predicted = (scores > 0).long().flatten().numpy()
    assert_close(uniloss.exact.iou(scores, targets), sk.jaccard_score(targets.flatten().numpy(), predicted))
    assert_close(uniloss.exact.dice(scores, targets), sk.f1_score(targets.flatten().numpy(), predicted))


def test_multi_class_iou_and_dice_give_a_tied_argmax_to_the_first_class_as_torchmetrics():
    scores = torch.relu(torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(6)))  # ties at 0
    targets = torch.randint(0, 3, (2, 4, 4), generator=torch.Generator().manual_seed(7))
    predicted = scores.argmax(1).flatten().numpy()
    assert_close(uniloss.exact.iou(scores, targets), sk.jaccard_score(targets.flatten(), predicted, average="macro"))
    assert_close(uniloss.exact.dice(scores, targets), sk.f1_score(targets.flatten(), predicted, average="macro"))
    peer = tm.functional.classification.multiclass_jaccard_index(scores, targets, num_classes=3, average="macro")
    assert_close(uniloss.exact.iou(scores, targets), peer)


def test_pck_takes_the_first_of_tied_maxima_as_the_peak():
    heatmaps = torch.zeros(1, 2, 6, 6)  # constant: the peak is pixel (0, 0)
    joints = torch.tensor([[[0.0, 0.0], [4.0, 4.0]]])
    value = uniloss.exact.pck(heatmaps, joints, torch.tensor([[True, True]]), torch.tensor([2.0]))
    assert_close(value, 0.5)  # the joint at (0, 0) is found, the other not
    pessimistic = uniloss.exact.pck(
        heatmaps, joints, torch.tensor([[True, True]]), torch.tensor([2.0]), ties="pessimistic"
    )
    assert pessimistic == 0


# --- properties over random tied batches -----------------------------------------------------------------------


@st.composite
def tied_binary_batches(draw, values=tied_values):
    n = draw(st.integers(2, 12))
    targets = torch.tensor(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    targets[:2] = torch.tensor([1, 0])
    scores = torch.tensor(draw(st.lists(values, min_size=n, max_size=n)), dtype=torch.float32)
    return scores, targets


@PROPERTY_SETTINGS
@given(tied_binary_batches())
def test_auroc_ap_and_ndcg_of_random_tied_batches_equal_sklearn(batch):
    scores, targets = batch
    assert_close(uniloss.exact.auroc(scores, targets), sk.roc_auc_score(targets.numpy(), scores.numpy()))
    assert_close(
        uniloss.exact.average_precision(scores, targets), sk.average_precision_score(targets.numpy(), scores.numpy())
    )
    assert_close(uniloss.exact.ndcg(scores, targets), sk.ndcg_score(targets[None].numpy(), scores[None].numpy()))


def _functionals():
    """``(name, functional(scores, targets, **options))`` of every binary-target metric with a tie rule."""
    return [
        ("auroc", uniloss.exact.auroc),
        ("ap", uniloss.exact.average_precision),
        ("interpolated-ap", lambda s, t, **o: uniloss.exact.average_precision(s, t, mode="interpolated", **o)),
        ("ndcg@2", lambda s, t, **o: uniloss.exact.ndcg(s, t, top_k=2, **o)),
        ("p@2", lambda s, t, **o: uniloss.exact.precision_at_k(s, t, top_k=2, **o)),
        ("r@2", lambda s, t, **o: uniloss.exact.recall_at_k(s, t, top_k=2, **o)),
        ("precision", uniloss.exact.precision),
        ("balanced-accuracy", uniloss.exact.balanced_accuracy),
    ]


@PROPERTY_SETTINGS
@given(tied_binary_batches())
def test_the_pessimistic_rule_never_exceeds_the_standard_one(batch):
    scores, targets = batch
    for name, functional in _functionals():
        pessimistic, standard = functional(scores, targets, ties="pessimistic"), functional(scores, targets)
        assert pessimistic <= standard + 1e-6, name


@PROPERTY_SETTINGS
@given(tied_binary_batches(values=spread_values))
def test_both_rules_agree_without_ties(batch):
    scores, targets = batch
    if scores.unique().numel() < scores.numel() or bool((scores == 0).any()):
        return  # a tie (or a score at the threshold 0)
    for name, functional in _functionals():
        assert_close(functional(scores, targets, ties="pessimistic"), functional(scores, targets), msg=name)


def test_an_unknown_tie_rule_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match=r"`ties` must be one of \['standard', 'pessimistic'\], but got 'half'\."):
        uniloss.exact.auroc(torch.zeros(2), torch.tensor([1, 0]), ties="half")
