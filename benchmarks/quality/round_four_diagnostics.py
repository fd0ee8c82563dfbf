"""Figures quoted in round four of docs/ablation.md: where the anchors around the relaxed point sit, and how large
the gradient of the stored ranks is.

    python -m benchmarks.quality.round_four_diagnostics

1. A model trained one epoch with the default (T-shirt vs rest, seed 0); on 30 random batches of 128, per anchor kind
   (the paper's ground truth, good, nearby and uniform anchors, and 16 draws around the relaxed point): the share of
   the IDW weight (power 1.5), the squared distance to the relaxed point per binary, and the exact AP minus the
   current configuration's.
2. One epoch on Shirt vs rest (seed 0) with the default and with the stored ranks (λ 1 and share): the median norm
   of the parameters' gradient over steps 1-10 and over steps 100 to the end.
"""

from __future__ import annotations

import statistics
from typing import Any

import torch

import uniloss
from uniloss_lab.train import Callback, RunInfo, StepInfo, make_config, train

from . import _harness as h
from .variants import RelaxedPointAnchors, make_loss

KINDS = (("ground truth", 1), ("good", 16), ("nearby", 16), ("uniform", 16), ("draws", 16))


def _config(positive_class: int) -> Any:
    return make_config(
        task="ap",
        dataset="fashion-mnist",
        data_dir=h.DATA_DIR,
        model="mlp",
        hidden=(500, 300),
        positive_class=positive_class,
        batch_size=128,
        epochs=1,
        optimizer="adam",
        lr=1e-3,
        eval_batch_size=2048,
        seed=0,
        device="cpu",
        threads=1,
    )


class _Keep(Callback):
    def __init__(self) -> None:
        self.run: RunInfo | None = None

    def on_train_begin(self, run: RunInfo) -> None:
        self.run = run


class _GradientNorms(Callback):
    def __init__(self) -> None:
        self.norms: list[float] = []

    def on_train_batch_end(self, step: StepInfo) -> None:
        grads = [p.grad.reshape(-1) for p in step.model.parameters() if p.grad is not None]
        self.norms.append(float(torch.cat(grads).norm()))


def anchor_kinds(batches: int = 30) -> None:
    metric = uniloss.metrics.AveragePrecision()
    keep = _Keep()
    train(_config(0), progress=False, callbacks=[keep], criterion=make_loss({"power": 1.5}, metric, 0))
    assert keep.run is not None
    images, labels = keep.run.train_set.tensors  # type: ignore[attr-defined]
    labels = (labels == 0).long()
    sampler = RelaxedPointAnchors(16, {"bad": 16})
    generator = torch.Generator().manual_seed(1)
    totals = torch.zeros(3, len(KINDS), dtype=torch.float64)
    with torch.no_grad():
        for _ in range(batches):
            index = torch.randperm(len(labels), generator=generator)[:128]
            scores = keep.run.model(images[index]).reshape(-1)
            layout = metric.comparisons(scores, labels[index])
            values = layout.values
            sampler.probabilities = torch.sigmoid(-values)
            wrong = values <= 0
            anchors = sampler.sample(wrong, None, generator).materialise(wrong)  # (K, P, N), True: wrong
            relaxed = 2 * torch.sigmoid(values) - 1
            squared = (relaxed - torch.where(anchors, -1.0, 1.0)).square().sum((1, 2)).double()
            weights = squared.pow(-0.75) / squared.pow(-0.75).sum()
            exact = metric.evaluate_counts(anchors.sum(-1), layout).double()
            current = metric.evaluate_counts(wrong.sum(-1).unsqueeze(0), layout).double()
            start = 0
            for kind, (_name, count) in enumerate(KINDS):
                part = slice(start, start + count)
                totals[0, kind] += weights[part].sum()
                totals[1, kind] += squared[part].mean() / values.numel()
                totals[2, kind] += (exact[part] - current).mean()
                start += count
    totals /= batches
    for kind, (name, count) in enumerate(KINDS):
        weight, distance, gap = totals[:, kind].tolist()
        print(
            f"{name:12s} x{count:2d}: IDW weight {weight:.3f}, squared distance per binary {distance:.3f}, "
            f"AP - current {gap:+.4f}"
        )


def gradient_norms() -> None:
    for variant in ({"power": 1.5}, {"power": 1.5, "dataset_ranks": 1.0}, {"power": 1.5, "dataset_ranks": "share"}):
        norms = _GradientNorms()
        callbacks: list[Callback] = [norms, *([h._PassIndices()] if "dataset_ranks" in variant else [])]
        loss = make_loss(variant, uniloss.metrics.AveragePrecision(), 0)
        history = train(_config(6), progress=False, callbacks=callbacks, criterion=loss)
        print(
            f"{variant}: median gradient norm {statistics.median(norms.norms[:10]):.2e} (steps 1-10), "
            f"{statistics.median(norms.norms[99:]):.2e} (steps 100-); test AP {history['test_metric'][-1]:.4f}"
        )


if __name__ == "__main__":
    anchor_kinds()
    gradient_norms()
