"""`uniloss train/bench --metric FILE:FUNC` trains UniLoss of a metric function from the user's file."""

from __future__ import annotations

import json

import pytest

from uniloss_lab.cli.__main__ import main
from uniloss_lab.train import TrainConfig, build_task
from uniloss_lab.train.user_metric import load_metric

TINY = ["--epochs", "1", "--batch-size", "64", "--limit-train", "256", "--limit-test", "128", "--no-progress"]

SOURCE = """
import torch

def precision_at_5(scores, labels):
    return labels[scores.topk(5).indices].float().mean()

def not_a_function():
    pass

value = 3
"""


def test_train_with_a_metric_from_a_file(tmp_path, capsys):
    file = tmp_path / "my_metrics.py"
    file.write_text(SOURCE)
    out = tmp_path / "run"
    arguments = ["train", "--task", "ap", "--dataset", "digits", "--out", str(out), *TINY]
    assert main([*arguments, "--metric", f"{file}:precision_at_5"]) == 0
    printed = capsys.readouterr().out
    assert "final test average_precision: " in printed
    history = json.loads((out / "history.json").read_text())
    assert history["loss_name"] == "UniLoss"
    assert history["config"]["metric"] == f"{file}:precision_at_5"


def test_the_task_trains_uniloss_of_the_metric_and_the_baseline_ignores_it(tmp_path):
    file = tmp_path / "my_metrics.py"
    file.write_text(SOURCE)
    task = build_task(TrainConfig(task="ap", metric=f"{file}:precision_at_5"))
    assert task.criterion.metric.name == "precision_at_5"
    assert build_task(TrainConfig(task="ap", loss="baseline", metric=f"{file}:precision_at_5")).loss_name != "UniLoss"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("my_metrics.py:", "must be FILE:FUNC"),
        ("missing.py:f", "does not exist"),
        ("{file}:value", "does not define as a function"),
        ("{file}:absent", "does not define as a function"),
    ],
)
def test_a_wrong_metric_spec_is_refused_naming_it(tmp_path, spec, message):
    file = tmp_path / "my_metrics.py"
    file.write_text(SOURCE)
    with pytest.raises(ValueError, match=message):
        load_metric(spec.format(file=file))


def test_a_config_without_func_is_refused():
    with pytest.raises(ValueError, match="must be FILE:FUNC"):
        TrainConfig(metric="my_metrics.py")


def test_metric_with_another_loss_is_a_usage_error(tmp_path, capsys):
    file = tmp_path / "my_metrics.py"
    file.write_text(SOURCE)
    with pytest.raises(SystemExit):
        main(["train", "--loss", "baseline", "--metric", f"{file}:precision_at_5", "--out", str(tmp_path / "r"), *TINY])
    assert "--metric is used only with --loss uniloss" in capsys.readouterr().err


def test_bench_compares_the_metric_with_the_task_loss_in_one_command(tmp_path, capsys):
    file = tmp_path / "my_metrics.py"
    file.write_text(SOURCE)
    out = tmp_path / "compare"
    arguments = ["compare", "--task", "ap", "--dataset", "digits", "--seeds", "0", "--out", str(out)]
    assert main([*arguments, "--metric", f"{file}:precision_at_5", *TINY]) == 0
    results = json.loads((out / "results.json").read_text())
    assert "precision_at_5" in json.dumps(results)
