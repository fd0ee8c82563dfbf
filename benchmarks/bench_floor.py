"""UniLoss against the floor of the same work: a pairwise logistic loss over the very same comparisons.

The floor of a case is ``softplus(-c).mean()`` over the comparisons ``c`` that the metric lays out for the batch
(AP: every positive minus every negative; accuracy: the true class minus every other class; padding left out),
comparisons included: no loss over those pairs can do less. Both run forward + backward, one thread, in one
process, interleaved round by round so that load on a shared machine hits them alike; the table gives the medians
of their times, the median and quartiles of the per-round ratio (each round's UniLoss step over the floor step
run right after it: the drift of the load between rounds cancels) and the number of top-level tensor operations
of one step (``torch.profiler``: operators whose parent
is not an operator; the backward's operators sit under autograd nodes, which are not operators). UniLoss is
``uniloss.UniLoss(metric)`` with every default. Prints a Markdown table and writes JSON with the commit and versions.

    python benchmarks/bench_floor.py                         # every case, median of 30 after 3 warm-up steps
    python benchmarks/bench_floor.py --cases ap-128 accuracy-10 --repeats 100
    python benchmarks/bench_floor.py --profile ap-128        # UniLoss's top-level operations (and ms) by source
    python benchmarks/bench_floor.py --replay ap-128         # each step against a bare replay of its operations
    python benchmarks/bench_floor.py --device cuda           # GPU mode (clock read after a device sync)
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import time
from pathlib import Path

import cases
import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils._python_dispatch import TorchDispatchMode

import uniloss

CASES = {f"ap-{b}": ("ap", b) for b in (16, 128, 1024, 4096, 16384)}
CASES.update({"accuracy-10": ("accuracy", 10), "accuracy-100": ("accuracy", 100), "pck-8x16x64x64": ("pck", 64)})
CASES.update({"auroc-4096": ("auroc", 4096), "ndcg-64x64": ("ndcg", 64), "iou-8x256x256": ("iou", 256)})
RATIO_TARGET = 3.0  # UniLoss at most this many times the floor
OPS_TARGET = {"ap-128": 100, "accuracy-10": 100, "accuracy-100": 100}  # top-level operations, at most


def floor_loss(metric: uniloss.metrics.MetricRefactoring, scores: torch.Tensor, *targets: torch.Tensor) -> torch.Tensor:
    """Pairwise logistic loss ``softplus(-c)`` averaged over the metric's comparisons (padding left out)."""
    comparisons = metric.comparisons(scores, *targets)
    losses = torch.nn.functional.softplus(-comparisons.values)
    if comparisons.mask is None:
        return losses.mean()
    return torch.where(comparisons.mask, losses, 0.0).sum() / comparisons.mask.sum()


def _is_operator(event) -> bool:
    """A dispatched operator (``aten::add``): not a Python frame, an autograd node or a custom Function's scope."""
    name = event.name
    return (
        "::" in name
        and not event.is_python_function
        and not event.is_user_annotation
        and not name.startswith(("autograd::", "torch::autograd::"))
    )


def _parent(event):
    """The nearest enclosing event that is not a Python frame (those exist only with ``with_stack``)."""
    parent = event.cpu_parent
    while parent is not None and parent.is_python_function:
        parent = parent.cpu_parent
    return parent


def top_level_operators(step, with_stack: bool = False) -> list:
    """The profiler events of one ``step`` that are operators whose parent is not an operator."""
    with profile(activities=[ProfilerActivity.CPU], with_stack=with_stack) as prof:
        step()
    events = prof.events()
    return [e for e in events if _is_operator(e) and (_parent(e) is None or not _is_operator(_parent(e)))]


def _source(event) -> str:
    """Where a top-level operation comes from: the innermost frame in uniloss's source, else its autograd node."""
    parent = event.cpu_parent
    while parent is not None and parent.is_python_function:
        if "uniloss/" in parent.name and "benchmarks/" not in parent.name:
            return "uniloss/" + parent.name.rsplit("uniloss/", 1)[1]
        parent = parent.cpu_parent
    parent = _parent(event)
    return f"[{parent.name}]" if parent is not None else "[benchmark]"


def make_steps(name: str, device: torch.device, compile_engine: bool = False):
    """The UniLoss and floor steps (forward + backward) of case ``name``, and its number of binaries."""
    metric, inputs = cases.make_case(*CASES[name], device)
    scores, targets = inputs[0].requires_grad_(), inputs[1:]
    layout = metric.comparisons(scores.detach(), *targets)
    binaries = int(layout.mask.sum()) if layout.mask is not None else layout.num_binaries
    del layout
    torch.manual_seed(0)
    options = {"compile": True} if compile_engine else {}
    criterion = uniloss.UniLoss(metric, **options)

    def uniloss_step() -> None:
        scores.grad = None
        criterion(scores, *targets).backward()

    def floor_step() -> None:
        scores.grad = None
        floor_loss(metric, scores, *targets).backward()

    return uniloss_step, floor_step, binaries


def measure(name: str, device: torch.device, repeats: int, warmup: int, compile_engine: bool = False) -> dict:
    """Median times of UniLoss and the floor on case ``name``, interleaved, and their operation counts."""
    uniloss_step, floor_step, binaries = make_steps(name, device, compile_engine)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    start = time.perf_counter()
    uniloss_step()
    sync()
    first_ms = 1e3 * (time.perf_counter() - start)  # includes compilation with --compile
    for _ in range(warmup):
        uniloss_step()
        floor_step()
    times: dict[str, list[float]] = {"uniloss": [], "floor": []}
    for _ in range(repeats):
        for key, step in (("uniloss", uniloss_step), ("floor", floor_step)):
            sync()
            start = time.perf_counter()
            step()
            sync()
            times[key].append(1e3 * (time.perf_counter() - start))
    uniloss_ms, floor_ms = statistics.median(times["uniloss"]), statistics.median(times["floor"])
    # Each round's two steps run back to back: their ratio cancels the drift of the load between rounds.
    ratios = [u / f for u, f in zip(times["uniloss"], times["floor"], strict=True)]
    low, _, high = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else (ratios[0],) * 3
    return {
        "case": name,
        "binaries": binaries,
        "uniloss_ms": uniloss_ms,
        "floor_ms": floor_ms,
        "ratio": statistics.median(ratios),
        "ratio_quartiles": [low, high],
        "ratio_of_medians": uniloss_ms / floor_ms,
        "first_step_ms": first_ms,
        "uniloss_ops": len(top_level_operators(uniloss_step)),
        "floor_ops": len(top_level_operators(floor_step)),
    }


def _verdict(row: dict) -> str:
    missed = []
    if row["ratio"] > RATIO_TARGET:
        missed.append(f"ratio > {RATIO_TARGET:g}x")
    if row["case"] in OPS_TARGET and row["uniloss_ops"] > OPS_TARGET[row["case"]]:
        missed.append(f"ops > {OPS_TARGET[row['case']]}")
    return "met" if not missed else "missed: " + ", ".join(missed)


def print_profile(name: str, device: torch.device, steps: int = 10) -> None:
    """UniLoss's top-level operations of one step of case ``name`` by source line and operator, with their time.

    The counts are one step's; the times are CPU milliseconds per step measured by the profiler over ``steps``
    steps (the profiler's own cost included: compare shares, not absolute times).
    """
    uniloss_step, _, _ = make_steps(name, device)
    for _ in range(3):
        uniloss_step()
    events = top_level_operators(uniloss_step, with_stack=True)

    def several() -> None:
        for _ in range(steps):
            uniloss_step()

    timed = top_level_operators(several, with_stack=True)
    tables = (("source", _source), ("operator", lambda event: event.name))
    total = sum(event.cpu_time_total for event in timed) / 1e3 / steps
    print(f"{name}: {len(events)} top-level operations, {total:.3f} ms of operations per step under the profiler")
    for title, key in tables:
        counts = collections.Counter(key(event) for event in events)
        times: collections.Counter = collections.Counter()
        for event in timed:
            times[key(event)] += event.cpu_time_total / 1e3 / steps
        print(f"\n| {title} | operations | ms |\n|---|---|---|")
        for item, count in counts.most_common():
            print(f"| {item} | {count} | {times[item]:.3f} |")


class _Recorder(TorchDispatchMode):
    """Records every operation dispatched below autograd (views included) with its arguments."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        self.calls.append((func, args, kwargs))
        return func(*args, **kwargs)


def print_replay(name: str, device: torch.device, repeats: int) -> None:
    """Each step of case ``name`` next to a bare replay of the operations it dispatched (no Python of uniloss).

    The replay calls the recorded operators one after the other on the recorded arguments: what is left when
    every line of the library's Python, autograd's bookkeeping included, costs nothing. A step that takes as long
    as its replay spends its time in the operations, not in the code around them.
    """
    steps = dict(zip(("UniLoss", "floor"), make_steps(name, device)[:2], strict=True))
    print(f"{name}\n\n| step | dispatched operations | step ms | replay ms |\n|---|---|---|---|")
    for label, step in steps.items():
        for _ in range(3):
            step()
        recorder = _Recorder()
        with recorder:
            step()

        def replay(calls=recorder.calls) -> None:
            for func, args, kwargs in calls:
                func(*args, **kwargs)

        times: dict[str, list[float]] = {"step": [], "replay": []}
        for _ in range(repeats):
            for key, run in (("step", step), ("replay", replay)):
                start = time.perf_counter()
                run()
                times[key].append(1e3 * (time.perf_counter() - start))
        medians = {key: statistics.median(values) for key, values in times.items()}
        print(f"| {label} | {len(recorder.calls)} | {medians['step']:.3f} | {medians['replay']:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES), metavar="CASE")
    parser.add_argument("--profile", choices=list(CASES), metavar="CASE", help="print one case's operations by source")
    parser.add_argument(
        "--replay",
        choices=list(CASES),
        metavar="CASE",
        help="time one case's steps against a bare replay of the operations they dispatch",
    )
    parser.add_argument("--compile", action="store_true", help="UniLoss(..., compile=True); first step timed")
    parser.add_argument("--json", default=str(Path(__file__).resolve().parent / "results" / "floor.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.profile:
        print_profile(args.profile, device, min(args.repeats, 10))
        return
    if args.replay:
        print_replay(args.replay, device, args.repeats)
        return
    rows = []
    print("| case | binaries | UniLoss ms | floor ms | ratio | ratio quartiles | UniLoss ops | floor ops | target |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.cases:
        row = measure(name, device, args.repeats, args.warmup, args.compile)
        row["target"] = _verdict(row)
        rows.append(row)
        print(
            f"| {name} | {row['binaries']:,} | {row['uniloss_ms']:.3f} | {row['floor_ms']:.3f} | "
            f"{row['ratio']:.1f}x | {row['ratio_quartiles'][0]:.1f}-{row['ratio_quartiles'][1]:.1f}x | "
            f"{row['uniloss_ops']} | {row['floor_ops']} | {row['target']} |",
            flush=True,
        )
    meta = cases.metadata(args.device) | {"repeats": args.repeats, "compile": args.compile, "argv": sys.argv[1:]}
    if args.compile:
        firsts = ", ".join(f"{row['case']} {row['first_step_ms']:.0f}" for row in rows)
        print(f"\nfirst step (compilation included), ms: {firsts}")
    print(f"\ncommit {meta['commit']}, torch {meta['torch']}, {meta['threads']} thread(s), {meta['device']}")
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
