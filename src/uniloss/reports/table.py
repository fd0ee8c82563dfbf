"""Summaries of benchmark results over seeds, and the Markdown report."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from uniloss.train.config import METRIC_LABELS

__all__ = ["METRIC_LABELS", "check_results", "markdown_report", "summarize"]  # METRIC_LABELS: uniloss.train's
_LOSS_ORDER = {"uniloss": 0, "baseline": 1}


def check_results(results: object) -> dict[str, Any]:
    """Return ``results`` if it looks like ``run_bench`` output, else raise ``ValueError`` saying what is missing.

    Raises:
        ValueError: if ``results`` is not a dict with a list of ``settings``, each with a ``name`` and ``runs``
            whose entries have ``loss``, ``seed`` and a ``history`` with ``test_metric`` and ``epoch_time``.
    """
    if not isinstance(results, dict) or not isinstance(results.get("settings"), list):
        raise ValueError("`results` must be a dict with a list under 'settings' (the output of `uniloss bench`).")
    for index, setting in enumerate(results["settings"]):
        if not isinstance(setting, dict) or "name" not in setting or not isinstance(setting.get("runs"), list):
            raise ValueError(f"`results['settings'][{index}]` must be a dict with 'name' and a list of 'runs'.")
        for run_index, run in enumerate(setting["runs"]):
            history = run.get("history") if isinstance(run, dict) else None
            if (
                not isinstance(history, dict)
                or "loss" not in run
                or "seed" not in run
                or not all(isinstance(history.get(key), list) for key in ("test_metric", "epoch_time"))
            ):
                raise ValueError(
                    f"`results['settings'][{index}]['runs'][{run_index}]` must have 'loss', 'seed' and a 'history' "
                    "with 'test_metric' and 'epoch_time' lists."
                )
    return results


def _mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else math.nan


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def _std(values: Sequence[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def summarize(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per setting and loss: final test metric over seeds and wall time per epoch.

    Formally, for the runs of one setting and loss, ``mean``, ``std`` (sample standard deviation, 0 for one
    seed), ``min`` and ``max`` of the final-epoch test metric; ``best_mean`` of the best epoch's; the median
    over all epochs and seeds of the training seconds per epoch (``train_seconds``) and of the evaluation
    seconds (``eval_seconds``), robust to a busy machine slowing down a few epochs;
    and for UniLoss rows ``delta``, the difference of means with the baseline (``None`` otherwise).

    Args:
        results: the output of :func:`uniloss.train.run_bench` (or its ``results.json``).

    Returns:
        Rows as dicts with ``setting``, ``task``, ``dataset``, ``model``, ``metric``, ``loss``, ``loss_name``,
        ``seeds``, ``epochs``, ``mean``, ``std``, ``min``, ``max``, ``best_mean``, ``train_seconds``,
        ``eval_seconds`` and ``delta``. Settings and losses without a finished epoch are left out.

    Raises:
        ValueError: if ``results`` is malformed (see :func:`check_results`).

    Example:
        >>> run = lambda loss, seed, metric: {"loss": loss, "loss_name": loss, "seed": seed,
        ...     "history": {"test_metric": [0.5, metric], "epoch_time": [1.0, 1.0]}}
        >>> results = {"settings": [{"name": "ap-digits", "metric": "average_precision",
        ...     "runs": [run("uniloss", 0, 0.9), run("baseline", 0, 0.8)]}]}
        >>> [(row["loss"], row["mean"], round(row["delta"] or 0, 3)) for row in summarize(results)]
        [('uniloss', 0.9, 0.1), ('baseline', 0.8, 0)]
    """
    check_results(results)
    rows: list[dict[str, Any]] = []
    for setting in results["settings"]:
        by_loss: dict[str, list[dict[str, Any]]] = {}
        for run in setting["runs"]:
            if run["history"]["test_metric"]:
                by_loss.setdefault(run["loss"], []).append(run)
        setting_rows = []
        for loss in sorted(by_loss, key=lambda name: (_LOSS_ORDER.get(name, 2), name)):
            runs = by_loss[loss]
            finals = [float(run["history"]["test_metric"][-1]) for run in runs]
            bests = [max(float(value) for value in run["history"]["test_metric"]) for run in runs]
            train_times = [float(time) for run in runs for time in run["history"]["epoch_time"]]
            eval_times = [float(time) for run in runs for time in run["history"].get("eval_time", [])]
            setting_rows.append(
                {
                    "setting": setting["name"],
                    "task": setting.get("task"),
                    "dataset": setting.get("dataset"),
                    "model": setting.get("model"),
                    "metric": setting.get("metric"),
                    "loss": loss,
                    "loss_name": runs[0].get("loss_name", loss),
                    "seeds": sorted(run["seed"] for run in runs),
                    "epochs": min(len(run["history"]["test_metric"]) for run in runs),
                    "mean": _mean(finals),
                    "std": _std(finals),
                    "min": min(finals),
                    "max": max(finals),
                    "best_mean": _mean(bests),
                    "train_seconds": _median(train_times),
                    "eval_seconds": _median(eval_times),
                    "delta": None,
                }
            )
        means = {row["loss"]: row["mean"] for row in setting_rows}
        for row in setting_rows:
            if row["loss"] == "uniloss" and "baseline" in means:
                row["delta"] = row["mean"] - means["baseline"]
        rows.extend(setting_rows)
    return rows


def _format_seconds(seconds: float) -> str:
    if math.isnan(seconds):
        return "—"
    return f"{seconds:.2f}" if seconds < 10 else f"{seconds:.1f}"


def _settings_line(setting: Mapping[str, Any]) -> str:
    config = setting.get("config", {})
    parts = [f"model `{setting.get('model')}`"]
    keys = ("epochs", "batch_size", "optimizer", "lr", "scheduler", "temperature", "power", "limit_train", "limit_test")
    for key in keys:
        if key in config and config[key] is not None:
            parts.append(f"{key} {config[key]}")
    if setting.get("task") == "ap" and "positive_class" in config:
        parts.append(f"positive class {config['positive_class']}")
    if config.get("memory"):
        parts.append(f"UniLoss memory {config['memory']}")
    if setting.get("task") == "pck" and "stacks" in config:
        parts.append(f"stacks {config['stacks']}, width {config.get('width')}, depth {config.get('depth')}")
    return ", ".join(parts)


def markdown_report(results: Mapping[str, Any], plots: Mapping[str, str] | None = None) -> str:
    """The Markdown report of a benchmark: a table of the final test metric over seeds, settings and plots.

    Args:
        results: the output of :func:`uniloss.train.run_bench`.
        plots: optional map from setting name to a plot file name, linked below the table.

    Returns:
        The Markdown text.

    Raises:
        ValueError: if ``results`` is malformed.
    """
    rows = summarize(results)
    seeds = results.get("seeds")
    lines = ["# uniloss benchmark", ""]
    facts = [
        f"uniloss {results.get('uniloss_version', '?')}",
        f"torch {results.get('torch_version', '?')}",
        f"{results.get('cpu_threads', '?')} CPU threads",
    ]
    devices = sorted({run["history"].get("device", "?") for setting in results["settings"] for run in setting["runs"]})
    facts.append("device " + ", ".join(devices or ["?"]))
    if seeds is not None:
        facts.append("seeds " + ", ".join(str(seed) for seed in seeds))
    if results.get("created"):
        facts.append(f"created {results['created']}")
    lines += ["; ".join(facts) + ".", ""]
    if results.get("command"):
        lines += [f"Command: `{results['command']}`", ""]
    lines += [
        "Final test metric after the last epoch (exact metric on the whole test split: AP pooled over the split), "
        "mean ± sample standard deviation over seeds, with the range; Δ is UniLoss minus the baseline; "
        "s/epoch is the median training wall time per epoch over epochs and seeds (evaluation excluded).",
        "",
        "| setting | metric | loss | final test metric | min – max | best epoch (mean) | Δ vs baseline | s/epoch "
        "| seeds | epochs |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        metric = METRIC_LABELS.get(row["metric"] or "", row["metric"] or "?")
        delta = "—" if row["delta"] is None else f"{row['delta']:+.4f}"
        lines.append(
            f"| {row['setting']} | {metric} | {row['loss_name']} | {row['mean']:.4f} ± {row['std']:.4f} "
            f"| {row['min']:.4f} – {row['max']:.4f} | {row['best_mean']:.4f} | {delta} "
            f"| {_format_seconds(row['train_seconds'])} | {len(row['seeds'])} | {row['epochs']} |"
        )
    lines += ["", "## Settings", ""]
    for setting in results["settings"]:
        lines.append(f"- **{setting['name']}** ({setting.get('dataset')}): {_settings_line(setting)}.")
    if plots:
        lines += ["", "## Test metric per epoch", ""]
        for name, file_name in plots.items():
            lines += [f"![{name}]({file_name})", ""]
    return "\n".join(lines).rstrip() + "\n"
