"""Benchmark cases and run metadata shared by the benchmark scripts (``bench_core.py``, ``bench_floor.py``).

A case is a metric and the inputs of one batch, built deterministically from a seed:

- ``("ap", N)`` / ``("auroc", N)``: ``N`` scores with 10% positives;
- ``("accuracy", C)``: batch 128 of ``C`` classes (``candidates=21`` when ``C > 21``);
- ``("pck", S)``: 8 x 16 heatmaps of ``S x S``, head size 6 pixels (about 29 positive pixels per joint);
- ``("ndcg", S)``: ``S`` queries of ``S`` items, graded relevance 0..3;
- ``("iou", S)``: binary masks of 8 x ``S`` x ``S``, a disc of foreground in each.
"""

from __future__ import annotations

import platform
import subprocess

import torch

import uniloss

KINDS = ("ap", "auroc", "accuracy", "pck", "ndcg", "iou")


def make_case(kind: str, size: int, device: torch.device) -> tuple[uniloss.metrics.MetricRefactoring, tuple]:
    """The metric and the ``(scores, *targets)`` of case ``(kind, size)`` on ``device``."""
    g = torch.Generator().manual_seed(0)
    if kind in ("ap", "auroc"):
        scores = torch.randn(size, generator=g)
        targets = torch.zeros(size, dtype=torch.long)
        targets[torch.randperm(size, generator=g)[: max(1, size // 10)]] = 1
        metric = uniloss.metrics.AveragePrecision() if kind == "ap" else uniloss.metrics.AUROC()
        inputs = (scores, targets)
    elif kind == "ndcg":  # size queries of size items, graded relevance 0..3 (a quarter of each)
        scores = torch.randn(size * size, generator=g)
        relevance = torch.randint(0, 4, (size * size,), generator=g)
        groups = torch.arange(size).repeat_interleave(size)
        metric, inputs = uniloss.metrics.NDCG(top_k=10), (scores, relevance, groups)
    elif kind == "iou":  # binary masks of 8 x size x size, a disc of foreground in each
        scores = torch.randn(8, size, size, generator=g)
        ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
        targets = (((ys - size / 2) ** 2 + (xs - size / 2) ** 2) < (size / 4) ** 2).long().expand(8, -1, -1)
        metric, inputs = uniloss.metrics.IoU(), (scores, targets.contiguous())
    elif kind == "accuracy":
        scores = torch.randn(128, size, generator=g)
        targets = torch.randint(0, size, (128,), generator=g)
        metric = uniloss.metrics.Accuracy(num_classes=size, candidates=21 if size > 21 else None)
        inputs = (scores, targets)
    elif kind == "pck":
        heatmaps = torch.randn(8, 16, size, size, generator=g)
        joints = torch.rand(8, 16, 2, generator=g) * (size - 1)
        visible = torch.rand(8, 16, generator=g) < 0.9
        head_size = torch.full((8,), 6.0)  # PCKh@0.5 radius 3 px, about 29 positive pixels per joint
        metric, inputs = uniloss.metrics.PCK(threshold=0.5), (heatmaps, joints, visible, head_size)
    else:
        raise ValueError(f"unknown case kind {kind!r}; known: {KINDS}")
    return metric, tuple(t.to(device) for t in inputs)


def metadata(device: str) -> dict:
    """Commit, versions, device and threads of a benchmark run."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return {
        "commit": commit,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": torch.cuda.get_device_name() if device == "cuda" else platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
    }
