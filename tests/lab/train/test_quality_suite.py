"""The quality suite: its settings build, each takes one training step, and the learning-rate search picks the best."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from uniloss_lab.train import LR_GRIDS, SUITES, TrainConfig, make_config, train
from uniloss_lab.train.compare import (
    lr_search_markdown,
    run_comparison,
    setting_names,
    source_commit,
    suite_lrs,
    suite_settings,
)

FASHION = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


def test_quality_suite_settings() -> None:
    settings = suite_settings("quality")
    assert [(c.task, c.dataset_name, c.model_name) for c in settings] == [
        ("ap", "digits", "mlp"),
        ("accuracy", "digits", "small_cnn"),
        ("ap", "fashion-mnist", "mlp"),
        ("f1", "fashion-mnist", "mlp"),
        ("accuracy", "fashion-mnist", "small_cnn"),
        ("segmentation", "shapes", "unet"),
        ("pck", "keypoints", "hourglass"),
    ]
    assert setting_names(settings) == [
        "ap-digits",
        "accuracy-digits",
        "ap-fashion-mnist",
        "f1-fashion-mnist",
        "accuracy-fashion-mnist",
        "segmentation-shapes",
        "pck-keypoints",
    ]
    assert all(c.temperature is None and c.power is None and c.memory == 0 for c in settings)  # the defaults
    assert [c.positive_class for c in settings[2:4]] == [6, 6]  # AP and F1 on the same split
    assert suite_lrs("quality") == [(1e-3, 3e-3)] * 5 + [(1e-3,), (3e-3,)]
    assert len(LR_GRIDS["quality"]) >= 2
    assert make_config("paper-mnist-ap").temperature == 1.0  # the paper recipes keep their recipe
    parts = ("quality-digits", "quality-fashion-ap", "quality-fashion-f1-accuracy", "quality-dense")
    assert [setting for part in parts for setting in SUITES[part]] == SUITES["quality"]


def test_a_settings_own_grid_replaces_the_suites(monkeypatch, tmp_path: Path) -> None:
    suite = [
        {"task": "ap", "dataset": "digits", "model": "mlp", "positive_class": 8},
        {"task": "accuracy", "dataset": "digits", "model": "mlp", "lrs": (1e-2,)},
    ]
    monkeypatch.setitem(SUITES, "grids", suite)
    monkeypatch.setitem(LR_GRIDS, "grids", (1e-3, 1e-2))
    assert suite_lrs("grids") == [(1e-3, 1e-2), (1e-2,)]
    assert suite_lrs("grids", task="accuracy") == [(1e-2,)]
    assert suite_lrs() == [None]
    settings = suite_settings("grids", epochs=1, limit_train=32, limit_test=32, hidden=(8,), device="cpu")
    assert settings[1].lr == TrainConfig().lr  # "lrs" is the bench's, not a TrainConfig field
    results = run_comparison(settings, seeds=[0], out=tmp_path, progress=False, lrs=suite_lrs("grids"))
    assert results["lrs"] == [1e-3, 1e-2]
    first, second = results["settings"]
    assert first["lrs"] == [1e-3, 1e-2]
    assert second["lrs"] == [1e-2]
    assert set(first["lr_search"]["uniloss"]) == {"0.001", "0.01"}
    assert set(second["lr_search"]["uniloss"]) == {"0.01"}
    assert {run["history"]["config"]["lr"] for run in second["runs"]} == {1e-2}
    accuracy_rows = [line for line in lr_search_markdown(results).splitlines() if line.startswith("| accuracy")]
    assert [line.split(" | ")[2] for line in accuracy_rows] == ["—", "—"]  # 1e-3 is not in its grid


@pytest.mark.parametrize(
    ("lrs", "match"),
    [
        ([], "distinct positive"),
        ([1e-3, 1e-3], "distinct positive"),
        ([[1e-3], [-1.0]], "distinct positive"),
        ([[1e-3]], "one grid \\(or None\\) for each of 2 settings"),
        ([[1e-3], 1e-3], "not a mixture"),
    ],
)
def test_bad_grids_are_refused(lrs, match, tmp_path: Path) -> None:
    base = TrainConfig(task="ap", epochs=1, limit_train=8, limit_test=8, device="cpu")
    with pytest.raises(ValueError, match=match):
        run_comparison([base, base.replace(positive_class=3)], seeds=[0], out=tmp_path, lrs=lrs)


@pytest.mark.parametrize("index", range(len(SUITES["quality"])))
def test_quality_setting_takes_one_training_step(index: int) -> None:
    # The definitions, cheaply: one step of 16 examples and 16 test examples each (`uniloss compare --suite quality`
    # trains them for real).
    config = suite_settings("quality")[index]
    if config.dataset_name == "fashion-mnist" and not FASHION.exists():
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    tiny = config.replace(epochs=1, limit_train=16, limit_test=16, batch_size=16, eval_batch_size=16, device="cpu")
    history = train(tiny, progress=False)
    assert history["num_train"] + history["num_validation"] == 16  # every bench setting holds out validation
    assert history["num_validation"] >= 1
    assert len(history["test_metric"]) == 1
    assert 0.0 <= history["final_metric"] <= 1.0


def test_lr_search_reports_each_loss_at_its_best_rate(tmp_path: Path) -> None:
    base = TrainConfig(task="ap", epochs=1, limit_train=64, limit_test=64, device="cpu", positive_class=8)
    results = run_comparison([base], seeds=[0], out=tmp_path, progress=False, lrs=[1e-6, 1e-2])
    (entry,) = results["settings"]
    for loss in ("uniloss", "baseline"):
        by_lr = entry["lr_search"][loss]
        best = max(by_lr, key=lambda lr: by_lr[lr][0])
        assert math.isclose(entry["chosen_lr"][loss], float(best))
    assert {run["history"]["config"]["lr"] for run in entry["runs"] if run["loss"] == "uniloss"} == {
        entry["chosen_lr"]["uniloss"]
    }
    assert len(entry["runs"]) == 2
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["lrs"] == [1e-6, 1e-2]
    table = lr_search_markdown(results)
    assert "lr 1e-06" in table
    assert "**" in table
    with pytest.raises(ValueError, match="lrs"):
        run_comparison([base], seeds=[0], out=tmp_path, lrs=[])
    with pytest.raises(ValueError, match="jobs"):
        run_comparison([base], seeds=[0], out=tmp_path, jobs=0)


def test_source_commit_reads_git_files(tmp_path: Path) -> None:
    git = tmp_path / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "refs" / "heads" / "main").write_text("a" * 40 + "\n")
    assert source_commit(tmp_path / "x" / "y.py") == "a" * 40
    (git / "refs" / "heads" / "main").unlink()
    (git / "packed-refs").write_text("# pack-refs\n" + "b" * 40 + " refs/heads/main\n")
    assert source_commit(tmp_path) == "b" * 40


def test_the_pckh_budget_is_the_quality_pckh_setting_at_twice_its_epochs() -> None:
    (budget,) = suite_settings("pckh-budget")
    (quality,) = suite_settings("quality", task="pck")
    assert budget == quality.replace(epochs=2 * quality.epochs)
    assert suite_lrs("pckh-budget") == suite_lrs("quality", task="pck")
