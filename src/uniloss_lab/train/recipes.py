"""The paper's training recipes, as overrides of :class:`~uniloss_lab.train.TrainConfig` (`uniloss train --recipe`)."""

from __future__ import annotations

from typing import Any

__all__ = ["RECIPES"]

# CIFAR-10: ResNet-20, batch 128, SGD lr 0.1 momentum 0.9, weight decay 1e-4, 200 epochs, x0.1 at 140 and 160.
_CIFAR10: dict[str, Any] = {
    "task": "accuracy",
    "dataset": "cifar10",
    "model": "resnet20",
    "batch_size": 128,
    "optimizer": "sgd",
    "lr": 0.1,
    "momentum": 0.9,
    "weight_decay": 1e-4,
    "scheduler": "multistep",
    "milestones": (140, 160),
    "gamma": 0.1,
    "epochs": 200,
    "candidates": None,
    "augment": True,
    "temperature": 1.0,
    "power": 1.0,
}

# The paper's settings (Liu, Wang and Deng, ECCV 2020, and its published scripts), as overrides of TrainConfig.
RECIPES: dict[str, dict[str, Any]] = {
    # MNIST, digit 0 against the rest: MLP 784-500-300-1, batch 16, SGD lr 0.01 momentum 0.5, 30 epochs.
    "paper-mnist-ap": {
        "task": "ap",
        "dataset": "mnist",
        "model": "mlp",
        "hidden": (500, 300),
        "positive_class": 0,
        "batch_size": 16,
        "optimizer": "sgd",
        "lr": 0.01,
        "momentum": 0.5,
        "weight_decay": 0.0,
        "scheduler": "none",
        "epochs": 30,
        "temperature": 1.0,
        "power": 1.0,
    },
    "paper-cifar10": dict(_CIFAR10),
    # CIFAR-100: as CIFAR-10 with the top-21 candidate classes, 750 epochs, x0.1 at 600 and 650.
    "paper-cifar100": {**_CIFAR10, "dataset": "cifar100", "milestones": (600, 650), "epochs": 750, "candidates": 21},
    # MPII: stacked hourglass (8 stacks, 256 features, depth 4) on 256x256 crops -> 64x64 heatmaps, batch 6,
    # RMSprop lr 2.5e-4 (no momentum, no weight decay), 50 epochs, x0.25 at 30 and 40, PCKh@0.5.
    "paper-mpii": {
        "task": "pck",
        "dataset": "mpii",
        "model": "hourglass",
        "stacks": 8,
        "width": 256,
        "depth": 4,
        "batch_size": 6,
        "eval_batch_size": 24,
        "optimizer": "rmsprop",
        "lr": 2.5e-4,
        "momentum": 0.0,
        "weight_decay": 0.0,
        "scheduler": "multistep",
        "milestones": (30, 40),
        "gamma": 0.25,
        "epochs": 50,
        "threshold": 0.5,
        "temperature": 1.0,
        "power": 1.0,
    },
}
