"""Every error the public API of the metrics, their functionals and the engine raises, in one table.

Each ``row(name, callable, args, kwargs, exception type, message regex)`` calls the callable and expects the
exception, with a message that names the argument, what was expected and what was received. The last test
checks that the table, with the constructor rows of ``tests/test_constructors.py``, reaches every ``raise``
statement of the engine, the metrics and the engine's default anchors and interpolator (``CHECKED``), so a new
check without a row fails here.
"""

from __future__ import annotations

import ast
import functools
import pathlib

import pytest
import torch

import uniloss
from tests.test_constructors import CONSTRUCTOR_ERRORS
from uniloss.anchors import PaperAnchors
from uniloss.core import checks
from uniloss.core.comparisons import Comparisons
from uniloss.exact import accuracy, average_precision, pck
from uniloss.metrics import (
    AUROC,
    F1,
    NDCG,
    PCK,
    Accuracy,
    AveragePrecision,
    BalancedAccuracy,
    Dice,
    FBeta,
    IoU,
    MeanAveragePrecision,
    MetricRefactoring,
    Precision,
    PrecisionAtK,
    Recall,
    RecallAtK,
    TopKAccuracy,
)
from uniloss.metrics.auroc import auroc
from uniloss.metrics.balanced_accuracy import balanced_accuracy
from uniloss.metrics.dice import dice
from uniloss.metrics.fbeta import f1, fbeta
from uniloss.metrics.iou import iou
from uniloss.metrics.mean_average_precision import mean_average_precision
from uniloss.metrics.ndcg import ndcg
from uniloss.metrics.precision import precision
from uniloss.metrics.precision_at_k import precision_at_k
from uniloss.metrics.recall import recall
from uniloss.metrics.recall_at_k import recall_at_k
from uniloss.metrics.top_k_accuracy import top_k_accuracy

META = torch.device("meta")

# Valid inputs (average precision, accuracy, PCK); each row breaks one thing.
_RNG = torch.Generator().manual_seed(0)
S, T = torch.randn(4, generator=_RNG), torch.tensor([1, 0, 1, 0])
X, Y = torch.randn(4, 3, generator=_RNG), torch.tensor([0, 1, 2, 0])
H, J = torch.randn(2, 3, 6, 6, generator=_RNG), torch.full((2, 3, 2), 2.0)
V, HS = torch.ones(2, 3, dtype=torch.bool), torch.tensor([2.0, 3.0])
NAN, INF = float("nan"), float("inf")
# Multi-label (N, L) = (4, 3), queries of 4 items, segmentation masks (N, C, H, W) = (2, 3, 2, 2).
ML, MT = torch.randn(4, 3, generator=_RNG), torch.tensor([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]])
REL, G = torch.tensor([2, 0, 1, 0]), torch.tensor([0, 0, 1, 1])
SEG, SEGT = torch.randn(2, 3, 2, 2, generator=_RNG), torch.tensor([[[0, 1], [2, 255]], [[1, 1], [0, 2]]])


def _with(tensor: torch.Tensor, index, value) -> torch.Tensor:
    out = tensor.clone()
    out[index] = value
    return out


class _NoCounts(MetricRefactoring):
    """A metric that implements neither ``evaluate`` nor ``evaluate_counts``."""

    def comparisons(self, scores: torch.Tensor, *targets: torch.Tensor) -> Comparisons:
        return Comparisons(scores.view(1, -1))


def _loss(metric):
    return functools.partial(uniloss.uniloss, metric=metric)


def _module(metric):
    return uniloss.UniLoss(metric)


def _remembering(metric, *first):
    """A loss with ``memory`` that has already seen (and remembered) the training batch ``first``."""
    criterion = uniloss.UniLoss(metric, memory=8)
    criterion(first[0].clone().requires_grad_(), *first[1:])
    return criterion


AP_LOSS, ACC_LOSS, PCK_LOSS = _loss(AveragePrecision()), _loss(Accuracy(num_classes=3)), _loss(PCK())


def row(name, fn, args, kwargs, exception, pattern):
    """One case: ``fn(*args, **kwargs)`` raises ``exception`` with a message matching ``pattern``."""
    return pytest.param(fn, args, kwargs, exception, pattern, id=name)


# fmt: off
ERRORS = [
    # --- average precision: functional ---
    row("ap-scores-list", average_precision, ([0.1, 0.2], T[:2]), {},
        TypeError, r"`scores` must be a torch\.Tensor, but got list\."),
    row("ap-targets-list", average_precision, (S, [1, 0, 1, 0]), {},
        TypeError, r"`targets` must be a torch\.Tensor, but got list\."),
    row("ap-scores-2d", average_precision, (S.view(4, 1), T), {},
        ValueError, r"`scores` must have shape \(N,\), but got \(4, 1\)\."),
    row("ap-scores-0d", average_precision, (torch.tensor(0.5), T), {},
        ValueError, r"`scores` must have shape \(N,\), but got \(\)\."),
    row("ap-targets-length", average_precision, (S, T[:3]), {},
        ValueError, r"`targets` must have shape \(N,\) with N=4, but got \(3,\)\."),
    row("ap-scores-int", average_precision, (T, T), {},
        TypeError, r"`scores` must have a floating-point dtype, but got torch\.int64\."),
    row("ap-targets-float", average_precision, (S, T.float()), {},
        TypeError, r"`targets` must be an integer or bool tensor, but got torch\.float32\."),
    row("ap-targets-complex", average_precision, (S, T.to(torch.complex64)), {},
        TypeError, r"but got torch\.complex64\."),
    row("ap-targets-above-one", average_precision, (S, _with(T, 0, 2)), {},
        ValueError, r"`targets` must have values in \[0, 1\], but got values in \[0, 2\]\."),
    row("ap-targets-negative", average_precision, (S, _with(T, 0, -1)), {},
        ValueError, r"`targets` must have values in \[0, 1\], but got values in \[-1, 1\]\."),
    row("ap-targets-other-device", average_precision, (S, T.to(META)), {},
        ValueError, r"`targets` must be on the device of `scores` \(cpu\), but got meta\."),
    row("ap-empty-batch", average_precision, (torch.zeros(0), T[:0]), {},
        ValueError, r"`scores` must hold at least one example, but got shape \(0,\)\."),
    row("ap-mode-unknown", average_precision, (S, T), {"mode": "area"},
        ValueError, r"`mode` must be one of \('step', 'interpolated'\), but got 'area'\."),
    row("ap-mode-checked-without-validation", average_precision, (S, T), {"mode": "area", "validate_args": False},
        ValueError, r"`mode` must be one of"),
    # --- average precision: class and loss ---
    row("AP-mode-unknown", AveragePrecision, (), {"mode": "Step"},
        ValueError, r"`mode` must be one of \('step', 'interpolated'\), but got 'Step'\."),
    row("pck-empty-heatmap", pck, (torch.zeros(1, 1, 0, 4), torch.zeros(1, 1, 2), torch.ones(1, 1, dtype=torch.bool),
                                   torch.ones(1)), {},
        ValueError, r"`heatmaps` must have H and W of at least 1, but got shape \(1, 1, 0, 4\)\."),
    row("precision-no-label", uniloss.exact.precision, (torch.zeros(1, 0), torch.zeros(1, 0, dtype=torch.long)),
        {"average": "macro"}, ValueError,
        r"`scores` must have at least one label \(L >= 1\), but got shape \(1, 0\)\."),
    row("AP-layout-unknown", AveragePrecision, (), {"layout": "dense"},
        ValueError, r"`layout` must be one of \('compact', 'static'\), but got 'dense'\."),
    row("AP-loss-three-tensors", AP_LOSS, (S, T, T), {},
        TypeError, r"AveragePrecision takes \(scores, targets\), but got 3 tensors\."),
    row("AP-loss-one-tensor", AP_LOSS, (S,), {},
        TypeError, r"AveragePrecision takes \(scores, targets\), but got 1 tensors\."),
    row("AP-loss-scores-2d", AP_LOSS, (S.view(2, 2), T), {},
        ValueError, r"`scores` must have shape \(N,\), but got \(2, 2\)\."),
    row("AP-loss-targets-float", AP_LOSS, (S, T.float()), {},
        TypeError, r"`targets` must be an integer or bool tensor"),
    row("AP-loss-targets-range", AP_LOSS, (S, T + 1), {},
        ValueError, r"`targets` must have values in \[0, 1\], but got values in \[1, 2\]\."),
    row("AP-loss-scores-nan", AP_LOSS, (_with(S, 1, NAN), T), {},
        ValueError, r"`scores` must be finite, but got NaN values\."),
    row("AP-loss-scores-inf", AP_LOSS, (_with(S, 1, INF), T), {},
        ValueError, r"`scores` must be finite, but got infinite values\."),
    row("AP-loss-scores-minus-inf", AP_LOSS, (_with(S, 1, -INF), T), {},
        ValueError, r"`scores` must be finite, but got infinite values\."),
    row("AP-loss-empty-batch", AP_LOSS, (torch.zeros(0), T[:0]), {},
        ValueError, r"`scores` must hold at least one example, but got shape \(0,\)\."),
    row("AP-loss-scores-0d", AP_LOSS, (torch.tensor(0.5), T), {},
        ValueError, r"`scores` must hold at least one example, but got shape \(\)\."),
    row("AP-loss-scores-list", AP_LOSS, ([0.1, 0.2], T[:2]), {},
        TypeError, r"`scores` must be a torch\.Tensor, but got list\."),
    row("AP-loss-scores-on-meta", AP_LOSS, (S.to(META), T), {},
        ValueError, r"`scores` must hold values, but got a tensor on the meta device \(shape \(4,\)\); the loss "
        r"depends on the values .*, so compute it on a real device such as 'cpu' or 'cuda'\."),
    row("AP-module-scores-on-meta", _module(AveragePrecision()), (S.to(META), T.to(META)), {},
        ValueError, r"`scores` must hold values, but got a tensor on the meta device \(shape \(4,\)\)"),
    row("AP-check-scores-other-device", AveragePrecision().check, (S.to(META), T), {},
        ValueError, r"`targets` must be on the device of `scores` \(meta\), but got cpu\."),
    row("AP-module-targets-length", _module(AveragePrecision()), (S, T[:3]), {},
        ValueError, r"`targets` must have shape \(N,\) with N=4"),
    # --- accuracy: functional ---
    row("acc-scores-ndarray", accuracy, (X.numpy(), Y), {},
        TypeError, r"`scores` must be a torch\.Tensor, but got ndarray\."),
    row("acc-targets-list", accuracy, (X, [0, 1, 2, 0]), {},
        TypeError, r"`targets` must be a torch\.Tensor, but got list\."),
    row("acc-scores-1d", accuracy, (X[:, 0], Y), {},
        ValueError, r"`scores` must have shape \(N, C\), but got \(4,\)\."),
    row("acc-scores-3d", accuracy, (X.view(4, 3, 1), Y), {},
        ValueError, r"`scores` must have shape \(N, C\), but got \(4, 3, 1\)\."),
    row("acc-targets-2d", accuracy, (X, Y.view(4, 1)), {},
        ValueError, r"`targets` must have shape \(N,\) with N=4, C=3, but got \(4, 1\)\."),
    row("acc-targets-length", accuracy, (X, Y[:2]), {},
        ValueError, r"`targets` must have shape \(N,\) with N=4, C=3, but got \(2,\)\."),
    row("acc-scores-int", accuracy, (Y.view(4, 1), Y), {},
        TypeError, r"`scores` must have a floating-point dtype, but got torch\.int64\."),
    row("acc-targets-float", accuracy, (X, Y.float()), {},
        TypeError, r"`targets` must be an integer tensor, but got torch\.float32\."),
    row("acc-targets-bool", accuracy, (X, Y.bool()), {},
        TypeError, r"`targets` must be an integer tensor, but got torch\.bool\."),
    row("acc-targets-too-large", accuracy, (X, _with(Y, 0, 3)), {},
        ValueError, r"`targets` must have values in \[0, 2\], but got values in \[0, 3\]\."),
    row("acc-targets-negative", accuracy, (X, _with(Y, 0, -1)), {},
        ValueError, r"`targets` must have values in \[0, 2\], but got values in \[-1, 2\]\."),
    row("acc-targets-other-device", accuracy, (X, Y.to(META)), {},
        ValueError, r"`targets` must be on the device of `scores` \(cpu\), but got meta\."),
    row("acc-empty-batch", accuracy, (torch.zeros(0, 3), Y[:0]), {},
        ValueError, r"`scores` must hold at least one example, but got shape \(0, 3\)\."),
    # --- accuracy: class and loss ---
    row("Acc-num-classes-zero", Accuracy, (0,), {},
        ValueError, r"`num_classes` must be a positive int, but got 0\."),
    row("Acc-num-classes-negative", Accuracy, (-2,), {},
        ValueError, r"`num_classes` must be a positive int, but got -2\."),
    row("Acc-num-classes-float", Accuracy, (3.0,), {},
        TypeError, r"`num_classes` must be a positive int, but got float 3\.0\."),
    row("Acc-num-classes-bool", Accuracy, (True,), {},
        TypeError, r"`num_classes` must be a positive int, but got bool True\."),
    row("Acc-candidates-one", Accuracy, (3,), {"candidates": 1},
        ValueError, r"`candidates` must be at least 2 \(the true class and one other\), but got 1\."),
    row("Acc-candidates-zero", Accuracy, (3,), {"candidates": 0},
        ValueError, r"`candidates` must be a positive int, but got 0\."),
    row("Acc-candidates-float", Accuracy, (3,), {"candidates": 2.5},
        TypeError, r"`candidates` must be a positive int, but got float 2\.5\."),
    row("Acc-loss-num-classes-mismatch", _loss(Accuracy(num_classes=4)), (X, Y), {},
        ValueError, r"`scores` must have shape \(N, C\) with C=4, but got \(4, 3\)\."),
    row("Acc-loss-three-tensors", ACC_LOSS, (X, Y, Y), {},
        TypeError, r"Accuracy takes \(scores, targets\), but got 3 tensors\."),
    row("Acc-loss-one-tensor", ACC_LOSS, (X,), {},
        TypeError, r"Accuracy takes \(scores, targets\), but got 1 tensors\."),
    row("Acc-loss-targets-bool", ACC_LOSS, (X, Y.bool()), {},
        TypeError, r"`targets` must be an integer tensor, but got torch\.bool\."),
    row("Acc-loss-targets-range", ACC_LOSS, (X, _with(Y, 1, 5)), {},
        ValueError, r"`targets` must have values in \[0, 2\], but got values in \[0, 5\]\."),
    row("Acc-loss-scores-nan", ACC_LOSS, (_with(X, (0, 1), NAN), Y), {},
        ValueError, r"`scores` must be finite, but got NaN values\."),
    row("Acc-loss-scores-inf", ACC_LOSS, (_with(X, (0, 1), INF), Y), {},
        ValueError, r"`scores` must be finite, but got infinite values\."),
    row("Acc-loss-empty-batch", ACC_LOSS, (torch.zeros(0, 3), Y[:0]), {},
        ValueError, r"`scores` must hold at least one example, but got shape \(0, 3\)\."),
    row("Acc-module-targets-other-device", _module(Accuracy(num_classes=3)), (X, Y.to(META)), {},
        ValueError, r"`targets` must be on the device of `scores` \(cpu\), but got meta\."),
    # --- PCK: functional ---
    row("pck-joints-list", pck, (H, J.tolist(), V, HS), {},
        TypeError, r"`joints` must be a torch\.Tensor, but got list\."),
    row("pck-heatmaps-list", pck, ([0.0], J, V, HS), {},
        TypeError, r"`heatmaps` must be a torch\.Tensor, but got list\."),
    row("pck-visible-bool-scalar", pck, (H, J, True, HS), {},
        TypeError, r"`visible` must be a torch\.Tensor, but got bool\."),
    row("pck-head-size-float-scalar", pck, (H, J, V, 2.0), {},
        TypeError, r"`head_size` must be a torch\.Tensor, but got float\."),
    row("pck-heatmaps-3d", pck, (H[0], J, V, HS), {},
        ValueError, r"`heatmaps` must have shape \(N, J, H, W\), but got \(3, 6, 6\)\."),
    row("pck-joints-shape", pck, (H, J[..., :1].expand(2, 3, 3), V, HS), {},
        ValueError, r"`joints` must have shape \(N, J, 2\) with N=2, J=3, H=6, W=6, but got \(2, 3, 3\)\."),
    row("pck-joints-count", pck, (H, J[:, :2], V, HS), {},
        ValueError, r"`joints` must have shape \(N, J, 2\) with N=2, J=3, H=6, W=6, but got \(2, 2, 2\)\."),
    row("pck-visible-shape", pck, (H, J, V[:, :2], HS), {},
        ValueError, r"`visible` must have shape \(N, J\) with N=2, J=3, H=6, W=6, but got \(2, 2\)\."),
    row("pck-head-size-shape", pck, (H, J, V, HS[:1]), {},
        ValueError, r"`head_size` must have shape \(N,\) with N=2, J=3, H=6, W=6, but got \(1,\)\."),
    row("pck-heatmaps-int", pck, (H.long(), J, V, HS), {},
        TypeError, r"`heatmaps` must have a floating-point dtype, but got torch\.int64\."),
    row("pck-joints-int", pck, (H, J.long(), V, HS), {},
        TypeError, r"`joints` must have a floating-point dtype, but got torch\.int64\."),
    row("pck-head-size-int", pck, (H, J, V, HS.long()), {},
        TypeError, r"`head_size` must have a floating-point dtype, but got torch\.int64\."),
    row("pck-visible-float", pck, (H, J, V.float(), HS), {},
        TypeError, r"`visible` must be a bool or integer tensor, but got torch\.float32\."),
    row("pck-head-size-other-device", pck, (H, J, V, HS.to(META)), {},
        ValueError, r"`head_size` must be on the device of `heatmaps` \(cpu\), but got meta\."),
    row("pck-joints-other-device", pck, (H, J.to(META), V, HS), {},
        ValueError, r"`joints` must be on the device of `heatmaps` \(cpu\), but got meta\."),
    row("pck-joints-nan", pck, (H, _with(J, (0, 1, 0), NAN), V, HS), {},
        ValueError, r"`joints` must be finite, but got NaN values\."),
    row("pck-head-size-inf", pck, (H, J, V, _with(HS, 1, INF)), {},
        ValueError, r"`head_size` must be finite, but got infinite values\."),
    row("pck-head-size-zero", pck, (H, J, V, _with(HS, 1, 0.0)), {},
        ValueError, r"`head_size` must be positive, but got a minimum of 0\.0\."),
    row("pck-head-size-negative", pck, (H, J, V, _with(HS, 0, -1.5)), {},
        ValueError, r"`head_size` must be positive, but got a minimum of -1\.5\."),
    row("pck-threshold-zero", pck, (H, J, V, HS), {"threshold": 0.0},
        ValueError, r"`threshold` must be a positive float, but got 0\.0\."),
    row("pck-threshold-negative", pck, (H, J, V, HS), {"threshold": -0.5},
        ValueError, r"`threshold` must be a positive float, but got -0\.5\."),
    row("pck-threshold-nan", pck, (H, J, V, HS), {"threshold": NAN},
        ValueError, r"`threshold` must be a positive float, but got nan\."),
    row("pck-threshold-str", pck, (H, J, V, HS), {"threshold": "0.5"},
        TypeError, r"`threshold` must be a positive float, but got str '0\.5'\."),
    row("pck-empty-batch", pck, (H[:0], J[:0], V[:0], HS[:0]), {},
        ValueError, r"`heatmaps` must hold at least one example, but got shape \(0, 3, 6, 6\)\."),
    # --- PCK: class and loss ---
    row("PCK-threshold-zero", PCK, (), {"threshold": 0},
        ValueError, r"`threshold` must be a positive float, but got 0\."),
    row("PCK-threshold-inf", PCK, (), {"threshold": INF},
        ValueError, r"`threshold` must be a positive float, but got inf\."),
    row("PCK-threshold-none", PCK, (), {"threshold": None},
        TypeError, r"`threshold` must be a positive float, but got NoneType None\."),
    row("PCK-loss-three-tensors", PCK_LOSS, (H, J, V), {},
        TypeError, r"PCK takes \(heatmaps, joints, visible, head_size\), but got 3 tensors\."),
    row("PCK-loss-five-tensors", PCK_LOSS, (H, J, V, HS, HS), {},
        TypeError, r"PCK takes \(heatmaps, joints, visible, head_size\), but got 5 tensors\."),
    row("PCK-loss-heatmaps-nan", PCK_LOSS, (_with(H, (0, 0, 1, 1), NAN), J, V, HS), {},
        ValueError, r"`heatmaps` must be finite, but got NaN values\."),
    row("pck-heatmaps-inf", pck, (_with(H, (0, 0, 1, 1), -INF), J, V, HS), {},
        ValueError, r"`heatmaps` must be finite, but got infinite values\."),
    row("PCK-loss-head-size-negative", PCK_LOSS, (H, J, V, -HS), {},
        ValueError, r"`head_size` must be positive"),
    row("PCK-loss-empty-batch", PCK_LOSS, (H[:0], J[:0], V[:0], HS[:0]), {},
        ValueError, r"`scores` must hold at least one example, but got shape \(0, 3, 6, 6\)\."),
    row("PCK-module-visible-float", _module(PCK()), (H, J, V.float(), HS), {},
        TypeError, r"`visible` must be a bool or integer tensor"),
    # --- AUROC ---
    row("auroc-targets-range", auroc, (S, T + 1), {},
        ValueError, r"`targets` must have values in \[0, 1\], but got values in \[1, 2\]\."),
    row("auroc-scores-2d", auroc, (S.view(2, 2), T), {},
        ValueError, r"`scores` must have shape \(N,\), but got \(2, 2\)\."),
    row("AUROC-loss-three-tensors", _loss(AUROC()), (S, T, T), {},
        TypeError, r"AUROC takes \(scores, targets\), but got 3 tensors\."),
    row("AUROC-loss-targets-float", _loss(AUROC()), (S, T.float()), {},
        TypeError, r"`targets` must be an integer or bool tensor, but got torch\.float32\."),
    # --- F-beta, F1, precision, recall, balanced accuracy ---
    row("fbeta-beta-zero", fbeta, (S, T), {"beta": 0.0},
        ValueError, r"`beta` must be a positive float, but got 0\.0\."),
    row("fbeta-scores-3d", fbeta, (ML.view(2, 2, 3), MT.view(2, 2, 3)), {},
        ValueError, r"`scores` must have shape \(N,\) or \(N, L\), but got \(2, 2, 3\)\."),
    row("fbeta-targets-shape", fbeta, (ML, MT[:, :2]), {},
        ValueError, r"`targets` must have shape \(N, L\) with N=4, L=3, but got \(4, 2\)\."),
    row("f1-threshold-str", f1, (S, T), {"threshold": "0.5"},
        TypeError, r"`threshold` must be a finite float, but got str '0\.5'\."),
    row("f1-threshold-bool", f1, (S, T), {"threshold": True},
        TypeError, r"`threshold` must be a finite float, but got bool True\."),
    row("precision-threshold-nan", precision, (S, T), {"threshold": NAN},
        ValueError, r"`threshold` must be a finite float, but got nan\."),
    row("recall-average-weighted", recall, (ML, MT), {"average": "weighted"},
        ValueError, r"`average` must be one of \('micro', 'macro'\), but got 'weighted'\."),
    row("balanced-accuracy-targets-two", balanced_accuracy, (S, _with(T, 0, 2)), {},
        ValueError, r"`targets` must have values in \[0, 1\], but got values in \[0, 2\]\."),
    row("balanced-accuracy-empty", balanced_accuracy, (S[:0], T[:0]), {},
        ValueError, r"`scores` must hold at least one example, but got shape \(0,\)\."),
    row("FBeta-beta-negative", FBeta, (), {"beta": -1.0},
        ValueError, r"`beta` must be a positive float, but got -1\.0\."),
    row("FBeta-num-labels-zero", FBeta, (), {"num_labels": 0},
        ValueError, r"`num_labels` must be a positive int, but got 0\."),
    row("F1-average-none", F1, (), {"average": None},
        ValueError, r"`average` must be one of \('micro', 'macro'\), but got None\."),
    row("Precision-threshold-inf", Precision, (), {"threshold": INF},
        ValueError, r"`threshold` must be a finite float, but got inf\."),
    row("Recall-loss-two-targets", _loss(Recall()), (S, T, T), {},
        TypeError, r"Recall takes \(scores, targets\), but got 3 tensors\."),
    row("BalancedAccuracy-loss-binary-given-labels", _loss(BalancedAccuracy()), (ML, MT), {},
        ValueError, r"`scores` must have shape \(N,\), but got \(4, 3\)\."),
    row("F1-loss-num-labels-mismatch", _loss(F1(num_labels=2)), (ML, MT), {},
        ValueError, r"`scores` must have shape \(N, L\) with L=2, but got \(4, 3\)\."),
    # --- precision and recall at k, NDCG ---
    row("precision-at-k-top-k-zero", precision_at_k, (S, T), {"top_k": 0},
        ValueError, r"`top_k` must be a positive int, but got 0\."),
    row("recall-at-k-groups-float", recall_at_k, (S, T, G.float()), {"top_k": 1},
        TypeError, r"`groups` must be an integer tensor, but got torch\.float32\."),
    row("recall-at-k-groups-bool", recall_at_k, (S, T, G.bool()), {"top_k": 1},
        TypeError, r"`groups` must be an integer tensor, but got torch\.bool\."),
    row("recall-at-k-groups-length", recall_at_k, (S, T, G[:3]), {"top_k": 1},
        ValueError, r"`groups` must have shape \(N,\) with N=4, but got \(3,\)\."),
    row("precision-at-k-groups-other-device", precision_at_k, (S, T, G.to(META)), {"top_k": 1},
        ValueError, r"`groups` must be on the device of `scores` \(cpu\), but got meta\."),
    row("precision-at-k-graded-targets", precision_at_k, (S, REL), {"top_k": 1},
        ValueError, r"`targets` must have values in \[0, 1\], but got values in \[0, 2\]\."),
    row("ndcg-targets-negative", ndcg, (S, _with(REL, 1, -1)), {},
        ValueError, r"`targets` must be non-negative, but got a minimum of -1\."),
    row("ndcg-targets-negative-float", ndcg, (S, _with(REL.double(), 1, -0.5)), {},
        ValueError, r"`targets` must be non-negative, but got a minimum of -0\.5\."),
    row("ndcg-targets-nan", ndcg, (S, _with(REL.double(), 1, NAN)), {},
        ValueError, r"`targets` must be finite, but got NaN values\."),
    row("ndcg-targets-complex", ndcg, (S, REL.to(torch.complex64)), {},
        TypeError, r"`targets` must be a real tensor, but got torch\.complex64\."),
    row("ndcg-top-k-float", ndcg, (S, REL), {"top_k": 2.0},
        TypeError, r"`top_k` must be a positive int, but got float 2\.0\."),
    row("PrecisionAtK-top-k-negative", PrecisionAtK, (-1,), {},
        ValueError, r"`top_k` must be a positive int, but got -1\."),
    row("RecallAtK-loss-four-tensors", _loss(RecallAtK(2)), (S, T, G, G), {},
        TypeError, r"RecallAtK takes \(scores, targets\) or \(scores, targets, groups\), but got 4 tensors\."),
    row("NDCG-loss-scores-2d", _loss(NDCG()), (ML, REL), {},
        ValueError, r"`scores` must have shape \(N,\), but got \(4, 3\)\."),
    row("NDCG-top-k-zero", NDCG, (0,), {},
        ValueError, r"`top_k` must be a positive int, but got 0\."),
    # --- mean average precision ---
    row("map-scores-1d", mean_average_precision, (S, T), {},
        ValueError, r"`scores` must have shape \(N, L\), but got \(4,\)\."),
    row("map-mode-unknown", mean_average_precision, (ML, MT), {"mode": "11-point"},
        ValueError, r"`mode` must be one of \('step', 'interpolated'\), but got '11-point'\."),
    row("MAP-num-labels-none", MeanAveragePrecision, (None,), {},
        TypeError, r"`num_labels` must be a positive int, but got NoneType None\."),
    row("MAP-loss-one-tensor", _loss(MeanAveragePrecision(3)), (ML,), {},
        TypeError, r"MeanAveragePrecision takes \(scores, targets\), but got 1 tensors\."),
    row("MAP-loss-num-labels-mismatch", _loss(MeanAveragePrecision(2)), (ML, MT), {},
        ValueError, r"`scores` must have shape \(N, L\) with L=2, but got \(4, 3\)\."),
    # --- top-k accuracy ---
    row("top-k-accuracy-top-k-zero", top_k_accuracy, (X, Y), {"top_k": 0},
        ValueError, r"`top_k` must be a positive int, but got 0\."),
    row("top-k-accuracy-targets-range", top_k_accuracy, (X, _with(Y, 0, 3)), {},
        ValueError, r"`targets` must have values in \[0, 2\], but got values in \[0, 3\]\."),
    row("TopKAccuracy-top-k-bool", TopKAccuracy, (3,), {"top_k": True},
        TypeError, r"`top_k` must be a positive int, but got bool True\."),
    row("TopKAccuracy-loss-three-tensors", _loss(TopKAccuracy(3)), (X, Y, Y), {},
        TypeError, r"TopKAccuracy takes \(scores, targets\), but got 3 tensors\."),
    # --- IoU and Dice ---
    row("iou-scores-2d", iou, (S.view(2, 2), T.view(2, 2)), {},
        ValueError, r"`scores` must have shape \(N, H, W\) or \(N, C, H, W\), but got \(2, 2\)\."),
    row("iou-one-class", iou, (SEG[:, :1], SEGT), {"ignore_index": 255},
        ValueError, r"`scores` must have shape \(N, C, H, W\) with C >= 2, but got \(2, 1, 2, 2\)\."),
    row("iou-targets-out-of-range", iou, (SEG, SEGT), {},
        ValueError, r"`targets` must have values in \[0, 2\], but got values in \[0, 255\]\."),
    row("iou-targets-bool-multiclass", iou, (SEG, SEGT.bool()), {},
        TypeError, r"`targets` must be an integer tensor, but got torch\.bool\."),
    row("dice-ignore-index-float", dice, (SEG, SEGT), {"ignore_index": 255.0},
        TypeError, r"`ignore_index` must be an int or None, but got float 255\.0\."),
    row("dice-binary-targets-two", dice, (SEG[:, 0], SEGT.clamp_max(2)), {},
        ValueError, r"`targets` must have values in \[0, 1\], but got values in \[0, 2\]\."),
    row("IoU-num-classes-one", IoU, (1,), {},
        ValueError, r"`num_classes` must be at least 2 \(None for binary masks\), but got 1\."),
    row("IoU-num-classes-float", IoU, (3.0,), {},
        TypeError, r"`num_classes` must be a positive int, but got float 3\.0\."),
    row("Dice-ignore-index-str", Dice, (), {"ignore_index": "255"},
        TypeError, r"`ignore_index` must be an int or None, but got str '255'\."),
    row("Dice-loss-two-targets", _loss(Dice(3, ignore_index=255)), (SEG, SEGT, SEGT), {},
        TypeError, r"Dice takes \(scores, targets\), but got 3 tensors\."),
    row("IoU-loss-targets-shape", _loss(IoU(3, ignore_index=255)), (SEG, SEGT[:, :1]), {},
        ValueError, r"`targets` must have shape \(N, H, W\) with C=3, N=2, H=2, W=2, but got \(2, 1, 2\)\."),
    # --- engine, module and parts ---
    row("loss-metric-str", uniloss.uniloss, (S, T), {"metric": "average_precision"},
        TypeError, r"`metric` must be a uniloss MetricRefactoring, but got str\."),
    row("loss-metric-class", uniloss.uniloss, (S, T), {"metric": AveragePrecision},
        TypeError, r"`metric` must be a uniloss MetricRefactoring, but got ABCMeta\."),
    row("module-metric-torch-loss", uniloss.UniLoss, (torch.nn.MSELoss(),), {},
        TypeError, r"`metric` must be a uniloss MetricRefactoring, but got MSELoss\."),
    row("module-temperature-and-relax", uniloss.UniLoss, (AveragePrecision(),),
        {"temperature": 0.5, "relax": uniloss.Sigmoid()},
        ValueError, r"give either `temperature` or `relax`, not both\."),
    row("module-power-and-interpolator", uniloss.UniLoss, (AveragePrecision(),),
        {"power": 2.0, "interpolator": uniloss.InverseDistanceWeighting()},
        ValueError, r"give either `power` or `interpolator`, not both\."),
    row("module-temperature-zero", uniloss.UniLoss, (AveragePrecision(),), {"temperature": 0},
        ValueError, r"`temperature` must be a positive float, but got 0\."),
    row("module-temperature-negative", uniloss.UniLoss, (AveragePrecision(),), {"temperature": -0.1},
        ValueError, r"`temperature` must be a positive float, but got -0\.1\."),
    row("module-temperature-inf", uniloss.UniLoss, (AveragePrecision(),), {"temperature": INF},
        ValueError, r"`temperature` must be a positive float, but got inf\."),
    row("module-temperature-below-float32", uniloss.UniLoss, (AveragePrecision(),), {"temperature": 1e-39},
        ValueError, r"`temperature` must be a positive float in \[1\.18e-38, 3\.4e\+38\] \(comparisons are divided "
        r"by it and its inverse is a float32 factor\), but got 1e-39\."),
    row("module-temperature-str", uniloss.UniLoss, (AveragePrecision(),), {"temperature": "1"},
        TypeError, r"`temperature` must be a positive float, but got str '1'\."),
    row("module-power-zero", uniloss.UniLoss, (AveragePrecision(),), {"power": 0.0},
        ValueError, r"`power` must be a positive float, but got 0\.0\."),
    row("module-power-bool", uniloss.UniLoss, (AveragePrecision(),), {"power": True},
        TypeError, r"`power` must be a positive float, but got bool True\."),
    row("recall-at-k-k", uniloss.metrics.RecallAtK, (), {"k": 3},
        TypeError, r"RecallAtK\(\) got an unexpected keyword argument 'k'; its parameters are \(top_k\)\."),
    row("precision-at-k-missing", uniloss.metrics.PrecisionAtK, (), {},
        TypeError, r"PrecisionAtK\(\) missing a required argument: 'top_k'; its parameters are \(top_k\)\."),
    row("precision-k", uniloss.metrics.Precision, (), {"k": 3},
        TypeError, r"Precision\(\) got an unexpected keyword argument 'k'; its parameters are \(threshold=0\.0, "
        r"num_labels=None, average='macro'\)\."),
    row("dice-positional", uniloss.metrics.Dice, (3, 0.0, None, 1), {},
        TypeError, r"Dice\(\) too many positional arguments; its parameters are \(num_classes=None, "),
    row("module-relax-class", uniloss.UniLoss, (AveragePrecision(),), {"relax": uniloss.Sigmoid},
        TypeError, r"`relax` must be a uniloss Relaxation \(e\.g\. Sigmoid\) or None, but got the class Sigmoid; "
        r"pass an instance: Sigmoid\(\)\."),
    row("loss-interpolator-function", uniloss.uniloss, (S, T),
        {"metric": AveragePrecision(), "interpolator": lambda squared, values: values.mean()},
        TypeError, r"`interpolator` must be a uniloss Interpolator .*, but got function <lambda>\."),
    row("module-memory-negative", uniloss.UniLoss, (AveragePrecision(),), {"memory": -1},
        ValueError, r"`memory` must be a non-negative int, but got -1\."),
    row("module-memory-float", uniloss.UniLoss, (AveragePrecision(),), {"memory": 8.0},
        TypeError, r"`memory` must be a non-negative int, but got float 8\.0\."),
    row("module-memory-ndcg", uniloss.UniLoss, (NDCG(),), {"memory": 8},
        ValueError, r"`memory` needs a metric whose batches can be pooled, but NDCG\(.*\) cannot\."),
    row("memory-targets-count", _remembering(Accuracy(num_classes=3), X, Y), (X, Y, Y), {},
        ValueError, r"`memory` holds 1 targets per example, but the batch has 2; call reset_memory\(\)"),
    row("memory-scores-shape", _remembering(Accuracy(num_classes=3), X, Y), (torch.randn(4, 4), Y), {},
        ValueError, r"`scores` must match the remembered examples \(shape \(\*, 3\), torch\.float32\), but got "
        r"shape \(4, 4\) and torch\.float32; call reset_memory\(\)"),
    row("memory-targets-dtype", _remembering(AveragePrecision(), S, T), (S, T.int()), {},
        ValueError, r"`targets\[0\]` must match the remembered examples \(shape \(\*, \), torch\.int64\)"),
    row("sigmoid-temperature-nan", uniloss.Sigmoid, (NAN,), {},
        ValueError, r"`temperature` must be a positive float, but got nan\."),
    row("idw-power-negative", uniloss.InverseDistanceWeighting, (-1.0,), {},
        ValueError, r"`power` must be a positive float, but got -1\.0\."),
    row("anchors-good-negative", PaperAnchors, (), {"good": -1},
        ValueError, r"`good` must be a non-negative int, but got -1\."),
    row("anchors-bad-float", PaperAnchors, (), {"bad": 1.5},
        TypeError, r"`bad` must be a non-negative int, but got float 1\.5\."),
    row("anchors-current-bool", PaperAnchors, (), {"current": True},
        TypeError, r"`current` must be a non-negative int, but got bool True\."),
    row("anchors-ground-truth-negative", PaperAnchors, (), {"ground_truth": -2},
        ValueError, r"`ground_truth` must be a non-negative int, but got -2\."),
    row("anchors-nearby-str", PaperAnchors, (), {"nearby": "16"},
        TypeError, r"`nearby` must be a non-negative int, but got str '16'\."),
    row("anchors-all-zero", PaperAnchors, (0, 0, 0, 0, 0), {},
        ValueError, r"`PaperAnchors` needs at least one anchor, but every count is 0\."),
    row("register-name-taken", uniloss.register, (type("Clash", (), {"name": "accuracy"}),), {},
        ValueError, r"metric name 'accuracy' is already registered by Accuracy\."),
    row("register-with-a-name", uniloss.register, ("accuracy",), {},
        TypeError, r"register is used bare \(`@register`\) and reads the class's `name`, but got 'accuracy'\."),
    row("register-without-a-name", uniloss.register, (type("Nameless", (), {}),), {},
        ValueError, r"Nameless needs a non-empty string `name` to be registered\."),
    row("loss-metric-without-evaluate", _loss(_NoCounts()), (S,), {},
        NotImplementedError, r"_NoCounts does not depend on row counts alone"),
    # The primitive validators moved to core/checks.py from train/config.py and models/_checks.py.
    row("checks-choice", checks.check_choice, ("optimizer", "lbfgs", ("sgd", "adam")), {},
        ValueError, r"`optimizer` must be one of \['sgd', 'adam'\], but got 'lbfgs'\."),
    row("checks-nonnegative-str", checks.check_nonnegative, ("momentum", "0.9"), {},
        TypeError, r"`momentum` must be a non-negative float, but got str '0\.9'\."),
    row("checks-nonnegative-inf", checks.check_nonnegative, ("weight_decay", float("inf")), {},
        ValueError, r"`weight_decay` must be a non-negative float, but got inf\."),
    row("checks-int-sequence-int", checks.check_positive_int_sequence, ("hidden", 500), {},
        TypeError, r"`hidden` must be a sequence of positive ints, but got int 500\."),
    row("checks-device-int", checks.check_device, ("device", 0), {},
        TypeError, r"`device` must be a str, but got int 0\."),
    row("checks-device-unknown", checks.check_device, ("device", "tpu-9"), {},
        ValueError, r"`device` must be 'auto', 'cpu', 'cuda' or 'cuda:N', but got 'tpu-9'\."),
    row("checks-image-batch", checks.check_image_batch, ("inputs", torch.zeros(2, 1, 8, 8), 3), {},
        ValueError, r"`inputs` must have shape \(B, 3, H, W\), but got \(2, 1, 8, 8\)\."),
]
# fmt: on


@pytest.mark.parametrize(("fn", "args", "kwargs", "exception", "pattern"), ERRORS)
def test_invalid_input_raises_the_documented_error(fn, args, kwargs, exception, pattern):
    with pytest.raises(exception, match=pattern):
        fn(*args, **kwargs)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a second device (CUDA)")
def test_scores_and_targets_on_cpu_and_cuda_raise():
    with pytest.raises(ValueError, match=r"`targets` must be on the device of `scores` \(cpu\), but got cuda:0\."):
        average_precision(S, T.cuda())


# --- the table reaches every raise ----------------------------------------------------------------------

SRC = pathlib.Path(uniloss.__file__).parent
CHECKED = [
    "core/*.py",
    "engine/*.py",
    "relaxations/*.py",
    "metrics/*.py",
    "anchors/paper_anchors.py",
    "interpolators/idw.py",
]
"""The engine, every metric and the engine's default parts; other samplers and interpolators have their own."""


def _raise_statements() -> set[tuple[str, int, int]]:
    """``(file, first line, last line)`` of every ``raise`` statement in the checked packages."""
    found = set()
    for pattern in CHECKED:
        for path in sorted(SRC.glob(pattern)):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Raise):
                    found.add((str(path.relative_to(SRC)), node.lineno, node.end_lineno))
    return found


def _raise_site(error: BaseException) -> tuple[str, int] | None:
    """The innermost frame of ``error``'s traceback inside the package: where it was raised."""
    site, tb = None, error.__traceback__
    while tb is not None:
        path = pathlib.Path(tb.tb_frame.f_code.co_filename)
        if SRC in path.parents:
            site = (str(path.relative_to(SRC)), tb.tb_lineno)
        tb = tb.tb_next
    return site


def test_error_table_reaches_every_raise_statement():
    statements = _raise_statements()
    reached = set()
    for case in ERRORS + CONSTRUCTOR_ERRORS:
        fn, args, kwargs, exception, _ = case.values
        with pytest.raises(exception) as excinfo:
            fn(*args, **kwargs)
        site = _raise_site(excinfo.value)
        assert site is not None, f"{case.id} raised outside uniloss"
        reached |= {s for s in statements if s[0] == site[0] and s[1] <= site[1] <= s[2]}
    missing = sorted(statements - reached)
    assert not missing, "raise statements without a row in ERRORS: " + ", ".join(f"{f}:{a}" for f, a, _ in missing)
