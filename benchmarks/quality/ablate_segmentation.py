"""UniLoss IoU on the quality suite's segmentation setting: temperature, power, anchors and row layout, beside MONAI.

    python -m benchmarks.quality.ablate_segmentation            # writes ablation_segmentation.json, prints a table
    python -m benchmarks.quality.ablate_segmentation --lrs 1e-3,3e-3 --workers 2
    python -m benchmarks.quality.ablate_segmentation --quick    # tiny budget, into a temporary JSON (the test's)

Setting: the quality suite's ``segmentation-shapes`` (U-Net width 8, depth 3, batch 16, Adam, 10 epochs, mean IoU
of 4 classes on synthetic 64x64 shapes), trained through the lab's loop (``uniloss_lab.train.train``) with the
variant's loss as its ``criterion``, one thread per run, seeds 0, 1 and 2. Of the suite's 600 training shapes the
first 480 train (``limit_train=480``) and the last 120 (20%) are a validation split that the lab's loop never sees:
a callback scores it after every epoch. The loop scores the test split after every epoch as it always does; the
test numbers are only read at the epoch and learning rate chosen on validation: per seed, the epoch of best
validation mean IoU; per variant, the learning rate of best mean (over seeds) validation IoU at those epochs.

Variants: UniLoss with IoU's defaults (sigmoid temperature 1, the paper's 49 anchors, inverse-distance power 1);
temperature 0.5, 2 and 4; power 2 and 3; :class:`~uniloss.anchors.StructuredAnchors` with 16 anchors that correct
one whole row of the current configuration each; the same with per-class rows (every row one whole class and target
instead of runs of at most 1024 pixels of one class and target); MONAI ``DiceLoss`` and ``DiceCELoss`` and the
per-pixel cross-entropy as references. ``docs/segmentation_ablation.md`` shows the table (``--report-only`` prints it
from the JSON).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from uniloss_lab.train import Callback, NonFiniteLossError, RunInfo, evaluate, train

from . import _harness as h

HERE = Path(__file__).resolve().parent
JSON = HERE / "ablation_segmentation.json"
SEEDS = (0, 1, 2)
QUICK_SEEDS = (0,)
HOLDOUT_FRACTION = 0.2
CLASS_ROW_LENGTH = 1 << 30  # a row length no group reaches: each (class, target) group is one row
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("UniLoss, IoU defaults (T 1, p 1, paper anchors)", {}),
    ("UniLoss, temperature 0.5", {"temperature": 0.5}),
    ("UniLoss, temperature 2", {"temperature": 2.0}),
    ("UniLoss, temperature 4", {"temperature": 4.0}),
    ("UniLoss, power 2", {"power": 2.0}),
    ("UniLoss, power 3", {"power": 3.0}),
    ("UniLoss, + 16 whole-row anchors (rows of ≤1024 pixels)", {"structured": {"rows": 16}}),
    ("UniLoss, + 16 whole-row anchors, per-class rows", {"structured": {"rows": 16}, "layout": "class"}),
    ("MONAI DiceLoss", {"loss": "monai_dice"}),
    ("MONAI DiceCELoss", {"loss": "monai_dice_ce"}),
    ("cross-entropy", {"loss": "baseline"}),
]
REFERENCE = "MONAI DiceLoss"
_QUICK = {"limit_train": 10, "limit_test": 4, "epochs": 2, "width": 4}  # 8 train, 2 validation shapes


def base_config(quick: bool = False) -> Any:
    """The suite's ``segmentation-shapes`` configuration (or the tiny ``--quick`` one), before the holdout."""
    from uniloss_lab.train import suite_settings
    from uniloss_lab.train.compare import setting_names

    configs = suite_settings("quality")
    config = dict(zip(setting_names(configs), configs, strict=True))["segmentation-shapes"]
    config = config.replace(device="cpu", threads=1, eval_batch_size=128, validation=None)  # its own holdout
    return config.replace(**_QUICK) if quick else config


class _Validation(Callback):
    """Scores the held-out training shapes after each epoch, and keeps the loop's test IoU and epoch seconds."""

    def __init__(self, validation_set: Any) -> None:
        self.validation_set = validation_set
        self.validation: list[float] = []
        self.test: list[float] = []
        self.seconds: list[float] = []
        self.loss: list[float] = []

    def on_epoch_end(self, run: RunInfo) -> None:
        self.validation.append(evaluate(run.model, run.task, self.validation_set, batch_size=128))
        self.test.append(run.history["test_metric"][-1])
        self.seconds.append(run.history["epoch_time"][-1])
        self.loss.append(run.history["train_loss"][-1])


def train_segmentation(setting: dict[str, Any], variant: dict[str, Any], seed: int) -> dict[str, Any]:
    """Train one variant on the first 80% of the setting's training shapes; validation and test IoU per epoch."""
    torch.set_num_threads(1)
    from torch.utils.data import Subset

    import uniloss
    import uniloss.metrics.confusion as confusion
    from uniloss_lab.data import load_dataset

    from .variants import make_loss

    config = base_config(bool(setting.get("quick")))
    total = int(config.limit_train)
    kept = total - max(1, int(total * HOLDOUT_FRACTION))
    validation_set = Subset(load_dataset("shapes", "train", config.data_dir, num_samples=total), range(kept, total))
    config = config.replace(limit_train=kept, seed=seed, lr=float(variant["lr"]))
    options = {k: v for k, v in variant.items() if k not in ("lr", "layout")}
    criterion = None
    if options.get("loss", "uniloss") == "uniloss":
        criterion = make_loss(options, uniloss.metrics.IoU(num_classes=4), seed)
    else:
        config = config.replace(loss=options["loss"])
    record = _Validation(validation_set)
    row_length = confusion._ROW_LENGTH
    if variant.get("layout") == "class":
        confusion._ROW_LENGTH = CLASS_ROW_LENGTH
    try:
        train(config, progress=False, callbacks=[record], criterion=criterion)
    except NonFiniteLossError:
        record.validation.append(math.nan)
        record.test.append(math.nan)
    finally:
        confusion._ROW_LENGTH = row_length
    return {"test_metric": record.test, "validation": record.validation, "epoch_time": record.seconds,
            "train_loss": record.loss}  # fmt: skip


def chosen(run: dict[str, Any]) -> tuple[int, float, float]:
    """``(epoch index, validation IoU, test IoU)`` at the first epoch of best validation IoU (NaN if diverged)."""
    validation = run["validation"]
    if any(not math.isfinite(v) for v in validation):
        return len(validation) - 1, math.nan, math.nan
    epoch = max(range(len(validation)), key=lambda e: (validation[e], -e))
    return epoch, validation[epoch], run["test_metric"][epoch]


def summary(
    results: dict[str, Any], setting: dict[str, Any], lrs: tuple[float, ...], seeds: tuple[int, ...] = SEEDS
) -> list[dict[str, Any]]:
    """One row per variant with all its runs: the learning rate chosen on validation and its test IoU per seed."""
    rows = []
    for label, variant in VARIANTS:
        best: dict[str, Any] | None = None
        for lr in lrs:
            keys = [h._key(setting, {**variant, "lr": lr}, seed) for seed in seeds]
            if not all(key in results for key in keys):
                continue
            runs = [results[key] for key in keys]
            picks = [chosen(run) for run in runs]
            validation = h.mean([pick[1] for pick in picks])
            row = {
                "variant": label,
                "lr": lr,
                "validation": validation,
                "test": [pick[2] for pick in picks],
                "epochs": [pick[0] + 1 for pick in picks],
                "final_test": [run["test_metric"][-1] for run in runs],
                "seconds_per_epoch": statistics.median(t for run in runs for t in run["epoch_time"]),
                "curves": [run["test_metric"] for run in runs],
                "validation_curves": [run["validation"] for run in runs],
            }
            if best is None or (math.isfinite(validation) and not validation <= best["validation"]):
                best = row
        if best is not None:
            rows.append(best)
    return rows


def table(rows: list[dict[str, Any]]) -> list[str]:
    """The Markdown table: variant | test mean IoU (mean ± sd, 3 seeds) | gap to MONAI Dice | s/epoch, and more."""
    reference = next((h.mean(row["test"]) for row in rows if row["variant"] == REFERENCE), math.nan)
    lines = [
        "| variant | test mean IoU, mean ± sd over 3 seeds | gap to MONAI Dice (points) | s/epoch | lr | "
        "epochs chosen | validation IoU | final-epoch test IoU |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        gap = 100 * (h.mean(row["test"]) - reference)
        lines.append(
            f"| {row['variant']} | {h.fmt(row['test'])} | {gap:+.2f} | {row['seconds_per_epoch']:.2f} | "
            f"{row['lr']:g} | {', '.join(map(str, row['epochs']))} | {row['validation']:.4f} | "
            f"{h.fmt(row['final_test'])} |"
        )
    return lines


class _Keep(Callback):
    """Keeps the run's objects (its model and training split), for :func:`gradient_shares`."""

    def on_train_begin(self, run: RunInfo) -> None:
        self.run = run


def gradient_shares(epochs: int = 2, quick: bool = False) -> list[str]:
    """Where each loss puts its gradient on a training batch of a U-Net trained ``epochs`` with cross-entropy.

    Per true class: the share of pixels, the share of the batch's ``|d loss / d logits|`` (summed over channels),
    and the mean gradient on a misclassified pixel relative to that on a correct one; and the exact gain in mean IoU
    from correcting one misclassified pixel of the class (``1 / (C (TP + FP + FN))``, its IoU's denominator).
    """
    from torch.utils.data import DataLoader

    import uniloss
    from uniloss_lab.train.peers import build_peer

    torch.manual_seed(0)
    config = base_config(quick).replace(epochs=epochs if not quick else 1, loss="baseline")
    keep = _Keep()
    train(config, progress=False, callbacks=[keep])
    model = keep.run.model.train()
    images, masks = next(iter(DataLoader(keep.run.train_set, batch_size=16)))
    classes = int(model(images[:1]).shape[1])
    losses: dict[str, Any] = {
        "UniLoss IoU defaults": uniloss.UniLoss(uniloss.metrics.IoU(num_classes=classes),
                                                generator=torch.Generator().manual_seed(0)),
        "UniLoss IoU, temperature 4": uniloss.UniLoss(uniloss.metrics.IoU(num_classes=classes), temperature=4.0,
                                                      generator=torch.Generator().manual_seed(0)),
        "MONAI DiceLoss": build_peer("monai_dice"),
        "cross-entropy": torch.nn.CrossEntropyLoss(),
    }  # fmt: skip
    with torch.no_grad():
        logits = model(images)
    wrong = logits.argmax(1) != masks
    predicted = torch.nn.functional.one_hot(logits.argmax(1), classes).movedim(-1, 1).bool()
    truth = torch.nn.functional.one_hot(masks, classes).movedim(-1, 1).bool()
    union = (predicted | truth).sum((0, 2, 3)).double()
    lines = ["| loss | class | pixel share | gradient share | wrong / right pixel gradient | mIoU gain of one fix |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for name, loss_fn in losses.items():
        scores = logits.clone().requires_grad_(True)
        loss_fn(scores, masks).backward()
        magnitude = scores.grad.abs().sum(1)  # (B, H, W)
        for c in range(classes):
            pixels = masks == c
            share = float(magnitude[pixels].sum() / magnitude.sum())
            on_wrong, on_right = magnitude[pixels & wrong], magnitude[pixels & ~wrong]
            ratio = float(on_wrong.mean() / on_right.mean()) if len(on_wrong) and len(on_right) else math.nan
            lines.append(f"| {name} | {c} | {float(pixels.float().mean()):.3f} | {share:.3f} | {ratio:.1f} | "
                         f"{1 / (classes * float(union[c])):.2e} |")  # fmt: skip
    return lines


def loss_milliseconds(repeats: int = 10) -> list[str]:
    """Median forward + backward milliseconds of each variant's loss alone on ``(16, 4, 64, 64)`` logits, one thread."""
    import uniloss
    import uniloss.metrics.confusion as confusion
    from uniloss_lab.train.peers import build_peer

    from .variants import make_loss

    torch.set_num_threads(1)
    torch.manual_seed(0)
    logits, masks = torch.randn(16, 4, 64, 64), torch.randint(0, 4, (16, 64, 64))
    lines = ["| variant | loss forward + backward, ms |", "|---|---|"]
    for label, variant in VARIANTS:
        kind = variant.get("loss", "uniloss")
        if kind == "uniloss":
            options = {k: v for k, v in variant.items() if k != "layout"}
            loss_fn = make_loss(options, uniloss.metrics.IoU(num_classes=4), 0)
        else:
            loss_fn = torch.nn.CrossEntropyLoss() if kind == "baseline" else build_peer(kind)
        row_length = confusion._ROW_LENGTH
        confusion._ROW_LENGTH = CLASS_ROW_LENGTH if variant.get("layout") == "class" else row_length
        times = []
        try:
            for _ in range(repeats + 1):
                scores = logits.clone().requires_grad_(True)
                start = time.perf_counter()
                loss_fn(scores, masks).backward()
                times.append(time.perf_counter() - start)
        finally:
            confusion._ROW_LENGTH = row_length
        lines.append(f"| {label} | {1000 * statistics.median(times[1:]):.1f} |")
    return lines


def curves(rows: list[dict[str, Any]]) -> list[str]:
    """The Markdown table of the mean (over seeds) test mean IoU after each epoch, one column per variant."""
    lines = ["| epoch | " + " | ".join(row["variant"] for row in rows) + " |", "|---" * (len(rows) + 1) + "|"]
    for epoch in range(max((len(row["curves"][0]) for row in rows), default=0)):
        means = [h.mean([curve[epoch] for curve in row["curves"]]) for row in rows]
        lines.append(f"| {epoch + 1} | " + " | ".join(f"{value:.3f}" for value in means) + " |")
    return lines


def _commit() -> str:
    from uniloss_lab.train.provenance import source_commit

    commit = source_commit(HERE)
    return commit[:7] if commit else "unknown"


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Run the missing runs, record the commit and versions in the JSON, print the table; return its rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny budget and one seed (a smoke test)")
    parser.add_argument("--lrs", default="1e-3", help="comma-separated learning-rate grid (default 1e-3)")
    parser.add_argument("--workers", type=int, default=1, help="runs in parallel, one thread each")
    parser.add_argument("--only", default="", help="comma-separated variant indices to run (default: all)")
    parser.add_argument("--json", type=Path, default=None, help="results file (default: ablation_segmentation.json)")
    parser.add_argument("--report-only", action="store_true", help="print the table from the JSON, run nothing")
    parser.add_argument("--gradients", action="store_true", help="print the losses' costs and gradients, only")
    args = parser.parse_args(argv)
    if args.gradients:
        print("\n".join(loss_milliseconds(2 if args.quick else 10)))
        print("\n" + "\n".join(gradient_shares(quick=args.quick)))
        return []
    lrs = tuple(float(lr) for lr in args.lrs.split(","))
    path = args.json or (Path(tempfile.mkdtemp()) / "quick.json" if args.quick else JSON)
    setting = {"setting": "segmentation-shapes", "holdout": HOLDOUT_FRACTION, **({"quick": True} if args.quick else {})}
    seeds = QUICK_SEEDS if args.quick else SEEDS
    chosen_variants = [VARIANTS[int(i)] for i in args.only.split(",") if i] or VARIANTS
    if not args.report_only:
        jobs = [(setting, {**v, "lr": lr}, seed) for _, v in chosen_variants for lr in lrs for seed in seeds]
        start, commit = time.perf_counter(), _commit()
        h.run_jobs(path, jobs, train_segmentation, workers=args.workers)
        results = json.loads(path.read_text())
        meta = results.setdefault("_meta", {"runs": []})
        meta["runs"].append({"commit": commit, "torch": torch.__version__, "python": sys.version.split()[0],
                             "lrs": list(lrs), "wall_s": round(time.perf_counter() - start, 1),
                             "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())})  # fmt: skip
        path.write_text(json.dumps(results, indent=0))
    results = json.loads(path.read_text()) if path.exists() else {}
    rows = summary(results, setting, lrs, seeds)
    print("\n".join(table(rows)))
    print("\n" + "\n".join(curves(rows)))
    return rows


if __name__ == "__main__":
    main()
