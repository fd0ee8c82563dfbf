"""The cost benchmark and the training study of from_function run (tiny sizes), and compare like with like."""

from __future__ import annotations

import json

import pytest
import torch

from benchmarks import bench_from_function, from_function_study


@pytest.mark.slow
def test_the_cost_benchmark_times_both_losses_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    bench_from_function.main(["--cases", "ap", "accuracy", "p@3", "--sizes", "16", "--repeats", "2", "--out", str(out)])
    rows = json.loads(out.read_text())["rows"]
    assert [row["case"] for row in rows] == ["ap-16", "accuracy-16", "p@3-16"]
    assert all(row["hand_ms"] > 0 and row["auto_ms"] > 0 for row in rows)
    assert "| ap-16 |" in capsys.readouterr().out


def test_the_plain_code_of_the_study_is_the_exact_metric():
    generator = torch.Generator().manual_seed(0)
    scores, labels = torch.randn(200, generator=generator), (torch.rand(200, generator=generator) < 0.2).long()
    logits, classes = torch.randn(50, 10, generator=generator), torch.randint(0, 10, (50,), generator=generator)
    for name in ("ap", "f1", "p@10"):
        fn, *_, test_metric = from_function_study.METRICS[name]
        if name == "p@10":  # one query of the first 100 items
            assert float(fn(scores[:100], labels[:100])) == float(test_metric(scores[:100], labels[:100]))
        else:
            assert abs(float(fn(scores, labels)) - float(test_metric(scores, labels))) < 1e-6
    for name in ("accuracy", "top3"):
        fn, *_, test_metric = from_function_study.METRICS[name]
        assert abs(float(fn(logits, classes)) - float(test_metric(logits, classes))) < 1e-6


@pytest.mark.slow
def test_a_study_run_trains_and_returns_a_test_metric():
    value = from_function_study.run("ap", "auto", "linear", "digits", 0, 1, 0)
    assert 0 <= value <= 1
