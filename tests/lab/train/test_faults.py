"""Faults in training: a killed run resumes, damaged checkpoints are named, non-finite losses stop or are skipped."""

import json
import os
import signal
import subprocess
import sys
import time
import zipfile

import pytest
import torch
from torch.utils.data import TensorDataset

from uniloss_lab.cli import main
from uniloss_lab.train import (
    CHECKPOINT_NAME,
    HISTORY_NAME,
    NonFiniteLossError,
    TrainConfig,
    load_checkpoint,
    loop,
    tasks,
    train,
)

SERIES = ("epoch", "train_loss", "train_metric", "test_metric", "lr", "skipped")

# Digits AP with a small MLP, 1 thread: each epoch takes ~0.2 s, so a kill lands in the middle of the run.
KILL_RUN = ["train", "--task", "ap", "--dataset", "digits", "--hidden", "32", "--positive-class", "8",
            "--batch-size", "16", "--limit-train", "1200", "--limit-test", "200", "--epochs", "6",
            "--device", "cpu", "--threads", "1"]  # fmt: skip


def tiny(**overrides):
    values = {"task": "ap", "hidden": (16,), "positive_class": 3, "batch_size": 32, "limit_train": 128,
              "limit_test": 96, "device": "cpu", "epochs": 2}  # fmt: skip
    return TrainConfig(**{**values, **overrides})


def series(history):
    return {key: history[key] for key in SERIES}


def _cli(*argv):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "uniloss_lab.cli", *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def test_a_run_killed_with_sigkill_resumes_to_the_uninterrupted_result(tmp_path, capsys):
    cut = tmp_path / "cut"
    process = _cli(*KILL_RUN, "--out", str(cut))
    deadline = time.monotonic() + 120
    while not (cut / CHECKPOINT_NAME).exists():  # kill as soon as the first epoch is saved
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no checkpoint after 120 s"
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    killed_at = load_checkpoint(cut / CHECKPOINT_NAME)["epoch"]
    assert killed_at < 6, "the run ended before it was killed"

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the resumed and the uninterrupted runs, in this process, also on one thread
    try:
        assert main([*KILL_RUN, "--out", str(cut), "--resume"]) == 0
        captured = capsys.readouterr()
        assert "6/6 epochs" in captured.out
        assert f"resuming {cut / CHECKPOINT_NAME} after epoch {killed_at}" in captured.out + captured.err
        assert main([*KILL_RUN, "--out", str(tmp_path / "full")]) == 0
    finally:
        torch.set_num_threads(threads)

    full = json.loads((tmp_path / "full" / HISTORY_NAME).read_text())
    again = json.loads((cut / HISTORY_NAME).read_text())
    assert again["completed"] is True
    for key in ("epoch", "lr", "skipped"):
        assert again[key] == full[key]
    for key in ("train_loss", "train_metric", "test_metric"):  # 1 thread: equal, up to floating-point noise
        assert again[key] == pytest.approx(full[key], rel=1e-6, abs=1e-9)
    assert again["final_metric"] == pytest.approx(full["final_metric"], rel=1e-6)
    assert load_checkpoint(cut / CHECKPOINT_NAME)["history"]["epoch"] == again["epoch"]


def test_a_crash_between_the_checkpoint_and_history_writes_is_repaired_on_resume(tmp_path, monkeypatch):
    config = tiny(epochs=3, out=str(tmp_path))
    full = train(config.replace(out=str(tmp_path / "full")), progress=False)
    save_history = loop.save_history
    calls = {"count": 0}

    def dies_at_the_second_epoch(path, history):
        calls["count"] += 1
        if calls["count"] == 2:
            raise KeyboardInterrupt  # the process dies after the checkpoint of epoch 2 was renamed into place
        save_history(path, history)

    monkeypatch.setattr(loop, "save_history", dies_at_the_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        train(config, progress=False)
    assert load_checkpoint(tmp_path / CHECKPOINT_NAME)["epoch"] == 2
    assert json.loads((tmp_path / HISTORY_NAME).read_text())["epoch"] == [1]  # one epoch behind

    monkeypatch.setattr(loop, "save_history", save_history)
    resumed = train(config.replace(resume=True, stop_after=2), progress=False)  # nothing left to train
    assert resumed["epoch"] == [1, 2]
    assert json.loads((tmp_path / HISTORY_NAME).read_text())["epoch"] == [1, 2]  # repaired from the checkpoint
    resumed = train(config.replace(resume=True), progress=False)
    assert series(resumed) == series(full)


def test_a_stale_temporary_file_of_a_killed_write_is_ignored_and_replaced(tmp_path):
    config = tiny(epochs=2, out=str(tmp_path))
    train(config.replace(stop_after=1), progress=False)
    (tmp_path / f".{CHECKPOINT_NAME}.tmp").write_bytes(b"PK\x03\x04 half a checkpoint")
    (tmp_path / f".{HISTORY_NAME}.tmp").write_text('{"epoch": [1, 2')
    history = train(config.replace(resume=True), progress=False)
    assert history["epoch"] == [1, 2]
    assert not list(tmp_path.glob(".*.tmp"))


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip_tensor_bytes(path):
    with zipfile.ZipFile(path) as archive:
        info = max(archive.infolist(), key=lambda member: member.file_size)  # the largest tensor
    data = bytearray(path.read_bytes())
    header = info.header_offset  # the local header: 30 bytes, then the name and the extra field (lengths at 26, 28)
    start = header + 30 + int.from_bytes(data[header + 26 : header + 28], "little")
    start += int.from_bytes(data[header + 28 : header + 30], "little")
    data[start : start + 8] = bytes(b ^ 0xFF for b in data[start : start + 8])
    path.write_bytes(bytes(data))


DAMAGE = {
    "truncated": (_truncate, r"truncated or corrupted checkpoint \(not a complete torch\.save archive"),
    "empty": (lambda path: path.write_bytes(b""), r"truncated or corrupted checkpoint"),
    "flipped_tensor_bytes": (_flip_tensor_bytes, r"truncated or corrupted checkpoint \(member '.*' fails its CRC-32"),
    "not_a_checkpoint": (lambda path: path.write_text("hello"), r"truncated or corrupted checkpoint"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_checkpoint_is_named_in_the_error_and_resume_refuses_it(tmp_path, damage, capsys):
    config = tiny(epochs=2, out=str(tmp_path))
    train(config.replace(stop_after=1), progress=False)
    path = tmp_path / CHECKPOINT_NAME
    damage_file, match = DAMAGE[damage]
    damage_file(path)
    with pytest.raises(ValueError, match=rf"{path}: {match}"):
        load_checkpoint(path)
    with pytest.raises(ValueError, match=rf"{path}: {match}"):
        train(config.replace(resume=True), progress=False)
    argv = ["train", "--hidden", "16", "--positive-class", "3", "--batch-size", "32", "--limit-train", "128",
            "--limit-test", "96", "--device", "cpu", "--epochs", "2", "--out", str(tmp_path), "--resume",
            "--no-progress"]  # fmt: skip
    assert main(argv) == 1
    assert f"uniloss train: error: {path}: truncated or corrupted" in capsys.readouterr().err


def test_a_checkpoint_holding_arbitrary_objects_is_refused_by_weights_only(tmp_path):
    path = tmp_path / CHECKPOINT_NAME
    torch.save({"version": 1, "payload": TrainConfig()}, path)  # a pickled class: weights_only refuses it
    with pytest.raises(ValueError, match=rf"{path}: cannot be loaded with torch\.load\(weights_only=True\)"):
        load_checkpoint(path)


def test_a_missing_checkpoint_raises_file_not_found_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=rf"checkpoint {tmp_path / 'absent.pt'} does not exist"):
        load_checkpoint(tmp_path / "absent.pt")


def _poison(monkeypatch, example):
    """Make training example ``example`` NaN, so every batch holding it has a NaN loss."""
    load_data = loop.load_data

    def poisoned(config):
        train_set, test_set = load_data(config)
        images, labels = (tensor.clone() for tensor in train_set.tensors)
        images[example] = float("nan")
        return TensorDataset(images, labels), test_set

    monkeypatch.setattr(loop, "load_data", poisoned)


def test_a_nan_loss_stops_naming_epoch_step_and_batch_and_keeps_the_checkpoint(tmp_path, monkeypatch):
    config = tiny(epochs=2, out=str(tmp_path))
    train(config.replace(stop_after=1), progress=False)
    _poison(monkeypatch, 77)
    with pytest.raises(NonFiniteLossError) as raised:
        train(config.replace(resume=True), progress=False)
    error = raised.value
    assert error.epoch == 2
    assert 77 in error.indices
    assert len(error.indices) == 32
    message = str(error)
    assert f"non-finite training loss nan at epoch 2, step {error.step} (batch of 32 training examples: indices [" in (
        message
    )
    assert f"the last good checkpoint ({tmp_path / CHECKPOINT_NAME}, epoch 1) is kept" in message
    assert "--skip-nonfinite" in message
    assert load_checkpoint(tmp_path / CHECKPOINT_NAME)["epoch"] == 1
    assert json.loads((tmp_path / HISTORY_NAME).read_text())["epoch"] == [1]


def test_skip_nonfinite_skips_the_batch_and_counts_it_in_the_history(tmp_path, monkeypatch, capsys):
    _poison(monkeypatch, 5)
    history = train(tiny(epochs=2, skip_nonfinite=True, out=str(tmp_path)), progress=True)
    assert history["skipped"] == [1, 1]  # the one batch holding example 5, in each epoch
    assert all(value == value for value in history["train_loss"])  # no NaN: the batch was left out
    assert history["completed"] is True
    assert json.loads((tmp_path / HISTORY_NAME).read_text())["skipped"] == [1, 1]
    captured = capsys.readouterr()
    assert "skipped 1 non-finite batch)" in captured.out + captured.err


def test_skip_nonfinite_stops_when_every_batch_of_an_epoch_is_non_finite(monkeypatch):
    def nan_loss(self, outputs, targets):
        return outputs.sum() * float("nan")

    monkeypatch.setattr(tasks._APTask, "loss", nan_loss)
    with pytest.raises(NonFiniteLossError, match=r"every batch of epoch 1 had a non-finite training loss"):
        train(tiny(skip_nonfinite=True), progress=False)


def test_cli_skip_nonfinite_option_reaches_the_run_and_a_nan_exits_with_status_1(tmp_path, monkeypatch, capsys):
    _poison(monkeypatch, 0)
    argv = ["train", "--hidden", "16", "--limit-train", "64", "--limit-test", "64", "--device", "cpu", "--epochs",
            "1", "--batch-size", "32", "--no-progress"]  # fmt: skip
    assert main([*argv, "--out", str(tmp_path / "a")]) == 1
    assert "non-finite training loss nan at epoch 1" in capsys.readouterr().err
    assert main([*argv, "--out", str(tmp_path / "b"), "--skip-nonfinite"]) == 0
    assert json.loads((tmp_path / "b" / HISTORY_NAME).read_text())["skipped"] == [1]


def test_non_finite_error_survives_pickling_for_worker_processes(tmp_path):
    import pickle

    error = NonFiniteLossError(3, 4, float("inf"), tmp_path / CHECKPOINT_NAME, 2, list(range(20)))
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is NonFiniteLossError
    assert str(again) == str(error)
    assert (again.epoch, again.step, again.indices) == (3, 4, list(range(20)))
    assert "indices [0, 1, 2, 3, 4, 5, 6, 7, ...]" in str(again)
