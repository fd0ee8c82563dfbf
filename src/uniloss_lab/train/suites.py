"""The benchmark suites of ``uniloss bench --suite NAME``: named lists of settings, and their learning-rate grids.

A setting is a dict of :class:`~uniloss_lab.train.TrainConfig` overrides, named ``task-dataset``; the bench runs each
of its loss rows for every seed and learning rate. A setting's optional ``"losses"`` maps a row name (a folder
name: letters, digits, ``_``, ``.``, ``-``) to the overrides of that row, ``loss`` among them; without it the
rows are :data:`DEFAULT_LOSSES`, UniLoss and the task's baseline. A setting's optional ``"lrs"`` (a tuple) is its
learning-rate grid, in place of the suite's :data:`BENCH_LR_GRIDS` entry. The ``quality`` suite is the study of
docs/results.md: UniLoss beside each task's usual loss and the other libraries' surrogates of its metric.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BENCH_LR_GRIDS", "BENCH_SUITES", "DEFAULT_LOSSES"]

DEFAULT_LOSSES: dict[str, dict[str, Any]] = {"uniloss": {"loss": "uniloss"}, "baseline": {"loss": "baseline"}}
"""The loss rows of a setting without ``"losses"``: UniLoss with the setting's options, and the task's baseline."""

_AP_ROWS: dict[str, dict[str, Any]] = {
    **DEFAULT_LOSSES,
    "uniloss-memory512": {"loss": "uniloss", "memory": 512},  # the best documented option (docs/ablation.md)
    "pairwise_logistic": {"loss": "pairwise_logistic"},
    "libauc_ap": {"loss": "libauc_ap"},  # LibAUC's APLoss with its docstring defaults
    "libauc_ap_recipe": {"loss": "libauc_ap_recipe"},  # with its tutorial's margin, gamma and SOAP-Adam
}
_F1_ROWS: dict[str, dict[str, Any]] = {**DEFAULT_LOSSES, "sigmoid_f1": {"loss": "sigmoid_f1"}}
_SEGMENTATION_ROWS: dict[str, dict[str, Any]] = {
    **DEFAULT_LOSSES,
    "kornia_lovasz": {"loss": "kornia_lovasz"},
    "kornia_dice": {"loss": "kornia_dice"},
    "monai_dice": {"loss": "monai_dice"},
    "monai_dice_ce": {"loss": "monai_dice_ce"},
}

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

BENCH_SUITES: dict[str, list[dict[str, Any]]] = {
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
    "quality": [
        {"task": "ap", "dataset": "digits", "model": "mlp", "positive_class": 8, "epochs": 30, "losses": _AP_ROWS},
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
        },
        {"task": "accuracy", "dataset": "digits", "model": "small_cnn", "width": 16, "epochs": 30},
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
        {**_SMALL_PCK, "epochs": 20, "lrs": (3e-3,)},
    ],
}

# Learning rates a suite tries for every loss (the same grid for every loss row); each loss is reported
# at its best mean final test metric over the seeds. A setting's own ``"lrs"`` replaces its suite's grid;
# suites without an entry run at the setting's ``lr``.
BENCH_LR_GRIDS: dict[str, tuple[float, ...]] = {"quality": (1e-3, 3e-3)}
