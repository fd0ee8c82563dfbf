"""Peers of one class against the rest from their papers' formulas: sigmoidF1, weighted BCE, focal loss, AnyLoss.

Each takes raw logits ``(B,)`` (sigmoidF1 also ``(B, K)``) and labels of the same shape in ``{0, 1}`` and returns a
scalar, as the other peers of :mod:`uniloss_lab.train.peers`, which registers them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from uniloss.core.checks import check_floating, check_nonnegative, check_positive, check_shape, check_tensor

__all__ = ["AnyLoss", "FocalLoss", "SigmoidF1", "WeightedBCE"]


def check_pair(scores: object, targets: object, shape: tuple[str, ...] = ("B",)) -> tuple[torch.Tensor, torch.Tensor]:
    """Check float logits of symbolic ``shape`` and labels of the same shape; return the logits and float labels.

    The input check of every binary peer (also :class:`~uniloss_lab.train.peers.PairwiseLogistic` and LibAUC's).
    """
    scores, targets = check_tensor("scores", scores), check_tensor("targets", targets)
    check_floating("scores", scores)
    sizes: dict[str, int] = {}
    check_shape("scores", scores, shape, sizes)
    check_shape("targets", targets, shape, sizes)
    return scores, targets.to(scores.dtype)


class WeightedBCE(nn.Module):
    """Binary cross-entropy with the positives weighted by ``pos_weight`` (negatives / positives of the training split).

    Formally ``L = mean_i -(w y_i log sigmoid(s_i) + (1 - y_i) log(1 - sigmoid(s_i)))``, PyTorch's
    ``binary_cross_entropy_with_logits(s, y, pos_weight=w)``; the bench sets ``w`` to the training split's
    negatives over its positives, so both classes weigh the same in all.

    Args:
        pos_weight: weight ``w > 0`` of a positive's term (default 1: plain BCE).

    Raises:
        TypeError: if ``pos_weight`` is not a number, an input is not a tensor or ``scores`` is not floating-point.
        ValueError: if ``pos_weight`` is not positive or the shapes are not ``(B,)`` and ``(B,)``.

    Example:
        >>> loss = WeightedBCE(pos_weight=3.0)(torch.tensor([0.0, 0.0]), torch.tensor([1, 0]))
        >>> round(float(loss), 4)  # (3 log 2 + log 2) / 2
        1.3863
    """

    def __init__(self, pos_weight: float = 1.0) -> None:
        super().__init__()
        self.pos_weight = check_positive("pos_weight", pos_weight)

    def forward(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Return the class-weighted binary cross-entropy of the logits."""
        scores, labels = check_pair(scores, targets)
        weight = torch.tensor(self.pos_weight, dtype=scores.dtype, device=scores.device)
        return F.binary_cross_entropy_with_logits(scores, labels, pos_weight=weight)

    def extra_repr(self) -> str:
        """Show the option."""
        return f"pos_weight={self.pos_weight:.4g}"


class FocalLoss(nn.Module):
    """The focal loss (Lin et al., ICCV 2017, "Focal Loss for Dense Object Detection"), written from its formula.

    Formally, with ``p = sigmoid(s)``, ``p_t = p`` for a positive and ``1 - p`` for a negative, and ``alpha_t =
    alpha`` for a positive and ``1 - alpha`` for a negative: ``FL = mean_i -alpha_t (1 - p_t)^gamma log(p_t)``, with
    ``log(p_t)`` computed as ``-softplus(-s)`` or ``-softplus(s)`` (stable for large logits). ``gamma = 0,
    alpha = 0.5`` is half the binary cross-entropy. The paper's defaults are ``alpha = 0.25, gamma = 2``.

    Args:
        alpha: weight of the positives' terms, in ``[0, 1]`` (default 0.25).
        gamma: focusing exponent, ``>= 0`` (default 2).

    Raises:
        TypeError: if an option is not a number, an input is not a tensor or ``scores`` is not floating-point.
        ValueError: if ``alpha`` is outside ``[0, 1]``, ``gamma`` is negative, or the shapes differ.

    Example:
        >>> loss = FocalLoss()(torch.tensor([0.0]), torch.tensor([1]))
        >>> round(float(loss), 5)  # 0.25 * 0.5**2 * log 2
        0.04332
    """

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0) -> None:
        super().__init__()
        self.alpha = check_nonnegative("alpha", alpha)
        if self.alpha > 1:
            raise ValueError(f"`alpha` must be in [0, 1], but got {alpha!r}.")
        self.gamma = check_nonnegative("gamma", gamma)

    def forward(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Return the mean focal loss of the logits."""
        scores, labels = check_pair(scores, targets)
        signed = torch.where(labels > 0.5, scores, -scores)  # p_t = sigmoid(signed)
        log_p = -F.softplus(-signed)
        alpha = torch.where(labels > 0.5, self.alpha, 1 - self.alpha)
        return (-alpha * (1 - torch.exp(log_p)) ** self.gamma * log_p).mean()

    def extra_repr(self) -> str:
        """Show the options."""
        return f"alpha={self.alpha}, gamma={self.gamma}"


class AnyLoss(nn.Module):
    """AnyLoss for F-beta (Han, Moniz, Chawla, KDD 2024), written from the paper's formula.

    Formally, the probability ``p = sigmoid(s)`` goes through the approximation function ``A(p) = 1 / (1 +
    exp(-L (p - 0.5)))`` with the amplifying scale ``L`` (the paper's 73), which pushes it towards 0 or 1; the
    confusion counts of the batch are ``TP = sum y A``, ``FN = sum y (1 - A)``, ``FP = sum (1 - y) A``, and the
    loss is ``1 - (1 + beta^2) TP / ((1 + beta^2) TP + beta^2 FN + FP)``. A batch with no positive and no
    predicted positive has a zero denominator; a tiny constant (1e-12) keeps it finite.

    Args:
        beta: weight of recall (default 1: F1).
        amplifier: the scale ``L`` of the approximation function (default 73).

    Raises:
        TypeError: if an option is not a number, an input is not a tensor or ``scores`` is not floating-point.
        ValueError: if an option is not positive or the shapes differ.

    Example:
        >>> loss = AnyLoss(beta=2.0)(torch.tensor([0.0, 0.0]), torch.tensor([1, 0]))
        >>> round(float(loss), 4)  # A = 1/2 for both: TP = FN = FP = 1/2, F2 = 2.5 / (2.5 + 2 + 0.5)
        0.5
    """

    def __init__(self, beta: float = 1.0, amplifier: float = 73.0) -> None:
        super().__init__()
        self.beta = check_positive("beta", beta)
        self.amplifier = check_positive("amplifier", amplifier)

    def forward(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Return ``1 - F-beta`` of the amplified soft confusion counts."""
        scores, labels = check_pair(scores, targets)
        approximated = torch.sigmoid(self.amplifier * (torch.sigmoid(scores) - 0.5))
        tp = (labels * approximated).sum()
        fn = (labels * (1 - approximated)).sum()
        fp = ((1 - labels) * approximated).sum()
        weight = 1 + self.beta**2
        return 1 - weight * tp / (weight * tp + self.beta**2 * fn + fp + 1e-12)

    def extra_repr(self) -> str:
        """Show the options."""
        return f"beta={self.beta}, amplifier={self.amplifier}"


class SigmoidF1(nn.Module):
    """The sigmoidF1 surrogate of F1 (Bénédict et al., TMLR 2022, arXiv:2108.10566), written from its formula.

    Formally, with ``S(u) = 1 / (1 + exp(-beta (u + eta)))`` of each logit ``u`` and labels ``y``, summed over
    the batch (per label for ``(B, K)`` inputs): ``tp = sum S(u) y``, ``fp = sum S(u) (1 - y)``,
    ``fn = sum (1 - S(u)) y``, ``F1 = 2 tp / (2 tp + fn + fp + 1e-16)`` and the loss is ``1 - F1``, averaged over
    the ``K`` labels. This is the sigmoid with slope ``beta`` and offset ``eta`` on the last layer's output, as
    the authors state it (``1 / (1 + exp(b (z + c)))`` with ``b = -beta``, ``c = eta``); their PyTorch file applies
    it to ``sigmoid(u)`` instead (a sigmoid of a sigmoid), which we do not copy. ``beta = 1, eta = 0`` is the
    plain soft F1 of ``sigmoid(u)``.

    Args:
        beta: slope of the sigmoid (default 1).
        eta: offset added to the logits (default 0).

    Shape:
        - scores: ``(B,)`` or ``(B, K)`` float logits; targets: the same shape, in ``{0, 1}``.
        - Output: a scalar.

    Raises:
        TypeError: if an option is not a number, an input is not a tensor or ``scores`` is not floating-point.
        ValueError: if ``beta`` is not positive, ``eta`` is not finite, or the shapes differ.

    Example:
        >>> loss = SigmoidF1()(torch.tensor([0.0, 0.0]), torch.tensor([1, 0]))
        >>> float(loss)  # tp = fp = fn = 1/2: F1 = 1/2
        0.5
    """

    def __init__(self, beta: float = 1.0, eta: float = 0.0) -> None:
        super().__init__()
        self.beta = check_positive("beta", beta)
        if isinstance(eta, bool) or not isinstance(eta, (int, float)):
            raise TypeError(f"`eta` must be a finite float, but got {type(eta).__name__} {eta!r}.")
        if not math.isfinite(eta):
            raise ValueError(f"`eta` must be a finite float, but got {eta!r}.")
        self.eta = float(eta)

    def forward(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Return ``1 - F1`` of the soft counts, averaged over labels."""
        scores, targets = check_tensor("scores", scores), check_tensor("targets", targets)
        shape = ("B",) if scores.ndim <= 1 else ("B", "K")
        scores, labels = check_pair(scores, targets, shape)
        soft = torch.sigmoid(self.beta * (scores + self.eta))
        tp = (soft * labels).sum(0)
        fp = (soft * (1 - labels)).sum(0)
        fn = ((1 - soft) * labels).sum(0)
        return (1 - 2 * tp / (2 * tp + fn + fp + 1e-16)).mean()

    def extra_repr(self) -> str:
        """Show the options."""
        return f"beta={self.beta}, eta={self.eta}"
