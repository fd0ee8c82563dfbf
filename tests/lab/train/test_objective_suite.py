"""The objective-* suites (settings where the metric is not the task loss's objective), their quick forms, new tasks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from uniloss import exact
from uniloss_lab.cli import main
from uniloss_lab.train import TrainConfig, train
from uniloss_lab.train.compare import run_comparison, setting_names, suite_losses, suite_lrs, suite_settings
from uniloss_lab.train.splits import positive_count
from uniloss_lab.train.suites import QUICK
from uniloss_lab.train.tasks import build_task

FASHION = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


def test_the_digits_suite_has_each_metric_for_a_linear_model_and_the_mlp_with_every_peer():
    settings = suite_settings("objective-digits")
    names = setting_names(settings)
    assert names == [
        "ap-digits-linear", "ap-digits-mlp", "f1-digits-linear", "f1-digits-mlp",
        "fbeta-digits-linear", "fbeta-digits-mlp", "topk-digits-k3", "topk-digits-k5",
    ]  # fmt: skip
    rows = dict(zip(names, suite_losses("objective-digits"), strict=True))
    assert {"baseline", "uniloss", "uniloss-plus-task", "bce_weighted", "focal"} <= set(rows["ap-digits-mlp"])
    assert {"anyloss", "sigmoid_f1", "bce_weighted", "focal"} <= set(rows["fbeta-digits-linear"])
    assert list(rows["topk-digits-k3"]) == ["uniloss", "baseline", "uniloss-plus-task"]
    assert all(config.positive_fraction == 0.02 for config in settings[:6])
    assert [config.beta for config in settings[4:6]] == [2.0, 2.0]
    assert [config.top_k for config in settings[6:]] == [3, 5]
    assert [config.hidden for config in settings[:2]] == [(), (500, 300)]
    grids = suite_lrs("objective-digits")
    assert grids[0] == grids[2] == (1e-2, 3e-2, 1e-1)
    assert grids[1] == (1e-3, 3e-3, 1e-2)
    assert set(suite_lrs("objective-fashion-mnist")) == {(1e-3, 3e-3, 1e-2, 3e-2, 1e-1)}  # 784 inputs: wider
    for setting, setting_rows in zip(settings, rows.values(), strict=True):
        for row in setting_rows.values():
            setting.replace(**row)  # every row is a valid run of its setting


def test_the_quick_form_is_the_same_settings_on_few_examples_and_two_rates():
    full, quick = suite_settings("objective-digits"), suite_settings("objective-digits", quick=True)
    assert setting_names(full) == setting_names(quick)
    assert {(config.epochs, config.limit_train) for config in quick} == {(QUICK["epochs"], QUICK["limit_train"])}
    assert suite_lrs("objective-digits", quick=True)[0] == (1e-2, 3e-2)


def test_the_quick_form_of_the_digits_suite_runs_a_setting_of_each_task(tmp_path):
    settings = suite_settings("objective-digits", quick=True)
    rows, grids = suite_losses("objective-digits"), suite_lrs("objective-digits", quick=True)
    chosen = [0, 4, 6]  # AP and F-beta with the linear model, top-3 accuracy
    results = run_comparison(
        [settings[index] for index in chosen],
        [0],
        tmp_path,
        progress=False,
        lrs=[grids[index][:1] for index in chosen],
        losses=[rows[index] for index in chosen],
    )
    for entry in results["settings"]:
        assert entry["selected_on"] == "validation"
        assert {run["loss"] for run in entry["runs"]} == set(entry["losses"])
        for run in entry["runs"]:
            assert 0.0 <= run["history"]["final_metric"] <= 1.0


@pytest.mark.slow
@pytest.mark.parametrize("suite", ["objective-digits", "objective-fashion-mnist", "quality-digits"])
def test_the_quick_form_of_each_suite_runs_through_the_cli(suite, tmp_path, capsys):
    if "fashion" in suite and not FASHION.exists():
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    out = tmp_path / "compare"
    assert main(["compare", "--suite", suite, "--quick", "--seeds", "0", "--out", str(out), "--no-progress"]) == 0
    assert "chosen on the validation split" in (out / "results.md").read_text()


def test_the_rare_positive_cut_leaves_the_stated_share_in_training_and_the_test_split_whole():
    config = TrainConfig(task="ap", positive_class=8, positive_fraction=0.02, validation=0.2, epochs=1, device="cpu")
    history = train(config.replace(hidden=(4,)), progress=False)
    assert history["num_test"] == 359  # the test split keeps its own share of eights
    full = TrainConfig(task="ap", positive_class=8)
    from uniloss_lab.train.builders import load_data
    from uniloss_lab.train.splits import cut_positives

    positives, negatives = positive_count(full, cut_positives(config, load_data(full)[0]))
    assert positives == round(0.02 * negatives / 0.98)
    assert history["num_train"] + history["num_validation"] == positives + negatives


def test_task_weight_trains_on_uniloss_plus_the_weighted_task_loss():
    scores, labels = torch.randn(16), torch.tensor([1, 0, 0, 0] * 4)
    alone = build_task(TrainConfig(task="ap", seed=3)).loss(scores, (labels,))  # the same seed: the same anchors
    both = build_task(TrainConfig(task="ap", seed=3, task_weight=0.5))
    expected = alone + 0.5 * F.binary_cross_entropy_with_logits(scores, labels.float())
    torch.testing.assert_close(both.loss(scores, (labels,)), expected)
    assert both.loss_name == "UniLoss + 0.5 x binary cross-entropy"


def test_the_fbeta_and_topk_tasks_measure_their_metric():
    scores, labels = torch.tensor([2.0, -1.0, 0.5, -3.0]), torch.tensor([8, 8, 1, 2])
    task = build_task(TrainConfig(task="fbeta", beta=2.0, positive_class=8))
    accumulator = task.accumulator()
    task.update(accumulator, scores, task.split((torch.zeros(4, 1), labels))[1])
    expected = exact.fbeta(scores, (labels == 8).long(), 2.0)  # TP 1, FN 1, FP 1: 5 / (5 + 4 + 1)
    assert accumulator.compute() == pytest.approx(float(expected)) == pytest.approx(0.5)
    logits = torch.eye(10)[[3, 3]] + torch.linspace(0, 0.5, 10)
    topk = build_task(TrainConfig(task="topk", top_k=3))
    assert topk.batch_metric(logits, (torch.tensor([3, 8]),)) == (1.0, 2.0)  # 8 is second, 9 first
    assert topk.batch_metric(logits, (torch.tensor([0, 3]),)) == (0.5, 2.0)


def test_hidden_alone_on_the_command_line_trains_a_linear_model(tmp_path):
    out = tmp_path / "run"
    argv = ["train", "--hidden", "--epochs", "1", "--limit-train", "64", "--limit-test", "32", "--device", "cpu"]
    assert main([*argv, "--out", str(out), "--no-progress"]) == 0
    history = json.loads((out / "history.json").read_text())
    assert history["config"]["hidden"] == []
    assert history["num_parameters"] == 65  # 64 pixels and a bias
