"""The f1 and segmentation tasks, peer losses as runs, and the bench's loss rows (issue 14); tiny, one or two steps."""

from __future__ import annotations

import json
import re
import sys

import pytest
import torch

from uniloss_lab.reports import markdown_report, summarize, write_report
from uniloss_lab.train import TrainConfig, train
from uniloss_lab.train.builders import build_model_for, make_optimizer
from uniloss_lab.train.compare import RESULTS_NAME, run_comparison, setting_names, suite_losses, suite_settings
from uniloss_lab.train.peers import PEERS, LibAUCAP, peer_names
from uniloss_lab.train.splits import holdout
from uniloss_lab.train.tasks import build_task
from uniloss_lab.train.thresholds import best_threshold

_SEGMENTATION = {"task": "segmentation", "width": 4, "depth": 2, "batch_size": 4, "limit_train": 4, "limit_test": 4}
_ONE_VS_REST = {"hidden": (16,), "batch_size": 64, "limit_train": 64, "limit_test": 64}


def tiny(task: str, **overrides):
    values = _SEGMENTATION if task == "segmentation" else {"task": task, **_ONE_VS_REST}
    return TrainConfig(**{**values, "device": "cpu", "epochs": 1, **overrides})


def _skip_without(name: str) -> None:
    package = PEERS[name].package
    if package is not None:
        pytest.importorskip(f"{package}.losses")


@pytest.mark.parametrize("task", ["f1", "segmentation"])
@pytest.mark.parametrize("loss", ["uniloss", "baseline"])
def test_each_new_task_trains_a_step_with_uniloss_and_its_baseline(task, loss):
    history = train(tiny(task, loss=loss), progress=False)
    expected = {"f1": ("f1", "binary cross-entropy"), "segmentation": ("iou", "cross-entropy")}[task]
    assert history["metric"] == expected[0]
    assert history["loss_name"] == ("UniLoss" if loss == "uniloss" else expected[1])
    assert len(history["test_metric"]) == 1
    assert 0.0 <= history["final_metric"] <= 1.0
    assert torch.isfinite(torch.tensor(history["train_loss"])).all()


def test_the_f1_task_holds_out_a_tenth_and_records_the_tuned_threshold_and_its_test_f1():
    history = train(tiny("f1", loss="baseline", limit_train=60), progress=False)
    assert history["num_train"] + history["num_validation"] == 60  # a tenth held out, rounded per class
    assert 5 <= history["num_validation"] <= 7
    assert len(history["tuned_threshold"]) == len(history["tuned_test_metric"]) == 1
    assert 0.0 <= history["tuned_test_metric"][0] <= 1.0
    assert "tuned_threshold" not in train(tiny("ap", loss="baseline"), progress=False)


def test_the_segmentation_task_builds_a_unet_with_a_logit_per_class_and_uniloss_of_iou():
    config = tiny("segmentation")
    model = build_model_for(config)
    assert type(model).__name__ == "UNet"
    assert model(torch.zeros(2, 1, 64, 64)).shape == (2, 4, 64, 64)
    assert type(build_task(config).criterion.metric).__name__ == "IoU"  # type: ignore[union-attr]


@pytest.mark.parametrize("name", peer_names())
def test_every_peer_runs_as_the_loss_of_a_run(name):
    _skip_without(name)
    task = PEERS[name].tasks[0]
    config = tiny(task, loss=name, positive_class=0) if task != "segmentation" else tiny(task, loss=name)
    history = train(config, progress=False)
    assert history["loss"] == name
    assert history["loss_name"] == name
    assert len(history["test_metric"]) == 1


def test_libauc_gets_the_training_indices_of_each_batch_and_its_recipe_its_own_optimiser(monkeypatch):
    pytest.importorskip("libauc.losses")
    seen: list[torch.Tensor] = []
    forward = LibAUCAP.forward

    def spy(self, scores, targets, index):
        seen.append(index.clone())
        return forward(self, scores, targets, index)

    monkeypatch.setattr(LibAUCAP, "forward", spy)
    train(tiny("ap", loss="libauc_ap", positive_class=0, batch_size=32), progress=False)
    assert sorted(torch.cat(seen).tolist()) == list(range(64))  # every training example once, two batches
    config = tiny("ap", loss="libauc_ap_recipe")
    assert type(make_optimizer(config, build_model_for(config))).__name__ == "SOAP"
    task = build_task(config, train_size=64)
    assert (task.needs_index, task.criterion.margin, task.criterion.gamma) == (True, 0.6, 0.1)  # type: ignore[union-attr]


def test_a_missing_peer_package_fails_when_the_run_is_built_naming_the_extra(monkeypatch, tmp_path):
    for module in ("kornia", "kornia.losses"):
        monkeypatch.setitem(sys.modules, module, None)
    config = tiny("segmentation", loss="kornia_dice", out=str(tmp_path / "run"))  # the config itself is fine
    with pytest.raises(ModuleNotFoundError, match=r'needs `kornia`.*pip install -e "\.\[peers\]"'):
        train(config, progress=False)
    assert not (tmp_path / "run" / "history.json").exists()
    # a bench checks every row's package before its first run
    settings = suite_settings(None, **_SEGMENTATION, device="cpu", epochs=1)
    rows = [{"uniloss": {"loss": "uniloss"}, "kornia_dice": {"loss": "kornia_dice"}}]
    with pytest.raises(ModuleNotFoundError, match=r"needs `kornia`"):
        run_comparison(settings, [0], tmp_path / "compare", progress=False, losses=rows)
    assert not (tmp_path / "compare").exists()


def test_best_threshold_maximises_f1_on_the_given_scores_between_two_distinct_scores():
    scores = torch.tensor([3.0, 2.0, 2.0, 1.0, -1.0])
    labels = torch.tensor([1, 0, 1, 1, 0])
    assert best_threshold(scores, labels) == 0.0  # all above -1: F1 = 6/7, the best; ties never split
    assert best_threshold(torch.tensor([1.0, 0.0]), torch.tensor([0, 0])) == 2.0  # no positive: predict none
    assert best_threshold(torch.tensor([0.5]), torch.tensor([1])) == -0.5  # 1 below the lowest score


def test_bench_with_three_loss_rows_writes_each_and_the_report_has_three_rows(tmp_path):
    settings = suite_settings("quick", task="ap", epochs=1, limit_train=64, limit_test=64, hidden=(16,), device="cpu")
    rows = [{"uniloss": {"loss": "uniloss"}, "baseline": {"loss": "baseline"}, "pairs": {"loss": "pairwise_logistic"}}]
    results = run_comparison(settings, [0], tmp_path, progress=False, losses=rows)
    saved = json.loads((tmp_path / RESULTS_NAME).read_text())
    (setting,) = saved["settings"]
    assert setting["losses"] == rows[0]
    assert [(run["loss"], run["loss_name"]) for run in setting["runs"]] == [
        ("uniloss", "UniLoss"), ("baseline", "binary cross-entropy"), ("pairs", "pairwise_logistic")
    ]  # fmt: skip
    assert (tmp_path / "ap-digits" / "pairs-seed0" / "checkpoint.pt").is_file()
    glance, full = markdown_report(results).split("Every row in full")
    table = [line for line in full.splitlines() if line.startswith("| ap-digits |")]
    assert [line.split(" | ")[2] for line in table] == ["UniLoss", "binary cross-entropy", "pairwise_logistic [pairs]"]
    (row,) = [line for line in glance.splitlines() if line.startswith("| ap-digits |")]  # one row per setting
    cells = row.split(" | ")
    assert cells[2].startswith("binary cross-entropy: ")
    assert cells[5].startswith("pairwise_logistic [pairs]: ")
    summary = summarize(results)
    assert summary[2]["gap"] == pytest.approx(summary[0]["mean"] - summary[2]["mean"])
    assert [path.name for path in write_report(results, tmp_path / "report")] == ["results.md", "ap-digits.png"]


def test_the_quality_suite_lists_each_tasks_rows_with_the_same_settings_for_every_row():
    settings = suite_settings("quality")
    names = setting_names(settings)
    losses = dict(zip(names, suite_losses("quality"), strict=True))
    assert list(losses["ap-fashion-mnist"]) == [
        "uniloss", "baseline", "uniloss-plus-task", "uniloss-memory512", "pairwise_logistic", "libauc_ap",
        "libauc_ap_recipe",
    ]  # fmt: skip
    assert losses["ap-digits"] == losses["ap-fashion-mnist"]
    assert losses["ap-fashion-mnist"]["uniloss-memory512"] == {"loss": "uniloss", "memory": 512}
    assert list(losses["f1-fashion-mnist"]) == ["uniloss", "baseline", "uniloss-plus-task", "sigmoid_f1"]
    segmentation = ["uniloss", "baseline", "uniloss-plus-task", *peer_names("segmentation")]
    assert list(losses["segmentation-shapes"]) == segmentation
    assert list(losses["accuracy-digits"]) == ["uniloss", "baseline", "uniloss-plus-task"]
    assert list(losses["pck-keypoints"]) == ["uniloss", "baseline"]
    for setting, rows in zip(settings, losses.values(), strict=True):
        for row in rows.values():
            assert setting.replace(**row).task == setting.task  # every row is a valid run of its setting
    assert suite_losses("quality", task="segmentation") == [losses["segmentation-shapes"]]


def test_the_report_adds_the_baselines_tuned_threshold_row_for_f1():
    def run(loss, metric, tuned=None):
        history = {"test_metric": [metric], "epoch_time": [1.0]}
        if tuned is not None:
            history["tuned_test_metric"] = [tuned]
        return {"loss": loss, "loss_name": loss, "seed": 0, "history": history}

    results = {"settings": [{"name": "f1-x", "runs": [run("uniloss", 0.5, 0.6), run("baseline", 0.3, 0.55)]}]}
    rows = summarize(results)
    assert [(row["loss"], row["mean"]) for row in rows] == [
        ("uniloss", 0.5),
        ("baseline", 0.3),
        ("baseline-tuned", 0.55),
    ]
    assert rows[2]["loss_name"] == "baseline, threshold tuned on validation data"
    assert rows[2]["gap"] == pytest.approx(-0.05)


# (call, exception, message): every raise added for the new tasks, peer runs and loss rows.
ERROR_CASES = [
    (
        lambda: holdout(TrainConfig(task="f1"), torch.utils.data.TensorDataset(torch.zeros(1, 1))),
        ValueError,
        "a validation split needs at least 2 training examples (one held out), but got 1.",
    ),
    (
        lambda: build_task(TrainConfig(task="ap", loss="libauc_ap")),
        ValueError,
        "`train_size` must be given for the peer 'libauc_ap' (it keeps a state per example).",
    ),
    (
        lambda: build_task(TrainConfig(task="ap", loss="libauc_ap"), train_size=4).loss(
            torch.zeros(2), (torch.tensor([1, 0]),)
        ),
        ValueError,
        "`indices` must be given for the loss 'libauc_ap', but got None.",
    ),
    (
        lambda: run_comparison(suite_settings(), [0], "unused", losses=[]),
        ValueError,
        "`losses` must give a non-empty dict of rows for each of 1 settings, but got [].",
    ),
    (
        lambda: run_comparison(suite_settings(), [0], "unused", losses=[{"a/b": {"loss": "uniloss"}}]),
        ValueError,
        "`losses` row names must be folder names ([A-Za-z0-9_.-]+), but got 'a/b'.",
    ),
    (
        lambda: run_comparison(suite_settings(), [0], "unused", losses=[{"u": {"loss": "uniloss", "seed": 3}}]),
        ValueError,
        "`losses` row 'u' must not set `seed` or `out` (the bench's); got {'loss': 'uniloss', 'seed': 3}.",
    ),
    (
        lambda: run_comparison(suite_settings(), [0], "unused", losses=[{"u": {"loss": "kornia_dice"}}]),
        ValueError,
        "a peer of task 'ap'",
    ),
]


@pytest.mark.parametrize(("call", "error", "message"), ERROR_CASES)
def test_new_errors_name_the_argument_and_the_value(call, error, message):
    if "libauc" in message:
        pytest.importorskip("libauc.losses")
    with pytest.raises(error, match=re.escape(message)):
        call()
