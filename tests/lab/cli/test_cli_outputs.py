"""The command loses no work and says what it does: outputs, ignored options, help defaults, errors, progress."""

import dataclasses
import importlib.metadata
import json
import re
import warnings

import pytest

import uniloss
from uniloss_lab.cli import main
from uniloss_lab.cli.app import build_parser
from uniloss_lab.train import TrainConfig
from uniloss_lab.train.compare import source_commit

TINY_AP = ["--hidden", "16", "--limit-train", "96", "--limit-test", "64", "--device", "cpu", "--no-progress"]
TINY_TRAIN = ["train", "--epochs", "1", *TINY_AP]
TINY_DIAGNOSE = ["diagnose", "--steps", "2", "--batch-size", "32", "--hidden", "8", "--limit-train", "64",
                 "--device", "cpu", "--no-progress"]  # fmt: skip


def run(argv, capsys):
    """Exit status and stderr of ``uniloss ARGV`` (argparse's exits included)."""
    try:
        status = main(argv)
    except SystemExit as exit_info:
        status = exit_info.code
    return status, capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------- train --out


def test_train_over_a_finished_run_is_refused_and_leaves_it_untouched(tmp_path, capsys):
    out = tmp_path / "x"
    assert main([*TINY_TRAIN, "--epochs", "2", "--out", str(out)]) == 0
    finished = (out / "history.json").read_text()
    status, err = run([*TINY_TRAIN, "--out", str(out)], capsys)
    assert status == 1
    assert (
        f"uniloss train: error: --out '{out}' already holds a training run (checkpoint.pt, history.json); "
        "set --resume to continue it or --overwrite to replace it." in err
    )
    assert (out / "history.json").read_text() == finished


def test_train_overwrite_replaces_the_run(tmp_path, capsys):
    out = tmp_path / "x"
    assert main([*TINY_TRAIN, "--epochs", "2", "--out", str(out)]) == 0
    assert main([*TINY_TRAIN, "--out", str(out), "--overwrite"]) == 0
    assert json.loads((out / "history.json").read_text())["epoch"] == [1]
    assert "1/1 epochs" in capsys.readouterr().out


def test_train_resume_without_a_checkpoint_is_an_error_naming_the_folder(tmp_path, capsys):
    typo = tmp_path / "typo"
    status, err = run([*TINY_TRAIN, "--resume", "--out", str(typo)], capsys)
    assert status == 1
    assert (
        f"uniloss train: error: --resume found nothing to continue in --out '{typo}' (no {typo}/checkpoint.pt)" in err
    )
    assert not typo.exists()


def test_train_resume_and_overwrite_exclude_each_other(tmp_path, capsys):
    status, err = run([*TINY_TRAIN, "--resume", "--overwrite", "--out", str(tmp_path)], capsys)
    assert status == 2
    assert "argument --overwrite: not allowed with argument --resume" in err


def test_train_default_out_is_guarded_too(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(TINY_TRAIN) == 0
    assert (tmp_path / "runs/train/ap-digits-uniloss-seed0/checkpoint.pt").is_file()
    status, err = run(TINY_TRAIN, capsys)
    assert status == 1
    assert "--out 'runs/train/ap-digits-uniloss-seed0' already holds a training run" in err


# ------------------------------------------------------------------------------------------- bench, report, diagnose


TINY_BENCH = ["compare", "--task", "ap", "--seeds", "0", "--epochs", "1", *TINY_AP]


def test_bench_over_a_finished_benchmark_is_refused_then_resumed_or_replaced(tmp_path, capsys):
    out = tmp_path / "compare"
    assert main([*TINY_BENCH, "--out", str(out)]) == 0
    finished = (out / "results.json").read_text()
    status, err = run([*TINY_BENCH, "--out", str(out)], capsys)
    assert status == 1
    assert f"uniloss compare: error: --out '{out}' already holds a comparison (results.json, " in err
    assert "set --resume to continue it or --overwrite to replace it." in err
    assert (out / "results.json").read_text() == finished
    assert main([*TINY_BENCH, "--out", str(out), "--resume"]) == 0
    assert main([*TINY_BENCH, "--out", str(out), "--overwrite", "--seeds", "1"]) == 0
    assert json.loads((out / "results.json").read_text())["seeds"] == [1]


def test_bench_resume_of_an_empty_folder_is_an_error(tmp_path, capsys):
    status, err = run([*TINY_BENCH, "--out", str(tmp_path / "typo"), "--resume"], capsys)
    assert status == 1
    assert f"--resume found nothing to continue in --out '{tmp_path / 'typo'}'" in err


def test_bench_markdown_over_an_existing_file_needs_overwrite(tmp_path, capsys):
    markdown = tmp_path / "README.md"
    markdown.write_text("mine")
    status, err = run([*TINY_BENCH, "--out", str(tmp_path / "b"), "--markdown", str(markdown)], capsys)
    assert status == 1
    assert f"uniloss compare: error: --markdown '{markdown}' already exists; set --overwrite to replace it." in err
    assert markdown.read_text() == "mine"
    assert not (tmp_path / "b").exists()  # refused before training
    assert main([*TINY_BENCH, "--out", str(tmp_path / "b"), "--markdown", str(markdown), "--overwrite"]) == 0
    assert markdown.read_text().startswith("# ")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown.read_text())
    assert links
    assert all(link.startswith("README/") and (tmp_path / link).is_file() for link in links)  # plots beside it
    results = json.loads((tmp_path / "b" / "results.json").read_text())
    assert results["commit"] == source_commit()
    for name, folder in (("first.md.new", "first"), ("second", "second_plots")):  # never the file's own name
        assert main(["report", str(tmp_path / "b"), "--markdown", str(tmp_path / name)]) == 0
        assert (tmp_path / name).is_file()
        assert any((tmp_path / folder).glob("*.png"))


def test_report_refuses_to_replace_another_report_or_markdown_file(tmp_path, capsys):
    out = tmp_path / "compare"
    assert main([*TINY_BENCH, "--out", str(out)]) == 0
    assert main(["report", str(out)]) == 0  # in place: rebuilt from the results.json beside it
    other = tmp_path / "other"
    assert main(["report", str(out), "--out", str(other)]) == 0
    status, err = run(["report", str(out), "--out", str(other)], capsys)
    assert status == 1
    assert f"uniloss report: error: --out '{other}' already holds a report (results.md); set --overwrite" in err
    assert main(["report", str(out), "--out", str(other), "--overwrite"]) == 0
    notes = tmp_path / "notes.md"
    notes.write_text("mine")
    status, err = run(["report", str(out), "--markdown", str(notes)], capsys)
    assert status == 1
    assert f"--markdown '{notes}' already exists; set --overwrite to replace it." in err
    assert notes.read_text() == "mine"


def test_diagnose_over_a_diagnostic_is_refused_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "d"
    assert main([*TINY_DIAGNOSE, "--out", str(out)]) == 0
    status, err = run([*TINY_DIAGNOSE, "--out", str(out)], capsys)
    assert status == 1
    assert (
        f"uniloss diagnose: error: --out '{out}' already holds a diagnostic (diagnostic.json, diagnostic.png); " in err
    )
    assert "set --overwrite to replace it." in err
    assert main([*TINY_DIAGNOSE, "--out", str(out), "--overwrite"]) == 0


# ------------------------------------------------------------------------------------- options a run does not use

DIAGNOSE_IGNORES = [["--loss", "baseline"], ["--resume"], ["--stop-after", "1"], ["--nproc", "2"]]
DIAGNOSE_USES = [  # diagnose is train()'s run: its schedule, evaluation and data options apply
    ["--eval-batch-size", "8"],
    ["--scheduler", "cosine"],
    ["--grad-clip", "1"],
    ["--limit-test", "8"],
    ["--num-workers", "1"],
    ["--augment"],
    ["--threads", "1"],
    ["--skip-nonfinite"],
]


@pytest.mark.parametrize("option", DIAGNOSE_IGNORES, ids=lambda option: option[0])
def test_diagnose_refuses_options_it_would_ignore(option, tmp_path, capsys):
    status, err = run([*TINY_DIAGNOSE, "--out", str(tmp_path), *option], capsys)
    assert status == 2
    assert f"uniloss: error: unrecognized arguments: {' '.join(option)}" in err
    assert not (tmp_path / "diagnostic.json").exists()


@pytest.mark.parametrize("option", DIAGNOSE_USES, ids=lambda option: option[0])
def test_diagnose_takes_the_options_of_the_run_it_trains(option):
    args = build_parser().parse_args([*TINY_DIAGNOSE, *option])
    assert hasattr(args, option[0][2:].replace("-", "_"))


def test_a_peer_of_another_task_is_a_usage_error_naming_the_option(tmp_path, capsys):
    status, err = run(["train", "--task", "f1", "--loss", "kornia_dice", "--out", str(tmp_path / "x")], capsys)
    assert status == 2
    peers = "['sigmoid_f1', 'bce_weighted', 'focal', 'anyloss']"
    assert f"--loss must be 'uniloss', 'baseline' or a peer of task 'f1' {peers}" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--loss", "baseline", "--temperature", "2"], "--temperature is used only with --loss uniloss"),
        (["train", "--loss", "baseline", "--power", "2"], "--power is used only with --loss uniloss"),
        (["train", "--loss", "baseline", "--memory", "8"], "--memory is used only with --loss uniloss"),
        (["train", "--task", "accuracy", "--positive-class", "3"], "--positive-class is used only with --task ap"),
        (["train", "--threshold", "0.2"], "--threshold is used only with --task pck"),
        (["train", "--embedding-dim", "8"], "--embedding-dim is used only with --task precision_at_k, recall_at_k"),
        (["train", "--top-k", "3"], "--top-k is used only with --task topk, precision_at_k, recall_at_k or ndcg"),
        (["train", "--task", "accuracy", "--ap-mode", "interpolated"], "--ap-mode is used only with --task ap and"),
        (["train", "--candidates", "3"], "--candidates is used only with --task accuracy and --loss uniloss"),
        (["train", "--task", "accuracy", "--hidden", "8"], "--hidden is used only with --model mlp"),
        (["train", "--width", "8"], "--width is used only with --model small_cnn, hourglass or unet"),
        (["train", "--stacks", "1"], "--stacks is used only with --model hourglass"),
        (["train", "--depth", "1"], "--depth is used only with --model hourglass"),
        (["train", "--momentum", "0.5"], "--momentum is used only with --optimizer sgd or rmsprop"),
        (["train", "--milestones", "2"], "--milestones is used only with --scheduler multistep"),
        (["train", "--gamma", "0.5"], "--gamma is used only with --scheduler multistep"),
        (["train", "--data-dir", "/data"], "--data-dir is used only with a --dataset read from files"),
        (["diagnose", "--threshold", "0.2"], "uniloss diagnose: error: --threshold is used only with --task pck"),
        (["diagnose", "--gamma", "0.5"], "uniloss diagnose: error: --gamma is used only with --scheduler multistep"),
        (["compare", "--quick", "--task", "accuracy", "--positive-class", "3"], "--positive-class is used only with"),
        (
            ["train", "--loss", "libauc_ap_recipe", "--weight-decay", "0.1"],
            "--weight-decay is used only with a --loss without an optimiser of its own",
        ),
        (
            ["train", "--loss", "libauc_ap_recipe", "--optimizer", "sgd"],
            "--optimizer is used only with a --loss without an optimiser of its own",
        ),
        (
            ["train", "--task", "segmentation", "--positive-class", "1"],
            "--positive-class is used only with --task ap, f1 or fbeta",
        ),
        (
            ["compare", "--suite", "quality", "--task", "segmentation", "--hidden", "8"],
            "--hidden is used only with --model",
        ),
    ],
)
def test_options_a_run_would_ignore_are_refused(argv, message, tmp_path, capsys):
    status, err = run([*argv, "--out", str(tmp_path / "x")], capsys)
    assert status == 2
    assert "this run would ignore it, so drop it." in err
    assert message in err
    assert not (tmp_path / "x").exists()


def test_options_used_by_one_setting_of_a_suite_are_accepted(monkeypatch, tmp_path):
    seen = {}

    def fake_run_bench(settings, *args, **kwargs):
        seen["settings"] = settings
        raise ValueError("stop here")

    monkeypatch.setattr("uniloss_lab.train.compare.run_comparison", fake_run_bench)
    assert main(["compare", "--quick", "--positive-class", "3", "--temperature", "2", "--out", str(tmp_path)]) == 1
    assert [config.positive_class for config in seen["settings"]] == [3, 3, 3]  # the AP setting uses it


# ------------------------------------------------------------------------------------------- help and --version


def test_help_shows_the_real_defaults_of_temperature_and_power(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # read through default_parts(), not default_power
        with pytest.raises(SystemExit):
            main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    metrics = uniloss.metrics
    declared = [metrics.AveragePrecision(), metrics.Accuracy(num_classes=10), metrics.PCK()]
    power = [metric.default_parts().interpolator.power for metric in declared]
    assert power == [1.5, 2.0, 1.0]  # README: 1.5 for AP, 2 for accuracy, 1 for PCK
    assert (
        "--power POWER power of UniLoss's inverse-distance weighting (default: 1.5 for ap, 2 for accuracy, 1 for pck, "
        "1 for f1, 1 for segmentation, 1 for fbeta, 1 for topk, 1 for precision_at_k, 1 for recall_at_k, 1 for ndcg)"
        in text
    )
    assert "--temperature TEMPERATURE temperature of UniLoss's sigmoid relaxation (default: 1)" in text
    assert (
        "(default: digits for ap, digits for accuracy, keypoints for pck, digits for f1, shapes for segmentation, "
        "digits for fbeta, digits for topk, digits for precision_at_k, digits for recall_at_k, digits for ndcg)" in text
    )


@pytest.mark.parametrize("command", ["train", "compare", "diagnose", "report"])
def test_no_help_shows_a_python_none_or_field_name(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert "None" not in text.replace("none", "")
    assert "``" not in text
    assert "batch_size" not in text


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"uniloss {uniloss.__version__}\n"
    assert uniloss.__version__ == importlib.metadata.version("uniloss")


# -------------------------------------------------------------------------------- options built from the config


OLD_OPTIONS = [
    "--recipe",
    "--task",
    "--dataset",
    "--loss",
    "--model",
    "--positive-class",
    "--epochs",
    "--batch-size",
    "--eval-batch-size",
    "--lr",
    "--optimizer",
    "--momentum",
    "--weight-decay",
    "--scheduler",
    "--milestones",
    "--gamma",
    "--grad-clip",
    "--seed",
    "--device",
    "--data-dir",
    "--out",
    "--resume",
    "--stop-after",
    "--temperature",
    "--power",
    "--memory",
    "--ap-mode",
    "--candidates",
    "--threshold",
    "--hidden",
    "--width",
    "--stacks",
    "--depth",
    "--limit-train",
    "--limit-test",
    "--num-workers",
    "--augment",
    "--no-augment",
    "--nproc",
    "--threads",
    "--skip-nonfinite",
    "--no-progress",
]


def options_of(command):
    parser = build_parser().parse_args([command, "RUN_DIR"] if command == "report" else [command]).command_parser
    return {option for action in parser._actions for option in action.option_strings}


def test_train_keeps_every_option_and_has_one_per_config_field():
    options = options_of("train")
    assert set(OLD_OPTIONS) <= options
    fields = {"--" + field.name.replace("_", "-") for field in dataclasses.fields(TrainConfig)}
    assert fields <= options  # a new TrainConfig field is an option without retyping it
    assert "--overwrite" in options


def test_bench_keeps_its_options():
    bench_only = {"--loss", "--seed", "--stop-after", "--nproc", "--threads", "--skip-nonfinite"}
    assert set(OLD_OPTIONS) - bench_only <= options_of("compare")
    assert not bench_only & options_of("compare")


def test_option_types_come_from_the_config(tmp_path, captured_config):
    seen = captured_config
    argv = ["train", "--recipe", "paper-cifar100", "--data-dir", "d", "--out", str(tmp_path), "--no-augment",
            "--candidates", "none", "--milestones", "3", "4", "--grad-clip", "0.5", "--limit-train", "none",
            "--lr", "1e-2", "--skip-nonfinite", "--ap-mode", "interpolated"]  # fmt: skip
    with pytest.raises(SystemExit):  # --ap-mode is refused for accuracy, after the values are parsed
        main(argv)
    assert main(argv[:-2]) == 0
    config = seen["config"]
    assert (config.augment, config.candidates, config.milestones, config.grad_clip) == (False, None, (3, 4), 0.5)
    assert (config.limit_train, config.lr, config.skip_nonfinite, config.overwrite) == (None, 0.01, True, False)


# ------------------------------------------------------------------------------------------------------- progress


def test_bench_says_which_run_is_running(tmp_path, capsys):
    argv = [*TINY_BENCH, "--out", str(tmp_path)]
    argv.remove("--no-progress")
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "run 1/2: ap-digits-class0 UniLoss seed 0 lr 0.001" in captured.out
    assert "run 2/2: ap-digits-class0 binary cross-entropy seed 0 lr 0.001" in captured.out
    assert "ap-digits-class0 UniLoss seed 0 lr 0.001 epoch 1/1" in captured.err  # the bar
