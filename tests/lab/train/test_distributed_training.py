"""``nproc > 1``: several gloo processes share each batch and give the run of one process."""

import json

import pytest
import torch

from uniloss_lab.cli import main
from uniloss_lab.train import CHECKPOINT_NAME, HISTORY_NAME, TrainConfig, load_checkpoint, train

pytestmark = pytest.mark.ddp

SERIES = ("epoch", "lr", "skipped")
VALUES = ("train_loss", "train_metric", "test_metric")


def tiny(**overrides):
    values = {"task": "ap", "hidden": (32,), "positive_class": 3, "batch_size": 64, "limit_train": 256,
              "limit_test": 128, "device": "cpu", "epochs": 2, "optimizer": "sgd", "lr": 0.1, "threads": 1}  # fmt: skip
    return TrainConfig(**{**values, **overrides})


def assert_same_run(got, expected, tolerance=1e-5):
    for key in SERIES:
        assert got[key] == expected[key], key
    for key in VALUES:
        assert got[key] == pytest.approx(expected[key], rel=tolerance, abs=tolerance), key


def assert_same_weights(got, expected, tolerance=1e-5):
    assert got.keys() == expected.keys()
    for name, tensor in expected.items():
        torch.testing.assert_close(got[name], tensor, rtol=tolerance, atol=tolerance, msg=name)


def test_two_processes_take_the_steps_of_one_process_on_the_whole_batch(tmp_path):
    """UniLoss AP with SGD: after each step the weights are ``w - lr * grad``, so equal weights mean equal gradients.

    Process 0 writes the checkpoint of the first epoch; one process resumes it and ends where an uninterrupted
    one-process run ends.
    """
    config = tiny(out=str(tmp_path / "one"))
    one_first = train(config.replace(stop_after=1), progress=False)
    first_weights = load_checkpoint(tmp_path / "one" / CHECKPOINT_NAME)["model"]
    one = train(config.replace(resume=True), progress=False)

    two_first = train(config.replace(nproc=2, stop_after=1, out=str(tmp_path / "two")), progress=False)
    assert two_first["config"]["nproc"] == 2
    assert_same_run(two_first, one_first)
    # 4 SGD steps from the same initial weights on the same global batches with the same anchors: equal weights
    # after them mean equal gradients at each step (train_loss, compared above, is the mean of the 4 losses).
    assert_same_weights(load_checkpoint(tmp_path / "two" / CHECKPOINT_NAME)["model"], first_weights)
    assert json.loads((tmp_path / "two" / HISTORY_NAME).read_text())["epoch"] == [1]
    assert not list((tmp_path / "two").glob(".*.tmp"))

    resumed = train(config.replace(resume=True, out=str(tmp_path / "two")), progress=False)  # one process
    assert_same_run(resumed, one)
    assert 0.5 < resumed["final_metric"] <= 1.0
    assert_same_weights(
        load_checkpoint(tmp_path / "two" / CHECKPOINT_NAME)["model"],
        load_checkpoint(tmp_path / "one" / CHECKPOINT_NAME)["model"],
    )


def test_cli_nproc_runs_the_baseline_with_augmentation_and_uneven_parts_as_one_process(tmp_path, capsys):
    """Cross-entropy on 10 classes with crops and flips; batches of 63 split 32 + 31 (the last 61: 31 + 30)."""
    argv = ["train", "--task", "accuracy", "--model", "mlp", "--hidden", "32", "--loss", "baseline", "--augment",
            "--batch-size", "63", "--limit-train", "250", "--limit-test", "100", "--epochs", "1", "--optimizer",
            "sgd", "--lr", "0.1", "--device", "cpu", "--threads", "1", "--no-progress"]  # fmt: skip
    assert main([*argv, "--out", str(tmp_path / "one")]) == 0
    assert main([*argv, "--out", str(tmp_path / "two"), "--nproc", "2"]) == 0
    assert "final test accuracy: " in capsys.readouterr().out
    one = json.loads((tmp_path / "one" / HISTORY_NAME).read_text())
    two = json.loads((tmp_path / "two" / HISTORY_NAME).read_text())
    assert_same_run(two, one)
    assert_same_weights(
        load_checkpoint(tmp_path / "two" / CHECKPOINT_NAME)["model"],
        load_checkpoint(tmp_path / "one" / CHECKPOINT_NAME)["model"],
    )


def test_an_error_in_the_processes_is_raised_again_in_the_parent(tmp_path, capsys):
    argv = ["train", "--dataset", "mnist", "--data-dir", str(tmp_path / "nowhere"), "--nproc", "2", "--threads",
            "1", "--device", "cpu", "--no-progress", "--out", str(tmp_path / "run")]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"uniloss train: error: dataset folder {tmp_path / 'nowhere'} does not exist" in err


@pytest.mark.slow
def test_torchrun_runs_uniloss_train_as_one_process_would(tmp_path):
    import os
    import shutil
    import subprocess

    if shutil.which("torchrun") is None:
        pytest.skip("torchrun is not on the PATH")
    argv = ["train", "--hidden", "32", "--positive-class", "3", "--batch-size", "64", "--limit-train", "256",
            "--limit-test", "128", "--epochs", "2", "--optimizer", "sgd", "--lr", "0.1", "--threads", "1",
            "--device", "cpu", "--no-progress"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = ["torchrun", "--nproc-per-node", "2", "-m", "uniloss_lab.cli", *argv, "--out", str(tmp_path / "two")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("final test average_precision") == 1  # process 0 alone reports
    assert main([*argv, "--out", str(tmp_path / "one")]) == 0
    one = json.loads((tmp_path / "one" / HISTORY_NAME).read_text())
    two = json.loads((tmp_path / "two" / HISTORY_NAME).read_text())
    assert_same_run(two, one)
