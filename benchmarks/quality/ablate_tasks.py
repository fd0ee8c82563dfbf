"""Interpolation power for UniLoss accuracy (and PCKh), through the library's own training loop.

    python -m benchmarks.quality.ablate_tasks           # accuracy; writes ablation_tasks.json, prints a table
    python -m benchmarks.quality.ablate_tasks 2 pck     # also the synthetic-keypoint PCKh (about 2 min a run)

Settings: the quality suite's Fashion-MNIST accuracy (small CNN width 16, first 10,000 training images, 3 epochs)
and digits accuracy (small CNN width 16, 8 epochs), batch 128, Adam at 1e-3 and 3e-3 (the suite's grid) and, on
request, its keypoints PCKh (one-stack hourglass, 1,024 images, batch 32, 5 epochs); seeds 0, 1 and 2, one thread
per run. ``docs/ablation.md`` shows the table (``python -m benchmarks.quality.ablate --report-only`` rewrites it
from the JSON).
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import torch

from . import _harness as h

HERE = Path(__file__).resolve().parent
JSON = HERE / "ablation_tasks.json"
SEEDS = (0, 1, 2)
LRS = (1e-3, 3e-3)
VARIANTS: list[dict[str, Any]] = [
    *({"loss": "baseline", "lr": lr} for lr in LRS),
    *({"power": power, "lr": lr} for power in (1.0, 2.0) for lr in LRS),
]


_EPOCHS = {"accuracy-fashion-mnist": 3, "accuracy-digits": 8, "pck-keypoints": 5}


def settings(pck: bool = True) -> dict[str, Any]:
    """The quality suite's accuracy settings (and PCKh), by name."""
    from uniloss_lab.train import suite_settings
    from uniloss_lab.train.compare import setting_names

    configs = suite_settings("quality")
    return {
        name: config.replace(epochs=_EPOCHS[name])  # the budgets of docs/ablation.md, shorter than the suite's now
        for name, config in zip(setting_names(configs), configs, strict=True)
        if "accuracy" in name or ("pck" in name and pck)
    }


def label(variant: dict[str, Any]) -> str:
    """A row label: the loss, its power and the learning rate."""
    loss = "baseline (CE / heatmap MSE)" if variant.get("loss") == "baseline" else f"UniLoss p {variant['power']:g}"
    return f"{loss}, lr {variant['lr']:g}"


def _run(args: tuple[str, dict[str, Any], int]) -> tuple[str, float]:
    torch.set_num_threads(1)
    from uniloss_lab.train import train

    name, variant, seed = args
    config = settings()[name].replace(seed=seed, device="cpu", **variant)
    return json.dumps([name, variant, seed], sort_keys=True), float(train(config, progress=False)["final_metric"])


def main() -> None:
    results: dict[str, float] = json.loads(JSON.read_text()) if JSON.exists() else {}
    names = list(settings(pck="pck" in sys.argv[2:]))
    jobs = [(n, v, s) for n in names for v in VARIANTS for s in SEEDS]
    todo = [job for job in jobs if json.dumps(list(job), sort_keys=True) not in results]
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    with ProcessPoolExecutor(workers) as pool:
        for key, value in pool.map(_run, todo):
            results[key] = value
            JSON.write_text(json.dumps(results, indent=0))
            print(key, f"{value:.4f}", file=sys.stderr, flush=True)
    print("\n".join(table()))


def table() -> list[str]:
    """The Markdown table of ``ablation_tasks.json``: one row per variant, one column per setting."""
    if not JSON.exists():
        return []
    results = json.loads(JSON.read_text())
    names = list(dict.fromkeys(json.loads(key)[0] for key in results))
    lines = ["| variant | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for variant in VARIANTS:
        cells = []
        for name in names:
            keys = [json.dumps([name, variant, seed], sort_keys=True) for seed in SEEDS]
            cells.append(h.fmt([results[key] for key in keys]) if all(key in results for key in keys) else "—")
        lines.append(f"| {label(variant)} | " + " | ".join(cells) + " |")
    return lines


if __name__ == "__main__":
    main()
