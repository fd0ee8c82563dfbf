"""Summaries of benchmark results over seeds, and the Markdown report."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from uniloss.train.config import METRIC_LABELS

__all__ = ["METRIC_LABELS", "check_results", "loss_curves", "markdown_report", "summarize"]  # METRIC_LABELS: train's
_TUNED = "-tuned"  # suffix of the row of a baseline's test metric at its tuned threshold


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


def loss_curves(setting: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The test metric per epoch of each loss row of one setting, the rows UniLoss first, then in run order.

    Formally, each row is the runs sharing a ``loss`` (the row name of :func:`uniloss.train.run_bench`; older
    results have ``uniloss`` and ``baseline``), labelled with its ``loss_name`` (and the row name where it says
    more, e.g. ``UniLoss [uniloss-memory512]``); runs without a finished epoch are left out. A baseline whose
    history also records ``tuned_test_metric`` (the ``f1`` task) adds the row ``baseline-tuned``: its test metric
    at the threshold tuned on held-out training data.

    Args:
        setting: one entry of ``results["settings"]``.

    Returns:
        ``{row: {"label": str, "runs": [(seed, test metrics, history), ...]}}``.

    Example:
        >>> run = lambda loss, name: {"loss": loss, "loss_name": name, "seed": 0,
        ...     "history": {"test_metric": [0.5], "epoch_time": [1.0]}}
        >>> setting = {"runs": [run("baseline", "BCE"), run("uniloss-memory512", "UniLoss"), run("uniloss", "UniLoss")]}
        >>> [curve["label"] for curve in loss_curves(setting).values()]
        ['UniLoss', 'BCE', 'UniLoss [uniloss-memory512]']
    """
    curves: dict[str, dict[str, Any]] = {}
    for run in setting["runs"]:
        history = run["history"]
        if not history["test_metric"]:
            continue
        loss, name = str(run["loss"]), str(run.get("loss_name", run["loss"]))
        label = name if loss in ("uniloss", "baseline") or loss == name else f"{name} [{loss}]"
        row = curves.setdefault(loss, {"label": label, "runs": []})
        row["runs"].append((run["seed"], history["test_metric"], history))
        tuned = history.get("tuned_test_metric")
        if loss == "baseline" and tuned:
            tuned_row = curves.setdefault(
                loss + _TUNED, {"label": f"{name}, threshold tuned on held-out data", "runs": []}
            )
            tuned_row["runs"].append((run["seed"], tuned, history))
    return dict(sorted(curves.items(), key=lambda item: item[0] != "uniloss"))


def summarize(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per setting and loss row: final test metric over seeds, wall time per epoch, and gaps to UniLoss.

    Formally, for the runs of one setting and loss row (:func:`loss_curves`), ``mean``, ``std`` (sample standard
    deviation, 0 for one seed), ``min`` and ``max`` of the final-epoch test metric; ``best_mean`` of the best
    epoch's; the median over all epochs and seeds of the training seconds per epoch (``train_seconds``) and of the
    evaluation seconds (``eval_seconds``), robust to a busy machine slowing down a few epochs; for the ``uniloss``
    row ``delta``, its mean minus the baseline's (``None`` otherwise); and for every other row ``gap``, the
    ``uniloss`` row's mean minus this row's (positive: UniLoss ahead; ``None`` for the ``uniloss`` row or without
    one).

    Args:
        results: the output of :func:`uniloss.train.run_bench` (or its ``results.json``).

    Returns:
        Rows as dicts with ``setting``, ``task``, ``dataset``, ``model``, ``metric``, ``loss``, ``loss_name``,
        ``seeds``, ``epochs``, ``mean``, ``std``, ``min``, ``max``, ``best_mean``, ``train_seconds``,
        ``eval_seconds``, ``delta`` and ``gap``. Settings and losses without a finished epoch are left out.

    Raises:
        ValueError: if ``results`` is malformed (see :func:`check_results`).

    Example:
        >>> run = lambda loss, seed, metric: {"loss": loss, "loss_name": loss, "seed": seed,
        ...     "history": {"test_metric": [0.5, metric], "epoch_time": [1.0, 1.0]}}
        >>> results = {"settings": [{"name": "ap-digits", "metric": "average_precision",
        ...     "runs": [run("uniloss", 0, 0.9), run("baseline", 0, 0.8)]}]}
        >>> [(row["loss"], row["mean"], round(row["delta"] or 0, 3), round(row["gap"] or 0, 3))
        ...  for row in summarize(results)]
        [('uniloss', 0.9, 0.1, 0), ('baseline', 0.8, 0, 0.1)]
    """
    check_results(results)
    rows: list[dict[str, Any]] = []
    for setting in results["settings"]:
        setting_rows = []
        for loss, curve in loss_curves(setting).items():
            runs = curve["runs"]
            finals = [float(metrics[-1]) for _, metrics, _ in runs]
            bests = [max(float(value) for value in metrics) for _, metrics, _ in runs]
            train_times = [float(time) for _, _, history in runs for time in history["epoch_time"]]
            eval_times = [float(time) for _, _, history in runs for time in history.get("eval_time", [])]
            setting_rows.append(
                {
                    "setting": setting["name"],
                    "task": setting.get("task"),
                    "dataset": setting.get("dataset"),
                    "model": setting.get("model"),
                    "metric": setting.get("metric"),
                    "loss": loss,
                    "loss_name": curve["label"],
                    "seeds": sorted(seed for seed, _, _ in runs),
                    "epochs": min(len(metrics) for _, metrics, _ in runs),
                    "mean": _mean(finals),
                    "std": _std(finals),
                    "min": min(finals),
                    "max": max(finals),
                    "best_mean": _mean(bests),
                    "train_seconds": _median(train_times),
                    "eval_seconds": _median(eval_times),
                    "delta": None,
                    "gap": None,
                }
            )
        means = {row["loss"]: row["mean"] for row in setting_rows}
        for row in setting_rows:
            if row["loss"] == "uniloss" and "baseline" in means:
                row["delta"] = row["mean"] - means["baseline"]
            if row["loss"] != "uniloss" and "uniloss" in means:
                row["gap"] = means["uniloss"] - row["mean"]
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
    rows = setting.get("losses") or {}
    if any(row != {"loss": name} for name, row in rows.items()):  # rows beyond a plain loss choice
        parts.append("loss rows " + "; ".join(f"{name}: {_row_options(row)}" for name, row in rows.items()))
    if setting.get("task") == "pck" and "stacks" in config:
        parts.append(f"stacks {config['stacks']}, width {config.get('width')}, depth {config.get('depth')}")
    return ", ".join(parts)


def _row_options(row: Mapping[str, Any]) -> str:
    return ", ".join(f"{key} {value}" for key, value in row.items())


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
        "UniLoss − this is the UniLoss row's mean minus this row's (positive: UniLoss ahead); "
        "s/epoch is the median training wall time per epoch over epochs and seeds (evaluation excluded).",
        "",
        "| setting | metric | loss | final test metric | min – max | best epoch (mean) | Δ vs baseline "
        "| UniLoss − this | s/epoch | seeds | epochs |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        metric = METRIC_LABELS.get(row["metric"] or "", row["metric"] or "?")
        delta = "—" if row["delta"] is None else f"{row['delta']:+.4f}"
        gap = "—" if row["gap"] is None else f"{row['gap']:+.4f}"
        lines.append(
            f"| {row['setting']} | {metric} | {row['loss_name']} | {row['mean']:.4f} ± {row['std']:.4f} "
            f"| {row['min']:.4f} – {row['max']:.4f} | {row['best_mean']:.4f} | {delta} | {gap} "
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
