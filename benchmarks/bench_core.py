"""Time and memory of the UniLoss engine next to a dense implementation (all anchors materialised).

Each measurement runs in a fresh subprocess so peak memory is its own. Peak memory is the peak of the bytes
held by tensors allocated during one step, after a first step: ``torch.cuda.max_memory_allocated`` on CUDA,
the profiler's allocation events on the CPU. The growth of the resident set over the first step is shown too
(it adds the allocator's cached pages, thread stacks and one-off initialisation, about 6 MiB). Prints a
Markdown table and writes JSON with the commit, versions and device.

    python benchmarks/bench_core.py                 # CPU, every case
    python benchmarks/bench_core.py --device cuda   # GPU mode
    python benchmarks/bench_core.py --cases ap-64 ap-4096 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import cases
import torch

import uniloss
from uniloss.anchors import PaperAnchors
from uniloss.engine.reference import dense_uniloss

CASES = {f"ap-{b}": ("ap", b) for b in (16, 64, 256, 1024, 4096)}
CASES.update({"accuracy-10": ("accuracy", 10), "accuracy-100": ("accuracy", 100), "pck-64x64": ("pck", 64)})
CASES.update({"auroc-4096": ("auroc", 4096), "ndcg-64x64": ("ndcg", 64), "iou-8x256x256": ("iou", 256)})
DENSE_LIMIT = 20_000_000  # binaries beyond which the dense path is not run (its memory is ~49 floats each)


def make_case(name: str, device: torch.device):
    return cases.make_case(*CASES[name], device)


def _peak_tensor_bytes(step) -> int:
    """Peak of the bytes held by tensors allocated during ``step`` (CPU), from the profiler's allocation events.

    The CPU counterpart of ``torch.cuda.max_memory_allocated() - memory_allocated()``: tensors only, none of the
    allocator's cached pages, thread stacks or one-off initialisation that the resident set also counts.
    """
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events = sorted(
        (event for event in prof.profiler.kineto_results.events() if event.name() == "[memory]"),
        key=lambda event: event.start_ns(),
    )
    live = peak = 0
    for event in events:
        live += event.nbytes()
        peak = max(peak, live)
    return peak


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() // 1024


def measure(name: str, impl: str, device_name: str, repeats: int) -> dict:
    device = torch.device(device_name)
    metric, inputs = make_case(name, device)
    scores, targets = inputs[0].requires_grad_(), inputs[1:]
    binaries = metric.comparisons(scores.detach(), *targets)
    num_binaries = int(binaries.mask.sum()) if binaries.mask is not None else binaries.num_binaries
    if impl == "dense" and num_binaries > DENSE_LIMIT:
        return {"case": name, "impl": impl, "binaries": num_binaries, "skipped": "too large for dense"}
    parts = {
        "relax": uniloss.Sigmoid(1.0),
        "anchors": PaperAnchors(),
        "interpolator": uniloss.InverseDistanceWeighting(1.0),
    }
    fn = uniloss.uniloss if impl == "fast" else dense_uniloss
    generator = torch.Generator(device).manual_seed(0)
    kwargs = {"validate_args": False} if impl == "fast" else {}

    def step() -> None:
        scores.grad = None
        fn(scores, *targets, metric=metric, generator=generator, **parts, **kwargs).backward()

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    del binaries
    sync()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        step()
        sync()
        peak = torch.cuda.max_memory_allocated() - before
        rss = peak
    else:
        before = _rss_kib()
        step()
        rss = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
        peak = _peak_tensor_bytes(step)
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - start)
    return {
        "case": name,
        "impl": impl,
        "binaries": num_binaries,
        "median_ms": 1e3 * statistics.median(times),
        "peak_bytes": max(peak, 0),
        "bytes_per_binary": max(peak, 0) / max(num_binaries, 1),
        "rss_bytes_per_binary": max(rss, 0) / max(num_binaries, 1),
    }


def _run_child(name: str, impl: str, device: str, repeats: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", name, impl, "--device", device, "--repeats", str(repeats)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--cases", nargs="*", default=list(CASES))
    parser.add_argument("--json", default=str(Path(__file__).resolve().parent / "results" / "core.json"))
    parser.add_argument("--child", nargs=2, metavar=("CASE", "IMPL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], args.child[1], args.device, args.repeats)))
        return
    rows = []
    print(
        "| case | binaries | UniLoss ms | dense ms | speed-up | UniLoss peak MiB | bytes/binary | RSS bytes/binary "
        "| dense peak MiB |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.cases:
        fast = _run_child(name, "fast", args.device, args.repeats)
        dense = _run_child(name, "dense", args.device, max(3, args.repeats // 2))
        rows.append({"fast": fast, "dense": dense})
        dense_ms = dense.get("median_ms")
        speedup = f"{dense_ms / fast['median_ms']:.1f}x" if dense_ms else "-"
        dense_text = f"{dense_ms:.1f}" if dense_ms else dense.get("skipped", "-")
        dense_mem = f"{dense['peak_bytes'] / 2**20:.1f}" if dense_ms else "-"
        print(
            f"| {name} | {fast['binaries']:,} | {fast['median_ms']:.2f} | {dense_text} | {speedup} | "
            f"{fast['peak_bytes'] / 2**20:.1f} | {fast['bytes_per_binary']:.1f} | "
            f"{fast['rss_bytes_per_binary']:.1f} | {dense_mem} |",
            flush=True,
        )
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"meta": cases.metadata(args.device), "rows": rows}, indent=1))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
