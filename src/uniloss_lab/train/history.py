"""The history of a run: its metadata and per-epoch series, and ``history.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from uniloss.version import __version__
from uniloss_lab.train.atomic import write_json
from uniloss_lab.train.config import TrainConfig
from uniloss_lab.train.tasks import Task
from uniloss_lab.train.thresholds import TUNED_SERIES

__all__ = ["HISTORY_NAME", "HISTORY_SERIES", "VALIDATION_SERIES", "finish_history", "new_history", "save_history"]

HISTORY_NAME = "history.json"
HISTORY_SERIES = ("epoch", "train_loss", "train_metric", "test_metric", "lr", "epoch_time", "eval_time", "skipped")
"""The per-epoch lists of a history, in the order the loop appends them; with a validation split ``test_metric``
is ``None`` at every epoch but the last (the test split is read once)."""
VALIDATION_SERIES = ("validation_metric",)
"""The per-epoch list a run with a validation split adds to its history: the exact metric on that split."""


def new_history(
    config: TrainConfig,
    task: Task,
    model: nn.Module,
    device: torch.device,
    sizes: tuple[int, int],
    num_validation: int = 0,
) -> dict[str, Any]:
    """A history with the run's metadata and empty series (see :func:`uniloss_lab.train.train` for the keys)."""
    history: dict[str, Any] = {
        "config": config.to_dict(),
        "task": config.task,
        "dataset": config.dataset_name,
        "model": config.model_name,
        "loss": config.loss,
        "loss_name": task.loss_name,
        "metric": task.metric_name,
        "seed": config.seed,
        "device": str(device),
        "num_parameters": sum(parameter.numel() for parameter in model.parameters()),
        "num_train": sizes[0],
        "num_test": sizes[1],
        "num_validation": num_validation,
        "uniloss_version": __version__,
        "torch_version": str(torch.__version__),
    }
    for key in HISTORY_SERIES:
        history[key] = []
    if task.tunes_threshold:  # the f1 task: also the test F1 at a threshold tuned on held-out training data
        for key in TUNED_SERIES:
            history[key] = []
    if num_validation:
        for key in VALIDATION_SERIES:
            history[key] = []
        history.update(best_epoch=None, best_validation_metric=None)
    history.update(final_metric=None, best_metric=None, completed=False)
    return history


def finish_history(history: dict[str, Any], config: TrainConfig) -> None:
    """Set ``final_metric``, ``best_metric``, ``completed`` and, with validation, ``best_epoch``.

    ``final_metric`` is the test metric of the last epoch (``None`` if it did not read the test split);
    ``best_metric`` the best test metric read (the best epoch on the test split: only without validation);
    ``best_epoch`` the 1-based epoch of the best validation metric (the first on a tie), and
    ``best_validation_metric`` that metric.
    """
    metrics = history["test_metric"]
    read = [value for value in metrics if value is not None]
    history["final_metric"] = metrics[-1] if metrics else None
    history["best_metric"] = max(read) if read else None
    history["completed"] = len(metrics) >= config.epochs
    validation = history.get("validation_metric")
    if validation:
        best = max(range(len(validation)), key=lambda index: (validation[index], -index))
        history["best_epoch"] = best + 1
        history["best_validation_metric"] = validation[best]


def save_history(path: Path, history: dict[str, Any]) -> None:
    """Write ``history`` as JSON to ``path``, atomically."""
    write_json(path, history)
