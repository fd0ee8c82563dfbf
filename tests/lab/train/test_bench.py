import json

import pytest

from uniloss_lab.train.compare import RESULTS_NAME, run_comparison, suite_settings


def test_run_bench_trains_both_losses_for_every_seed_and_writes_results(tmp_path):
    settings = suite_settings("quick", task="ap", epochs=2, limit_train=96, limit_test=64, hidden=(16,), device="cpu")
    results = run_comparison(settings, [0, 1], tmp_path, progress=False)
    saved = json.loads((tmp_path / RESULTS_NAME).read_text())
    assert saved == json.loads(json.dumps(results))
    (setting,) = saved["settings"]
    assert setting["name"] == "ap-digits"
    assert setting["metric"] == "average_precision"
    assert [(run["loss"], run["seed"]) for run in setting["runs"]] == [
        ("uniloss", 0), ("baseline", 0), ("uniloss", 1), ("baseline", 1)
    ]  # fmt: skip
    for run in setting["runs"]:
        history = run["history"]
        assert len(history["test_metric"]) == len(history["validation_metric"]) == 2
        assert history["config"]["seed"] == run["seed"]
        assert history["config"]["loss"] == run["loss"]
        assert (tmp_path / "ap-digits" / f"{run['loss']}-seed{run['seed']}" / "checkpoint.pt").is_file()
    # same model, budget and data for both losses
    first, second = setting["runs"][0]["history"], setting["runs"][1]["history"]
    assert first["num_parameters"] == second["num_parameters"]
    assert first["num_train"] + first["num_validation"] == second["num_train"] + second["num_validation"] == 96


def test_run_bench_resume_skips_finished_runs(tmp_path):
    settings = suite_settings(None, task="ap", epochs=1, limit_train=64, limit_test=64, hidden=(8,), device="cpu")
    first = run_comparison(settings, [0], tmp_path, progress=False)
    again = run_comparison(settings, [0], tmp_path, progress=False, resume=True)
    for old, new in zip(first["settings"][0]["runs"], again["settings"][0]["runs"], strict=True):
        assert new["history"]["test_metric"] == old["history"]["test_metric"]
        assert new["history"]["epoch_time"] == old["history"]["epoch_time"]  # loaded, not retrained


def test_run_bench_rejects_bad_seeds(tmp_path):
    settings = suite_settings(None, epochs=1)
    with pytest.raises(ValueError, match="`seeds` must be distinct and at least one"):
        run_comparison(settings, [], tmp_path)
    with pytest.raises(ValueError, match="`seeds` must be distinct"):
        run_comparison(settings, [1, 1], tmp_path)
    with pytest.raises(ValueError, match="distinct task-dataset names"):
        run_comparison(settings * 2, [0], tmp_path)
