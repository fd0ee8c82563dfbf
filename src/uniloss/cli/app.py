"""The ``uniloss`` command: ``train``, ``bench``, ``report``, ``diagnose`` and ``presets``; argument parsing only."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import os
import re
import shlex
import sys
import time
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import uniloss
from uniloss.train.config import (
    BENCH_LR_GRIDS,
    BENCH_SUITES,
    DATASETS,
    MODELS,
    PRESETS,
    TASKS,
    TrainConfig,
)
from uniloss.train.outputs import check_file, check_output

__all__ = ["build_parser", "main"]


def _describe_presets() -> str:
    lines = ["presets (each sets these options; options given on the command line win):"]
    for name, values in PRESETS.items():
        lines.append(f"  {name}: {_as_options(values)}")
    return "\n".join(lines)


def _describe_suites() -> str:
    lines = ["benchmark suites (--suite NAME; --quick is --suite quick):"]
    for name, settings in BENCH_SUITES.items():
        lines.append(f"  {name}:")
        lines.extend(f"    {_as_options(values)}" for values in settings)
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

    The one place the command reads the metrics' declared defaults (``--help`` shows them).

    Example:
        >>> metric_defaults()["ap"]["power"]
        1.5
    """
    from uniloss.train.config import make_config

    defaults: dict[str, dict[str, float]] = {}
    for task in TASKS:
        metric: type[uniloss.metrics.MetricRefactoring] = uniloss.METRICS[make_config(task=task).metric_name]
        defaults[task] = {"temperature": metric.default_temperature, "power": metric.default_power}
    return defaults


def _task_defaults(name: str) -> dict[str, str]:
    """What field ``name`` is, per task, when a run leaves it at ``None``; empty if that does not depend on the task."""
    from uniloss.train.config import make_config

    if name in ("temperature", "power"):
        return {task: f"{parts[name]:g}" for task, parts in metric_defaults().items()}
    if name in ("dataset", "model"):
        return {task: getattr(make_config(task=task), f"{name}_name") for task in TASKS}
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


_FIELD_CHOICES: dict[str, tuple[str, ...]] = {"dataset": DATASETS, "model": MODELS}
"""Choices of the str fields whose type does not list them."""

_OUTPUT_FIELDS = frozenset({"preset", "out", "resume", "overwrite"})
_NOT_IN: dict[str, frozenset[str]] = {
    "train": _OUTPUT_FIELDS,
    # A benchmark runs both losses over --seeds; its runs share the machine (--jobs) and always run to the end.
    "bench": _OUTPUT_FIELDS | {"loss", "seed", "stop_after", "nproc", "threads", "skip_nonfinite"},
    # A diagnostic trains UniLoss, batch after batch, without evaluation, schedule, clipping, augmentation or
    # checkpoints (see uniloss.reports.diagnostic.diagnose): options it would ignore are not offered.
    "diagnose": _OUTPUT_FIELDS
    | {
        "loss",
        "eval_batch_size",
        "scheduler",
        "milestones",
        "gamma",
        "grad_clip",
        "resume",
        "stop_after",
        "limit_test",
        "num_workers",
        "augment",
        "nproc",
        "threads",
        "skip_nonfinite",
    },
}
"""Per command, the TrainConfig fields that are not among its training options (``--preset``, ``--out``,
``--resume`` and ``--overwrite`` say what the command reads and writes: :func:`_add_output_options`)."""

_OUTPUT_HELP: dict[str, dict[str, str]] = {
    "train": {
        "out": "folder of checkpoint.pt and history.json (default: runs/train/TASK-DATASET-LOSS-seedSEED)",
        "resume": "continue the run in --out from its checkpoint (an error when there is none)",
        "overwrite": "replace the run in --out (without --resume or --overwrite, a folder holding a run is refused)",
    },
    "bench": {
        "out": "folder of results.json, results.md, the PNGs and every run (default: runs/bench/SUITE or SETTING)",
        "resume": "continue the benchmark in --out, each run from its checkpoint; may replace --markdown",
        "overwrite": "replace the benchmark in --out and the --markdown file (without --resume or --overwrite, "
        "a folder holding a benchmark and an existing --markdown file are refused)",
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


def _add_output_options(parser: argparse.ArgumentParser, command: str, suppress: bool = True) -> None:
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


def _add_training_options(parser: argparse.ArgumentParser, command: str) -> None:
    """One option per TrainConfig field (``batch_size`` is ``--batch-size``): type, choices and help from the field.

    Unset options stay out of the namespace, so that a preset's values, then TrainConfig's defaults, apply.
    """
    group = parser.add_argument_group("training options (all default to the preset, then to TrainConfig)")
    group.add_argument("--preset", choices=sorted(PRESETS), default=None, help="the paper's settings (see below)")
    hints = typing.get_type_hints(TrainConfig)
    docs = _field_docs()
    for field in dataclasses.fields(TrainConfig):
        if field.name in _NOT_IN[command]:
            continue
        hint = hints[field.name]
        options: dict[str, Any] = {"default": argparse.SUPPRESS, "dest": field.name}
        args = tuple(arg for arg in typing.get_args(hint) if arg is not type(None))
        if hint is bool:
            # --no-NAME too where a preset turns it on
            preset_sets = any(values.get(field.name) for values in PRESETS.values())
            options["action"] = argparse.BooleanOptionalAction if preset_sets else "store_true"
        elif typing.get_origin(hint) is typing.Literal:
            options["choices"] = args
        elif typing.get_origin(hint) is tuple:
            options.update(type=args[0], nargs="+")
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
    "positive_class": ("--task ap", lambda config: config.task == "ap"),
    "threshold": ("--task pck", lambda config: config.task == "pck"),
    "temperature": ("--loss uniloss", lambda config: config.loss == "uniloss"),
    "power": ("--loss uniloss", lambda config: config.loss == "uniloss"),
    "memory": ("--loss uniloss", lambda config: config.loss == "uniloss"),
    "ap_mode": ("--task ap and --loss uniloss", lambda config: config.task == "ap" and config.loss == "uniloss"),
    "candidates": (
        "--task accuracy and --loss uniloss",
        lambda config: config.task == "accuracy" and config.loss == "uniloss",
    ),
    "hidden": ("--model mlp", lambda config: config.model_name == "mlp"),
    "width": ("--model small_cnn or hourglass", lambda config: config.model_name in ("small_cnn", "hourglass")),
    "stacks": ("--model hourglass", lambda config: config.model_name == "hourglass"),
    "depth": ("--model hourglass", lambda config: config.model_name == "hourglass"),
    "momentum": ("--optimizer sgd or rmsprop", lambda config: config.optimizer in ("sgd", "rmsprop")),
    "milestones": ("--scheduler multistep", lambda config: config.scheduler == "multistep"),
    "gamma": ("--scheduler multistep", lambda config: config.scheduler == "multistep"),
    "data_dir": (
        "a --dataset read from files (not digits or keypoints)",
        lambda config: config.dataset_name not in ("digits", "keypoints"),
    ),
}
"""Options that only some runs use: given for a run that does not use them, they are refused, not ignored."""


def _check_used(args: argparse.Namespace, configs: Sequence[TrainConfig]) -> None:
    """Raise ``ValueError`` for an option given on the command line that none of ``configs`` uses."""
    for name, (condition, used) in _USED_WHEN.items():
        if hasattr(args, name) and not any(used(config) for config in configs):
            raise ValueError(f"`{name}` is used only with {condition}; this run would ignore it, so drop it.")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``uniloss`` command."""
    parser = argparse.ArgumentParser(
        prog="uniloss",
        description="Train with UniLoss (a metric turned into a loss) and compare it with the usual losses.",
    )
    parser.add_argument("--version", action="version", version=f"uniloss {uniloss.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{train,bench,report,diagnose,presets}")
    formatter = argparse.RawDescriptionHelpFormatter

    train = commands.add_parser(
        "train",
        help="train one model with UniLoss or the baseline",
        description="Train one model, evaluating the exact metric on the test split every epoch and writing "
        "OUT/checkpoint.pt and OUT/history.json. Defaults: UniLoss for AP, digit 0 vs rest, on the embedded digits.",
        epilog=_describe_presets(),
        formatter_class=formatter,
    )
    _add_output_options(train, "train")
    _add_training_options(train, "train")

    bench = commands.add_parser(
        "bench",
        help="train UniLoss and the baseline side by side over seeds; write results.json, results.md, PNGs",
        description="Train UniLoss and the task's baseline with the same model, budget and seeds, then write "
        "OUT/results.json, the table OUT/results.md and one OUT/<task>-<dataset>.png per setting.",
        epilog=_describe_suites() + "\n\n" + _describe_presets(),
        formatter_class=formatter,
    )
    choice = bench.add_mutually_exclusive_group()
    choice.add_argument("--suite", choices=sorted(BENCH_SUITES), help="a named list of settings (see below)")
    choice.add_argument("--quick", action="store_true", help="the quick suite: digits AP and accuracy, keypoints PCK")
    bench.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds (default: 0 1 2)")
    bench.add_argument(
        "--lrs",
        type=float,
        nargs="+",
        default=None,
        metavar="LR",
        help="learning rates searched for both losses, each reported at its best (default: the suite's grid, "
        + ", ".join(f"{name}: {' '.join(f'{lr:g}' for lr in grid)}" for name, grid in BENCH_LR_GRIDS.items())
        + "; none for other suites)",
    )
    bench.add_argument("--jobs", type=int, default=1, help="runs trained at once, one process each (default: 1)")
    bench.add_argument(
        "--markdown",
        default=None,
        metavar="FILE",
        help="also write the report there, with the command and the commit (e.g. docs/results.md)",
    )
    _add_output_options(bench, "bench")
    _add_training_options(bench, "bench")

    report = commands.add_parser(
        "report",
        help="rebuild results.md and the plots from a saved results.json",
        description="Rebuild results.md and one PNG per setting from RUN_DIR/results.json, in RUN_DIR (replacing "
        "the ones there, which are made from it) or in --out.",
    )
    report.add_argument("run_dir", metavar="RUN_DIR", help="benchmark folder (or its results.json)")
    report.add_argument(
        "--markdown", default=None, metavar="FILE", help="also write the report there, with the command and commit"
    )
    _add_output_options(report, "report", suppress=False)

    diagnose = commands.add_parser(
        "diagnose",
        help="train with UniLoss and plot the surrogate next to the exact metric on the same batches",
        description="Train one model with UniLoss, recording on every training batch the surrogate metric "
        "(1 - loss) and the exact metric of the same batch; write OUT/diagnostic.png (both along training, and "
        "their scatter with the Pearson correlation) and OUT/diagnostic.json. No evaluation, learning-rate "
        "schedule, gradient clipping, augmentation or checkpoints (a preset's are not applied).",
        epilog=_describe_presets(),
        formatter_class=formatter,
    )
    diagnose.add_argument("--steps", type=int, default=None, help="stop after this many steps (default: all epochs)")
    _add_output_options(diagnose, "diagnose")
    _add_training_options(diagnose, "diagnose")

    commands.add_parser("presets", help="list the presets and benchmark suites and what they set")
    for command in commands.choices.values():
        command.set_defaults(command_parser=command)
    return parser


def _in_option_names(message: str, parser: argparse.ArgumentParser) -> str:
    """``message`` with each `` `field` `` of the command's options written as its option (``--batch-size``).

    Example:
        >>> train = build_parser().parse_args(["train"]).command_parser
        >>> _in_option_names("`batch_size` must be at least 2 x `nproc`; `scores` ...", train)
        '--batch-size must be at least 2 x --nproc; `scores` ...'
    """
    options = {action.dest: action.option_strings[0] for action in parser._actions if action.option_strings}
    options.update({name: option for name, option in options.items() if name.startswith("--")})
    return re.sub(r"`(\w+)`", lambda match: options.get(match[1], match[0]), message)


def _usage_error(parser: argparse.ArgumentParser, error: Exception) -> typing.NoReturn:
    """Exit with status 2, the command's usage and ``error`` in option names."""
    parser.error(_in_option_names(str(error), parser))


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The TrainConfig fields given on the command line (``--preset`` apart)."""
    values = {name: getattr(args, name) for name in _FIELDS if hasattr(args, name)}
    for name in ("milestones", "hidden"):
        if name in values:
            values[name] = tuple(values[name])
    return values


_FIELDS = tuple(field.name for field in dataclasses.fields(TrainConfig) if field.name != "preset")


def _run_train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from uniloss.train.config import make_config
    from uniloss.train.loop import CHECKPOINT_NAME, train

    try:
        config = make_config(args.preset, **_overrides(args))
        _check_used(args, [config])
        if config.out is None:
            name = f"{config.task}-{config.dataset_name}-{config.loss}-seed{config.seed}"
            config = config.replace(out=str(Path("runs") / "train" / name))
    except (TypeError, ValueError) as error:
        _usage_error(parser, error)
    start = time.perf_counter()
    history = train(config, progress=not args.no_progress)
    seconds = time.perf_counter() - start
    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun, process 0 alone reports
        return 0
    epochs = len(history["test_metric"])
    per_epoch = sum(history["epoch_time"]) / max(epochs, 1)
    print(
        f"final test {history['metric']}: {history['final_metric']:.4f} "
        f"({history['loss_name']}, {history['model']} on {history['dataset']}, {epochs}/{config.epochs} epochs, "
        f"{per_epoch:.2f} s/epoch, {seconds:.1f} s in all)"
    )
    print(f"checkpoint: {Path(config.out or '.') / CHECKPOINT_NAME}")
    return 0


def _write_markdown(results: dict[str, Any], report: Path, path: str) -> Path:
    """Copy the report to ``path`` with the command and the commit that made it, and the settings in Python."""
    from uniloss.train.bench import source_commit

    command = results.get("command") or "uniloss bench"
    words = shlex.split(command)
    suite = words[words.index("--suite") + 1] if "--suite" in words[:-1] else ("quick" if "--quick" in words else None)
    markdown = Path(path)
    markdown.parent.mkdir(parents=True, exist_ok=True)
    commit = results.get("commit") or source_commit()
    header = f"Made by `{command}` at commit `{commit}`.\n\n" if commit else f"Made by `{command}`.\n\n"
    text = re.sub(r"## Test metric per epoch\n.*?(?=\n## |\Z)", "", report.read_text(), flags=re.S)  # PNGs stay
    title, _, rest = text.partition("\n")
    markdown.write_text(f"{title}\n\n{header}{rest.lstrip()}{_settings_block(suite)}")
    return markdown


def _settings_block(suite: str | None) -> str:
    """A Python block that lists the benchmark's settings (the docs pages' code blocks run as tests)."""
    if suite is None:
        return ""
    return (
        "\n## The settings in Python\n\n```python\nfrom uniloss.train.bench import bench_settings, setting_names\n\n"
        f"settings = bench_settings({suite!r})\n"
        "for name, config in zip(setting_names(settings), settings):\n"
        '    print(name, config.model_name, f"epochs={config.epochs}", f"batch={config.batch_size}")\n```\n'
    )


def _run_bench(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from uniloss.reports import write_report
    from uniloss.train.bench import bench_settings, lr_search_markdown, run_bench, setting_name

    suite = "quick" if args.quick else args.suite
    overrides = _overrides(args)
    out = overrides.pop("out", None)
    resume = overrides.pop("resume", False)
    overwrite = overrides.pop("overwrite", False)
    try:
        if args.jobs < 1:
            raise ValueError(f"`jobs` must be a positive int, but got {args.jobs}.")
        settings = bench_settings(suite, args.preset, **overrides)
        _check_used(args, [setting.replace(loss="uniloss") for setting in settings])
    except (TypeError, ValueError) as error:
        _usage_error(parser, error)
    if out is None:
        label = suite if suite is not None else setting_name(settings[0])
        out = str(Path("runs") / "bench" / label)
    check_file(args.markdown, overwrite or resume, "markdown")
    start = time.perf_counter()
    command = shlex.join(["uniloss", *args.argv])
    lrs = args.lrs if args.lrs is not None else BENCH_LR_GRIDS.get(suite or "")
    results = run_bench(
        settings,
        args.seeds,
        out,
        progress=not args.no_progress,
        resume=resume,
        command=command,
        lrs=lrs,
        jobs=args.jobs,
        overwrite=overwrite,
    )
    files = write_report(results, out)
    report = files[0]
    if results.get("lrs"):
        report.write_text(report.read_text() + lr_search_markdown(results))
    if args.markdown is not None:
        files.append(_write_markdown(results, report, args.markdown))
    print(report.read_text())
    print(f"wrote {Path(out) / 'results.json'}, " + ", ".join(str(file) for file in files))
    print(f"bench finished in {time.perf_counter() - start:.1f} s")
    return 0


def _run_diagnose(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from uniloss.reports.diagnostic import diagnose
    from uniloss.train.config import make_config

    try:
        if args.steps is not None and args.steps < 1:
            raise ValueError(f"`steps` must be a positive int, but got {args.steps}.")
        config = make_config(args.preset, **_overrides(args), loss="uniloss")
        _check_used(args, [config])
        if config.out is None:
            name = f"{config.task}-{config.dataset_name}-seed{config.seed}"
            config = config.replace(out=str(Path("runs") / "diagnose" / name))
    except (TypeError, ValueError) as error:
        _usage_error(parser, error)
    summary, png = diagnose(config, steps=args.steps, progress=not args.no_progress)
    print(
        f"{len(summary['steps'])} steps: Pearson r of surrogate and exact {summary['metric']} = "
        f"{summary['correlation']:.3f} (of their step-to-step changes: {summary['correlation_of_changes']:.3f})"
    )
    print(f"wrote {png} and {png.with_suffix('.json')}")
    return 0


def _run_report(args: argparse.Namespace) -> int:
    from uniloss.reports import load_results, rebuild_report
    from uniloss.train.bench import lr_search_markdown

    results = load_results(args.run_dir)
    source = Path(args.run_dir)
    folder = source if source.is_dir() else source.parent
    if args.out is not None and Path(args.out).resolve() != folder.resolve():
        check_output(args.out, overwrite=args.overwrite, what="report")
    check_file(args.markdown, args.overwrite, "markdown")
    files = rebuild_report(args.run_dir, args.out)
    if results.get("lrs"):
        files[0].write_text(files[0].read_text() + lr_search_markdown(results))
    if args.markdown is not None:
        files.append(_write_markdown(results, files[0], args.markdown))
    print(files[0].read_text())
    print("wrote " + ", ".join(str(file) for file in files))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``uniloss`` command.

    Args:
        argv: the arguments without the program name; ``None`` reads ``sys.argv[1:]``.

    Returns:
        The exit status: 0 on success, 1 when a run fails (missing files, a non-finite loss) or would replace an
        output it was not asked to. Invalid options exit with status 2 through argparse. Errors name options
        (``--batch-size``), not the fields behind them.

    Example:
        >>> main(["presets"])  # doctest: +ELLIPSIS
        presets ...
        0
    """
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    from uniloss.train.loop import NonFiniteLossError

    try:
        if args.command == "train":
            return _run_train(args, args.command_parser)
        if args.command == "bench":
            return _run_bench(args, args.command_parser)
        if args.command == "report":
            return _run_report(args)
        if args.command == "diagnose":
            return _run_diagnose(args, args.command_parser)
        print(_describe_presets() + "\n\n" + _describe_suites())
        return 0
    except (FileNotFoundError, NonFiniteLossError, ValueError) as error:
        print(f"uniloss {args.command}: error: {_in_option_names(str(error), args.command_parser)}", file=sys.stderr)
        return 1
