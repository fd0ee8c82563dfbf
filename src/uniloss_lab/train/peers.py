"""Peer surrogate losses that ``uniloss compare`` sets beside UniLoss: ours and other libraries', behind one registry.

Each peer is a small :class:`torch.nn.Module` that takes the tensors our tasks use (raw logits, never
probabilities) and returns a scalar loss:

- average precision: logits ``(B,)``, labels ``(B,)`` in ``{0, 1}``;
- F1 and F-beta at a threshold: logits ``(B,)`` or ``(B, K)``, labels of the same shape in ``{0, 1}``;
- segmentation: logits ``(B, C, H, W)`` with class indices ``(B, H, W)``, or binary logits ``(B, H, W)`` with
  ``{0, 1}`` masks ``(B, H, W)``;
- retrieval: embeddings ``(B, D)`` with classes ``(B,)``.

Some are ours, written from their papers' formulas (:class:`PairwiseLogistic` here; :class:`SigmoidF1` and, for
rare positives, :class:`WeightedBCE`, :class:`FocalLoss`, :class:`AnyLoss` in :mod:`uniloss_lab.train.binary_peers`);
the others wrap LibAUC, kornia, MONAI and pytorch-metric-learning (:mod:`uniloss_lab.train.library_peers`),
imported only when a peer is built. Install those with the ``peers`` extra, and LibAUC on its own without its
dependencies (its wheel requires torchvision, opencv and torch_geometric, which its losses and optimisers never
import; they need only scipy, scikit-learn and tqdm, which the extra brings)::

    pip install -e ".[peers]"
    pip install --no-deps libauc==2.0.1
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from uniloss_lab.train.binary_peers import AnyLoss, FocalLoss, SigmoidF1, WeightedBCE, check_pair
from uniloss_lab.train.library_peers import (
    INSTALL_HINT,
    KorniaDice,
    KorniaLovasz,
    LibAUCAP,
    MetricLearningLoss,
    MonaiDice,
    require_package,
    soap_adam,
)

__all__ = [
    "INSTALL_HINT",
    "PEERS",
    "AnyLoss",
    "FocalLoss",
    "KorniaDice",
    "KorniaLovasz",
    "LibAUCAP",
    "MetricLearningLoss",
    "MonaiDice",
    "PairwiseLogistic",
    "Peer",
    "SigmoidF1",
    "WeightedBCE",
    "build_peer",
    "peer_names",
    "require_peer",
    "soap_adam",
]

PeerTask = Literal["ap", "f1", "fbeta", "segmentation", "precision_at_k", "recall_at_k", "ndcg"]
PeerOption = Literal["data_len", "pos_weight", "beta"]
_PEER_TASKS = ("ap", "f1", "fbeta", "segmentation", "precision_at_k", "recall_at_k", "ndcg")
_RETRIEVAL: tuple[PeerTask, ...] = ("precision_at_k", "recall_at_k", "ndcg")


class PairwiseLogistic(nn.Module):
    """Pairwise logistic loss over every positive-negative pair of a batch (ours; the AP floor of the bench).

    Formally, ``L = mean_{p in P, n in N} softplus(-(s_p - s_n))`` over the positives ``P`` and negatives ``N``
    of the batch, the logistic loss of the comparisons that UniLoss's average precision uses. A batch without a
    positive or without a negative has no pair: the loss is 0 with a zero gradient.

    Shape:
        - scores: ``(B,)`` float logits; targets: ``(B,)`` in ``{0, 1}`` (bool, int or float).
        - Output: a scalar.

    Raises:
        TypeError: if an input is not a tensor or ``scores`` is not floating-point.
        ValueError: if the shapes are not ``(B,)`` and ``(B,)``.

    Example:
        >>> loss = PairwiseLogistic()(torch.tensor([2.0, 0.0, -1.0]), torch.tensor([1, 0, 0]))
        >>> round(float(loss), 4)  # (softplus(-2) + softplus(-3)) / 2
        0.0878
    """

    def forward(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Return the mean logistic loss of ``s_p - s_n`` over all positive-negative pairs."""
        scores, targets = check_pair(scores, targets)
        positive = targets.bool()
        differences = scores[positive][:, None] - scores[~positive][None, :]
        if differences.numel() == 0:
            return scores.sum() * 0.0
        return F.softplus(-differences).mean()


@dataclass(frozen=True)
class Peer:
    """One row of the peer registry.

    Attributes:
        name: the registry key.
        tasks: the tasks whose scores and targets the loss takes (of ``"ap"``, ``"f1"``, ``"fbeta"``,
            ``"segmentation"`` and the retrieval tasks).
        package: the optional package it wraps, or ``None`` for ours.
        build: makes the loss module, given the ``options`` it names.
        needs_index: the loss takes the examples' dataset indices as a third argument.
        optimizer: the peer's own optimiser ``(parameters, lr) -> Optimizer``, or ``None`` for the bench's.
        options: what the task passes to ``build``: ``"data_len"`` (training examples, LibAUC's),
            ``"pos_weight"`` (negatives / positives of the training split), ``"beta"`` (the task's F-beta).
    """

    name: str
    tasks: tuple[PeerTask, ...]
    package: str | None
    build: Callable[..., nn.Module]
    needs_index: bool = False
    optimizer: Callable[[Iterable[nn.Parameter], float], torch.optim.Optimizer] | None = None
    options: tuple[PeerOption, ...] = ()


def _libauc_recipe(data_len: int) -> LibAUCAP:
    return LibAUCAP(data_len, margin=0.6, gamma=0.1)


def _monai_dice_ce() -> MonaiDice:
    return MonaiDice(cross_entropy=True)


PEERS: dict[str, Peer] = {
    peer.name: peer
    for peer in (
        Peer("pairwise_logistic", ("ap",), None, PairwiseLogistic),
        Peer("libauc_ap", ("ap",), "libauc", LibAUCAP, needs_index=True, options=("data_len",)),
        Peer(
            "libauc_ap_recipe",
            ("ap",),
            "libauc",
            _libauc_recipe,
            needs_index=True,
            optimizer=soap_adam,
            options=("data_len",),
        ),
        Peer("sigmoid_f1", ("f1", "fbeta"), None, SigmoidF1),
        Peer("bce_weighted", ("ap", "f1", "fbeta"), None, WeightedBCE, options=("pos_weight",)),
        Peer("focal", ("ap", "f1", "fbeta"), None, FocalLoss),
        Peer("anyloss", ("f1", "fbeta"), None, AnyLoss, options=("beta",)),
        Peer("kornia_lovasz", ("segmentation",), "kornia", KorniaLovasz),
        Peer("kornia_dice", ("segmentation",), "kornia", KorniaDice),
        Peer("monai_dice", ("segmentation",), "monai", MonaiDice),
        Peer("monai_dice_ce", ("segmentation",), "monai", _monai_dice_ce),
        *(
            Peer(name, _RETRIEVAL, "pytorch_metric_learning", functools.partial(MetricLearningLoss, loss))
            for name, loss in (
                ("pml_contrastive", "ContrastiveLoss"),
                ("pml_triplet", "TripletMarginLoss"),
                ("pml_smooth_ap", "SmoothAPLoss"),
                ("pml_fast_ap", "FastAPLoss"),
            )
        ),
    )
}


def peer_names(task: str | None = None) -> tuple[str, ...]:
    """Names of the registered peers, all or those of one task, in registry order.

    Args:
        task: ``None`` for all, or ``"ap"``, ``"f1"``, ``"fbeta"``, ``"segmentation"`` or a retrieval task.

    Returns:
        The names.

    Raises:
        ValueError: if ``task`` is unknown.

    Example:
        >>> peer_names("ap")
        ('pairwise_logistic', 'libauc_ap', 'libauc_ap_recipe', 'bce_weighted', 'focal')
    """
    if task is not None and task not in _PEER_TASKS:
        raise ValueError(f"`task` must be None or one of {', '.join(map(repr, _PEER_TASKS))}, but got {task!r}.")
    return tuple(name for name, peer in PEERS.items() if task is None or task in peer.tasks)


def build_peer(name: str, **options: Any) -> nn.Module:
    """Build a peer loss by name; its package is imported here, so a missing one fails before training.

    Args:
        name: a key of :data:`PEERS` (see :func:`peer_names`).
        **options: passed to the peer's constructor (``data_len`` for LibAUC's, ``beta``/``eta`` for sigmoidF1,
            ``average`` for kornia's Dice, ``pos_weight`` for the weighted BCE, ``alpha``/``gamma`` for the focal
            loss, ``beta``/``amplifier`` for AnyLoss).

    Returns:
        The loss module.

    Raises:
        ValueError: if ``name`` is unknown, or the constructor rejects a value.
        TypeError: if the constructor rejects a type or an option.
        ModuleNotFoundError: if the peer's package is not installed, naming the install line.

    Example:
        >>> build_peer("sigmoid_f1", beta=2.0)
        SigmoidF1(beta=2.0, eta=0.0)
    """
    if name not in PEERS:
        raise ValueError(f"`name` must be one of {', '.join(PEERS)}, but got {name!r}.")
    return PEERS[name].build(**options)


def require_peer(name: str) -> None:
    """Import the optional package of peer ``name`` (nothing for ours), so a run list can fail before it starts.

    Raises:
        ValueError: if ``name`` is unknown.
        ModuleNotFoundError: if the peer's package is not installed, naming the install line.

    Example:
        >>> require_peer("pairwise_logistic")  # ours: nothing to import
    """
    if name not in PEERS:
        raise ValueError(f"`name` must be one of {', '.join(PEERS)}, but got {name!r}.")
    package = PEERS[name].package
    if package is not None:
        require_package(f"{package}.losses", package)
