"""The comparison suites of ``uniloss compare --suite NAME``: named lists of settings, and their learning-rate grids.

A setting is a dict of :class:`~uniloss_lab.train.TrainConfig` overrides, named ``task-dataset``; the bench runs each
of its loss rows for every seed and learning rate. A setting's optional ``"losses"`` maps a row name (a folder
name: letters, digits, ``_``, ``.``, ``-``) to the overrides of that row, ``loss`` among them; without it the
rows are :data:`DEFAULT_LOSSES`, UniLoss and the task's baseline. A setting's optional ``"lrs"`` (a tuple) is its
learning-rate grid, in place of the suite's :data:`LR_GRIDS` entry. Every setting holds out
:data:`BENCH_VALIDATION` of its training split, where the rate and the best epoch are chosen. The ``quality`` suite
is the study of docs/results.md: UniLoss beside each task's usual loss and the other libraries' surrogates of its
metric; the ``objective-*`` suites are the settings where the metric is not the task loss's objective.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BENCH_VALIDATION", "DEFAULT_LOSSES", "LR_GRIDS", "QUICK", "SUITES"]

BENCH_VALIDATION = 0.2
"""Part of every benchmark setting's training split held out as validation (stratified, fixed seed)."""
QUICK: dict[str, Any] = {"epochs": 2, "limit_train": 300, "limit_test": 100, "device": "cpu"}
"""Overrides of a suite's quick form (``uniloss compare --suite NAME --quick``): its settings in seconds, for tests."""

DEFAULT_LOSSES: dict[str, dict[str, Any]] = {"uniloss": {"loss": "uniloss"}, "baseline": {"loss": "baseline"}}
"""The loss rows of a setting without ``"losses"``: UniLoss with the setting's options, and the task's baseline."""

_PLUS_TASK: dict[str, dict[str, Any]] = {"uniloss-plus-task": {"loss": "uniloss", "task_weight": 1.0}}
"""The row of UniLoss plus the task loss (``task_weight`` 1: the two summed)."""
_AP_ROWS: dict[str, dict[str, Any]] = {
    **DEFAULT_LOSSES,
    **_PLUS_TASK,
    "uniloss-memory512": {"loss": "uniloss", "memory": 512},  # the best documented option (docs/ablation.md)
    "pairwise_logistic": {"loss": "pairwise_logistic"},
    "libauc_ap": {"loss": "libauc_ap"},  # LibAUC's APLoss with its docstring defaults
    "libauc_ap_recipe": {"loss": "libauc_ap_recipe"},  # with its tutorial's margin, gamma and SOAP-Adam
}
_F1_ROWS: dict[str, dict[str, Any]] = {**DEFAULT_LOSSES, **_PLUS_TASK, "sigmoid_f1": {"loss": "sigmoid_f1"}}
_ACCURACY_ROWS: dict[str, dict[str, Any]] = {**DEFAULT_LOSSES, **_PLUS_TASK}
_SEGMENTATION_ROWS: dict[str, dict[str, Any]] = {
    **DEFAULT_LOSSES,
    **_PLUS_TASK,
    "kornia_lovasz": {"loss": "kornia_lovasz"},
    "kornia_dice": {"loss": "kornia_dice"},
    "monai_dice": {"loss": "monai_dice"},
    "monai_dice_ce": {"loss": "monai_dice_ce"},
}
_MEMORY: dict[str, dict[str, Any]] = {"uniloss-memory512": {"loss": "uniloss", "memory": 512}}
_RARE_AP_ROWS: dict[str, dict[str, Any]] = {
    **DEFAULT_LOSSES,
    **_PLUS_TASK,
    **_MEMORY,
    "bce_weighted": {"loss": "bce_weighted"},
    "focal": {"loss": "focal"},
    "pairwise_logistic": {"loss": "pairwise_logistic"},
}
_RARE_THRESHOLD_ROWS: dict[str, dict[str, Any]] = {
    **DEFAULT_LOSSES,
    **_PLUS_TASK,
    **_MEMORY,
    "bce_weighted": {"loss": "bce_weighted"},
    "focal": {"loss": "focal"},
    "anyloss": {"loss": "anyloss"},
    "sigmoid_f1": {"loss": "sigmoid_f1"},
}
_TOPK_ROWS = _ACCURACY_ROWS
_RETRIEVAL_ROWS: dict[str, dict[str, Any]] = {
    **DEFAULT_LOSSES,
    **_PLUS_TASK,
    **{name: {"loss": name} for name in ("pml_contrastive", "pml_triplet", "pml_smooth_ap", "pml_fast_ap")},
}
_LINEAR_LRS = (1e-2, 3e-2, 1e-1)  # the digits' 64 inputs
_LINEAR_LRS_784 = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1)  # Fashion-MNIST's 784 inputs: rates at both edges were chosen
_MLP_LRS = (1e-3, 3e-3, 1e-2)


def _objective(
    dataset: str,
    positive_class: int,
    fraction: float,
    epochs: int,
    mlp: bool,
    topk_train: int | None,
    linear_lrs: tuple[float, ...],
) -> list[dict[str, Any]]:
    """The settings where the metric is not the task loss's objective, on one dataset (see ``SUITES``)."""
    small = {} if topk_train is None else {"limit_train": topk_train}
    models: list[dict[str, Any]] = [{"model": "mlp", "hidden": (), "lrs": linear_lrs}]
    if mlp:
        models.append({"model": "mlp", "lrs": _MLP_LRS})
    rare = {"dataset": dataset, "positive_class": positive_class, "positive_fraction": fraction, "epochs": epochs}
    settings: list[dict[str, Any]] = []
    for task, rows, options in (
        ("ap", _RARE_AP_ROWS, {}),
        ("f1", _RARE_THRESHOLD_ROWS, {}),
        ("fbeta", _RARE_THRESHOLD_ROWS, {"beta": 2.0}),
    ):
        settings += [{"task": task, **rare, **model, **options, "losses": rows} for model in models]
    linear = models[0]
    topk = {"dataset": dataset, "epochs": epochs, "losses": _TOPK_ROWS, **linear, **small}
    return [*settings, *({"task": "topk", "top_k": k, **topk} for k in (3, 5))]


_SMALL_PCK: dict[str, Any] = {
    "task": "pck",
    "dataset": "keypoints",
    "model": "hourglass",
    "stacks": 1,
    "width": 32,
    "depth": 2,
    "batch_size": 32,
    "limit_train": 1024,
    "epochs": 5,
}
"""PCKh on 1,024 synthetic keypoint images with a one-stack hourglass: minutes on two CPU cores."""

_RETRIEVAL: list[dict[str, Any]] = [
    {
        "task": task,
        "dataset": "fashion-mnist",
        "model": "mlp",
        "hidden": (256,),
        "embedding_dim": 64,
        "top_k": 10,
        "limit_train": 10000,
        "epochs": 10,
        "losses": _RETRIEVAL_ROWS,
        "lrs": (1e-3, 3e-3),
    }
    for task in ("precision_at_k", "recall_at_k", "ndcg")
]

_QUALITY_AP_DIGITS: dict[str, Any] = {
    "task": "ap",
    "dataset": "digits",
    "model": "mlp",
    "positive_class": 8,
    "epochs": 30,
    "losses": _AP_ROWS,
}
_QUALITY_ACCURACY_DIGITS: dict[str, Any] = {
    "task": "accuracy",
    "dataset": "digits",
    "model": "small_cnn",
    "width": 16,
    "epochs": 30,
    "losses": _ACCURACY_ROWS,
}

_QUALITY_DIGITS: list[dict[str, Any]] = [_QUALITY_AP_DIGITS, _QUALITY_ACCURACY_DIGITS]
_QUALITY_FASHION: list[dict[str, Any]] = [
    {
        "task": "ap",
        "dataset": "fashion-mnist",
        "model": "mlp",
        "positive_class": 6,
        "epochs": 10,
        "losses": _AP_ROWS,
    },
    {
        "task": "f1",
        "dataset": "fashion-mnist",
        "model": "mlp",
        "positive_class": 6,
        "epochs": 10,
        "losses": _F1_ROWS,
    },
    {
        "task": "accuracy",
        "dataset": "fashion-mnist",
        "model": "small_cnn",
        "width": 16,
        "limit_train": 10000,
        "epochs": 10,
        "losses": _ACCURACY_ROWS,
    },
]
_QUALITY_DENSE: list[dict[str, Any]] = [
    {
        "task": "segmentation",
        "dataset": "shapes",
        "model": "unet",
        "width": 8,
        "depth": 3,
        "batch_size": 16,
        "limit_train": 600,
        "epochs": 10,
        "losses": _SEGMENTATION_ROWS,
        "lrs": (1e-3,),
    },
    {**_SMALL_PCK, "epochs": 40, "lrs": (3e-3,)},
]

SUITES: dict[str, list[dict[str, Any]]] = {
    # Minutes on two CPU cores: digits AP (8 against the rest: the hardest digit, so AP does not saturate at 1.0)
    # and 10-class accuracy, and PCKh on 1,024 synthetic keypoint images with a one-stack hourglass.
    "quick": [
        {"task": "ap", "dataset": "digits", "model": "mlp", "positive_class": 8, "epochs": 8},
        {"task": "accuracy", "dataset": "digits", "model": "small_cnn", "width": 16, "epochs": 8},
        _SMALL_PCK,
    ],
    "digits": [
        {"task": "ap", "dataset": "digits", "model": "mlp", "positive_class": 8, "epochs": 20},
        {"task": "accuracy", "dataset": "digits", "model": "small_cnn", "epochs": 20},
    ],
    # All 2,000 synthetic training images, a two-stack hourglass (intermediate supervision); a GPU helps.
    "keypoints": [
        {"task": "pck", "dataset": "keypoints", "model": "hourglass", "stacks": 2, "width": 64, "batch_size": 32},
    ],
    # Fashion-MNIST: T-shirt/top (class 0) against the rest with the MLP 784-500-300-1, and 10-class accuracy with
    # the MLP 784-500-300-10; Adam 1e-3, batch 128, 5 epochs (the settings of DESIGN.md's measurements).
    "fashion-mnist": [
        {"task": "ap", "dataset": "fashion-mnist", "model": "mlp", "positive_class": 0, "epochs": 5},
        {"task": "accuracy", "dataset": "fashion-mnist", "model": "mlp", "epochs": 5},
    ],
    # The quality study (docs/results.md, issue 14): each setting's task loss, UniLoss with its defaults, UniLoss's
    # best documented option where it has one, and every peer surrogate of the metric, with the same model, data,
    # batches, seeds and learning-rate grid; each budget is long enough for the task loss's test metric to
    # plateau (the plots show it), or the longest that fits two CPU cores: about 100 minutes with --jobs 2 on two
    # shared cores (docs/results.md; peers: pip install -e ".[peers]").
    # AP and F1: Fashion-MNIST Shirt (6, the hardest class, 10% positives) against the rest, MLP 784-500-300-1,
    # batch 128; AP also on the embedded digits (8 against the rest); accuracy: Fashion-MNIST 10 classes with a small
    # CNN (width 16) on the first 10,000 training images, and the embedded digits; segmentation: mean IoU of 4
    # classes on 600 synthetic 64x64 shapes with a U-Net (width 8, depth 3), batch 16, one learning rate (the
    # grid would double the suite's longest setting); PCKh: 1,024 synthetic keypoint images, one-stack hourglass,
    # at the rate both losses chose in the earlier 5-epoch grid (3e-3).
    "quality": [*_QUALITY_DIGITS, *_QUALITY_FASHION, *_QUALITY_DENSE],
    # The quality suite in parts that each fit 75 minutes on two cores (measured: digits 5 minutes with --jobs 1,
    # Fashion-MNIST AP 29, F1 and accuracy 16, dense 28 with --jobs 2; docs/lab.md).
    "quality-digits": _QUALITY_DIGITS,
    "quality-fashion-ap": _QUALITY_FASHION[:1],
    "quality-fashion-f1-accuracy": _QUALITY_FASHION[1:],
    "quality-dense": _QUALITY_DENSE,
    # Where the metric is not the task loss's objective (issue 22), each with its task loss and its peers, the
    # same model, data, batches, seeds and learning-rate grid: (a) AP, F1 and (d) F-beta (beta 2) of one class
    # against the rest with the training positives cut to a small fraction of the training split (digit 8 at 2%,
    # Fashion-MNIST Shirt at 1%; the test split keeps its own), for a linear model (capacity-limited: the loss
    # decides which errors to make) and the MLP 64-500-300-1 (digits only: the Fashion-MNIST MLP does not fit two
    # cores), against binary cross-entropy, class-weighted BCE, the focal loss, and AnyLoss and sigmoidF1 for the
    # thresholded metrics; (b) top-3 and top-5 accuracy of a linear model against cross-entropy, which optimises
    # top-1 (on digits from the first 200 training images: on all of them top-5 accuracy is 1.0). Batch 128, Adam;
    # the linear model's grid 1e-2, 3e-2, 1e-1 on digits and 1e-3 to 1e-1 on Fashion-MNIST, the MLP's 1e-3, 3e-3,
    # 1e-2.
    "objective-digits": _objective("digits", 8, 0.02, 30, mlp=True, topk_train=200, linear_lrs=_LINEAR_LRS),
    "objective-fashion-mnist": _objective(
        "fashion-mnist", 6, 0.01, 5, mlp=False, topk_train=None, linear_lrs=_LINEAR_LRS_784
    ),
    # (c) Retrieval on embeddings: an MLP 784-256-64 on the first 10,000 Fashion-MNIST training images; every
    # image a query of the others of its split, relevant when of its class; P@10, R@10 and NDCG@10 against the
    # contrastive loss and pytorch-metric-learning's contrastive, triplet, SmoothAP and FastAP losses. Batch 128,
    # Adam 1e-3 or 3e-3, 10 epochs.
    "retrieval-fashion-mnist": _RETRIEVAL,
    # (e) PCKh where heatmap MSE has levelled off: the quality suite's PCKh setting at 80 epochs (MSE still gains
    # about a point an epoch at 40, where UniLoss has been flat since about 15), at its rate 3e-3.
    "pckh-budget": [{**_SMALL_PCK, "epochs": 80, "lrs": (3e-3,)}],
}

# Learning rates a suite tries for every loss (the same grid for every loss row); each loss is reported
# at its best mean final validation metric over the seeds. A setting's own ``"lrs"`` replaces its suite's grid;
# suites without an entry run at the setting's ``lr``.
LR_GRIDS: dict[str, tuple[float, ...]] = dict.fromkeys(
    ("quality", "quality-digits", "quality-fashion-ap", "quality-fashion-f1-accuracy", "quality-dense"), (1e-3, 3e-3)
)
