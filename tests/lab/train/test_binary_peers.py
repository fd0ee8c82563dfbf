"""The peers for rare positives against values computed by hand: class-weighted BCE, the focal loss and AnyLoss."""

from __future__ import annotations

import math

import pytest
import torch

from uniloss_lab.train import TrainConfig
from uniloss_lab.train.binary_peers import AnyLoss, FocalLoss, WeightedBCE
from uniloss_lab.train.peers import PEERS, build_peer, peer_names
from uniloss_lab.train.tasks import build_task


def _sigmoid(value: float) -> float:
    return 1 / (1 + math.exp(-value))


def test_weighted_bce_weighs_each_positive_term_by_pos_weight():
    scores, targets = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([1, 0, 0])
    expected = (-4 * math.log(_sigmoid(1.0)) - math.log(1 - _sigmoid(-2.0)) - math.log(1 - _sigmoid(0.5))) / 3
    torch.testing.assert_close(WeightedBCE(pos_weight=4.0)(scores, targets), torch.tensor(expected))


def test_focal_loss_matches_its_formula_by_hand():
    # positive at logit 1: p_t = sigmoid(1), alpha_t = 0.25; negative at logit 2: p_t = 1 - sigmoid(2), alpha_t = 0.75
    scores, targets = torch.tensor([1.0, 2.0]), torch.tensor([1, 0])
    positive = -0.25 * (1 - _sigmoid(1.0)) ** 2 * math.log(_sigmoid(1.0))
    negative = -0.75 * _sigmoid(2.0) ** 2 * math.log(1 - _sigmoid(2.0))
    torch.testing.assert_close(FocalLoss()(scores, targets), torch.tensor((positive + negative) / 2))


def test_focal_loss_with_gamma_zero_and_alpha_half_is_half_the_bce():
    scores, targets = torch.randn(9), torch.randint(0, 2, (9,))
    bce = torch.nn.functional.binary_cross_entropy_with_logits(scores, targets.float())
    torch.testing.assert_close(FocalLoss(alpha=0.5, gamma=0.0)(scores, targets), bce / 2)


def test_focal_loss_is_finite_for_large_logits():
    scores = torch.tensor([80.0, -80.0], requires_grad=True)
    loss = FocalLoss()(scores, torch.tensor([0, 1]))
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(scores.grad).all()


def test_anyloss_matches_the_papers_formula_by_hand():
    # A(p) = 1 / (1 + exp(-73 (sigmoid(s) - 0.5))); F2 of the soft counts
    scores, targets = torch.tensor([0.05, -0.02, 0.01]), torch.tensor([1, 1, 0])
    amplified = [_sigmoid(73 * (_sigmoid(s) - 0.5)) for s in (0.05, -0.02, 0.01)]
    tp = amplified[0] + amplified[1]
    fn = (1 - amplified[0]) + (1 - amplified[1])
    fp = amplified[2]
    expected = 1 - 5 * tp / (5 * tp + 4 * fn + fp)
    torch.testing.assert_close(AnyLoss(beta=2.0)(scores, targets), torch.tensor(expected))


def test_anyloss_at_confident_right_logits_is_near_zero_and_wrong_near_one():
    targets = torch.tensor([1, 0, 1])
    assert float(AnyLoss()(torch.tensor([5.0, -5.0, 5.0]), targets)) < 1e-6
    assert float(AnyLoss()(torch.tensor([-5.0, 5.0, -5.0]), targets)) > 1 - 1e-6


def test_the_new_peers_are_registered_for_the_one_vs_rest_tasks():
    assert set(peer_names("fbeta")) == {"sigmoid_f1", "bce_weighted", "focal", "anyloss"}
    assert {"bce_weighted", "focal"} <= set(peer_names("ap"))
    assert "anyloss" not in peer_names("ap")
    assert build_peer("focal", alpha=0.5, gamma=1.0).extra_repr() == "alpha=0.5, gamma=1.0"
    assert PEERS["bce_weighted"].options == ("pos_weight",)


def test_the_task_gives_weighted_bce_the_training_ratio_and_anyloss_the_tasks_beta():
    task = build_task(TrainConfig(task="ap", loss="bce_weighted"), pos_weight=49.0)
    assert task.criterion.pos_weight == 49.0
    assert build_task(TrainConfig(task="fbeta", beta=2.0, loss="anyloss")).criterion.beta == 2.0
    assert build_task(TrainConfig(task="f1", loss="anyloss")).criterion.beta == 1.0
    with pytest.raises(ValueError, match="`pos_weight` must be given for the peer 'bce_weighted'"):
        build_task(TrainConfig(task="ap", loss="bce_weighted"))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: WeightedBCE(pos_weight=0.0), "`pos_weight` must be a positive float, but got 0.0."),
        (lambda: FocalLoss(alpha=1.5), "`alpha` must be in [0, 1], but got 1.5."),
        (lambda: FocalLoss(gamma=-1.0), "`gamma` must be a non-negative float, but got -1.0."),
        (lambda: AnyLoss(amplifier=0.0), "`amplifier` must be a positive float, but got 0.0."),
        (lambda: AnyLoss()(torch.zeros(2, 2), torch.zeros(2, 2)), "`scores` must have shape (B,)"),
    ],
)
def test_errors_name_the_argument_and_the_value(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        call()
