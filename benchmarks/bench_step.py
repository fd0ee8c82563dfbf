"""What UniLoss adds to a training step, and the loss alone at large batches (GPU mode of the benchmarks).

    python benchmarks/bench_step.py --device cuda          # the GPU figures of docs/results.md
    python benchmarks/bench_step.py --device cpu --small   # a quick look on the CPU

Rows: AP loss forward+backward at batch 4096 and 65536 (10% positives; compact and static layouts),
accuracy with 1000 classes at batch 1024 (all classes and 21 candidates), and a ResNet-20 training step
(batch 128, CIFAR-sized input) with cross-entropy vs with UniLoss accuracy. Median of repeated runs, the
device synchronised before each clock read; writes JSON with the commit, versions and device.
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
from uniloss_lab.models import ResNet20


def _timer(device: torch.device, fn, repeats: int) -> float:
    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(2):
        fn()
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def loss_rows(device: torch.device, repeats: int, small: bool) -> list[dict]:
    g = torch.Generator(device).manual_seed(0)
    rows = []
    for batch in (4096,) if small else (4096, 65536):
        for layout in ("compact", "static"):
            if layout == "static" and batch > 16384:
                continue  # N^2 entries: 4.3e9 at 65536
            scores = torch.randn(batch, device=device, generator=g, requires_grad=True)
            targets = (torch.rand(batch, device=device, generator=g) < 0.1).long()
            crit = uniloss.UniLoss(uniloss.metrics.AveragePrecision(layout=layout), validate_args=False, generator=g)
            ms = _timer(device, lambda c=crit, s=scores, t=targets: c(s, t).backward(), repeats)
            rows.append({"case": f"AP loss, batch {batch}, {layout}", "ms": ms})
    for candidates in (None, 21):
        scores = torch.randn(1024, 1000, device=device, generator=g, requires_grad=True)
        targets = torch.randint(0, 1000, (1024,), device=device, generator=g)
        metric = uniloss.metrics.Accuracy(num_classes=1000, candidates=candidates)
        crit = uniloss.UniLoss(metric, validate_args=False, generator=g)
        ms = _timer(device, lambda c=crit, s=scores, t=targets: c(s, t).backward(), repeats)
        rows.append({"case": f"accuracy loss, 1000 classes, batch 1024, candidates {candidates}", "ms": ms})
    return rows


def step_rows(device: torch.device, repeats: int) -> list[dict]:
    torch.manual_seed(0)
    model = ResNet20(num_classes=10).to(device)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    images = torch.randn(128, 3, 32, 32, device=device)
    labels = torch.randint(0, 10, (128,), device=device)
    g = torch.Generator(device).manual_seed(0)
    losses = {
        "cross-entropy": torch.nn.CrossEntropyLoss(),
        "UniLoss accuracy": uniloss.UniLoss(uniloss.metrics.Accuracy(num_classes=10), validate_args=False, generator=g),
    }
    rows = []
    for name, criterion in losses.items():

        def step(criterion=criterion) -> None:
            optimiser.zero_grad()
            criterion(model(images), labels).backward()
            optimiser.step()

        rows.append({"case": f"ResNet-20 step, batch 128, {name}", "ms": _timer(device, step, repeats)})
    rows.append({"case": "UniLoss overhead on the step", "ratio": rows[1]["ms"] / rows[0]["ms"] - 1})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--small", action="store_true", help="skip the largest batch (for CPUs)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    device = torch.device(args.device)
    rows = loss_rows(device, args.repeats, args.small) + step_rows(device, args.repeats)
    print("| case | median ms |\n|---|---|")
    for row in rows:
        value = f"{row['ms']:.2f}" if "ms" in row else f"{100 * row['ratio']:+.1f}%"
        print(f"| {row['case']} | {value} |")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    meta = {
        "commit": commit,
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name() if device.type == "cuda" else platform.machine(),
    }
    path = Path(args.json or f"benchmarks/results/step-{device.type}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
