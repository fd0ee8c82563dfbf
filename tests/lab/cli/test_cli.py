import json
import subprocess
import sys

import pytest

from uniloss_lab.cli import main

TINY_AP = ["--hidden", "16", "--limit-train", "96", "--limit-test", "64", "--device", "cpu", "--no-progress"]


def test_train_writes_a_checkpoint_and_prints_the_final_metric(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--task", "ap", "--dataset", "digits", "--loss", "uniloss", "--epochs", "2",
                 "--out", str(out), *TINY_AP]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "final test average_precision: " in printed
    assert (out / "checkpoint.pt").is_file()
    history = json.loads((out / "history.json").read_text())
    assert history["epoch"] == [1, 2]


def test_train_resume_continues_a_stopped_run(tmp_path, capsys):
    out = tmp_path / "run"
    common = ["train", "--loss", "baseline", "--epochs", "2", "--out", str(out), *TINY_AP]
    assert main([*common, "--stop-after", "1"]) == 0
    assert "1/2 epochs" in capsys.readouterr().out
    assert main([*common, "--resume"]) == 0
    assert "2/2 epochs" in capsys.readouterr().out


def test_train_preset_values_are_overridden_by_options(tmp_path, capsys, captured_config):
    seen = captured_config
    assert (
        main(["train", "--recipe", "paper-cifar100", "--epochs", "1", "--data-dir", "x", "--out", str(tmp_path)]) == 0
    )
    config = seen["config"]
    assert (config.candidates, config.lr, config.epochs, config.recipe) == (21, 0.1, 1, "paper-cifar100")


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["train", "--batch-size", "0"], "uniloss train: error: --batch-size must be a positive int, but got 0"),
        (["train", "--lr", "-1"], "--lr must be a positive float"),
        (["train", "--task", "pck", "--dataset", "digits"], "--dataset must be one of"),
        (["train", "--positive-class", "12"], "--positive-class must be in 0..9"),
        (["compare", "--quick", "--task", "ap", "--epochs", "0"], "compare: error: --epochs must be a positive int"),
        (["train", "--optimizer", "lbfgs"], "invalid choice: 'lbfgs'"),
        (["train", "--nproc", "4", "--batch-size", "6"], "--batch-size must be at least 2 x --nproc = 8"),
        (["compare", "--quick", "--jobs", "0"], "uniloss compare: error: --jobs must be a positive int, but got 0"),
        (["diagnose", "--steps", "0"], "uniloss diagnose: error: --steps must be a positive int, but got 0"),
        (["train", "--width", "x"], "argument --width: invalid int value: 'x'"),
    ],
)
def test_bad_options_exit_with_status_2_naming_the_option(argv, match, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert match in err
    assert "`" not in err.splitlines()[-1]  # options, not Python fields


def test_missing_data_files_exit_with_status_1(tmp_path, capsys):
    assert main(["train", "--dataset", "mnist", "--data-dir", str(tmp_path / "nowhere"), "--no-progress",
                 "--out", str(tmp_path / "run")]) == 1  # fmt: skip
    assert "uniloss train: error:" in capsys.readouterr().err


def test_bench_then_report_write_results_table_and_plots(tmp_path, capsys):
    out = tmp_path / "compare"
    argv = ["compare", "--quick", "--task", "ap", "--seeds", "0", "1", "--epochs", "2", "--out", str(out), *TINY_AP]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| ap-digits | AP | UniLoss |" in printed
    assert "| ap-digits | AP | binary cross-entropy |" in printed
    results = json.loads((out / "results.json").read_text())
    assert results["seeds"] == [0, 1]
    assert results["command"].startswith("uniloss compare --quick --task ap --seeds 0 1")
    assert "Command: `uniloss compare --quick" in (out / "results.md").read_text()
    assert len(results["settings"][0]["runs"]) == 4
    assert (out / "results.md").is_file()
    assert (out / "ap-digits.png").read_bytes().startswith(b"\x89PNG")

    (out / "results.md").unlink()
    (out / "ap-digits.png").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "results.md").is_file()
    assert (out / "ap-digits.png").is_file()


def test_report_of_a_folder_without_results_exits_with_status_1(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 1
    assert "no benchmark results" in capsys.readouterr().err


def test_presets_command_documents_every_preset(capsys):
    assert main(["recipes"]) == 0
    printed = capsys.readouterr().out
    for name in ("paper-mnist-ap", "paper-cifar10", "paper-cifar100", "paper-mpii", "quick", "fashion-mnist"):
        assert name in printed


def test_python_dash_m_uniloss_cli_runs():
    completed = subprocess.run(
        [sys.executable, "-m", "uniloss_lab.cli", "--version"], capture_output=True, text=True, check=False, timeout=120
    )
    assert completed.returncode == 0
    assert completed.stdout.startswith("uniloss ")
    assert "RuntimeWarning" not in completed.stderr


def test_the_command_without_the_labs_dependencies_says_how_to_install_them():
    code = (
        "import sys\n"
        "sys.modules['numpy'] = None\n"
        "from uniloss_lab.cli import main\n"
        "sys.exit(main(['train', '--help']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "pip install 'uniloss[lab]'" in done.stderr
