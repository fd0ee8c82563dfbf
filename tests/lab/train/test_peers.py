"""Peer losses: ours against hand-computed values, the wrappers against the peers' own functions, the errors."""

from __future__ import annotations

import math
import pickle
import sys

import pytest
import torch

from uniloss_lab.train.peers import (
    INSTALL_HINT,
    PEERS,
    KorniaDice,
    KorniaLovasz,
    LibAUCAP,
    MonaiDice,
    PairwiseLogistic,
    SigmoidF1,
    build_peer,
    peer_names,
    soap_adam,
)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _binary_masks():
    return torch.randn(2, 5, 6), torch.randint(0, 2, (2, 5, 6))


def _class_masks():
    return torch.randn(2, 3, 5, 6), torch.randint(0, 3, (2, 5, 6))


def _inputs(peer):
    """A small batch of the peer's task: class masks for segmentation, 8 embeddings of 3 classes for retrieval,
    8 scores with 2 positives otherwise."""
    if peer.tasks == ("segmentation",):
        return _class_masks()
    if "ndcg" in peer.tasks:
        return torch.randn(8, 4), torch.tensor([0, 0, 1, 1, 2, 2, 0, 1])
    return torch.randn(8), torch.tensor([1, 0, 0, 1, 0, 0, 0, 0])


# --- ours ----------------------------------------------------------------------------------------------------------


def test_pairwise_logistic_is_the_mean_over_every_positive_negative_pair():
    scores, targets = torch.randn(7), torch.tensor([1, 0, 0, 1, 0, 1, 0])
    pairs = [
        math.log1p(math.exp(-(scores[p] - scores[n]).item()))
        for p in range(7)
        for n in range(7)
        if targets[p] == 1 and targets[n] == 0
    ]
    assert len(pairs) == 12
    torch.testing.assert_close(PairwiseLogistic()(scores, targets), torch.tensor(sum(pairs) / 12))


def test_pairwise_logistic_reads_float_labels_like_int_ones():
    scores = torch.randn(5)
    torch.testing.assert_close(
        PairwiseLogistic()(scores, torch.tensor([1.0, 0.0, 1.0, 0.0, 0.0])),
        PairwiseLogistic()(scores, torch.tensor([1, 0, 1, 0, 0])),
    )


@pytest.mark.parametrize("targets", [torch.zeros(4, dtype=torch.long), torch.ones(4, dtype=torch.bool)])
def test_pairwise_logistic_without_a_pair_is_zero_with_a_zero_gradient(targets):
    scores = torch.randn(4, requires_grad=True)
    loss = PairwiseLogistic()(scores, targets)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.equal(scores.grad, torch.zeros(4))


# Hand-computed: sigmoid(ln 3) = 3/4, sigmoid(0) = 1/2, sigmoid(-ln 3) = 1/4 with labels (1, 1, 0) give
# tp = 3/4 + 1/2 = 5/4, fp = 1/4, fn = 1/4 + 1/2 = 3/4, F1 = (5/2) / (5/2 + 3/4 + 1/4) = 5/7, loss 2/7.
# With beta = 2 the sigmoids are 9/10, 1/2, 1/10: tp = 7/5, fp = 1/10, fn = 3/5, F1 = (14/5) / (7/2) = 4/5, loss 1/5.
LN3 = math.log(3.0)


@pytest.mark.parametrize(
    ("logits", "beta", "eta", "expected"),
    [
        ([LN3, 0.0, -LN3], 1.0, 0.0, 2 / 7),
        ([LN3, 0.0, -LN3], 2.0, 0.0, 1 / 5),
        ([0.0, -LN3, -2 * LN3], 1.0, LN3, 2 / 7),  # eta shifts the logits back to the first row
    ],
)
def test_sigmoid_f1_matches_a_hand_computed_value(logits, beta, eta, expected):
    loss = SigmoidF1(beta=beta, eta=eta)(torch.tensor(logits, dtype=torch.float64), torch.tensor([1, 1, 0]))
    torch.testing.assert_close(loss, torch.tensor(expected, dtype=torch.float64))


def test_sigmoid_f1_of_several_labels_averages_the_per_label_losses():
    logits = torch.tensor([[LN3, math.log(9.0)], [0.0, 0.0], [-LN3, -math.log(9.0)]], dtype=torch.float64)
    loss = SigmoidF1()(logits, torch.tensor([[1, 1], [1, 1], [0, 0]]))
    # second label: sigmoids 9/10, 1/2, 1/10 as in the beta = 2 case above, loss 1/5
    torch.testing.assert_close(loss, torch.tensor((2 / 7 + 1 / 5) / 2, dtype=torch.float64))


# --- wrappers against the peers' own functions ---------------------------------------------------------------------


def test_libauc_wrapper_equals_libauc_aploss_on_sigmoid_outputs_over_two_steps():
    losses = pytest.importorskip("libauc.losses")
    theirs = losses.APLoss(data_len=10, margin=0.6, gamma=0.1, device=torch.device("cpu"))
    ours = build_peer("libauc_ap_recipe", data_len=10)
    assert (ours.margin, ours.gamma) == (0.6, 0.1)
    targets = torch.tensor([1, 0, 0, 1, 0, 1])
    for index in (torch.tensor([0, 1, 2, 3, 4, 5]), torch.tensor([3, 6, 7, 5, 8, 9])):
        logits = torch.randn(6, requires_grad=True)
        expected = theirs(torch.sigmoid(logits)[:, None], targets[:, None].float(), index)
        (expected_grad,) = torch.autograd.grad(expected, logits)
        got = ours(logits, targets, index)
        (got_grad,) = torch.autograd.grad(got, logits)
        torch.testing.assert_close(got, expected)
        torch.testing.assert_close(got_grad, expected_grad)
        assert torch.isfinite(got_grad).all()
        assert got_grad.abs().sum() > 0


def test_libauc_defaults_are_libaucs_and_the_recipe_brings_soap_in_adam_mode():
    pytest.importorskip("libauc.losses")
    optimizers = pytest.importorskip("libauc.optimizers")
    defaults = build_peer("libauc_ap", data_len=4)
    assert (defaults.margin, defaults.gamma) == (1.0, 0.9)
    assert PEERS["libauc_ap"].optimizer is None
    assert PEERS["libauc_ap_recipe"].optimizer is soap_adam
    assert PEERS["libauc_ap"].needs_index
    optimizer = soap_adam(torch.nn.Linear(2, 1).parameters(), lr=0.01)
    assert isinstance(optimizer, optimizers.SOAP)
    assert optimizer.mode == "adam"
    assert optimizer.param_groups[0]["weight_decay"] == 1e-5
    assert optimizer.param_groups[0]["lr"] == 0.01


@pytest.mark.parametrize("binary", [False, True])
def test_kornia_lovasz_wrapper_equals_kornias_lovasz_softmax_and_hinge(binary):
    losses = pytest.importorskip("kornia.losses")
    if binary:
        scores, targets = _binary_masks()
        expected = losses.lovasz_hinge_loss(scores[:, None], targets)
    else:
        scores, targets = _class_masks()
        expected = losses.lovasz_softmax_loss(scores, targets)
    torch.testing.assert_close(KorniaLovasz()(scores, targets), expected)


@pytest.mark.parametrize("average", ["micro", "macro"])
def test_kornia_dice_wrapper_equals_kornias_dice_loss(average):
    losses = pytest.importorskip("kornia.losses")
    scores, targets = _class_masks()
    torch.testing.assert_close(KorniaDice(average)(scores, targets), losses.dice_loss(scores, targets, average=average))


def test_kornia_dice_of_binary_logits_is_one_minus_the_mean_probability_of_the_true_class():
    pytest.importorskip("kornia.losses")
    scores, targets = _binary_masks()
    # two channels (0, z): each pixel's probabilities sum to 1, so the micro Dice of an image is mean p(true class)
    p_true = torch.where(targets.bool(), torch.sigmoid(scores), torch.sigmoid(-scores))
    expected = (1 - p_true.flatten(1).mean(1)).mean()
    torch.testing.assert_close(KorniaDice()(scores, targets.bool()), expected)


@pytest.mark.parametrize("binary", [False, True])
def test_monai_dice_wrapper_equals_monais_dice_loss(binary):
    losses = pytest.importorskip("monai.losses")
    if binary:
        scores, targets = _binary_masks()
        expected = losses.DiceLoss(sigmoid=True)(scores[:, None], targets[:, None].float())
    else:
        scores, targets = _class_masks()
        expected = losses.DiceLoss(softmax=True, to_onehot_y=True)(scores, targets[:, None])
    torch.testing.assert_close(MonaiDice()(scores, targets), expected)


@pytest.mark.parametrize("binary", [False, True])
def test_monai_dice_ce_wrapper_equals_monais_dice_loss_plus_the_cross_entropy(binary):
    losses = pytest.importorskip("monai.losses")
    if binary:
        scores, targets = _binary_masks()
        dice = losses.DiceLoss(sigmoid=True)(scores[:, None], targets[:, None].float())
        expected = dice + torch.nn.functional.binary_cross_entropy_with_logits(scores, targets.float())
    else:
        scores, targets = _class_masks()
        dice = losses.DiceLoss(softmax=True, to_onehot_y=True)(scores, targets[:, None])
        expected = dice + torch.nn.functional.cross_entropy(scores, targets)
    torch.testing.assert_close(MonaiDice(cross_entropy=True)(scores, targets), expected)


# --- every peer: finite gradients, and a clear error when its package is missing ------------------------------------


@pytest.mark.grad
@pytest.mark.parametrize("name", list(PEERS))
def test_every_peer_gives_a_finite_nonzero_gradient(name):
    peer = PEERS[name]
    if peer.package is not None:
        pytest.importorskip(peer.package)
    options = {"data_len": 8} if peer.needs_index else {}
    loss_fn = build_peer(name, **options)
    scores, targets = _inputs(peer)
    scores.requires_grad_(True)
    loss = loss_fn(scores, targets, torch.arange(8)) if peer.needs_index else loss_fn(scores, targets)
    loss.backward()
    assert loss.shape == ()
    assert torch.isfinite(scores.grad).all()
    assert scores.grad.abs().sum() > 0


@pytest.mark.parametrize("name", list(PEERS))
def test_every_peer_pickles_and_gives_the_same_loss_after(name):
    peer = PEERS[name]
    if peer.package is not None:
        pytest.importorskip(peer.package)
    loss_fn = build_peer(name, **({"data_len": 8} if peer.needs_index else {}))
    copy = pickle.loads(pickle.dumps(loss_fn))
    scores, targets = _inputs(peer)
    extra = (torch.arange(8),) if peer.needs_index else ()
    torch.testing.assert_close(copy(scores, targets, *extra), loss_fn(scores, targets, *extra))


@pytest.mark.parametrize(
    ("name", "modules"),
    [
        ("libauc_ap_recipe", ("libauc", "libauc.losses")),
        ("kornia_lovasz", ("kornia", "kornia.losses")),
        ("kornia_dice", ("kornia", "kornia.losses")),
        ("monai_dice", ("monai", "monai.losses")),
        ("monai_dice_ce", ("monai", "monai.losses")),
        ("pml_smooth_ap", ("pytorch_metric_learning", "pytorch_metric_learning.losses")),
    ],
)
def test_a_missing_peer_package_raises_naming_the_extra_and_the_no_deps_line(monkeypatch, name, modules):
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)
    missing = r'needs `\w+`.*pip install -e "\.\[peers\]".*--no-deps libauc'
    with pytest.raises(ModuleNotFoundError, match=missing) as error:
        build_peer(name, **({"data_len": 4} if PEERS[name].needs_index else {}))
    assert error.value.name == PEERS[name].package
    assert isinstance(error.value, ImportError)
    assert INSTALL_HINT in str(error.value)


def test_soap_adam_without_libauc_raises_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "libauc", None)
    monkeypatch.setitem(sys.modules, "libauc.optimizers", None)
    with pytest.raises(ModuleNotFoundError, match="needs `libauc`"):
        soap_adam([torch.nn.Parameter(torch.zeros(1))], lr=0.1)


def test_peer_names_lists_the_peers_of_each_task():
    assert peer_names("ap") == ("pairwise_logistic", "libauc_ap", "libauc_ap_recipe", "bce_weighted", "focal")
    assert peer_names("f1") == ("sigmoid_f1", "bce_weighted", "focal", "anyloss")
    assert peer_names("segmentation") == ("kornia_lovasz", "kornia_dice", "monai_dice", "monai_dice_ce")
    assert peer_names() == tuple(PEERS)
    assert peer_names("ndcg") == ("pml_contrastive", "pml_triplet", "pml_smooth_ap", "pml_fast_ap")
    assert peer_names("ndcg") == peer_names("precision_at_k") == peer_names("recall_at_k")
    assert {peer.package for peer in PEERS.values()} == {None, "libauc", "kornia", "monai", "pytorch_metric_learning"}


# --- every raise of uniloss_lab.train.peers ---------------------------------------------------------------------------


def _libauc_call(scores, targets, index):
    pytest.importorskip("libauc.losses")
    return LibAUCAP(data_len=8)(scores, targets, index)


def _kornia_dice(scores, targets):
    pytest.importorskip("kornia.losses")
    return KorniaDice()(scores, targets)


ERRORS = [
    ("scores not a tensor", lambda: PairwiseLogistic()([1.0], torch.ones(1)), TypeError, r"`scores` must be a torch"),
    ("targets not a tensor", lambda: PairwiseLogistic()(torch.ones(1), 1), TypeError, r"`targets` must be a torch"),
    ("integer scores", lambda: PairwiseLogistic()(torch.ones(2, dtype=torch.long), torch.ones(2)), TypeError,
     r"`scores` must have a floating-point dtype, but got torch.int64"),
    ("2-d AP scores", lambda: PairwiseLogistic()(torch.ones(2, 1), torch.ones(2)), ValueError,
     r"`scores` must have shape \(B,\), but got \(2, 1\)"),
    ("targets of another size", lambda: PairwiseLogistic()(torch.ones(3), torch.ones(2)), ValueError,
     r"`targets` must have shape \(B,\) with B=3, but got \(2,\)"),
    ("F1 of 3-d scores", lambda: SigmoidF1()(torch.ones(2, 1, 1), torch.ones(2, 1, 1)), ValueError,
     r"`scores` must have shape \(B, K\), but got \(2, 1, 1\)"),
    ("F1 targets of another shape", lambda: SigmoidF1()(torch.ones(2, 3), torch.ones(2, 2)), ValueError,
     r"`targets` must have shape \(B, K\) with B=2, K=3, but got \(2, 2\)"),
    ("beta zero", lambda: SigmoidF1(beta=0.0), ValueError, r"`beta` must be a positive float, but got 0.0"),
    ("beta a string", lambda: SigmoidF1(beta="1"), TypeError, r"`beta` must be a positive float, but got str"),
    ("eta a string", lambda: SigmoidF1(eta="0"), TypeError, r"`eta` must be a finite float, but got str '0'"),
    ("eta infinite", lambda: SigmoidF1(eta=math.inf), ValueError, r"`eta` must be a finite float, but got inf"),
    ("one class channel", lambda: _kornia_dice(torch.ones(2, 1, 3, 3), torch.ones(2, 3, 3)), ValueError,
     r"`scores` must have C >= 2 classes in \(B, C, H, W\).*but got \(2, 1, 3, 3\)"),
    ("2-d mask scores", lambda: _kornia_dice(torch.ones(2, 3), torch.ones(2, 3)), ValueError,
     r"`scores` must have shape \(B, H, W\), but got \(2, 3\)"),
    ("masks of another size", lambda: _kornia_dice(torch.ones(2, 3, 4, 4), torch.ones(2, 4, 5)), ValueError,
     r"`targets` must have shape \(B, H, W\) with B=2, C=3, H=4, W=4, but got \(2, 4, 5\)"),
    ("kornia average", lambda: (pytest.importorskip("kornia.losses"), KorniaDice("mean")), ValueError,
     r"`average` must be one of 'micro', 'macro', but got 'mean'"),
    ("data_len zero", lambda: (pytest.importorskip("libauc.losses"), LibAUCAP(0)), ValueError,
     r"`data_len` must be a positive int, but got 0"),
    ("margin negative", lambda: (pytest.importorskip("libauc.losses"), LibAUCAP(4, margin=-1.0)), ValueError,
     r"`margin` must be a positive float, but got -1.0"),
    ("gamma above one", lambda: (pytest.importorskip("libauc.losses"), LibAUCAP(4, gamma=2.0)), ValueError,
     r"`gamma` must be in \(0, 1\], but got 2.0"),
    ("index of another size", lambda: _libauc_call(torch.ones(2), torch.ones(2), torch.arange(3)), ValueError,
     r"`index` must have shape \(2,\), but got \(3,\)"),
    ("index not a tensor", lambda: _libauc_call(torch.ones(2), torch.ones(2), [0, 1]), TypeError,
     r"`index` must be a torch.Tensor, but got list"),
    ("soap lr", lambda: (pytest.importorskip("libauc.optimizers"), soap_adam([], lr=0.0)), ValueError,
     r"`lr` must be a positive float, but got 0.0"),
    ("unknown task", lambda: peer_names("iou"), ValueError,
     r"`task` must be None or one of 'ap', 'f1', 'fbeta', 'segmentation', 'precision_at_k', .*, but got 'iou'"),
    ("unknown peer", lambda: build_peer("focall"), ValueError, r"`name` must be one of pairwise_logistic, .*'focall'"),
    ("unknown option", lambda: build_peer("pairwise_logistic", margin=1.0), TypeError, r"unexpected keyword"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "call", "exception", "message"), ERRORS, ids=[row[0] for row in ERRORS])
def test_every_error_names_the_argument_the_expectation_and_the_value(case, call, exception, message):
    with pytest.raises(exception, match=message):
        call()


def test_libauc_ap_gives_a_batch_without_positives_zero_loss_and_gradient():
    pytest.importorskip("libauc.losses")
    peer = LibAUCAP(data_len=4)
    scores = torch.tensor([0.5, -1.0], requires_grad=True)
    loss = peer(scores, torch.zeros(2), torch.arange(2))
    loss.backward()
    assert loss.item() == 0.0
    assert torch.equal(scores.grad, torch.zeros(2))
    assert torch.equal(peer.loss.u_all, torch.zeros_like(peer.loss.u_all))  # its running estimates untouched
