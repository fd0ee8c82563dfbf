"""Shared harness of the quality ablations: Fashion-MNIST AP runs through ``uniloss_lab.train.train``, and a job runner.

Every ablation script describes runs as ``(setting, variant, seed)``; a *variant* is a dict of loss options (see
:mod:`benchmarks.quality.variants`). :func:`train_ap` trains it with the library's own loop: the variant's loss is
the ``criterion``, the per-step cosine schedule and the re-scored examples (``fresh``) are callbacks, and the
epochs are drawn from one generator seeded with the seed (``epoch_order``), as the runs in ``ablation.json`` were.

A *setting* is ``{"positive_class", "batch_size", "epochs"}`` on Fashion-MNIST with the MLP 784-500-300-1, and
optionally ``"score_train": True`` to score the whole training split after each epoch too (``train_metric``).
Results (test AP per epoch, training seconds per epoch) are appended to a JSON file as they finish, so an
interrupted ablation keeps its runs and a rerun skips them. Fashion-MNIST is read from the loader's default folder,
or from ``UNILOSS_FASHION_MNIST_DIR``.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import torch

import uniloss
from uniloss_lab.train import Callback, NonFiniteLossError, RunInfo, StepInfo, evaluate, make_config, train

from .variants import make_loss

CLASS_NAMES = {0: "T-shirt", 6: "Shirt"}
DATA_DIR = os.environ.get("UNILOSS_FASHION_MNIST_DIR")


class _Record(Callback):
    """Keeps each epoch's test AP and training seconds, and with ``score_train`` the AP of the whole training split."""

    def __init__(self, score_train: bool) -> None:
        self.score_train = score_train
        self.test: list[float] = []
        self.seconds: list[float] = []
        self.train: list[float] = []

    def on_epoch_end(self, run: RunInfo) -> None:
        self.test.append(run.history["test_metric"][-1])
        self.seconds.append(run.history["epoch_time"][-1])
        if self.score_train:
            self.train.append(evaluate(run.model, run.task, run.train_set, batch_size=2048))


class _CosinePerStep(Callback):
    """Anneals the learning rate to zero over the run's steps, one ``CosineAnnealingLR`` step per training step."""

    def __init__(self) -> None:
        self.schedule: torch.optim.lr_scheduler.CosineAnnealingLR | None = None

    def on_train_begin(self, run: RunInfo) -> None:
        steps = run.config.epochs * math.ceil(len(run.train_set) / run.config.batch_size)  # type: ignore[arg-type]
        self.schedule = torch.optim.lr_scheduler.CosineAnnealingLR(run.optimizer, steps)

    def on_train_batch_end(self, step: StepInfo) -> None:
        if self.schedule is not None:
            self.schedule.step()


class _FreshScores(Callback):
    """The loss of the batch ranked with the last ``size`` training examples re-scored by the current model.

    A criterion and a callback: each call scores the remembered examples again (no gradient) and appends them to
    the batch; after each step the batch's indices become the most recent remembered ones.
    """

    def __init__(self, loss: Callable[..., torch.Tensor], size: int, positive: int) -> None:
        self.loss, self.size, self.positive = loss, size, positive
        self.recent = torch.zeros(0, dtype=torch.long)
        self.model: torch.nn.Module | None = None
        self.images = self.labels = torch.zeros(0)

    def on_train_begin(self, run: RunInfo) -> None:
        self.model = run.model
        images, labels = run.train_set.tensors  # type: ignore[attr-defined]
        self.images, self.labels = images, (labels == self.positive).long()

    def __call__(self, scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.model is None:
            raise ValueError("_FreshScores must also be passed as a callback of the run.")
        with torch.no_grad():
            remembered = self.model(self.images[self.recent]).reshape(-1)
        pooled = torch.cat([scores.reshape(-1), remembered])
        return self.loss(pooled, torch.cat([labels, self.labels[self.recent]]))

    def on_train_batch_end(self, step: StepInfo) -> None:
        self.recent = torch.cat([step.indices, self.recent])[: self.size]


class _PassIndices(Callback):
    """Has the training loop pass each batch's training indices to the criterion as its last argument.

    The loop does so for a task whose ``needs_index`` is set (LibAUC's peer); a criterion passed to ``train`` has no
    public way to ask for them, so this callback sets the flag on the run's task.
    """

    def on_train_begin(self, run: RunInfo) -> None:
        run.task.needs_index = True


def train_ap(setting: dict[str, Any], variant: dict[str, Any], seed: int) -> dict[str, Any]:
    """Train the MLP 784-500-300-1 on Fashion-MNIST ``positive_class`` vs rest; test AP after each epoch."""
    positive = setting["positive_class"]
    config = make_config(
        task="ap",
        dataset="fashion-mnist",
        data_dir=DATA_DIR,
        model="mlp",
        hidden=(500, 300),
        positive_class=positive,
        batch_size=setting["batch_size"],
        epochs=setting["epochs"],
        optimizer="adam",
        lr=float(variant.get("lr", 1e-3)),
        eval_batch_size=2048,
        seed=seed,
        device="cpu",
        threads=1,
    )
    metric = uniloss.metrics.AveragePrecision(mode=variant.get("mode", "step"))
    loss = make_loss({k: v for k, v in variant.items() if k not in ("fresh", "schedule", "mode")}, metric, seed)
    record = _Record(bool(setting.get("score_train")))
    callbacks: list[Callback] = [record]
    if variant.get("schedule") == "cosine":
        callbacks.append(_CosinePerStep())
    if "dataset_ranks" in variant:
        callbacks.append(_PassIndices())
    if variant.get("fresh"):
        loss = fresh = _FreshScores(loss, int(variant["fresh"]), positive)
        callbacks.append(fresh)
    order = torch.Generator().manual_seed(seed)  # one generator for every epoch, as ablation.json's runs had

    def epoch_order(epoch: int, size: int) -> torch.Tensor:
        return torch.randperm(size, generator=order)

    try:
        train(config, progress=False, callbacks=callbacks, criterion=loss, epoch_order=epoch_order)
    except NonFiniteLossError:
        return {"test_metric": [*record.test, math.nan], "epoch_time": record.seconds, "diverged": True}
    result = {"test_metric": record.test, "epoch_time": record.seconds}
    return {**result, "train_metric": record.train} if setting.get("score_train") else result


def _key(setting: dict[str, Any], variant: dict[str, Any], seed: int) -> str:
    return json.dumps([setting, variant, seed], sort_keys=True)


def _job(args: tuple[Callable[..., dict[str, Any]], dict[str, Any], dict[str, Any], int]) -> tuple[str, dict[str, Any]]:
    trainer, setting, variant, seed = args
    return _key(setting, variant, seed), trainer(setting, variant, seed)


def run_jobs(
    path: Path,
    jobs: Sequence[tuple[dict[str, Any], dict[str, Any], int]],
    trainer: Callable[..., dict[str, Any]] = train_ap,
    workers: int = 2,
) -> dict[str, dict[str, Any]]:
    """Run ``(setting, variant, seed)`` jobs not already in the JSON file ``path``, ``workers`` at a time."""
    results: dict[str, dict[str, Any]] = json.loads(path.read_text()) if path.exists() else {}
    todo = [(trainer, s, v, seed) for s, v, seed in jobs if _key(s, v, seed) not in results]
    print(f"{len(jobs) - len(todo)} runs cached, {len(todo)} to run", file=sys.stderr, flush=True)
    with ProcessPoolExecutor(workers) as pool:
        for done, (key, result) in enumerate(pool.map(_job, todo), start=1):
            results[key] = result
            path.write_text(json.dumps(results, indent=0))
            print(f"[{done}/{len(todo)}] {key} -> {result['test_metric'][-1]:.4f}", file=sys.stderr, flush=True)
    return results


def lookup(
    results: dict[str, dict[str, Any]], setting: dict[str, Any], variant: dict[str, Any], seeds: Sequence[int]
) -> tuple[list[float], float]:
    """Final test metrics and median s/epoch of one (setting, variant) over ``seeds``."""
    runs = [results[_key(setting, variant, seed)] for seed in seeds]
    finals = [run["test_metric"][-1] for run in runs]
    times = [t for run in runs for t in run["epoch_time"]]
    return finals, statistics.median(times) if times else math.nan


def fmt(values: Sequence[float]) -> str:
    """``mean ± sd`` of final metrics (``diverged`` when a run diverged)."""
    if any(not math.isfinite(v) for v in values):
        return "diverged"
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.4f} ± {sd:.4f}"


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if all(math.isfinite(v) for v in values) else math.nan
