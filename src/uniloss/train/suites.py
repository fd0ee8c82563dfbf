"""The benchmark suites of ``uniloss bench --suite NAME``: named lists of settings, and their learning-rate grids.

A setting is a dict of :class:`~uniloss.train.TrainConfig` overrides, named ``task-dataset``; the bench runs both
losses (UniLoss and the task's baseline) for every seed. The ``quality`` suite is the study of docs/results.md.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BENCH_LR_GRIDS", "BENCH_SUITES"]

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
    # The quality study (docs/results.md): every task's UniLoss against its usual loss with the same model, data,
    # epochs, seeds and learning-rate grid (BENCH_LR_GRIDS), on two CPU cores in about 20 minutes with --jobs 2.
    # AP: Fashion-MNIST T-shirt/top (0) and Shirt (6, the hardest class) against the rest, MLP 784-500-300-1,
    # batch 128, 3 epochs, also with UniLoss(memory=512) (the baseline ignores it); accuracy: Fashion-MNIST 10
    # classes with a small CNN (width 16) on the first 10,000 training images, and the embedded digits; PCKh: 1,024
    # synthetic keypoint images, one-stack hourglass.
    "quality": [
        {"task": "ap", "dataset": "fashion-mnist", "model": "mlp", "positive_class": 0, "epochs": 3},
        {"task": "ap", "dataset": "fashion-mnist", "model": "mlp", "positive_class": 6, "epochs": 3},
        {"task": "ap", "dataset": "fashion-mnist", "model": "mlp", "positive_class": 0, "epochs": 3, "memory": 512},
        {"task": "ap", "dataset": "fashion-mnist", "model": "mlp", "positive_class": 6, "epochs": 3, "memory": 512},
        {
            "task": "accuracy",
            "dataset": "fashion-mnist",
            "model": "small_cnn",
            "width": 16,
            "limit_train": 10000,
            "epochs": 3,
        },
        {"task": "accuracy", "dataset": "digits", "model": "small_cnn", "width": 16, "epochs": 8},
        _SMALL_PCK,
    ],
}

# Learning rates a suite tries for every loss (the same grid for UniLoss and the baseline); each loss is reported
# at its best mean final test metric over the seeds. Suites without an entry run at the setting's ``lr``.
BENCH_LR_GRIDS: dict[str, tuple[float, ...]] = {"quality": (1e-3, 3e-3)}
