"""Does the AP gap come from fitting or from generalising? Training-set AP next to test AP, per epoch.

    python -m benchmarks.quality.train_fit            # 3 seeds x 2 classes x 4 losses, about 6 minutes on 2 cores
    python -m benchmarks.quality.train_fit --report-only

Trains the ablation's Fashion-MNIST setting (MLP 784-500-300-1, Adam 1e-3, batch 128, 3 epochs) with binary
cross-entropy, UniLoss's defaults, UniLoss with ``memory=512`` and the pairwise logistic loss, and after every
epoch scores the whole training split (60,000 images) and the test split with the same model. If UniLoss trailed
BCE only on the test split, the surrogate would fit the batch metric and generalise worse; if it trails on the
training split too, the surrogate optimises the metric it stands for less well than BCE does in the same steps.
Results are kept in ``train_fit.json`` next to this script (a rerun skips finished runs).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from . import _harness as h

JSON = Path(__file__).resolve().parent / "train_fit.json"
SEEDS = (0, 1, 2)
SETTINGS = [{"positive_class": c, "batch_size": 128, "epochs": 3, "score_train": True} for c in (0, 6)]
LOSSES = [
    ("binary cross-entropy", {"loss": "bce"}),
    ("UniLoss (defaults)", {}),
    ("UniLoss, memory 512", {"memory": 512}),
    ("pairwise logistic", {"loss": "pairwise"}),
]


def report(results: dict[str, Any]) -> str:
    """Markdown table: mean AP over the seeds after each epoch, training split / test split, and the gaps."""
    lines = [
        "| class | loss | train AP, epochs 1 / 2 / 3 | test AP, epochs 1 / 2 / 3 | train − BCE | test − BCE |",
        "|---|---|---|---|---|---|",
    ]

    def curve(setting: dict[str, Any], variant: dict[str, Any], split: str) -> list[float]:
        runs = [results[h._key(setting, variant, seed)][f"{split}_metric"] for seed in SEEDS]
        return [statistics.fmean(epoch) for epoch in zip(*runs, strict=True)]

    for setting in SETTINGS:
        base = {split: curve(setting, LOSSES[0][1], split)[-1] for split in ("train", "test")}
        for label, variant in LOSSES:
            train, test = curve(setting, variant, "train"), curve(setting, variant, "test")
            lines.append(
                f"| {h.CLASS_NAMES[setting['positive_class']]} | {label} | {' / '.join(f'{v:.4f}' for v in train)} | "
                f"{' / '.join(f'{v:.4f}' for v in test)} | {100 * (train[-1] - base['train']):+.2f} | "
                f"{100 * (test[-1] - base['test']):+.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.report_only:
        results = json.loads(JSON.read_text())
    else:
        jobs = [(s, v, seed) for _label, v in LOSSES for s in SETTINGS for seed in SEEDS]
        results = h.run_jobs(JSON, jobs, workers=args.workers)
    print(report(results))


if __name__ == "__main__":
    main()
