"""benchmarks/quality/ablate_segmentation.py: its quick form, and its choices made on validation, never on test."""

import json
import math

import pytest
import torch

import uniloss.metrics.confusion as confusion
from benchmarks.quality import ablate_segmentation as ablation
from uniloss.metrics import IoU


def test_the_epoch_is_the_first_of_best_validation_iou_and_its_test_iou_is_reported():
    run = {"validation": [0.1, 0.3, 0.3, 0.2], "test_metric": [0.5, 0.2, 0.4, 0.9]}
    assert ablation.chosen(run) == (1, 0.3, 0.2)


def test_a_diverged_run_reports_nan():
    epoch, validation, test = ablation.chosen({"validation": [0.1, float("nan")], "test_metric": [0.5, 0.6]})
    assert epoch == 1
    assert math.isnan(validation)
    assert math.isnan(test)


def test_the_learning_rate_is_chosen_on_mean_validation_iou_not_on_test():
    setting = {"setting": "s"}
    label, variant = ablation.VARIANTS[0]
    results = {}
    for lr, validation, test in ((1e-3, 0.4, 0.1), (3e-3, 0.3, 0.9)):  # the better test IoU has worse validation
        for seed in ablation.SEEDS:
            run = {"validation": [validation], "test_metric": [test], "epoch_time": [1.0]}
            results[ablation.h._key(setting, {**variant, "lr": lr}, seed)] = run
    (row,) = ablation.summary(results, setting, (1e-3, 3e-3))
    assert (row["variant"], row["lr"], row["test"]) == (label, 1e-3, [0.1, 0.1, 0.1])


def test_per_class_rows_lay_each_class_and_target_out_in_one_row(monkeypatch):
    scores, targets = torch.randn(16, 4, 64, 64), torch.randint(0, 4, (16, 64, 64))
    assert IoU(num_classes=4).comparisons(scores, targets).values.shape[1] == 1024  # runs of 1024 pixels
    monkeypatch.setattr(confusion, "_ROW_LENGTH", ablation.CLASS_ROW_LENGTH)
    laid_out = IoU(num_classes=4).comparisons(scores, targets)
    assert laid_out.values.shape[0] == 8  # 4 classes x (negatives, positives)
    assert int(laid_out.mask.sum()) == 16 * 4 * 64 * 64


def test_the_per_class_variant_trains_with_whole_class_rows_and_puts_the_layout_back(monkeypatch):
    seen = []
    monkeypatch.setattr(ablation, "train", lambda *args, **kwargs: seen.append(confusion._ROW_LENGTH))
    label, variant = ablation.VARIANTS[7]
    assert "per-class rows" in label
    ablation.train_segmentation({"quick": True}, {**variant, "lr": 1e-3}, 0)
    ablation.train_segmentation({"quick": True}, {**ablation.VARIANTS[6][1], "lr": 1e-3}, 0)
    assert seen == [ablation.CLASS_ROW_LENGTH, 1024]
    assert confusion._ROW_LENGTH == 1024


def test_quick_form_trains_every_variant_through_the_loop_and_tables_it(tmp_path, capsys):
    pytest.importorskip("monai.losses")
    path = tmp_path / "quick.json"
    rows = ablation.main(["--quick", "--json", str(path)])
    assert [row["variant"] for row in rows] == [label for label, _ in ablation.VARIANTS]
    results = json.loads(path.read_text())
    assert results["_meta"]["runs"][0]["lrs"] == [1e-3]
    for row in rows:
        (curve,), (validation,) = row["curves"], row["validation_curves"]
        assert len(curve) == len(validation) == 2  # two epochs, validation scored after each
        assert 0.0 <= min(validation) <= max(validation) <= 1.0
        assert row["test"] == [curve[row["epochs"][0] - 1]]
    losses = {json.dumps(json.loads(key)[1], sort_keys=True): run["train_loss"][0] for key, run in results.items()
              if key != "_meta"}  # fmt: skip
    assert len(set(losses.values())) == len(ablation.VARIANTS)  # every variant trained a loss of its own
    assert "| MONAI DiceLoss |" in capsys.readouterr().out
