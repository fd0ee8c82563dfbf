"""`uniloss train --metric FILE:FUNC` trains UniLoss of a metric function from the user's file."""

from __future__ import annotations

import json

import pytest

from uniloss.cli.__main__ import main
from uniloss.cli.user_metric import load_metric, metric_criterion

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
    assert metric_criterion(f"{file}:precision_at_5", 0).metric.name == "precision_at_5"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("my_metrics.py", "must be FILE:FUNC"),
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


def test_metric_with_another_loss_is_a_usage_error(tmp_path, capsys):
    file = tmp_path / "my_metrics.py"
    file.write_text(SOURCE)
    with pytest.raises(SystemExit):
        main(["train", "--loss", "baseline", "--metric", f"{file}:precision_at_5", "--out", str(tmp_path / "r"), *TINY])
    assert "leave `--loss` at uniloss" in capsys.readouterr().err
