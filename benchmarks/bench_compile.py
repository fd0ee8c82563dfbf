"""One SGD step of an MLP with UniLoss(AP): eager, torch.compile(model), and binary cross-entropy for scale.

    python benchmarks/bench_compile.py                 # batches 128 and 512, 1 thread, 20 rounds of 10 steps

Rounds interleave the variants so that load on a shared machine hits them alike; prints the median ms per
step. The engine is wrapped in ``torch.compiler.disable``: the compiled step breaks once, at the loss.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import uniloss


def make_step(batch: int, compiled: bool, use_uniloss: bool):
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128), torch.nn.ReLU(), torch.nn.Linear(128, 1)
    )
    forward = torch.compile(model) if compiled else model
    optimiser = torch.optim.SGD(model.parameters(), lr=0.01)
    inputs = torch.randn(batch, 64)
    labels = (torch.rand(batch) < 0.3).long()
    if use_uniloss:
        criterion = uniloss.UniLoss(
            uniloss.metrics.AveragePrecision(), validate_args=False, generator=torch.Generator().manual_seed(0)
        )
    else:
        bce = torch.nn.BCEWithLogitsLoss()

        def criterion(scores, targets):
            return bce(scores, targets.float())

    def step() -> None:
        optimiser.zero_grad()
        criterion(forward(inputs).squeeze(1), labels).backward()
        optimiser.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| batch | UniLoss eager | UniLoss, compile(model) | BCE eager |\n|---|---|---|---|")
    for batch in args.batches:
        variants = {
            "eager": make_step(batch, False, True),
            "compiled": make_step(batch, True, True),
            "bce": make_step(batch, False, False),
        }
        for step in variants.values():
            for _ in range(3):
                step()  # warm-up, including compilation
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, step in variants.items():
                start = time.perf_counter()
                for _ in range(args.steps):
                    step()
                times[name].append(1e3 * (time.perf_counter() - start) / args.steps)
        medians = {name: statistics.median(values) for name, values in times.items()}
        print(f"| {batch} | {medians['eager']:.1f} ms | {medians['compiled']:.1f} ms | {medians['bce']:.1f} ms |")


if __name__ == "__main__":
    main()
