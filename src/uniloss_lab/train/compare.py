"""Side-by-side benchmarks: UniLoss, the task's baseline and peer losses, same model, budget and seeds; as JSON."""

from __future__ import annotations

import datetime
import math
import platform
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from uniloss.version import __version__
from uniloss_lab.train.atomic import write_json
from uniloss_lab.train.checkpoints import CHECKPOINT_NAME
from uniloss_lab.train.config import TrainConfig, make_config
from uniloss_lab.train.loop import train
from uniloss_lab.train.outputs import check_output, run_label
from uniloss_lab.train.peers import PEERS, require_peer
from uniloss_lab.train.provenance import source_commit
from uniloss_lab.train.suites import BENCH_VALIDATION, DEFAULT_LOSSES, LR_GRIDS, QUICK, SUITES

__all__ = [
    "RESULTS_NAME",
    "lr_search_markdown",
    "run_comparison",
    "setting_name",
    "setting_names",
    "source_commit",
    "suite_losses",
    "suite_lrs",
    "suite_settings",
]

RESULTS_NAME = "results.json"
RESULTS_FORMAT = 1
_ROW_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_ROWS_AND_GRID = ("losses", "lrs")  # keys of a suite's setting that are not TrainConfig fields


def suite_settings(
    suite: str | None = None, recipe: str | None = None, quick: bool = False, **overrides: Any
) -> list[TrainConfig]:
    """The configurations a benchmark compares, each run later with its loss rows and every seed.

    Formally, with a ``suite`` each of its settings (a dict of overrides in :data:`SUITES`, its loss rows
    ``"losses"`` and grid ``"lrs"`` left out: see :func:`suite_losses` and :func:`suite_lrs`) is combined with
    ``overrides`` (which win); an override of ``task`` selects the suite's settings of that task. Without a suite
    there is one setting, ``make_config(recipe, **overrides)``. Every setting holds out
    :data:`~uniloss_lab.train.suites.BENCH_VALIDATION` of its training split as validation (where neither it nor the
    overrides set ``validation``), so that the learning rate and the best epoch are chosen there and the test
    split is read once per run. ``quick`` applies :data:`~uniloss_lab.train.suites.QUICK` under the overrides: the
    same settings on a few hundred examples for two epochs, for the tests.

    Args:
        suite: a key of :data:`SUITES` or ``None``.
        recipe: a key of :data:`~uniloss_lab.train.recipes.RECIPES` applied under the overrides, or ``None``.
        quick: the suite's quick form.
        **overrides: :class:`TrainConfig` fields; ``loss`` is not allowed (the loss rows are run).

    Returns:
        The validated configurations, in order.

    Raises:
        ValueError: for an unknown suite, a ``loss`` override, a ``task`` the suite lacks, or invalid values.

    Example:
        >>> [config.task for config in suite_settings("quick")]
        ['ap', 'accuracy', 'pck']
        >>> config = suite_settings("quick", task="pck")[0]
        >>> config.dataset_name, config.validation
        ('keypoints', 0.2)
    """
    if "loss" in overrides:
        raise ValueError(
            f"`loss` cannot be set for a benchmark (it runs every loss row), but got {overrides['loss']!r}."
        )
    overrides = {**(QUICK if quick else {}), **overrides}
    if suite is None:
        return [make_config(recipe, **{"validation": BENCH_VALIDATION, **overrides})]
    settings = [
        {key: value for key, value in row.items() if key not in _ROWS_AND_GRID} for row in _suite(suite, overrides)
    ]
    return [make_config(recipe, **{"validation": BENCH_VALIDATION, **setting, **overrides}) for setting in settings]


def _suite(suite: str, overrides: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The settings of ``suite`` of the task in ``overrides`` (all without one)."""
    if suite not in SUITES:
        raise ValueError(f"`suite` must be one of {sorted(SUITES)}, but got {suite!r}.")
    settings = [setting for setting in SUITES[suite] if overrides.get("task", setting["task"]) == setting["task"]]
    if not settings:
        tasks = sorted({setting["task"] for setting in SUITES[suite]})
        raise ValueError(f"`task` must be one of {tasks} for suite {suite!r}, but got {overrides['task']!r}.")
    return settings


def suite_losses(suite: str | None = None, task: str | None = None) -> list[dict[str, dict[str, Any]]]:
    """The loss rows of each setting of :func:`suite_settings` (same suite and task), in the same order.

    A row maps its name (the runs' folder prefix and the ``loss`` of their results) to the
    :class:`TrainConfig` overrides of its runs; a setting without ``"losses"`` has :data:`DEFAULT_LOSSES`.

    Args:
        suite: a key of :data:`SUITES`, or ``None`` for the one setting of a benchmark without a suite.
        task: the task that selects the suite's settings, or ``None`` for all.

    Returns:
        One dict per setting (copies).

    Raises:
        ValueError: for an unknown suite or a task the suite lacks.

    Example:
        >>> list(suite_losses("quality", task="f1")[0])
        ['uniloss', 'baseline', 'uniloss-plus-task', 'sigmoid_f1']
        >>> suite_losses()
        [{'uniloss': {'loss': 'uniloss'}, 'baseline': {'loss': 'baseline'}}]
    """
    if suite is None:
        return [{name: dict(row) for name, row in DEFAULT_LOSSES.items()}]
    overrides = {} if task is None else {"task": task}
    return [
        {name: dict(row) for name, row in setting.get("losses", DEFAULT_LOSSES).items()}
        for setting in _suite(suite, overrides)
    ]


def suite_lrs(suite: str | None = None, task: str | None = None, quick: bool = False) -> list[tuple[float, ...] | None]:
    """The learning-rate grid of each setting of :func:`suite_settings` (same suite and task), in the same order.

    A setting's own ``"lrs"`` wins over its suite's entry in :data:`LR_GRIDS`; ``None`` means no search (the
    setting's ``lr``). The quick form searches the grid's first two rates.

    Args:
        suite: a key of :data:`SUITES`, or ``None`` for the one setting of a benchmark without a suite.
        task: the task that selects the suite's settings, or ``None`` for all.
        quick: the grids of the suite's quick form.

    Returns:
        One grid (a tuple) or ``None`` per setting.

    Raises:
        ValueError: for an unknown suite or a task the suite lacks.

    Example:
        >>> suite_lrs("quality", task="pck"), suite_lrs("quality", task="f1"), suite_lrs("quick", task="ap")
        ([(0.003,)], [(0.001, 0.003)], [None])
    """
    if suite is None:
        return [None]
    overrides = {} if task is None else {"task": task}
    default = LR_GRIDS.get(suite)
    grids: list[tuple[float, ...] | None] = []
    for setting in _suite(suite, overrides):
        grid = setting.get("lrs", default)
        grids.append((tuple(grid)[:2] if quick else tuple(grid)) if grid else None)
    return grids


def setting_name(config: TrainConfig) -> str:
    """Name of a benchmark setting: ``task-dataset`` (e.g. ``ap-digits``)."""
    return f"{config.task}-{config.dataset_name}"


_NAME_PARTS = (
    lambda config: "linear" if config.model_name == "mlp" and not config.hidden else config.model_name,
    lambda config: f"class{config.positive_class}",
    lambda config: f"k{config.top_k}",
    lambda config: f"beta{config.beta:g}",
)  # what tells apart the settings that share a task-dataset name, in the order the suffixes are added


def setting_names(settings: Sequence[TrainConfig]) -> list[str]:
    """Names of several settings: :func:`setting_name`, with suffixes where settings share one.

    Formally, within each group of settings that share ``task-dataset``, each of the model (``linear`` for an MLP
    without hidden layers), the class scored against the rest (``class<K>``, one-vs-rest tasks), ``k<top_k>``
    (``topk``) and ``beta<beta>`` (``fbeta``) that differs within the group is appended; ``-memory<M>`` is appended
    to any setting with a UniLoss memory.

    Example:
        >>> configs = [TrainConfig(task="ap", positive_class=0), TrainConfig(task="ap", positive_class=6, memory=8)]
        >>> setting_names(configs)
        ['ap-digits-class0', 'ap-digits-class6-memory8']
        >>> setting_names([TrainConfig(task="topk", hidden=(), top_k=k) for k in (3, 5)])
        ['topk-digits-k3', 'topk-digits-k5']
    """
    bases = [setting_name(config) for config in settings]
    names = []
    for base, config in zip(bases, settings, strict=True):
        group = [other for name, other in zip(bases, settings, strict=True) if name == base]
        name = base
        for part in _NAME_PARTS:
            if len({part(other) for other in group}) > 1:
                name += f"-{part(config)}"
        names.append(f"{name}-memory{config.memory}" if config.memory else name)
    return names


def _train_quietly(config: TrainConfig, threads: int) -> dict[str, Any]:
    """One run in a worker process: ``threads`` torch threads, no progress bars."""
    torch.set_num_threads(threads)
    return train(config, progress=False)


def run_comparison(
    settings: Sequence[TrainConfig],
    seeds: Sequence[int],
    out: str | Path,
    progress: bool = True,
    resume: bool = False,
    command: str | None = None,
    lrs: Sequence[float] | Sequence[Sequence[float] | None] | None = None,
    jobs: int = 1,
    overwrite: bool = False,
    losses: Sequence[Mapping[str, Mapping[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Train every loss row of every setting for every seed, and write ``out/results.json``.

    Formally, for each setting, seed and loss row ``name: overrides`` (UniLoss and the baseline unless
    ``losses`` says otherwise): ``train(setting.replace(**overrides, seed=seed,
    out=out/<setting>/<name>-seed<seed>))``. Every row of a setting gets the same model, data, batch order, seeds
    and learning-rate grid; the rows are checked, and the packages of peer losses imported, before the first run.
    ``results.json`` is rewritten after every setting (every run when
    ``jobs`` is 1), so an interrupted benchmark keeps what it finished; with ``resume`` each run continues from
    its own checkpoint (a finished run is not trained again). An ``out`` that already holds a comparison is
    refused unless ``resume`` or ``overwrite`` (replace it: ``results.json`` and each run are replaced).

    With ``lrs`` every loss is trained at each learning rate (folders ``<loss>-lr<lr>-seed<seed>``) and reported
    at the one with the best mean final validation metric over the seeds (the same grid for every loss; the test
    split is read once per run, after its last epoch, and chooses nothing). Runs without a validation split
    (``validation=0``) are chosen on their final test metric instead, and the entry's ``selected_on`` says which
    split chose. The setting's entry keeps every run under ``lr_search`` (``{loss: {lr: [final metric of the
    selecting split per seed]}}``), the chosen rate under ``chosen_lr`` and its grid under ``lrs``; the results'
    ``lrs`` lists every rate of any setting's grid.

    Args:
        settings: configurations from :func:`suite_settings` (their ``loss``, ``seed`` and ``out`` are replaced).
        seeds: the seeds, e.g. ``(0, 1, 2)``.
        out: the benchmark folder.
        progress: show progress bars and per-epoch lines (only with ``jobs=1``).
        resume: continue each run from its checkpoint (an error when ``out`` holds no benchmark).
        command: the command line that started the benchmark, recorded in the results.
        lrs: learning rates to search (for every setting), one grid or ``None`` per setting (:func:`suite_lrs`),
            or ``None`` to use each setting's ``lr``.
        jobs: runs trained at once, each in its own process with ``max(1, threads // jobs)`` torch threads.
        overwrite: replace the benchmark in ``out``.
        losses: one dict of loss rows per setting (:func:`suite_losses`), or ``None`` for UniLoss and the baseline
            everywhere.

    Returns:
        The results: ``format``, ``command``, ``commit`` (of this package's checkout, or ``None``), ``created``,
        versions, ``seeds`` and ``settings``, a list of dicts with
        ``name``, ``task``, ``dataset``, ``model``, ``metric``, ``baseline``, ``config``, ``losses`` (the rows) and
        ``runs`` (each with ``loss`` (the row's name), ``loss_name``, ``seed`` and ``history``).
        :mod:`uniloss_lab.reports` turns it into a table and plots.

    Raises:
        ValueError: if ``seeds`` is empty or has repeats, ``lrs`` is empty or not positive, ``jobs < 1``, two
            settings share a name, ``losses`` does not give one non-empty dict per setting, a row's name is not a
            folder name, a row's overrides are not valid (``seed`` and ``out`` are the bench's), or ``out`` holds a
            benchmark without ``resume`` or ``overwrite`` (see :func:`uniloss_lab.train.outputs.check_output`).
        ModuleNotFoundError: if a row's peer loss needs a package that is not installed (naming the extra).
    """
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"`seeds` must be distinct and at least one, but got {seeds}.")
    grids = _check_grids(lrs, len(settings))
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"`jobs` must be a positive int, but got {jobs!r}.")
    names = setting_names(settings)
    if len(set(names)) != len(names):
        raise ValueError(f"benchmark settings must have distinct task-dataset names, but got {names}.")
    rows = _check_rows(losses, len(settings))
    for base, setting_rows in zip(settings, rows, strict=True):
        for overrides in setting_rows.values():
            base.replace(**overrides)  # a wrong row fails now, not after the runs before it
            if overrides.get("loss") in PEERS:
                require_peer(overrides["loss"])  # before the first run, not after hours of others
    root = Path(out)
    check_output(root, resume, overwrite, "compare", clear=True)
    root.mkdir(parents=True, exist_ok=True)
    threads = torch.get_num_threads()
    results: dict[str, Any] = {
        "format": RESULTS_FORMAT,
        "command": command,
        "commit": source_commit(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "uniloss_version": __version__,
        "torch_version": str(torch.__version__),
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "cpu_threads": threads if jobs == 1 else max(1, threads // jobs),
        "jobs": jobs,
        "seeds": seeds,
        "lrs": sorted({lr for grid in grids if grid for lr in grid}) or None,
        "settings": [],
    }
    total = sum(len(row) * (1 if grid is None else len(grid)) for row, grid in zip(rows, grids, strict=True))
    total, count = total * len(seeds), 0
    pool = None
    if jobs > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        for name, base, setting_rows, lrs_ in zip(names, settings, rows, grids, strict=True):
            entry: dict[str, Any] = {
                "name": name,
                "task": base.task,
                "dataset": base.dataset_name,
                "model": base.model_name,
                "metric": base.metric_name,
                "baseline": base.baseline_name,
                "config": {key: value for key, value in base.to_dict().items() if key not in ("loss", "seed", "out")},
                "losses": setting_rows,
                "runs": [],
            }
            if lrs_ is not None:
                entry["lrs"] = lrs_
            results["settings"].append(entry)
            grid: list[float | None] = [None] if lrs_ is None else list(lrs_)
            plan = []
            for lr in grid:
                for seed in seeds:
                    for loss, overrides in setting_rows.items():
                        folder = f"{loss}-seed{seed}" if lr is None else f"{loss}-lr{lr:g}-seed{seed}"
                        changes: dict[str, Any] = {**overrides, "seed": seed, "out": str(root / name / folder)}
                        if lr is not None:
                            changes["lr"] = lr
                        resumable = resume and (root / name / folder / CHECKPOINT_NAME).is_file()
                        changes.update(resume=resumable, overwrite=overwrite)
                        plan.append((lr, seed, loss, base.replace(**changes)))
            done: list[tuple[float | None, int, str, dict[str, Any]]] = []
            if pool is None:
                for lr, seed, loss, config in plan:
                    count += 1
                    if progress:
                        print(f"run {count}/{total}: {run_label(config)}", flush=True)
                    done.append((lr, seed, loss, train(config, progress=progress)))
                    if lrs_ is None:
                        entry["runs"] = [_run_entry(loss_, seed_, history) for _, seed_, loss_, history in done]
                        write_json(root / RESULTS_NAME, results)
            else:
                per_job = max(1, threads // jobs)
                futures = [pool.submit(_train_quietly, config, per_job) for *_, config in plan]
                for (lr, seed, loss, config), future in zip(plan, futures, strict=True):
                    done.append((lr, seed, loss, future.result()))
                    count += 1
                    if progress:
                        final = done[-1][3]["final_metric"]
                        print(f"run {count}/{total} done: {run_label(config)}, final test {final}", flush=True)
            _select(entry, done, lrs_)
            write_json(root / RESULTS_NAME, results)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    write_json(root / RESULTS_NAME, results)
    return results


def _check_rows(
    losses: Sequence[Mapping[str, Mapping[str, Any]]] | None, count: int
) -> list[dict[str, dict[str, Any]]]:
    """The loss rows of each of ``count`` settings, checked (see :func:`run_comparison`)."""
    if losses is None:
        return [{name: dict(row) for name, row in DEFAULT_LOSSES.items()} for _ in range(count)]
    rows = [{str(name): dict(row) for name, row in setting.items()} for setting in losses]
    if len(rows) != count or not all(rows):
        raise ValueError(f"`losses` must give a non-empty dict of rows for each of {count} settings, but got {rows}.")
    for setting in rows:
        for name, overrides in setting.items():
            if not _ROW_NAME.fullmatch(name):
                raise ValueError(f"`losses` row names must be folder names ([A-Za-z0-9_.-]+), but got {name!r}.")
            if {"seed", "out"} & set(overrides):
                raise ValueError(f"`losses` row {name!r} must not set `seed` or `out` (the bench's); got {overrides}.")
    return rows


def _check_grids(
    lrs: Sequence[float] | Sequence[Sequence[float] | None] | None, count: int
) -> list[list[float] | None]:
    """The learning-rate grid of each of ``count`` settings (see :func:`run_comparison`), checked."""
    if lrs is None:
        return [None] * count
    given = list(lrs)
    if not given:
        raise ValueError("`lrs` must be distinct positive learning rates, but got [].")
    if all(isinstance(lr, (int, float)) and not isinstance(lr, bool) for lr in given):
        grids: list[Any] = [given] * count
    else:
        grids = given
        if len(grids) != count:
            raise ValueError(f"`lrs` must be one grid (or None) for each of {count} settings, but got {given}.")
    checked: list[list[float] | None] = []
    for grid in grids:
        if grid is None:
            checked.append(None)
            continue
        if isinstance(grid, (int, float)):
            raise ValueError(f"`lrs` must be a grid or one grid per setting, not a mixture, but got {given}.")
        values = list(grid)
        if not values or any(not (lr > 0) for lr in values) or len(set(values)) != len(values):
            raise ValueError(f"`lrs` must be distinct positive learning rates, but got {values}.")
        checked.append([float(lr) for lr in values])
    return checked


def _run_entry(loss: str, seed: int, history: dict[str, Any]) -> dict[str, Any]:
    return {"loss": loss, "loss_name": history["loss_name"], "seed": seed, "history": history}


def _selection_value(history: Mapping[str, Any]) -> tuple[str, float]:
    """The split a run's rate is chosen on and its value there: the final validation metric, else the final test."""
    validation = history.get("validation_metric")
    if validation:
        value = validation[-1]
        return "validation", math.nan if value is None else float(value)
    final = history["final_metric"]
    return "test", math.nan if final is None else float(final)


def _select(
    entry: dict[str, Any], done: Sequence[tuple[float | None, int, str, dict[str, Any]]], lrs: Sequence[float] | None
) -> None:
    """Fill ``entry["runs"]`` with each loss's runs at its best learning rate (all runs without a grid).

    The rate is the one with the best mean over the seeds of the final validation metric (of the final test metric
    for runs without a validation split, which ``entry["selected_on"]`` then says).
    """
    if lrs is None:
        entry["runs"] = [_run_entry(loss, seed, history) for _, seed, loss, history in done]
        return
    search: dict[str, dict[str, list[float]]] = {}
    splits = set()
    for lr, _seed, loss, history in done:
        split, value = _selection_value(history)
        splits.add(split)
        search.setdefault(loss, {}).setdefault(f"{lr:g}", []).append(value)
    chosen: dict[str, float] = {}
    for loss, by_lr in search.items():

        def score(item: tuple[str, list[float]]) -> float:
            values = item[1]
            mean = sum(values) / len(values)
            return mean if math.isfinite(mean) else -math.inf

        chosen[loss] = float(max(by_lr.items(), key=score)[0])
    entry["selected_on"] = "validation" if splits == {"validation"} else "test"
    entry["lr_search"] = search
    entry["chosen_lr"] = chosen
    entry["runs"] = [
        _run_entry(loss, seed, history)
        for lr, seed, loss, history in done
        if lr is not None and f"{lr:g}" == f"{chosen[loss]:g}"
    ]


def lr_search_markdown(results: Mapping[str, Any]) -> str:
    """A Markdown section listing, per setting and loss, the mean final selecting metric at every searched rate.

    Example:
        >>> results = {"lrs": [0.001], "settings": [{"name": "ap-digits", "chosen_lr": {"uniloss": 0.001},
        ...            "lr_search": {"uniloss": {"0.001": [0.9, 0.8]}}}]}
        >>> print(lr_search_markdown(results).strip().splitlines()[-1])
        | ap-digits | uniloss | **0.8500** (0.001) |
    """
    lrs = [f"{lr:g}" for lr in results.get("lrs") or []]
    splits = {setting.get("selected_on", "test") for setting in results.get("settings", []) if "lr_search" in setting}
    split = " or ".join(sorted(splits)) or "validation"
    once = ", held out of the training split; the test split is read once per run, after its last epoch."
    lines = [
        "",
        "## Learning-rate search",
        "",
        f"Mean final {split} metric over the seeds at each learning rate (the same grid for every loss of a setting; "
        "— where a setting's grid lacks the rate); each loss is reported above at its best rate (in bold). The "
        f"rate is chosen on the {split} split for every loss alike" + (once if splits == {"validation"} else "."),
        "",
        "| setting | loss | " + " | ".join(f"lr {lr}" for lr in lrs) + " |",
        "|---|---|" + "---|" * len(lrs),
    ]
    for setting in results.get("settings", []):
        for loss, by_lr in setting.get("lr_search", {}).items():
            chosen = f"{setting['chosen_lr'][loss]:g}"
            cells = []
            for lr in lrs:
                values = by_lr.get(lr, [])
                if not values:
                    cells.append("—")  # not in this setting's grid
                    continue
                cell = f"{sum(values) / len(values):.4f}"
                cells.append(f"**{cell}** ({lr})" if lr == chosen else cell)
            lines.append(f"| {setting['name']} | {loss} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
