"""Side-by-side benchmarks: UniLoss and the task's baseline, same model, budget and seeds; results as JSON."""

from __future__ import annotations

import datetime
import json
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

import uniloss
from uniloss.train.config import BENCH_SUITES, TrainConfig, make_config
from uniloss.train.loop import train

__all__ = ["RESULTS_NAME", "bench_settings", "run_bench"]

RESULTS_NAME = "results.json"
RESULTS_FORMAT = 1
LOSS_ORDER = ("uniloss", "baseline")


def bench_settings(suite: str | None = None, preset: str | None = None, **overrides: Any) -> list[TrainConfig]:
    """The configurations a benchmark compares, each run later with both losses and every seed.

    Formally, with a ``suite`` each of its settings (a dict of overrides in :data:`BENCH_SUITES`) is combined
    with ``overrides`` (which win); an override of ``task`` selects the suite's settings of that task. Without
    a suite there is one setting, ``make_config(preset, **overrides)``.

    Args:
        suite: a key of :data:`BENCH_SUITES` (``"quick"``, ``"digits"``, ``"keypoints"``, ``"fashion-mnist"``)
            or ``None``.
        preset: a key of :data:`~uniloss.train.config.PRESETS` applied under the overrides, or ``None``.
        **overrides: :class:`TrainConfig` fields; ``loss`` is not allowed (both are run).

    Returns:
        The validated configurations, in order.

    Raises:
        ValueError: for an unknown suite, a ``loss`` override, a ``task`` the suite lacks, or invalid values.

    Example:
        >>> [config.task for config in bench_settings("quick")]
        ['ap', 'accuracy', 'pck']
        >>> bench_settings("quick", task="pck")[0].dataset_name
        'keypoints'
    """
    if "loss" in overrides:
        raise ValueError(f"`loss` cannot be set for a benchmark (it runs both losses), but got {overrides['loss']!r}.")
    if suite is None:
        return [make_config(preset, **overrides)]
    if suite not in BENCH_SUITES:
        raise ValueError(f"`suite` must be one of {sorted(BENCH_SUITES)}, but got {suite!r}.")
    settings = [setting for setting in BENCH_SUITES[suite] if overrides.get("task", setting["task"]) == setting["task"]]
    if not settings:
        tasks = sorted({setting["task"] for setting in BENCH_SUITES[suite]})
        raise ValueError(f"`task` must be one of {tasks} for suite {suite!r}, but got {overrides['task']!r}.")
    return [make_config(preset, **{**setting, **overrides}) for setting in settings]


def setting_name(config: TrainConfig) -> str:
    """Name of a benchmark setting: ``task-dataset`` (e.g. ``ap-digits``)."""
    return f"{config.task}-{config.dataset_name}"


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(payload, indent=1, allow_nan=True))
    os.replace(temporary, path)


def run_bench(
    settings: Sequence[TrainConfig],
    seeds: Sequence[int],
    out: str | Path,
    progress: bool = True,
    resume: bool = False,
    command: str | None = None,
) -> dict[str, Any]:
    """Train UniLoss and the baseline for every setting and seed, and write ``out/results.json``.

    Formally, for each setting, seed and loss: ``train(setting.replace(loss=loss, seed=seed,
    out=out/<setting>/<loss>-seed<seed>))``. ``results.json`` is rewritten after every run, so an interrupted
    benchmark keeps what it finished; with ``resume`` each run continues from its own checkpoint (a finished
    run is not trained again).

    Args:
        settings: configurations from :func:`bench_settings` (their ``loss``, ``seed`` and ``out`` are replaced).
        seeds: the seeds, e.g. ``(0, 1, 2)``.
        out: the benchmark folder.
        progress: show progress bars and per-epoch lines.
        resume: continue each run from its checkpoint.
        command: the command line that started the benchmark, recorded in the results.

    Returns:
        The results: ``format``, ``created``, versions, ``seeds`` and ``settings``, a list of dicts with
        ``name``, ``task``, ``dataset``, ``model``, ``metric``, ``baseline``, ``config`` and ``runs`` (each with
        ``loss``, ``loss_name``, ``seed`` and ``history``). :mod:`uniloss.reports` turns it into a table and plots.

    Raises:
        ValueError: if ``seeds`` is empty or has repeats, or two settings share a name.
    """
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"`seeds` must be distinct and at least one, but got {seeds}.")
    names = [setting_name(config) for config in settings]
    if len(set(names)) != len(names):
        raise ValueError(f"benchmark settings must have distinct task-dataset names, but got {names}.")
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "format": RESULTS_FORMAT,
        "command": command,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "uniloss_version": uniloss.__version__,
        "torch_version": str(torch.__version__),
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "cpu_threads": torch.get_num_threads(),
        "seeds": seeds,
        "settings": [],
    }
    for name, base in zip(names, settings, strict=True):
        entry: dict[str, Any] = {
            "name": name,
            "task": base.task,
            "dataset": base.dataset_name,
            "model": base.model_name,
            "metric": base.metric_name,
            "baseline": base.baseline_name,
            "config": {key: value for key, value in base.to_dict().items() if key not in ("loss", "seed", "out")},
            "runs": [],
        }
        results["settings"].append(entry)
        for seed in seeds:
            for loss in LOSS_ORDER:
                config = base.replace(loss=loss, seed=seed, out=str(root / name / f"{loss}-seed{seed}"), resume=resume)
                history = train(config, progress=progress)
                entry["runs"].append(
                    {"loss": loss, "loss_name": history["loss_name"], "seed": seed, "history": history}
                )
                _write_json(root / RESULTS_NAME, results)
    _write_json(root / RESULTS_NAME, results)
    return results
