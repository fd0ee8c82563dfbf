"""Peers that wrap other libraries' losses: LibAUC, kornia, MONAI and pytorch-metric-learning.

Each library is optional and imported only when its peer is built, or the build raises ``ModuleNotFoundError``
naming the install lines (:data:`INSTALL_HINT`); :mod:`uniloss_lab.train.peers` registers the peers.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from types import ModuleType

import torch
from torch import nn

from uniloss.core.checks import check_floating, check_positive, check_positive_int, check_shape, check_tensor
from uniloss_lab.train.binary_peers import check_pair

__all__ = [
    "INSTALL_HINT",
    "KorniaDice",
    "KorniaLovasz",
    "LibAUCAP",
    "MetricLearningLoss",
    "MonaiDice",
    "require_package",
    "soap_adam",
]

INSTALL_HINT = (
    'pip install -e ".[peers]" (kornia, monai, pytorch-metric-learning), and for LibAUC: '
    "pip install --no-deps libauc==2.0.1"
)


def require_package(module: str, package: str) -> ModuleType:
    """Import ``module`` of the optional ``package``, or raise ``ModuleNotFoundError`` naming the install lines."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ModuleNotFoundError(
            f"This peer loss needs `{package}`, which is not installed (importing {module!r} failed: {error}). "
            f"Install the peers with: {INSTALL_HINT}.",
            name=package,
        ) from error


def _check_masks(scores: object, targets: object) -> tuple[torch.Tensor, torch.Tensor]:
    """Check segmentation inputs: ``(B, C, H, W)`` logits (``C >= 2``) or ``(B, H, W)``, and ``(B, H, W)`` masks."""
    scores, targets = check_tensor("scores", scores), check_tensor("targets", targets)
    check_floating("scores", scores)
    sizes: dict[str, int] = {}
    if scores.ndim == 4:
        check_shape("scores", scores, ("B", "C", "H", "W"), sizes)
        if sizes["C"] < 2:
            raise ValueError(
                f"`scores` must have C >= 2 classes in (B, C, H, W) (pass binary logits as (B, H, W)), "
                f"but got {tuple(scores.shape)}."
            )
    else:
        check_shape("scores", scores, ("B", "H", "W"), sizes)
    check_shape("targets", targets, ("B", "H", "W"), sizes)
    return scores, targets


class LibAUCAP(nn.Module):
    """LibAUC's ``APLoss`` (SOAP; Qi et al., NeurIPS 2021) on our logits, with the dataset indices it needs.

    Formally, ``libauc.losses.APLoss(data_len, gamma, margin)(sigmoid(scores)[:, None], targets[:, None],
    index)``: LibAUC scores probabilities, keeps moving averages ``u_all, u_pos`` per training example (hence
    ``data_len`` and each example's dataset ``index``, ``(B,)`` int64) and needs a positive in every batch. Its
    value is not a loss to read (the averages are detached: it is about 1e-8 while training); only its gradient
    means something. The averages move to the device of ``scores`` on first use. The recipe of LibAUC's AP
    tutorial is ``margin=0.6, gamma=0.1`` with its SOAP optimiser in Adam mode and weight decay 1e-5
    (:func:`soap_adam`); its docstring defaults are ``margin=1.0, gamma=0.9``.

    Args:
        data_len: number of examples of the training set (indices lie in ``[0, data_len)``).
        margin: margin of the squared-hinge surrogate (LibAUC's default 1.0).
        gamma: moving-average rate (LibAUC's default 0.9).

    Raises:
        ModuleNotFoundError: if LibAUC is not installed, naming the install line.
        TypeError: if an option has the wrong type, or at call time an input is not a tensor.
        ValueError: if an option is out of range, or at call time for mismatched shapes. A batch without a
            positive has no pair to rank (LibAUC would divide by zero): its loss is 0 with a zero gradient, as
            for UniLoss and the pairwise logistic loss.

    Example:
        >>> peer = LibAUCAP(data_len=8)  # doctest: +SKIP
        >>> peer(torch.randn(4), torch.tensor([1, 0, 0, 1]), torch.tensor([0, 1, 2, 3])).shape  # doctest: +SKIP
        torch.Size([])
    """

    def __init__(self, data_len: int, margin: float = 1.0, gamma: float = 0.9) -> None:
        super().__init__()
        losses = require_package("libauc.losses", "libauc")
        self.data_len = check_positive_int("data_len", data_len)
        self.margin = check_positive("margin", margin)
        self.gamma = check_positive("gamma", gamma)
        if self.gamma > 1:
            raise ValueError(f"`gamma` must be in (0, 1], but got {gamma!r}.")
        self.loss = losses.APLoss(data_len=data_len, margin=self.margin, gamma=self.gamma, device=torch.device("cpu"))

    def forward(self, scores: torch.Tensor, targets: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """Return LibAUC's AP loss of ``sigmoid(scores)`` for the examples at ``index`` of the training set."""
        scores, targets = check_pair(scores, targets)
        index = check_tensor("index", index)
        check_shape("index", index, (scores.shape[0],), {})
        if not bool(targets.bool().any()):  # LibAUC divides by the number of positives: no pair, no loss
            return (scores * 0).sum()
        if self.loss.u_all.device != scores.device:
            self.loss.u_all = self.loss.u_all.to(scores.device)
            self.loss.u_pos = self.loss.u_pos.to(scores.device)
        return self.loss(torch.sigmoid(scores)[:, None], targets[:, None].to(scores.dtype), index.long())

    def extra_repr(self) -> str:
        """Show the options."""
        return f"data_len={self.data_len}, margin={self.margin}, gamma={self.gamma}"


def soap_adam(parameters: Iterable[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """LibAUC's SOAP optimiser in Adam mode with weight decay 1e-5, the optimiser of its AP tutorial.

    Formally ``libauc.optimizers.SOAP(parameters, lr=lr, mode="adam", weight_decay=1e-5)``: Adam on gradients
    clipped to ``[-1, 1]`` (its ``clip_value``) plus ``1e-5 * w``.

    Args:
        parameters: the model's parameters.
        lr: learning rate.

    Returns:
        The optimiser.

    Raises:
        ModuleNotFoundError: if LibAUC is not installed, naming the install line.
        TypeError: if ``lr`` is not a number.
        ValueError: if ``lr`` is not positive.
    """
    optimizers = require_package("libauc.optimizers", "libauc")
    rate = check_positive("lr", lr)
    optimizer: torch.optim.Optimizer = optimizers.SOAP(
        parameters, lr=rate, mode="adam", weight_decay=1e-5, verbose=False, device=torch.device("cpu")
    )
    return optimizer


class KorniaLovasz(nn.Module):
    """kornia's Lovász losses (Berman et al., CVPR 2018): Lovász-softmax for classes, Lovász-hinge for binary masks.

    Formally ``kornia.losses.lovasz_softmax_loss(scores, targets)`` for ``(B, C, H, W)`` logits and
    ``kornia.losses.lovasz_hinge_loss(scores[:, None], targets)`` for binary ``(B, H, W)`` logits, with int64
    targets. Both take the Lovász extension of the Jaccard loss per image and average over the batch (the softmax
    one also over classes).

    Shape:
        - scores: ``(B, C, H, W)`` (``C >= 2``) or ``(B, H, W)`` float logits; targets: ``(B, H, W)`` class indices
          in ``[0, C)`` or ``{0, 1}``.
        - Output: a scalar.

    Raises:
        ModuleNotFoundError: if kornia is not installed, naming the install line.
        TypeError: if an input is not a tensor or ``scores`` is not floating-point.
        ValueError: for mismatched shapes.

    Example:
        >>> peer = KorniaLovasz()  # doctest: +SKIP
        >>> peer(torch.randn(2, 3, 8, 8), torch.randint(0, 3, (2, 8, 8))).shape  # doctest: +SKIP
        torch.Size([])
    """

    def __init__(self) -> None:
        super().__init__()
        require_package("kornia.losses", "kornia")  # fail now, not at the first batch

    def forward(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Return the Lovász-softmax (classes) or Lovász-hinge (binary) loss."""
        scores, targets = _check_masks(scores, targets)
        losses = require_package("kornia.losses", "kornia")
        if scores.ndim == 3:
            loss: torch.Tensor = losses.lovasz_hinge_loss(scores[:, None], targets.long())
        else:
            loss = losses.lovasz_softmax_loss(scores, targets.long())
        return loss


class KorniaDice(nn.Module):
    """kornia's Dice loss, ``1 - 2 |X n Y| / (|X| + |Y|)`` of the softmax ``X`` and the one-hot target ``Y``.

    Formally ``kornia.losses.dice_loss(scores, targets, average)`` for ``(B, C, H, W)`` logits; binary logits
    ``z`` ``(B, H, W)`` go in as the two channels ``(0, z)``, whose softmax is ``(1 - sigmoid(z), sigmoid(z))``
    (kornia's own advice for a binary task), so the Dice counts the background too. ``"micro"`` pools the classes
    of each image, ``"macro"`` averages the classes present; both then average over the batch.

    Args:
        average: ``"micro"`` (kornia's default) or ``"macro"``.

    Shape:
        - scores: ``(B, C, H, W)`` (``C >= 2``) or ``(B, H, W)`` float logits; targets: ``(B, H, W)``.
        - Output: a scalar.

    Raises:
        ModuleNotFoundError: if kornia is not installed, naming the install line.
        TypeError: if an input is not a tensor or ``scores`` is not floating-point.
        ValueError: if ``average`` is unknown, or for mismatched shapes.

    Example:
        >>> peer = KorniaDice()  # doctest: +SKIP
        >>> peer(torch.randn(2, 3, 8, 8), torch.randint(0, 3, (2, 8, 8))).shape  # doctest: +SKIP
        torch.Size([])
    """

    def __init__(self, average: str = "micro") -> None:
        super().__init__()
        if average not in ("micro", "macro"):
            raise ValueError(f"`average` must be one of 'micro', 'macro', but got {average!r}.")
        self.average = average
        require_package("kornia.losses", "kornia")  # fail now, not at the first batch

    def forward(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Return kornia's Dice loss of the softmax of the logits."""
        scores, targets = _check_masks(scores, targets)
        if scores.ndim == 3:
            scores = torch.stack([torch.zeros_like(scores), scores], dim=1)
        loss: torch.Tensor = require_package("kornia.losses", "kornia").dice_loss(
            scores, targets.long(), average=self.average
        )
        return loss

    def extra_repr(self) -> str:
        """Show the options."""
        return f"average={self.average!r}"


class MonaiDice(nn.Module):
    """MONAI's ``DiceLoss`` with the activation chosen from the shape: softmax for classes, sigmoid for binary.

    Formally ``monai.losses.DiceLoss(softmax=True, to_onehot_y=True)(scores, targets[:, None])`` for
    ``(B, C, H, W)`` logits and ``monai.losses.DiceLoss(sigmoid=True)(scores[:, None], targets[:, None])`` for binary
    ``(B, H, W)`` logits: per image and class ``1 - (2 |X n Y| + 1e-5) / (|X| + |Y| + 1e-5)``, background included,
    averaged (MONAI's defaults otherwise). With ``cross_entropy`` MONAI's ``DiceCELoss`` with the same options: that
    Dice loss plus the (per-pixel, binary for binary logits) cross-entropy, weight 1 each.

    Args:
        cross_entropy: ``DiceCELoss`` instead of ``DiceLoss``.

    Shape:
        - scores: ``(B, C, H, W)`` (``C >= 2``) or ``(B, H, W)`` float logits; targets: ``(B, H, W)``.
        - Output: a scalar.

    Raises:
        ModuleNotFoundError: if MONAI is not installed, naming the install line.
        TypeError: if an input is not a tensor or ``scores`` is not floating-point.
        ValueError: for mismatched shapes.

    Example:
        >>> peer = MonaiDice()  # doctest: +SKIP
        >>> peer(torch.randn(2, 3, 8, 8), torch.randint(0, 3, (2, 8, 8))).shape  # doctest: +SKIP
        torch.Size([])
    """

    def __init__(self, cross_entropy: bool = False) -> None:
        super().__init__()
        losses = require_package("monai.losses", "monai")
        kind = losses.DiceCELoss if cross_entropy else losses.DiceLoss
        self.cross_entropy = cross_entropy
        self.softmax = kind(softmax=True, to_onehot_y=True)
        self.sigmoid = kind(sigmoid=True)

    def forward(self, scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Return MONAI's Dice loss of the softmax (classes) or sigmoid (binary) of the logits."""
        scores, targets = _check_masks(scores, targets)
        if scores.ndim == 3:
            loss: torch.Tensor = self.sigmoid(scores[:, None], targets[:, None].to(scores.dtype))
        else:
            loss = self.softmax(scores, targets[:, None].long())
        return loss


class MetricLearningLoss(nn.Module):
    """A loss of pytorch-metric-learning (PML) with its defaults, on embeddings ``(B, D)`` and classes ``(B,)``.

    Formally ``pytorch_metric_learning.losses.<name>()(embeddings, labels)``. PML's ``SmoothAPLoss`` needs every
    class of a batch equally often, grouped by class; for it the batch is cut to the first ``m`` examples of each
    of its classes (``m`` the smallest class count), sorted by class, and a batch with ``m < 2`` (no positive
    pair) gives 0 with a zero gradient.

    Args:
        name: the class name in ``pytorch_metric_learning.losses`` (``"ContrastiveLoss"``, ``"TripletMarginLoss"``,
            ``"SmoothAPLoss"``, ``"FastAPLoss"``).

    Raises:
        ModuleNotFoundError: if pytorch-metric-learning is not installed, naming the install line.
        ValueError: if PML has no loss ``name``, or at call time the shapes are not ``(B, D)`` and ``(B,)``.
    """

    def __init__(self, name: str) -> None:
        super().__init__()
        losses = require_package("pytorch_metric_learning.losses", "pytorch_metric_learning")
        if not isinstance(getattr(losses, name, None), type):
            raise ValueError(f"`name` must name a loss of pytorch_metric_learning.losses, but got {name!r}.")
        self.name = name
        self.loss = getattr(losses, name)()

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Return PML's loss of the embeddings (cut to equal class counts for SmoothAP)."""
        embeddings, labels = check_tensor("embeddings", embeddings), check_tensor("labels", labels)
        check_floating("embeddings", embeddings)
        sizes: dict[str, int] = {}
        check_shape("embeddings", embeddings, ("B", "D"), sizes)
        check_shape("labels", labels, ("B",), sizes)
        if self.name == "SmoothAPLoss":
            order = torch.argsort(labels, stable=True)
            counts = torch.unique(labels, return_counts=True)[1]
            keep = int(counts.min())
            if keep < 2:
                return embeddings.sum() * 0.0
            starts = torch.cumsum(counts, 0) - counts
            chosen = order[(starts[:, None] + torch.arange(keep, device=labels.device)).reshape(-1)]
            embeddings, labels = embeddings[chosen], labels[chosen]
        return self.loss(embeddings.float(), labels)

    def extra_repr(self) -> str:
        """The PML loss's name, in the module's repr."""
        return repr(self.name)
