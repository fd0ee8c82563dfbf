"""The options of the ``uniloss`` command, built from :class:`~uniloss_lab.train.config.TrainConfig`'s fields.

One option per field (``batch_size`` is ``--batch-size``), with its type and choices from the field's annotation
and its help from the class docstring's ``Args:`` section; the defaults that depend on the task (the metrics'
declared temperature and power, the dataset and model) come from :func:`metric_defaults` and the task's config.
Options that a command would ignore are not offered, and those a run would ignore are refused (:func:`check_used`).
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import typing
from collections.abc import Callable, Sequence
from typing import Any

from uniloss.engine import UniLoss
from uniloss.interpolators import InverseDistanceWeighting
from uniloss.relaxations import Sigmoid
from uniloss_lab.train.config import DATASETS, LOSSES, MODELS, RETRIEVAL_TASKS, TASKS, TrainConfig
from uniloss_lab.train.peers import PEERS
from uniloss_lab.train.recipes import RECIPES
from uniloss_lab.train.suites import SUITES

__all__ = [
    "add_output_options",
    "add_training_options",
    "check_used",
    "describe_recipes",
    "describe_suites",
    "metric_defaults",
]


def describe_recipes() -> str:
    """The recipes and the options each one sets, for ``--help`` and ``uniloss recipes``.

    Example:
        >>> describe_recipes().splitlines()[0]
        'recipes (each sets these options; options given on the command line win):'
    """
    lines = ["recipes (each sets these options; options given on the command line win):"]
    for name, values in RECIPES.items():
        lines.append(f"  {name}: {_as_options(values)}")
    return "\n".join(lines)


def describe_suites() -> str:
    """The comparison suites and the options of each of their settings, for ``--help`` and ``uniloss recipes``.

    Example:
        >>> describe_suites().splitlines()[1]
        '  quick:'
    """
    lines = ["comparison suites (--suite NAME; --quick is --suite quick):"]
    for name, settings in SUITES.items():
        lines.append(f"  {name}:")
        for values in settings:
            rows = values.get("losses")
            options = _as_options({key: value for key, value in values.items() if key != "losses"})
            lines.append(f"    {options}" + (f" (loss rows: {', '.join(rows)})" if rows else ""))
    return "\n".join(lines)


def _as_options(values: dict[str, Any]) -> str:
    """TrainConfig values as the options that set them: ``{"batch_size": 16}`` is ``--batch-size 16``."""
    words = []
    for key, value in values.items():
        option = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            words.append(option if value else "--no-" + option[2:])
        elif isinstance(value, tuple):
            words.append(f"{option} {' '.join(str(item) for item in value)}")
        else:
            words.append(f"{option} {'none' if value is None else value}")
    return " ".join(words)


def metric_defaults() -> dict[str, dict[str, float]]:
    """UniLoss's temperature and power when a run sets none, per task, as the task's metric declares them.

    The one place the command reads the metrics' declared defaults (``--help`` shows them): the
    :meth:`~uniloss.metrics.MetricRefactoring.default_parts` of the metric that the task's UniLoss is built on
    (its relaxation's ``temperature`` and its interpolator's ``power``). A task whose metric declares other kinds
    of parts is left out.

    Example:
        >>> metric_defaults()["ap"]
        {'temperature': 1.0, 'power': 1.5}
    """
    from uniloss_lab.train.config import make_config
    from uniloss_lab.train.tasks import build_task

    defaults: dict[str, dict[str, float]] = {}
    for task in TASKS:
        criterion = build_task(make_config(task=task, loss="uniloss")).criterion
        if not isinstance(criterion, UniLoss):
            continue
        parts = criterion.metric.default_parts()
        if isinstance(parts.relax, Sigmoid) and isinstance(parts.interpolator, InverseDistanceWeighting):
            defaults[task] = {"temperature": parts.relax.temperature, "power": parts.interpolator.power}
    return defaults


def _task_defaults(name: str) -> dict[str, str]:
    """What field ``name`` is, per task, when a run leaves it at ``None``; empty if that does not depend on the task."""
    from uniloss_lab.train.config import make_config

    if name in ("temperature", "power"):
        return {task: f"{parts[name]:g}" for task, parts in metric_defaults().items()}
    if name in ("dataset", "model"):
        return {task: getattr(make_config(task=task), f"{name}_name") for task in TASKS}
    if name == "validation":
        return {task: f"{make_config(task=task).validation_fraction:g}" for task in TASKS}
    return {}


def _help(name: str, text: str, default: object) -> str:
    """A field's help: its description up to "; None ...", and the default (what ``None`` means, per task)."""
    text, _, if_none = text.rstrip(".").partition("; None ")
    by_task = _task_defaults(name)
    if len(set(by_task.values())) == 1:
        shown = next(iter(by_task.values()))
    elif by_task:
        shown = ", ".join(f"{value} for {task}" for task, value in by_task.items())
    elif default is None:
        shown = if_none.removeprefix("for ").removeprefix("to ")
    elif isinstance(default, bool):
        shown = ""
    elif isinstance(default, tuple):
        shown = " ".join(str(item) for item in default) or "none"
    else:
        shown = str(default)
    return (text + (f" (default: {shown})" if shown else "")).replace("%", "%%")


def _field_docs() -> dict[str, str]:
    """Each TrainConfig field's description, from the ``Args:`` section of its docstring, as plain text."""
    doc = inspect.getdoc(TrainConfig) or ""
    section = doc.partition("\nArgs:\n")[2].partition("\n\n")[0]
    docs: dict[str, str] = {}
    name = ""
    for line in section.splitlines():
        match = re.fullmatch(r"    (\w+): (.*)", line)
        if match:
            name = match[1]
            docs[name] = match[2]
        elif name:
            docs[name] += " " + line.strip()
    fields = {field.name for field in dataclasses.fields(TrainConfig)}

    def plain(text: str) -> str:
        text = text.replace(":data:`DATASETS`", "the choices")
        text = re.sub(r"``(\w+)``", lambda m: "--" + m[1].replace("_", "-") if m[1] in fields else m[0], text)
        return re.sub(r":\w+:`~?([^`]+)`", r"\1", text).replace("``", "")

    return {key: plain(text) for key, text in docs.items()}


_FIELD_CHOICES: dict[str, tuple[str, ...]] = {"dataset": DATASETS, "model": MODELS, "loss": LOSSES}
"""Choices of the str fields whose type does not list them."""

_OUTPUT_FIELDS = frozenset({"recipe", "out", "resume", "overwrite"})
_NOT_IN: dict[str, frozenset[str]] = {
    "train": _OUTPUT_FIELDS,
    # A benchmark runs both losses over --seeds; its runs share the machine (--jobs) and always run to the end.
    "compare": _OUTPUT_FIELDS | {"loss", "seed", "stop_after", "nproc", "threads", "skip_nonfinite"},
    # A diagnostic is train()'s run of UniLoss with a monitoring callback, in one process, without checkpoints,
    # until --steps (see uniloss_lab.reports.diagnostic.diagnose): options it would ignore are not offered.
    "diagnose": _OUTPUT_FIELDS | {"loss", "stop_after", "nproc"},
}
"""Per command, the TrainConfig fields that are not among its training options (``--recipe``, ``--out``,
``--resume`` and ``--overwrite`` say what the command reads and writes: :func:`add_output_options`)."""

_OUTPUT_HELP: dict[str, dict[str, str]] = {
    "train": {
        "out": "folder of checkpoint.pt and history.json (default: runs/train/TASK-DATASET-LOSS-seedSEED)",
        "resume": "continue the run in --out from its checkpoint (an error when there is none)",
        "overwrite": "replace the run in --out (without --resume or --overwrite, a folder holding a run is refused)",
    },
    "compare": {
        "out": "folder of results.json, results.md, the PNGs and every run (default: runs/compare/SUITE or SETTING)",
        "resume": "continue the comparison in --out, each run from its checkpoint; may replace --markdown",
        "overwrite": "replace the comparison in --out and the --markdown file (without --resume or --overwrite, "
        "a folder holding a comparison and an existing --markdown file are refused)",
    },
    "diagnose": {
        "out": "folder of diagnostic.png and diagnostic.json (default: runs/diagnose/TASK-DATASET-seedSEED)",
        "overwrite": "replace the diagnostic in --out (without it, a folder holding one is refused)",
    },
    "report": {
        "out": "write results.md and the PNGs there instead of RUN_DIR (refused if it holds a report)",
        "overwrite": "replace the report in --out and the --markdown file",
    },
}
"""What each command's ``--out``, ``--resume`` and ``--overwrite`` mean (``--resume`` where it can continue)."""


def add_output_options(parser: argparse.ArgumentParser, command: str, suppress: bool = True) -> None:
    """``--out`` and ``--resume`` / ``--overwrite`` (one or the other) of ``command``."""
    group = parser.add_argument_group("output")
    texts = _OUTPUT_HELP[command]
    group.add_argument("--out", default=argparse.SUPPRESS if suppress else None, help=texts["out"])
    either = group.add_mutually_exclusive_group()
    flag = argparse.SUPPRESS if suppress else False
    if "resume" in texts:
        either.add_argument("--resume", action="store_true", default=flag, help=texts["resume"])
    either.add_argument("--overwrite", action="store_true", default=flag, help=texts["overwrite"])


def _none_or(kind: type) -> Any:
    def parse(text: str) -> Any:
        return None if text.lower() == "none" else kind(text)

    parse.__name__ = kind.__name__  # argparse names the type in its errors
    return parse


def add_training_options(parser: argparse.ArgumentParser, command: str) -> None:
    """One option per TrainConfig field (``batch_size`` is ``--batch-size``): type, choices and help from the field.

    Unset options stay out of the namespace, so that a recipe's values, then TrainConfig's defaults, apply.
    """
    group = parser.add_argument_group("training options (all default to the recipe, then to TrainConfig)")
    group.add_argument("--recipe", choices=sorted(RECIPES), default=None, help="the paper's settings (see below)")
    hints = typing.get_type_hints(TrainConfig)
    docs = _field_docs()
    for field in dataclasses.fields(TrainConfig):
        if field.name in _NOT_IN[command]:
            continue
        hint = hints[field.name]
        options: dict[str, Any] = {"default": argparse.SUPPRESS, "dest": field.name}
        args = tuple(arg for arg in typing.get_args(hint) if arg is not type(None))
        if hint is bool:
            # --no-NAME too where a recipe turns it on
            preset_sets = any(values.get(field.name) for values in RECIPES.values())
            options["action"] = argparse.BooleanOptionalAction if preset_sets else "store_true"
        elif typing.get_origin(hint) is typing.Literal:
            options["choices"] = args
        elif typing.get_origin(hint) is tuple:
            options.update(type=args[0], nargs="*")  # `--hidden` alone: no hidden layer (a linear model)
        elif field.name in _FIELD_CHOICES:
            options["choices"] = _FIELD_CHOICES[field.name]
        elif args and args[0] in (int, float):
            options["type"] = _none_or(args[0]) if len(args) < len(typing.get_args(hint)) else args[0]
        elif hint in (int, float):
            options["type"] = hint
        text = _help(field.name, docs[field.name], field.default)
        group.add_argument("--" + field.name.replace("_", "-"), help=text, **options)
    parser.add_argument("--no-progress", action="store_true", help="no progress bars or per-epoch lines")


_USED_WHEN: dict[str, tuple[str, Callable[[TrainConfig], bool]]] = {
    "positive_class": ("--task ap, f1 or fbeta", lambda config: config.task in ("ap", "f1", "fbeta")),
    "beta": ("--task fbeta", lambda config: config.task == "fbeta"),
    "top_k": (
        "--task topk, precision_at_k, recall_at_k or ndcg",
        lambda config: config.task in ("topk", *RETRIEVAL_TASKS),
    ),
    "embedding_dim": (
        "--task precision_at_k, recall_at_k or ndcg",
        lambda config: config.task in RETRIEVAL_TASKS,
    ),
    "threshold": ("--task pck", lambda config: config.task == "pck"),
    "temperature": ("--loss uniloss", lambda config: config.loss == "uniloss"),
    "power": ("--loss uniloss", lambda config: config.loss == "uniloss"),
    "memory": ("--loss uniloss", lambda config: config.loss == "uniloss"),
    "metric": ("--loss uniloss", lambda config: config.loss == "uniloss"),
    "ap_mode": ("--task ap and --loss uniloss", lambda config: config.task == "ap" and config.loss == "uniloss"),
    "candidates": (
        "--task accuracy and --loss uniloss",
        lambda config: config.task == "accuracy" and config.loss == "uniloss",
    ),
    "hidden": ("--model mlp", lambda config: config.model_name == "mlp"),
    "width": (
        "--model small_cnn, hourglass or unet",
        lambda config: config.model_name in ("small_cnn", "hourglass", "unet"),
    ),
    "stacks": ("--model hourglass", lambda config: config.model_name == "hourglass"),
    "depth": ("--model hourglass or unet", lambda config: config.model_name in ("hourglass", "unet")),
    "optimizer": ("a --loss without an optimiser of its own", lambda config: not _own_optimizer(config)),
    "weight_decay": ("a --loss without an optimiser of its own", lambda config: not _own_optimizer(config)),
    "momentum": (
        "--optimizer sgd or rmsprop (and a --loss without an optimiser of its own)",
        lambda config: config.optimizer in ("sgd", "rmsprop") and not _own_optimizer(config),
    ),
    "milestones": ("--scheduler multistep", lambda config: config.scheduler == "multistep"),
    "gamma": ("--scheduler multistep", lambda config: config.scheduler == "multistep"),
    "data_dir": (
        "a --dataset read from files (not digits, keypoints or shapes)",
        lambda config: config.dataset_name not in ("digits", "keypoints", "shapes"),
    ),
}
"""Options that only some runs use: given for a run that does not use them, they are refused, not ignored."""


def _own_optimizer(config: TrainConfig) -> bool:
    """Whether the run's loss is a peer that brings its own optimiser (LibAUC's recipe)."""
    peer = PEERS.get(config.loss)
    return peer is not None and peer.optimizer is not None


def check_used(args: argparse.Namespace, configs: Sequence[TrainConfig]) -> None:
    """Raise ``ValueError`` for an option given on the command line that none of ``configs`` uses."""
    for name, (condition, used) in _USED_WHEN.items():
        if hasattr(args, name) and not any(used(config) for config in configs):
            raise ValueError(f"`{name}` is used only with {condition}; this run would ignore it, so drop it.")
