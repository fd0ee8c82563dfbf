import json
import math

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from uniloss_lab.train import (
    CHECKPOINT_NAME,
    HISTORY_NAME,
    NonFiniteLossError,
    TrainConfig,
    batching,
    build_model_for,
    build_task,
    evaluate,
    load_checkpoint,
    load_data,
    loop,
    tasks,
    train,
)

SERIES = ("epoch", "train_loss", "train_metric", "test_metric", "lr")

TINY = {
    "ap": {"task": "ap", "hidden": (32,), "positive_class": 3, "batch_size": 32, "limit_train": 128, "limit_test": 96},
    "accuracy": {"task": "accuracy", "width": 4, "batch_size": 32, "limit_train": 128, "limit_test": 96},
    "pck": {
        "task": "pck",
        "stacks": 2,
        "width": 8,
        "depth": 2,
        "batch_size": 16,
        "limit_train": 32,
        "limit_test": 16,
        "eval_batch_size": 16,
    },
}


def tiny(task, **overrides):
    return TrainConfig(**{**TINY[task], "device": "cpu", "epochs": 1, **overrides})


def series(history):
    return {key: history[key] for key in SERIES}


@pytest.mark.parametrize("loss", ["uniloss", "baseline"])
@pytest.mark.parametrize("task", ["ap", "accuracy", "pck"])
def test_each_task_trains_one_epoch_and_writes_a_checkpoint(task, loss, tmp_path):
    history = train(tiny(task, loss=loss, out=str(tmp_path)), progress=False)
    assert history["epoch"] == [1]
    assert history["completed"] is True
    assert math.isfinite(history["train_loss"][0])
    assert 0.0 <= history["final_metric"] <= 1.0
    assert history["metric"] == {"ap": "average_precision", "accuracy": "accuracy", "pck": "pck"}[task]
    checkpoint = load_checkpoint(tmp_path / CHECKPOINT_NAME)  # torch.load(weights_only=True)
    assert checkpoint["epoch"] == 1
    assert set(checkpoint) >= {"model", "optimizer", "scheduler", "rng", "history", "config"}
    assert checkpoint["config"]["loss"] == loss
    saved = json.loads((tmp_path / HISTORY_NAME).read_text())
    assert saved["test_metric"] == history["test_metric"]
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed away


def test_checkpoint_loads_with_weights_only(tmp_path):
    train(tiny("ap", out=str(tmp_path)), progress=False)
    raw = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=True)
    assert isinstance(raw["rng"]["uniloss"], torch.Tensor)
    assert isinstance(raw["rng"]["torch"], torch.Tensor)
    model = build_model_for(tiny("ap"))
    model.load_state_dict(raw["model"])


@pytest.mark.parametrize(
    ("task", "overrides"),
    [
        ("ap", {"loss": "uniloss"}),
        (
            "accuracy",
            {"loss": "uniloss", "augment": True, "optimizer": "sgd", "scheduler": "multistep", "milestones": (2,)},
        ),
    ],
)
def test_resume_after_an_interruption_gives_the_uninterrupted_history(task, overrides, tmp_path):
    full = train(tiny(task, epochs=3, out=str(tmp_path / "full"), **overrides), progress=False)
    interrupted = tiny(task, epochs=3, out=str(tmp_path / "cut"), stop_after=1, **overrides)
    first = train(interrupted, progress=False)
    assert first["epoch"] == [1]
    assert first["completed"] is False
    resumed = train(interrupted.replace(stop_after=None, resume=True), progress=False)
    assert series(resumed) == series(full)
    assert resumed["completed"] is True
    weights = load_checkpoint(tmp_path / "full" / CHECKPOINT_NAME)["model"]
    again = load_checkpoint(tmp_path / "cut" / CHECKPOINT_NAME)["model"]
    for name, tensor in weights.items():
        torch.testing.assert_close(again[name], tensor, rtol=0, atol=0)


def test_resume_refuses_a_checkpoint_made_with_other_options(tmp_path):
    train(tiny("ap", epochs=2, stop_after=1, out=str(tmp_path)), progress=False)
    with pytest.raises(ValueError, match=r"cannot resume .* \(lr: 0\.001 -> 0\.01\)"):
        train(tiny("ap", epochs=2, lr=0.01, resume=True, out=str(tmp_path)), progress=False)


def test_resume_without_a_checkpoint_is_an_error_naming_the_folder(tmp_path):
    folder = tmp_path / "typo"
    with pytest.raises(ValueError, match=r"`resume` found nothing to continue in `out` '.*typo' \(no .*checkpoint\.pt"):
        train(tiny("ap", resume=True, out=str(folder)), progress=False)
    assert not folder.exists()  # nothing trained, nothing written


def test_a_folder_holding_a_run_is_refused_unless_resume_or_overwrite(tmp_path):
    train(tiny("ap", epochs=2, out=str(tmp_path)), progress=False)
    finished = (tmp_path / HISTORY_NAME).read_text()
    with pytest.raises(
        ValueError, match=r"already holds a training run \(checkpoint\.pt, history\.json\); set `resume`"
    ):
        train(tiny("ap", out=str(tmp_path)), progress=False)
    assert (tmp_path / HISTORY_NAME).read_text() == finished  # untouched
    assert train(tiny("ap", epochs=2, resume=True, out=str(tmp_path)), progress=False)["epoch"] == [1, 2]
    replaced = train(tiny("ap", overwrite=True, out=str(tmp_path)), progress=False)
    assert replaced["epoch"] == [1]
    assert json.loads((tmp_path / HISTORY_NAME).read_text())["epoch"] == [1]
    assert load_checkpoint(tmp_path / CHECKPOINT_NAME)["epoch"] == 1


def test_overwrite_deletes_the_old_run_before_training(tmp_path, monkeypatch):
    """A replacement killed before its first checkpoint leaves no old run behind to be resumed by mistake."""
    train(tiny("ap", out=str(tmp_path)), progress=False)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(loop, "_train_epoch", killed)
    with pytest.raises(KeyboardInterrupt):
        train(tiny("ap", overwrite=True, out=str(tmp_path)), progress=False)
    assert not (tmp_path / CHECKPOINT_NAME).exists()
    assert not (tmp_path / HISTORY_NAME).exists()


@pytest.mark.parametrize("flag", ["resume", "overwrite"])
def test_resume_or_overwrite_without_an_out_folder_is_refused(flag):
    with pytest.raises(ValueError, match=f"`{flag}` needs an `out` folder, but `out` is None"):
        train(tiny("ap", **{flag: True}), progress=False)


def test_resume_and_overwrite_together_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"`resume` \(continue\) and `overwrite` \(replace\) exclude each other"):
        train(tiny("ap", resume=True, overwrite=True, out=str(tmp_path)), progress=False)


def test_same_seed_repeats_and_another_seed_differs():
    first = train(tiny("ap", epochs=2), progress=False)
    second = train(tiny("ap", epochs=2), progress=False)
    other = train(tiny("ap", epochs=2, seed=1), progress=False)
    assert series(first) == series(second)
    assert first["train_loss"] != other["train_loss"]


def test_non_finite_loss_stops_naming_epoch_and_step_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    original = tasks._APTask.loss
    calls = {"count": 0}

    def poisoned(self, outputs, targets):
        calls["count"] += 1
        value = original(self, outputs, targets)
        return value * float("nan") if calls["count"] == 6 else value  # 4 steps per epoch: epoch 2, step 2

    monkeypatch.setattr(tasks._APTask, "loss", poisoned)
    with pytest.raises(NonFiniteLossError, match=r"at epoch 2, step 2.*last good checkpoint .* epoch 1"):
        train(tiny("ap", epochs=3, out=str(tmp_path)), progress=False)
    checkpoint = load_checkpoint(tmp_path / CHECKPOINT_NAME)
    assert checkpoint["epoch"] == 1
    assert checkpoint["history"]["epoch"] == [1]


def test_evaluate_pools_average_precision_over_the_whole_split():
    config = tiny("ap", limit_test=300, eval_batch_size=64)
    _, test_set = load_data(config)
    model = build_model_for(config)
    task = build_task(config)
    value = evaluate(model, task, test_set, batch_size=64)
    images, labels = test_set.tensors
    with torch.no_grad():
        scores = model(images).numpy()
    expected = average_precision_score((labels == 3).numpy(), scores)
    assert value == pytest.approx(expected, abs=1e-6)


def test_pck_loss_sums_every_hourglass_stack():
    config = tiny("pck", loss="baseline")
    train_set, _ = load_data(config)
    task = build_task(config)
    _, targets = task.split(train_set[:4])
    stacks = [torch.randn(4, 8, 32, 32), torch.randn(4, 8, 32, 32)]
    total = task.loss(stacks, targets)
    parts = sum(task.loss([stack], targets) for stack in stacks)
    torch.testing.assert_close(total, parts)
    metric, weight = task.batch_metric(stacks, targets)
    last, _ = task.batch_metric([stacks[1]], targets)
    assert metric == last
    assert weight == float(targets[2].sum())


def test_uniloss_anchors_are_seeded_from_the_run_seed():
    first, second = build_task(tiny("ap", seed=5)), build_task(tiny("ap", seed=5))
    assert torch.equal(first.generator.get_state(), second.generator.get_state())
    assert not torch.equal(first.generator.get_state(), build_task(tiny("ap", seed=6)).generator.get_state())


def test_multistep_schedule_decays_once_per_milestone():
    history = train(
        tiny("ap", epochs=3, optimizer="sgd", lr=0.1, scheduler="multistep", milestones=(1, 2), gamma=0.5),
        progress=False,
    )
    assert history["lr"] == pytest.approx([0.1, 0.05, 0.025])


def test_augment_keeps_shapes_and_draws_crops_of_the_image():
    images = torch.arange(2 * 3 * 6 * 6, dtype=torch.float32).view(2, 3, 6, 6) + 1
    out = batching.augment(images, torch.Generator().manual_seed(0))
    assert out.shape == images.shape
    present = out[out != 0]  # zero padding aside, every value comes from the image
    assert np.isin(present.numpy(), images.numpy()).all()


def test_build_model_for_sizes_the_model_for_the_dataset():
    assert build_model_for(tiny("ap", model="mlp"))(torch.randn(2, 1, 8, 8)).shape == (2,)
    assert build_model_for(tiny("accuracy", model="resnet20"))(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    outputs = build_model_for(tiny("pck"))(torch.randn(2, 3, 64, 64))
    assert [tuple(stack.shape) for stack in outputs] == [(2, 8, 32, 32)] * 2
    with pytest.raises(ValueError, match="`depth` must leave the 64x64 images divisible"):
        build_model_for(tiny("pck", depth=6))


def test_progress_bar_and_epoch_lines_name_the_setting_loss_seed_and_epoch(capsys):
    train(tiny("ap", loss="baseline", seed=4), progress=True)
    captured = capsys.readouterr()
    label = "ap-digits-class3 binary cross-entropy seed 4 lr 0.001 epoch 1/1"
    assert label in captured.err  # the bar
    assert f"{label}: loss " in captured.out  # the line of the finished epoch
    assert "test AP" in captured.out


def test_progress_lines_name_a_given_criterion(capsys):
    def hinge(scores, labels):
        return torch.relu(1 - (2 * labels - 1) * scores).mean()

    train(tiny("ap", seed=4), progress=True, criterion=hinge)
    assert "ap-digits-class3 hinge seed 4 lr 0.001 epoch 1/1: loss " in capsys.readouterr().out
