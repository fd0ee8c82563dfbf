"""Summaries of benchmark results over seeds, and the Markdown report."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from uniloss_lab.train.config import METRIC_LABELS

__all__ = [
    "METRIC_LABELS",
    "check_results",
    "loss_curves",
    "markdown_report",
    "setting_summary",
    "summarize",
]  # METRIC_LABELS: train's
_TUNED = "-tuned"  # suffix of the row of a baseline's test metric at its tuned threshold
TASK_LOSS_MARGIN = 0.005  # the target: UniLoss's defaults at or above the task loss minus half a point
_MODEL_OPTIONS = {
    "mlp": ("hidden",),
    "small_cnn": ("width",),
    "unet": ("width", "depth"),
    "hourglass": ("stacks", "width", "depth"),
}  # the options of each model that a report's settings line names


def check_results(results: object) -> dict[str, Any]:
    """Return ``results`` if it looks like ``run_comparison`` output, else raise ``ValueError`` saying what is missing.

    Raises:
        ValueError: if ``results`` is not a dict with a list of ``settings``, each with a ``name`` and ``runs``
            whose entries have ``loss``, ``seed`` and a ``history`` with ``test_metric`` and ``epoch_time``.
    """
    if not isinstance(results, dict) or not isinstance(results.get("settings"), list):
        raise ValueError("`results` must be a dict with a list under 'settings' (the output of `uniloss compare`).")
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
    """The metric per epoch of each loss row of one setting, the rows UniLoss first, then in run order.

    Formally, each row is the runs sharing a ``loss`` (the row name of :func:`uniloss_lab.train.run_comparison`; older
    results have ``uniloss`` and ``baseline``), labelled with its ``loss_name`` (and the row name where it says
    more, e.g. ``UniLoss [uniloss-memory512]``); runs without a finished epoch are left out. Each run's curve is its
    validation metric per epoch where it has a validation split (``split`` is then ``"validation"``; its test
    metric was read once, after the last epoch), else its test metric per epoch; ``final`` is its test metric
    after the last epoch. A baseline whose history also records ``tuned_test_metric`` (the ``f1`` and ``fbeta``
    tasks) adds the row ``baseline-tuned``: its test metric at the threshold tuned on validation data.

    Args:
        setting: one entry of ``results["settings"]``.

    Returns:
        ``{row: {"label": str, "split": str, "runs": [(seed, curve, history, final), ...]}}``.

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
        validation = history.get("validation_metric")
        split = "validation" if validation else "test"
        row = curves.setdefault(loss, {"label": label, "split": split, "runs": []})
        row["runs"].append((run["seed"], validation or history["test_metric"], history, history["test_metric"][-1]))
        tuned = history.get("tuned_test_metric")
        if loss == "baseline" and tuned:
            tuned_row = curves.setdefault(
                loss + _TUNED, {"label": f"{name}, threshold tuned on validation data", "split": "test", "runs": []}
            )
            tuned_row["runs"].append((run["seed"], tuned, history, tuned[-1]))
    return dict(sorted(curves.items(), key=lambda item: item[0] != "uniloss"))


def summarize(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per setting and loss row: final test metric over seeds, wall time per epoch, and gaps to UniLoss.

    Formally, for the runs of one setting and loss row (:func:`loss_curves`), ``mean``, ``std`` (sample standard
    deviation, 0 for one seed), ``min`` and ``max`` of the final-epoch test metric; ``best_epoch``, the mean over
    seeds of the epoch with the best validation metric (``None`` without validation: no epoch is chosen on the
    test split); the median over all epochs and seeds of the training seconds per epoch (``train_seconds``) and of the
    evaluation seconds (``eval_seconds``), robust to a busy machine slowing down a few epochs; for the ``uniloss``
    row ``delta``, its mean minus the baseline's (``None`` otherwise); and for every other row ``gap``, the
    ``uniloss`` row's mean minus this row's (positive: UniLoss ahead; ``None`` for the ``uniloss`` row or without
    one).

    Args:
        results: the output of :func:`uniloss_lab.train.run_comparison` (or its ``results.json``).

    Returns:
        Rows as dicts with ``setting``, ``task``, ``dataset``, ``model``, ``metric``, ``loss``, ``loss_name``,
        ``seeds``, ``epochs``, ``mean``, ``std``, ``min``, ``max``, ``best_epoch``, ``train_seconds``,
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
            runs = [run for run in curve["runs"] if run[3] is not None]  # a run stopped early read no test
            if not runs:
                continue
            finals = [float(final) for *_, final in runs]
            bests = [history.get("best_epoch") for _, _, history, _ in runs]
            train_times = [float(time) for _, _, history, _ in runs for time in history["epoch_time"]]
            eval_times = [float(time) for _, _, history, _ in runs for time in history.get("eval_time", [])]
            setting_rows.append(
                {
                    "setting": setting["name"],
                    "task": setting.get("task"),
                    "dataset": setting.get("dataset"),
                    "model": setting.get("model"),
                    "metric": setting.get("metric"),
                    "loss": loss,
                    "loss_name": curve["label"],
                    "seeds": sorted(seed for seed, *_ in runs),
                    "epochs": min(len(metrics) for _, metrics, _, _ in runs),
                    "mean": _mean(finals),
                    "std": _std(finals),
                    "min": min(finals),
                    "max": max(finals),
                    "best_epoch": None if None in bests else _mean([float(best) for best in bests]),
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


def setting_summary(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One entry per setting from :func:`summarize`'s rows: its loss rows grouped by kind, and the targets.

    Formally, for each setting, ``task_loss`` holds the rows ``baseline`` and ``baseline-tuned``, ``uniloss`` the
    row ``uniloss`` (UniLoss with its defaults, or ``None``), ``options`` the other UniLoss rows (``uniloss-...``)
    and ``peers`` every other row. ``beats_peers`` says whether the ``uniloss`` mean is at or above every peer's
    (``None`` without peers or without the row); ``near_task_loss`` whether it is at or above the best task-loss
    row's mean minus :data:`TASK_LOSS_MARGIN` (``None`` without either).

    Args:
        rows: the output of :func:`summarize`.

    Returns:
        Dicts with ``setting``, ``metric``, ``task_loss``, ``uniloss``, ``options``, ``peers``, ``beats_peers`` and
        ``near_task_loss``, in the settings' order.

    Example:
        >>> rows = [{"setting": "ap-x", "metric": "ap", "loss": loss, "mean": mean}
        ...         for loss, mean in [("uniloss", 0.80), ("baseline", 0.804), ("pairwise_logistic", 0.79)]]
        >>> summary = setting_summary(rows)[0]
        >>> summary["beats_peers"], summary["near_task_loss"], [row["loss"] for row in summary["peers"]]
        (True, True, ['pairwise_logistic'])
    """
    settings: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["setting"] not in settings:
            settings[row["setting"]] = {
                "setting": row["setting"],
                "metric": row.get("metric"),
                "task_loss": [],
                "uniloss": None,
                "options": [],
                "peers": [],
            }
        entry = settings[row["setting"]]
        loss = row["loss"]
        if loss in ("baseline", "baseline" + _TUNED):
            entry["task_loss"].append(row)
        elif loss == "uniloss":
            entry["uniloss"] = row
        elif loss.startswith("uniloss-"):
            entry["options"].append(row)
        else:
            entry["peers"].append(row)
    for entry in settings.values():
        ours = entry["uniloss"]
        entry["beats_peers"] = (
            None if ours is None or not entry["peers"] else all(ours["mean"] >= row["mean"] for row in entry["peers"])
        )
        best_task = max((row["mean"] for row in entry["task_loss"]), default=None)
        entry["near_task_loss"] = (
            None if ours is None or best_task is None else ours["mean"] >= best_task - TASK_LOSS_MARGIN
        )
    return list(settings.values())


def _cell(row: Mapping[str, Any], label: bool = False) -> str:
    """``0.7385 ± 0.0155 (+1.57; 4.08 s)``: mean ± std, UniLoss minus this in points, training s/epoch."""
    gap = "" if row.get("gap") is None else f"{100 * row['gap']:+.2f}; "
    name = f"{row['loss_name']}: " if label else ""
    return f"{name}{row['mean']:.4f} ± {row['std']:.4f} ({gap}{_format_seconds(row['train_seconds'])} s)"


def _verdict(value: bool | None) -> str:
    return "—" if value is None else ("yes" if value else "**no**")


def _glance_markdown(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The one-row-per-setting table of :func:`markdown_report` (lines), from :func:`summarize`'s rows."""
    lines = [
        "| setting | metric | task loss | UniLoss (defaults) | UniLoss, best option | peers "
        "| UniLoss ≥ every peer | UniLoss ≥ task loss − 0.5 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for entry in setting_summary(rows):
        metric = METRIC_LABELS.get(entry["metric"] or "", entry["metric"] or "?")
        ours = "—" if entry["uniloss"] is None else _cell(entry["uniloss"])
        cells = [
            "<br>".join(_cell(row, label=True) for row in group) or "—"
            for group in (entry["task_loss"], entry["options"], entry["peers"])
        ]
        lines.append(
            f"| {entry['setting']} | {metric} | {cells[0]} | {ours} | {cells[1]} | {cells[2]} "
            f"| {_verdict(entry['beats_peers'])} | {_verdict(entry['near_task_loss'])} |"
        )
    return lines


def _format_seconds(seconds: float) -> str:
    if math.isnan(seconds):
        return "—"
    return f"{seconds:.2f}" if seconds < 10 else f"{seconds:.1f}"


def _settings_line(setting: Mapping[str, Any]) -> str:
    config = setting.get("config", {})
    parts = [f"model `{setting.get('model')}`"]
    keys = (
        "epochs",
        "batch_size",
        "optimizer",
        "lr",
        "scheduler",
        "temperature",
        "power",
        "limit_train",
        "limit_test",
        "validation",
        "positive_fraction",
    )
    for key in keys:
        if key in config and config[key] is not None:
            parts.append(f"{key} {config[key]}")
    for key in _MODEL_OPTIONS.get(str(setting.get("model")), ()):
        if config.get(key) is not None:
            value = config[key]
            parts.append(f"{key} {' '.join(map(str, value)) if isinstance(value, (list, tuple)) else value}")
    if setting.get("task") in ("ap", "f1", "fbeta") and "positive_class" in config:
        parts.append(f"positive class {config['positive_class']}")
    if setting.get("task") == "fbeta":
        parts.append(f"beta {config.get('beta')}")
    if setting.get("task") == "topk":
        parts.append(f"top_k {config.get('top_k')}")
    if config.get("memory"):
        parts.append(f"UniLoss memory {config['memory']}")
    rows = setting.get("losses") or {}
    if any(row != {"loss": name} for name, row in rows.items()):  # rows beyond a plain loss choice
        parts.append("loss rows " + "; ".join(f"{name}: {_row_options(row)}" for name, row in rows.items()))
    return ", ".join(parts)


def _row_options(row: Mapping[str, Any]) -> str:
    return ", ".join(f"{key} {value}" for key, value in row.items())


def markdown_report(results: Mapping[str, Any], plots: Mapping[str, str] | None = None) -> str:
    """The Markdown report of a benchmark: a table of the final test metric over seeds, settings and plots.

    Args:
        results: the output of :func:`uniloss_lab.train.run_comparison`.
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
        "Each setting at a glance: final test metric after the last epoch, mean ± sample standard deviation over "
        "the seeds, then in brackets UniLoss (defaults) minus this row in points (positive: UniLoss ahead) and "
        "the median training seconds per epoch. The last two columns are the targets, on the means: UniLoss with "
        "its defaults at or above every peer surrogate, and at or above the task loss minus 0.5 points.",
        "",
        *_glance_markdown(rows),
        "",
        "Every row in full:",
        "",
        "Final test metric after the last epoch (exact metric on the whole test split: AP pooled over the split; "
        "with a validation split the test split is read only then), mean ± sample standard deviation over seeds, "
        "with the range; best epoch is the mean over seeds of the epoch with the best validation metric (reported, "
        "not used: the table is the last epoch's); Δ is UniLoss minus the baseline; "
        "UniLoss − this is the UniLoss row's mean minus this row's (positive: UniLoss ahead); "
        "s/epoch is the median training wall time per epoch over epochs and seeds (evaluation excluded).",
        "",
        "| setting | metric | loss | final test metric | min – max | best epoch on validation | Δ vs baseline "
        "| UniLoss − this | s/epoch | seeds | epochs |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        metric = METRIC_LABELS.get(row["metric"] or "", row["metric"] or "?")
        delta = "—" if row["delta"] is None else f"{row['delta']:+.4f}"
        gap = "—" if row["gap"] is None else f"{row['gap']:+.4f}"
        best = "—" if row["best_epoch"] is None else f"{row['best_epoch']:.1f}"
        lines.append(
            f"| {row['setting']} | {metric} | {row['loss_name']} | {row['mean']:.4f} ± {row['std']:.4f} "
            f"| {row['min']:.4f} – {row['max']:.4f} | {best} | {delta} | {gap} "
            f"| {_format_seconds(row['train_seconds'])} | {len(row['seeds'])} | {row['epochs']} |"
        )
    lines += ["", "## Settings", ""]
    for setting in results["settings"]:
        lines.append(f"- **{setting['name']}** ({setting.get('dataset')}): {_settings_line(setting)}.")
    if plots:
        validated = any(run["history"].get("validation_metric") for item in results["settings"] for run in item["runs"])
        lines += ["", f"## {'Validation' if validated else 'Test'} metric per epoch", ""]
        for name, file_name in plots.items():
            lines += [f"![{name}]({file_name})", ""]
    return "\n".join(lines).rstrip() + "\n"
