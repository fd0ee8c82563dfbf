"""The ``uniloss`` command: ``train``, ``bench``, ``report``, ``diagnose`` and ``presets``; argument parsing only."""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from uniloss.train.config import DATASETS, LOSSES, MODELS, OPTIMIZERS, SCHEDULERS, TASKS, TrainConfig
from uniloss.train.presets import PRESETS
from uniloss.train.suites import BENCH_LR_GRIDS, BENCH_SUITES
from uniloss.version import __version__

__all__ = ["build_parser", "main"]

_DEFAULTS = {field.name: field.default for field in dataclasses.fields(TrainConfig)}


def _default(name: str) -> str:
    value = _DEFAULTS[name]
    if value is None and name in ("dataset", "model"):
        return "the task's default"
    if isinstance(value, tuple):
        value = " ".join(str(item) for item in value) or "none"
    return f"default: {value}"


def _describe_presets() -> str:
    lines = ["presets (each sets these options; options given on the command line win):"]
    for name, values in PRESETS.items():
        settings = ", ".join(f"{key}={_show(value)}" for key, value in values.items())
        lines.append(f"  {name}: {settings}")
    return "\n".join(lines)


def _describe_suites() -> str:
    lines = ["benchmark suites (--suite NAME; --quick is --suite quick):"]
    for name, settings in BENCH_SUITES.items():
        lines.append(f"  {name}:")
        for values in settings:
            lines.append("    " + ", ".join(f"{key}={_show(value)}" for key, value in values.items()))
    return "\n".join(lines)


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return " ".join(str(item) for item in value) or "()"
    return str(value)


def _optional_int(text: str) -> int | None:
    return None if text.lower() == "none" else int(text)


def _add_training_options(parser: argparse.ArgumentParser, bench: bool) -> None:
    """Options that map one-to-one onto TrainConfig fields; unset ones stay out of the namespace."""
    group = parser.add_argument_group("training options (all default to the preset, then to TrainConfig)")
    add = group.add_argument
    suppress = argparse.SUPPRESS
    add("--preset", choices=sorted(PRESETS), default=None, help="the paper's settings for a dataset (see below)")
    add("--task", choices=TASKS, default=suppress, help=f"what to optimise ({_default('task')})")
    add("--dataset", choices=DATASETS, default=suppress, help=f"dataset ({_default('dataset')}: digits or keypoints)")
    if not bench:
        add("--loss", choices=LOSSES, default=suppress, help=f"UniLoss or the task's usual loss ({_default('loss')})")
    add("--model", choices=MODELS, default=suppress, help=f"model ({_default('model')}: mlp, small_cnn, hourglass)")
    add(
        "--positive-class",
        type=int,
        default=suppress,
        metavar="K",
        help=f"AP: class K vs rest ({_default('positive_class')})",
    )
    add("--epochs", type=int, default=suppress, help=f"number of epochs ({_default('epochs')})")
    add("--batch-size", type=int, default=suppress, help=f"training batch size ({_default('batch_size')})")
    add("--eval-batch-size", type=int, default=suppress, help=f"evaluation batch size ({_default('eval_batch_size')})")
    add("--lr", type=float, default=suppress, help=f"learning rate ({_default('lr')})")
    add("--optimizer", choices=OPTIMIZERS, default=suppress, help=f"optimiser ({_default('optimizer')})")
    add("--momentum", type=float, default=suppress, help=f"SGD/RMSprop momentum ({_default('momentum')})")
    add("--weight-decay", type=float, default=suppress, help=f"weight decay ({_default('weight_decay')})")
    add("--scheduler", choices=SCHEDULERS, default=suppress, help=f"learning-rate schedule ({_default('scheduler')})")
    add("--milestones", type=int, nargs="+", default=suppress, metavar="EPOCH", help="multistep: epochs of decay")
    add("--gamma", type=float, default=suppress, help=f"multistep: decay factor ({_default('gamma')})")
    add("--grad-clip", type=float, default=suppress, help="clip the gradient norm (default: no clipping)")
    if not bench:
        add("--seed", type=int, default=suppress, help=f"seed of init, data order and anchors ({_default('seed')})")
    add("--device", default=suppress, help=f"auto, cpu, cuda or cuda:N ({_default('device')})")
    add("--data-dir", default=suppress, help="folder of MNIST, Fashion-MNIST, CIFAR or MPII files")
    add("--out", default=suppress, help="output folder (default: runs/...)")
    add("--resume", action="store_true", default=suppress, help="continue from the checkpoint(s) in --out")
    if not bench:
        add("--stop-after", type=int, default=suppress, metavar="EPOCH", help="stop after this epoch (resumable)")
    add("--temperature", type=float, default=suppress, help=f"UniLoss sigmoid temperature ({_default('temperature')})")
    add("--power", type=float, default=suppress, help=f"UniLoss inverse-distance power ({_default('power')})")
    add("--memory", type=int, default=suppress, help=f"UniLoss: examples pooled per batch ({_default('memory')})")
    add("--ap-mode", choices=("step", "interpolated"), default=suppress, help=f"UniLoss AP ({_default('ap_mode')})")
    add("--candidates", type=_optional_int, default=suppress, help="UniLoss accuracy: top classes compared (paper: 21)")
    add("--threshold", type=float, default=suppress, help=f"PCK radius / head size ({_default('threshold')})")
    add("--hidden", type=int, nargs="+", default=suppress, metavar="WIDTH", help=f"MLP widths ({_default('hidden')})")
    add("--width", type=int, default=suppress, help="small_cnn / hourglass width (default: 32 / 64)")
    add("--stacks", type=int, default=suppress, help=f"hourglass stacks ({_default('stacks')})")
    add("--depth", type=int, default=suppress, help=f"hourglass depth ({_default('depth')})")
    add("--limit-train", type=int, default=suppress, metavar="N", help="use the first N training examples")
    add("--limit-test", type=int, default=suppress, metavar="N", help="use the first N test examples")
    add("--num-workers", type=int, default=suppress, help=f"data-loading processes ({_default('num_workers')})")
    add("--augment", action=argparse.BooleanOptionalAction, default=suppress, help="random crops and flips")
    if not bench:
        add("--nproc", type=int, default=suppress, metavar="N", help="processes sharing each batch (default: 1)")
        add("--threads", type=int, default=suppress, metavar="N", help="CPU threads per process (default: PyTorch's)")
        add(
            "--skip-nonfinite",
            action="store_true",
            default=suppress,
            help="skip a batch whose loss is NaN or infinite (counted in history.json) instead of stopping",
        )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars or per-epoch lines")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``uniloss`` command."""
    parser = argparse.ArgumentParser(
        prog="uniloss",
        description="Train with UniLoss (a metric turned into a loss) and compare it with the usual losses.",
    )
    parser.add_argument("--version", action="version", version=f"uniloss {__version__}")
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
    _add_training_options(train, bench=False)

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
    _add_training_options(bench, bench=True)

    report = commands.add_parser("report", help="rebuild results.md and the plots from a saved results.json")
    report.add_argument("run_dir", metavar="RUN_DIR", help="benchmark folder (or its results.json)")
    report.add_argument("--out", default=None, help="write there instead of RUN_DIR")
    report.add_argument(
        "--markdown", default=None, metavar="FILE", help="also write the report there, with the command and commit"
    )

    diagnose = commands.add_parser(
        "diagnose",
        help="train with UniLoss and plot the surrogate next to the exact metric on the same batches",
        description="Train one model with UniLoss, recording on every training batch the surrogate metric "
        "(1 - loss) and the exact metric of the same batch; write OUT/diagnostic.png (both along training, and "
        "their scatter with the Pearson correlation) and OUT/diagnostic.json.",
        epilog=_describe_presets(),
        formatter_class=formatter,
    )
    diagnose.add_argument("--steps", type=int, default=None, help="stop after this many steps (default: all epochs)")
    _add_training_options(diagnose, bench=False)

    commands.add_parser("presets", help="list the presets and benchmark suites and what they set")
    return parser


def _overrides(args: argparse.Namespace, names: Sequence[str]) -> dict[str, Any]:
    values = {name: getattr(args, name) for name in names if hasattr(args, name)}
    for name in ("milestones", "hidden"):
        if name in values:
            values[name] = tuple(values[name])
    return values


_FIELDS = tuple(field.name for field in dataclasses.fields(TrainConfig) if field.name != "preset")


def _run_train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from uniloss.train.config import make_config
    from uniloss.train.loop import CHECKPOINT_NAME, train

    try:
        config = make_config(args.preset, **_overrides(args, _FIELDS))
        if config.out is None:
            name = f"{config.task}-{config.dataset_name}-{config.loss}-seed{config.seed}"
            config = config.replace(out=str(Path("runs") / "train" / name))
    except (TypeError, ValueError) as error:
        parser.error(str(error))
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
    overrides = _overrides(args, _FIELDS)
    out = overrides.pop("out", None)
    resume = overrides.pop("resume", False)
    try:
        settings = bench_settings(suite, args.preset, **overrides)
    except (TypeError, ValueError) as error:
        parser.error(str(error))
    if out is None:
        label = suite if suite is not None else setting_name(settings[0])
        out = str(Path("runs") / "bench" / label)
    start = time.perf_counter()
    command = shlex.join(["uniloss", *args.argv])
    lrs = args.lrs if args.lrs is not None else BENCH_LR_GRIDS.get(suite or "")
    if args.jobs < 1:
        parser.error(f"--jobs must be a positive int, but got {args.jobs}.")
    results = run_bench(
        settings,
        args.seeds,
        out,
        progress=not args.no_progress,
        resume=resume,
        command=command,
        lrs=lrs,
        jobs=args.jobs,
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
        overrides = _overrides(args, _FIELDS)
        overrides["loss"] = "uniloss"
        config = make_config(args.preset, **overrides)
        if config.out is None:
            name = f"{config.task}-{config.dataset_name}-seed{config.seed}"
            config = config.replace(out=str(Path("runs") / "diagnose" / name))
        if args.steps is not None and args.steps < 1:
            raise ValueError(f"`steps` must be a positive int, but got {args.steps}.")
    except (TypeError, ValueError) as error:
        parser.error(str(error))
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

    files = rebuild_report(args.run_dir, args.out)
    results = load_results(args.run_dir)
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
        The exit status: 0 on success, 1 when a run fails (missing files, a non-finite loss). Invalid options
        exit with status 2 through argparse.

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
            return _run_train(args, parser)
        if args.command == "bench":
            return _run_bench(args, parser)
        if args.command == "report":
            return _run_report(args)
        if args.command == "diagnose":
            return _run_diagnose(args, parser)
        print(_describe_presets() + "\n\n" + _describe_suites())
        return 0
    except (FileNotFoundError, NonFiniteLossError, ValueError) as error:
        print(f"uniloss {args.command}: error: {error}", file=sys.stderr)
        return 1
