"""The quality suite: its settings build, each takes one training step, and the learning-rate search picks the best."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from uniloss.train import BENCH_LR_GRIDS, BENCH_SUITES, TrainConfig, make_config, train
from uniloss.train.bench import bench_settings, lr_search_markdown, run_bench, setting_names, source_commit

FASHION = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


def test_quality_suite_settings() -> None:
    settings = bench_settings("quality")
    assert [(c.task, c.dataset_name, c.model_name) for c in settings] == [
        ("ap", "fashion-mnist", "mlp"),
        ("ap", "fashion-mnist", "mlp"),
        ("ap", "fashion-mnist", "mlp"),
        ("ap", "fashion-mnist", "mlp"),
        ("accuracy", "fashion-mnist", "small_cnn"),
        ("accuracy", "digits", "small_cnn"),
        ("pck", "keypoints", "hourglass"),
    ]
    assert setting_names(settings) == [
        "ap-fashion-mnist-class0",
        "ap-fashion-mnist-class6",
        "ap-fashion-mnist-class0-memory512",
        "ap-fashion-mnist-class6-memory512",
        "accuracy-fashion-mnist",
        "accuracy-digits",
        "pck-keypoints",
    ]
    assert all(c.temperature is None and c.power is None for c in settings)  # the metrics' defaults
    assert [c.memory for c in settings] == [0, 0, 512, 512, 0, 0, 0]
    assert len(BENCH_LR_GRIDS["quality"]) >= 2
    assert make_config("paper-mnist-ap").temperature == 1.0  # the paper presets keep their recipe


@pytest.mark.parametrize("index", range(len(BENCH_SUITES["quality"])))
def test_quality_setting_takes_one_training_step(index: int) -> None:
    # The definitions, cheaply: one step of 16 examples and 16 test examples each (`uniloss bench --suite quality`
    # trains them for real).
    config = bench_settings("quality")[index]
    if config.dataset_name == "fashion-mnist" and not FASHION.exists():
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    tiny = config.replace(epochs=1, limit_train=16, limit_test=16, batch_size=16, eval_batch_size=16, device="cpu")
    history = train(tiny, progress=False)
    assert history["num_train"] == 16
    assert len(history["test_metric"]) == 1
    assert 0.0 <= history["final_metric"] <= 1.0


def test_lr_search_reports_each_loss_at_its_best_rate(tmp_path: Path) -> None:
    base = TrainConfig(task="ap", epochs=1, limit_train=64, limit_test=64, device="cpu", positive_class=8)
    results = run_bench([base], seeds=[0], out=tmp_path, progress=False, lrs=[1e-6, 1e-2])
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
        run_bench([base], seeds=[0], out=tmp_path, lrs=[])
    with pytest.raises(ValueError, match="jobs"):
        run_bench([base], seeds=[0], out=tmp_path, jobs=0)


def test_source_commit_reads_git_files(tmp_path: Path) -> None:
    git = tmp_path / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "refs" / "heads" / "main").write_text("a" * 40 + "\n")
    assert source_commit(tmp_path / "x" / "y.py") == "a" * 40
    (git / "refs" / "heads" / "main").unlink()
    (git / "packed-refs").write_text("# pack-refs\n" + "b" * 40 + " refs/heads/main\n")
    assert source_commit(tmp_path) == "b" * 40
