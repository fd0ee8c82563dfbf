"""Temperature and power for UniLoss accuracy (and PCKh), through the library's own training loop.

    python benchmarks/quality/ablate_tasks.py            # digits accuracy; writes ablation_tasks.json, prints a table
    python benchmarks/quality/ablate_tasks.py 2 pck      # also the synthetic-keypoint PCKh (about 30 s a run)

Settings: the quality suite's digits accuracy (small CNN width 16, 8 epochs, Adam 1e-3, batch 128) and, on request,
its keypoints PCKh (one-stack hourglass, 1,024 images, batch 32, 5 epochs); seeds 0 and 1, one thread per run.
"""

from __future__ import annotations

import json
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
JSON = HERE / "ablation_tasks.json"
SEEDS = (0, 1)
VARIANTS = [{"temperature": 1.0, "power": 1.0}, {"temperature": 1.0, "power": 2.0}, {"temperature": 2.0, "power": 1.0}]
BASELINE = {"loss": "baseline"}


def _settings(pck: bool = True) -> dict[str, Any]:
    from uniloss.train.bench import bench_settings, setting_names

    settings = bench_settings("quality")
    return {
        name: config
        for name, config in zip(setting_names(settings), settings, strict=True)
        if "digits" in name or ("pck" in name and pck)
    }


def _run(args: tuple[str, dict[str, Any], int]) -> tuple[str, float]:
    torch.set_num_threads(1)
    from uniloss.train.loop import train

    name, variant, seed = args
    config = _settings()[name].replace(seed=seed, device="cpu", **variant)
    return json.dumps([name, variant, seed], sort_keys=True), float(train(config, progress=False)["final_metric"])


def main() -> None:
    results: dict[str, float] = json.loads(JSON.read_text()) if JSON.exists() else {}
    names = list(_settings(pck="pck" in sys.argv[2:]))
    jobs = [(n, v, s) for n in names for v in [BASELINE, *VARIANTS] for s in SEEDS]
    todo = [job for job in jobs if json.dumps(list(job), sort_keys=True) not in results]
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    with ProcessPoolExecutor(workers) as pool:
        for key, value in pool.map(_run, todo):
            results[key] = value
            JSON.write_text(json.dumps(results, indent=0))
            print(key, f"{value:.4f}", file=sys.stderr, flush=True)
    print("| variant | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for variant in [BASELINE, *VARIANTS]:
        cells = []
        for name in names:
            values = [results[json.dumps([name, variant, s], sort_keys=True)] for s in SEEDS]
            cells.append(f"{statistics.fmean(values):.4f} ± {statistics.stdev(values):.4f}")
        label = (
            "baseline (CE / heatmap MSE)"
            if variant == BASELINE
            else f"UniLoss t {variant['temperature']:g}, p {variant['power']:g}"
        )
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
