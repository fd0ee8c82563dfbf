"""The ``uniloss`` command: ``train``, ``compare``, ``report``, ``diagnose`` and ``recipes``; argument parsing only."""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shlex
import shutil
import sys
import time
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from uniloss.version import __version__
from uniloss_lab.cli.options import (
    add_output_options,
    add_training_options,
    check_used,
    describe_recipes,
    describe_suites,
)
from uniloss_lab.train.config import TrainConfig
from uniloss_lab.train.outputs import check_file, check_output
from uniloss_lab.train.suites import LR_GRIDS, SUITES

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``uniloss`` command."""
    parser = argparse.ArgumentParser(
        prog="uniloss",
        description="Train with UniLoss (a metric turned into a loss) and compare it with the usual losses.",
    )
    parser.add_argument("--version", action="version", version=f"uniloss {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{train,compare,report,diagnose,recipes}")
    formatter = argparse.RawDescriptionHelpFormatter

    train = commands.add_parser(
        "train",
        help="train one model with UniLoss or the baseline",
        description="Train one model, evaluating the exact metric on the test split every epoch and writing "
        "OUT/checkpoint.pt and OUT/history.json. Defaults: UniLoss for AP, digit 0 vs rest, on the embedded digits.",
        epilog=describe_recipes(),
        formatter_class=formatter,
    )
    add_output_options(train, "train")
    add_training_options(train, "train")

    compare = commands.add_parser(
        "compare",
        help="train each setting's losses side by side over seeds; write results.json, results.md, PNGs",
        description="Train each setting's loss rows (UniLoss, the task's baseline and any peer surrogates) with the "
        "same model, budget and seeds, then write "
        "OUT/results.json, the table OUT/results.md and one OUT/<task>-<dataset>.png per setting.",
        epilog=describe_suites() + "\n\n" + describe_recipes(),
        formatter_class=formatter,
    )
    compare.add_argument("--suite", choices=sorted(SUITES), help="a named list of settings (see below)")
    compare.add_argument(
        "--quick",
        action="store_true",
        help="alone: the quick suite (digits AP and accuracy, keypoints PCK); with --suite: that suite's quick form "
        "(a few hundred examples, two epochs, two rates of its grid)",
    )
    compare.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds (default: 0 1 2)")
    compare.add_argument(
        "--lrs",
        type=float,
        nargs="+",
        default=None,
        metavar="LR",
        help="learning rates searched for every loss of every setting, each loss reported at its best (default: the "
        "suite's grid, "
        + ", ".join(f"{name}: {' '.join(f'{lr:g}' for lr in grid)}" for name, grid in LR_GRIDS.items())
        + ", unless a setting has its own (see below); none for other suites)",
    )
    compare.add_argument("--jobs", type=int, default=1, help="runs trained at once, one process each (default: 1)")
    _add_markdown_option(compare)
    add_output_options(compare, "compare")
    add_training_options(compare, "compare")

    report = commands.add_parser(
        "report",
        help="rebuild results.md and the plots from a saved results.json",
        description="Rebuild results.md and one PNG per setting from RUN_DIR/results.json, in RUN_DIR (replacing "
        "the ones there, which are made from it) or in --out.",
    )
    report.add_argument("run_dir", metavar="RUN_DIR", help="comparison folder (or its results.json)")
    _add_markdown_option(report)
    add_output_options(report, "report", suppress=False)

    diagnose = commands.add_parser(
        "diagnose",
        help="train with UniLoss and plot the surrogate next to the exact metric on the same batches",
        description="Train one model with UniLoss, recording on every training batch the surrogate metric "
        "(1 - loss) and the exact metric of the same batch; write OUT/diagnostic.png (both along training, and "
        "their scatter with the Pearson correlation) and OUT/diagnostic.json. The run is that of `uniloss train "
        "--loss uniloss` (same data order, schedule and evaluation) in one process and without checkpoints; "
        "--steps stops it early or adds epochs.",
        epilog=describe_recipes(),
        formatter_class=formatter,
    )
    diagnose.add_argument("--steps", type=int, default=None, help="stop after this many steps (default: all epochs)")
    add_output_options(diagnose, "diagnose")
    add_training_options(diagnose, "diagnose")

    commands.add_parser("recipes", help="list the recipes and comparison suites and what they set")
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
    """The TrainConfig fields given on the command line (``--recipe`` apart)."""
    values = {name: getattr(args, name) for name in _FIELDS if hasattr(args, name)}
    for name in ("milestones", "hidden"):
        if name in values:
            values[name] = tuple(values[name])
    return values


_FIELDS = tuple(field.name for field in dataclasses.fields(TrainConfig) if field.name != "recipe")


def _run_train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from uniloss_lab.train.config import make_config
    from uniloss_lab.train.loop import CHECKPOINT_NAME, train

    try:
        config = make_config(args.recipe, **_overrides(args))
        check_used(args, [config])
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


def _add_markdown_option(parser: argparse.ArgumentParser) -> None:
    """``--markdown FILE``, shared by ``compare`` and ``report`` (see :func:`_write_markdown`)."""
    parser.add_argument(
        "--markdown",
        default=None,
        metavar="FILE",
        help="also write the report there, with the command and the commit (e.g. docs/results.md), and its plots "
        "into a folder named after it (docs/results/)",
    )


def _write_markdown(results: dict[str, Any], report: Path, path: str) -> Path:
    """Copy the report to ``path`` with the command and the commit that made it, and the settings in Python.

    The plots it links are copied into a folder named after the file (``docs/results.md``: ``docs/results/``).
    """
    from uniloss_lab.train.compare import source_commit

    command = results.get("command") or "uniloss compare"
    words = shlex.split(command)
    suite = words[words.index("--suite") + 1] if "--suite" in words[:-1] else ("quick" if "--quick" in words else None)
    markdown = Path(path)
    markdown.parent.mkdir(parents=True, exist_ok=True)
    commit = results.get("commit") or source_commit()
    header = f"Made by `{command}` at commit `{commit}`.\n\n" if commit else f"Made by `{command}`.\n\n"
    text = report.read_text()
    stem = markdown.name.split(".")[0]  # docs/results.md -> docs/results/; a name without a suffix: NAME_plots/
    plots = markdown.with_name(stem if stem and stem != markdown.name else markdown.name + "_plots")
    linked = re.findall(r"!\[[^\]]*\]\(([^)/]+\.png)\)", text)
    if linked:
        plots.mkdir(parents=True, exist_ok=True)
        for name in linked:
            shutil.copyfile(report.parent / name, plots / name)
        text = re.sub(r"(!\[[^\]]*\]\()([^)/]+\.png\))", rf"\g<1>{plots.name}/\g<2>", text)
    title, _, rest = text.partition("\n")
    markdown.write_text(f"{title}\n\n{header}{rest.lstrip()}{_settings_block(suite)}")
    return markdown


def _settings_block(suite: str | None) -> str:
    """A Python block that lists the benchmark's settings (the docs pages' code blocks run as tests)."""
    if suite is None:
        return ""
    return (
        "\n## The settings in Python\n\n```python\n"
        "from uniloss_lab.train.compare import suite_settings, setting_names\n\n"
        f"settings = suite_settings({suite!r})\n"
        "for name, config in zip(setting_names(settings), settings):\n"
        '    print(name, config.model_name, f"epochs={config.epochs}", f"batch={config.batch_size}")\n```\n'
    )


def _run_compare(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from uniloss_lab.reports import write_report
    from uniloss_lab.train.compare import (
        lr_search_markdown,
        run_comparison,
        setting_name,
        suite_losses,
        suite_lrs,
        suite_settings,
    )

    suite = "quick" if args.quick and args.suite is None else args.suite
    quick = bool(args.quick and args.suite is not None)  # the suite's quick form
    overrides = _overrides(args)
    out = overrides.pop("out", None)
    resume = overrides.pop("resume", False)
    overwrite = overrides.pop("overwrite", False)
    try:
        if args.jobs < 1:
            raise ValueError(f"`jobs` must be a positive int, but got {args.jobs}.")
        settings = suite_settings(suite, args.recipe, quick, **overrides)
        losses = suite_losses(suite, overrides.get("task"))  # each setting's loss rows
        pairs = zip(settings, losses, strict=True)
        runs = [setting.replace(**row) for setting, rows in pairs for row in rows.values()]
        check_used(args, runs)
    except (TypeError, ValueError) as error:
        _usage_error(parser, error)
    if out is None:
        label = suite if suite is not None else setting_name(settings[0])
        out = str(Path("runs") / "compare" / label)
    check_file(args.markdown, overwrite or resume, "markdown")
    start = time.perf_counter()
    command = shlex.join(["uniloss", *args.argv])
    lrs = args.lrs if args.lrs is not None else suite_lrs(suite, overrides.get("task"), quick)  # each setting's grid
    results = run_comparison(
        settings,
        args.seeds,
        out,
        progress=not args.no_progress,
        resume=resume,
        command=command,
        lrs=lrs,
        jobs=args.jobs,
        overwrite=overwrite,
        losses=losses,
    )
    files = write_report(results, out)
    report = files[0]
    if results.get("lrs"):
        report.write_text(report.read_text() + lr_search_markdown(results))
    if args.markdown is not None:
        files.append(_write_markdown(results, report, args.markdown))
    print(report.read_text())
    print(f"wrote {Path(out) / 'results.json'}, " + ", ".join(str(file) for file in files))
    print(f"compare finished in {time.perf_counter() - start:.1f} s")
    return 0


def _run_diagnose(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from uniloss_lab.reports.diagnostic import diagnose
    from uniloss_lab.train.config import make_config

    try:
        if args.steps is not None and args.steps < 1:
            raise ValueError(f"`steps` must be a positive int, but got {args.steps}.")
        config = make_config(args.recipe, **_overrides(args), loss="uniloss")
        check_used(args, [config])
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
    from uniloss_lab.reports import load_results, rebuild_report
    from uniloss_lab.train.compare import lr_search_markdown

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
        >>> main(["recipes"])  # doctest: +ELLIPSIS
        recipes ...
        0
    """
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    from uniloss_lab.train.loop import NonFiniteLossError

    try:
        if args.command == "train":
            return _run_train(args, args.command_parser)
        if args.command == "compare":
            return _run_compare(args, args.command_parser)
        if args.command == "report":
            return _run_report(args)
        if args.command == "diagnose":
            return _run_diagnose(args, args.command_parser)
        print(describe_recipes() + "\n\n" + describe_suites())
        return 0
    except (FileNotFoundError, NonFiniteLossError, ValueError) as error:
        print(f"uniloss {args.command}: error: {_in_option_names(str(error), args.command_parser)}", file=sys.stderr)
        return 1
