"""Cost of a from_function metric against the hand-written refactoring: one forward + backward of the loss.

Both losses use the hand-written metric's default parts (relaxation, anchors, interpolator), so the two differ
only in the refactoring. They run in one process, one thread, interleaved round by round (load on a shared
machine hits both alike); the table gives the median time of each and the median of the per-round ratios.
Prints a Markdown table and writes JSON with the commit and versions.

    OMP_NUM_THREADS=1 python benchmarks/bench_from_function.py                 # 16, 128, 1024; 15 rounds
    OMP_NUM_THREADS=1 python benchmarks/bench_from_function.py --sizes 64 --repeats 30
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import time
from pathlib import Path

import torch

import uniloss


def average_precision(scores, labels):
    rel = labels[scores.argsort(descending=True)].float()
    precision = rel.cumsum(0) / torch.arange(1, len(rel) + 1, device=scores.device)
    return (precision * rel).sum() / rel.sum().clamp(min=1)


def accuracy(scores, classes):
    return (scores.argmax(1) == classes).float().mean()


def precision_at_3(scores, labels):
    return labels[scores.topk(3).indices].float().mean()


def _case(name, size, generator, device):
    if name == "accuracy":
        scores, targets = torch.randn(size, 10, generator=generator), torch.randint(0, 10, (size,), generator=generator)
        return accuracy, uniloss.metrics.Accuracy(num_classes=10), scores.to(device), (targets.to(device),), ()
    scores, labels = torch.randn(size, generator=generator), (torch.rand(size, generator=generator) < 0.3).long()
    if name == "ap":
        return average_precision, uniloss.metrics.AveragePrecision(), scores.to(device), (labels.to(device),), ()
    groups = torch.zeros(size, dtype=torch.long, device=device)
    return precision_at_3, uniloss.metrics.PrecisionAtK(3), scores.to(device), (labels.to(device),), (groups,)


def _step(criterion, scores, targets, device):
    inputs = scores.detach().clone().requires_grad_()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    criterion(inputs, *targets).backward()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def measure(name, size, repeats, device):
    """Median ms of the hand-written and the auto loss, and the median per-round ratio."""
    fn, hand, scores, targets, extra = _case(name, size, torch.Generator().manual_seed(0), device)
    parts = vars(hand.default_parts())
    losses = {
        "hand": (uniloss.UniLoss(hand, generator=torch.Generator(device).manual_seed(0), **parts), targets + extra),
        "auto": (
            uniloss.UniLoss(uniloss.from_function(fn), generator=torch.Generator(device).manual_seed(0), **parts),
            targets,
        ),
    }
    times = {"hand": [], "auto": []}
    for round_ in range(repeats + 3):
        for key, (criterion, batch) in losses.items():
            elapsed = _step(criterion, scores, batch, device)
            if round_ >= 3:  # warm-up: the first call traces, tests the pruning, verifies the ideal
                times[key].append(elapsed)
    ratios = [a / h for a, h in zip(times["auto"], times["hand"], strict=True)]
    binaries = losses["auto"][0].metric.comparisons(scores, *targets).values.numel()
    return {
        "case": f"{name}-{size}",
        "hand_ms": 1e3 * statistics.median(times["hand"]),
        "auto_ms": 1e3 * statistics.median(times["auto"]),
        "ratio": statistics.median(ratios),
        "binaries": binaries,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", default=["ap", "accuracy", "p@3"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[16, 128, 1024])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "from_function.json")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(1)
    rows = [measure(name, size, args.repeats, device) for name in args.cases for size in args.sizes]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"commit {commit}, torch {torch.__version__}, {device}, {platform.processor() or platform.machine()}")
    print("| case | binaries | hand-written ms | from_function ms | ratio (median of rounds) |")
    print("|---|---|---|---|---|")
    for row in rows:
        times = f"{row['hand_ms']:.2f} | {row['auto_ms']:.2f}"
        print(f"| {row['case']} | {row['binaries']} | {times} | {row['ratio']:.1f}x |")
    record = {"commit": commit, "torch": torch.__version__, "device": str(device), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
