"""Does the AP gap come from fitting or from generalising? Training-set AP next to test AP, per epoch.

    python benchmarks/quality/train_fit.py            # 3 seeds x 2 classes x 4 losses, about 6 minutes on 2 cores
    python benchmarks/quality/train_fit.py --report-only

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
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as h

JSON = Path(__file__).resolve().parent / "train_fit.json"
SEEDS = (0, 1, 2)
CLASSES = (0, 6)
BATCH, EPOCHS = 128, 3
LOSSES = [
    ("binary cross-entropy", {"loss": "bce"}),
    ("UniLoss (defaults)", {}),
    ("UniLoss, memory 512", {"memory": 512}),
    ("pairwise logistic", {"loss": "pairwise"}),
]


def fit(args: tuple[int, dict[str, Any], int]) -> tuple[str, dict[str, list[float]]]:
    """Train one (class, loss, seed); training-split and test-split AP after each epoch."""
    positive, variant, seed = args
    torch.set_num_threads(1)
    import uniloss
    from uniloss.functional import average_precision
    from uniloss.models import build_model

    x_train, y_train, x_test, y_test = h._data()
    y_train, y_test = (y_train == positive).long(), (y_test == positive).long()
    torch.manual_seed(seed)
    model = build_model("mlp", in_features=784, hidden=(500, 300), out_features=1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = h.make_loss(variant, uniloss.metrics.AveragePrecision(), seed)
    order_gen = torch.Generator().manual_seed(seed)
    curves: dict[str, list[float]] = {"train": [], "test": []}
    for _epoch in range(EPOCHS):
        model.train()
        order = torch.randperm(x_train.shape[0], generator=order_gen)
        for first in range(0, order.numel() - 1, BATCH):
            index = order[first : first + BATCH]
            loss = loss_fn(model(x_train[index]), y_train[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
                scores = torch.cat([model(x[i : i + 4096]) for i in range(0, x.shape[0], 4096)])
                curves[split].append(float(average_precision(scores, y, validate_args=False)))
    return json.dumps([positive, variant, seed], sort_keys=True), curves


def report(results: dict[str, dict[str, list[float]]]) -> str:
    """Markdown table: mean AP over the seeds after each epoch, training split / test split, and the gaps."""
    lines = [
        "| class | loss | train AP, epochs 1 / 2 / 3 | test AP, epochs 1 / 2 / 3 | train − BCE | test − BCE |",
        "|---|---|---|---|---|---|",
    ]

    def curve(positive: int, variant: dict[str, Any], split: str) -> list[float]:
        runs = [results[json.dumps([positive, variant, seed], sort_keys=True)][split] for seed in SEEDS]
        return [statistics.fmean(epoch) for epoch in zip(*runs, strict=True)]

    for positive in CLASSES:
        base = {split: curve(positive, LOSSES[0][1], split)[-1] for split in ("train", "test")}
        for label, variant in LOSSES:
            train, test = curve(positive, variant, "train"), curve(positive, variant, "test")
            lines.append(
                f"| {h.CLASS_NAMES[positive]} | {label} | {' / '.join(f'{v:.4f}' for v in train)} | "
                f"{' / '.join(f'{v:.4f}' for v in test)} | {100 * (train[-1] - base['train']):+.2f} | "
                f"{100 * (test[-1] - base['test']):+.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    results: dict[str, dict[str, list[float]]] = json.loads(JSON.read_text()) if JSON.exists() else {}
    if not args.report_only:
        jobs = [(c, v, s) for _label, v in LOSSES for c in CLASSES for s in SEEDS]
        todo = [job for job in jobs if json.dumps(list(job), sort_keys=True) not in results]
        h._data()
        with ProcessPoolExecutor(args.workers) as pool:
            for done, (key, curves) in enumerate(pool.map(fit, todo), start=1):
                results[key] = curves
                JSON.write_text(json.dumps(results, indent=0))
                print(f"[{done}/{len(todo)}] {key}: train {curves['train'][-1]:.4f} test {curves['test'][-1]:.4f}")
    print(report(results))


if __name__ == "__main__":
    main()
