"""Validation selection: the held-out part, the rare-positive cut, the test split read once, and rates chosen there."""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils.data import TensorDataset

from uniloss_lab.train import TrainConfig, train
from uniloss_lab.train import loop as loop_module
from uniloss_lab.train.compare import _select, lr_search_markdown, run_comparison, suite_settings
from uniloss_lab.train.splits import cut_positives, holdout, positive_count
from uniloss_lab.train.suites import BENCH_VALIDATION


def _labelled(counts):
    labels = torch.cat([torch.full((count,), label) for label, count in enumerate(counts)])
    return TensorDataset(torch.arange(len(labels), dtype=torch.float32)[:, None], labels)


def test_holdout_is_stratified_disjoint_and_the_same_for_every_run_seed():
    data = _labelled([50, 30, 20])
    parts = [holdout(TrainConfig(validation=0.2, seed=seed), data) for seed in (0, 1)]
    (train_part, validation), (train_again, validation_again) = parts
    assert torch.bincount(validation.tensors[1]).tolist() == [10, 6, 4]
    assert torch.equal(validation.tensors[0], validation_again.tensors[0])  # not the run's seed
    assert torch.equal(train_part.tensors[0], train_again.tensors[0])
    seen = torch.cat([train_part.tensors[0], validation.tensors[0]]).flatten().sort().values
    assert torch.equal(seen, torch.arange(100, dtype=torch.float32))


def test_without_validation_nothing_is_held_out_except_for_the_threshold_tasks():
    data = _labelled([10, 10])
    assert holdout(TrainConfig(task="ap"), data) == (data, None)
    assert len(holdout(TrainConfig(task="fbeta"), data)[1]) == 2  # a tenth, to tune the threshold
    assert holdout(TrainConfig(task="f1", validation=0.0), data)[1] is None


def test_cut_positives_keeps_the_stated_fraction_of_the_split_and_every_negative():
    data = _labelled([190, 10])
    kept = cut_positives(TrainConfig(positive_class=1, positive_fraction=0.02), data)
    assert positive_count(TrainConfig(positive_class=1), kept) == (4, 190)  # 0.02 * 190 / 0.98 = 3.9
    assert cut_positives(TrainConfig(positive_class=1), data) is data


def test_a_run_with_validation_reads_the_test_split_once_after_its_last_epoch(monkeypatch):
    sizes = []
    evaluate = loop_module.evaluate

    def counting(model, task, dataset, *args):
        sizes.append(len(dataset))
        return evaluate(model, task, dataset, *args)

    monkeypatch.setattr(loop_module, "evaluate", counting)
    config = TrainConfig(epochs=3, limit_train=100, limit_test=37, validation=0.2, hidden=(8,), device="cpu")
    history = train(config, progress=False)
    assert sizes.count(37) == 1
    assert sizes[-1] == 37
    assert history["num_validation"] == sizes[0] == 100 - history["num_train"]  # validation first, each epoch
    assert 18 <= history["num_validation"] <= 22  # a fifth, rounded per class
    assert history["test_metric"][:2] == [None, None]
    assert history["final_metric"] == history["test_metric"][-1] is not None
    validation = history["validation_metric"]
    assert len(validation) == 3
    assert history["best_epoch"] == 1 + max(range(3), key=lambda index: (validation[index], -index))


def _history(validation, test):
    return {"validation_metric": [0.0, validation], "test_metric": [None, test], "final_metric": test}


def test_the_rate_is_chosen_on_validation_even_where_the_test_split_would_choose_another():
    done = [
        (1e-3, 0, "uniloss", {**_history(0.9, 0.1), "loss_name": "UniLoss"}),
        (1e-2, 0, "uniloss", {**_history(0.2, 0.8), "loss_name": "UniLoss"}),
    ]
    entry = {}
    _select(entry, done, [1e-3, 1e-2])
    assert entry["chosen_lr"] == {"uniloss": 1e-3}
    assert entry["selected_on"] == "validation"
    assert entry["lr_search"] == {"uniloss": {"0.001": [0.9], "0.01": [0.2]}}
    assert [run["history"]["final_metric"] for run in entry["runs"]] == [0.1]
    table = lr_search_markdown({"lrs": [1e-3, 1e-2], "settings": [{"name": "x", **entry}]})
    assert "chosen on the validation split" in table
    assert "read once per run" in table


def test_without_validation_the_choice_says_it_was_made_on_the_test_split():
    done = [(1e-3, 0, "baseline", {"test_metric": [0.4], "final_metric": 0.4, "loss_name": "BCE"})]
    entry = {}
    _select(entry, done, [1e-3])
    assert entry["selected_on"] == "test"
    assert "chosen on the test split" in lr_search_markdown({"lrs": [1e-3], "settings": [{"name": "x", **entry}]})


def test_every_bench_setting_holds_out_validation_and_the_bench_selects_there(tmp_path):
    assert {config.validation for config in suite_settings("quality")} == {BENCH_VALIDATION}
    assert suite_settings(None, validation=0.3)[0].validation == 0.3
    settings = suite_settings(None, task="ap", epochs=2, limit_train=80, limit_test=40, hidden=(8,), device="cpu")
    results = run_comparison(settings, [0], tmp_path, progress=False, lrs=[1e-3, 1e-2])
    (entry,) = results["settings"]
    assert entry["selected_on"] == "validation"
    for run in entry["runs"]:
        history = run["history"]
        assert history["num_train"] + history["num_validation"] == 80
        assert 14 <= history["num_validation"] <= 18
        best = {lr: values[0] for lr, values in entry["lr_search"][run["loss"]].items()}
        assert math.isclose(history["validation_metric"][-1], best[f"{entry['chosen_lr'][run['loss']]:g}"])
        assert max(best.values()) == best[f"{entry['chosen_lr'][run['loss']]:g}"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"validation": 1.0}, "`validation` must be in [0, 1), but got 1.0."),
        ({"positive_fraction": 0.0}, "`positive_fraction` must be a positive float, but got 0.0."),
        ({"task": "accuracy", "positive_fraction": 0.1}, "`positive_fraction` cuts the positives of a one-vs-rest"),
        ({"task_weight": 1.0, "loss": "baseline"}, "`task_weight` adds the task loss to UniLoss"),
        ({"task": "topk", "top_k": 10}, "`top_k` must be below the 10 classes of 'digits', but got 10."),
    ],
)
def test_new_options_refuse_bad_values_naming_them(changes, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        TrainConfig(**changes)
