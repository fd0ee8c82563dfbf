"""The loop's extension points: callbacks see every step and epoch, a criterion replaces the loss, an epoch order."""

import pytest
import torch

import uniloss
import uniloss_lab.train
from uniloss_lab.reports.diagnostic import _MonitorCallback, diagnose
from uniloss_lab.train import Callback, RunInfo, StepInfo, TrainConfig, train


def tiny(**overrides):
    values = {"task": "ap", "hidden": (16,), "positive_class": 3, "batch_size": 32, "limit_train": 96,
              "limit_test": 64, "device": "cpu", "epochs": 2}  # fmt: skip
    return TrainConfig(**{**values, **overrides})


class Recorder(Callback):
    def __init__(self, stop_at=None):
        self.events, self.steps, self.stop_at = [], [], stop_at

    def on_train_begin(self, run: RunInfo) -> None:
        self.events.append(("begin", run.steps_per_epoch, run.start_epoch, len(run.history["epoch"])))

    def on_train_batch_end(self, step: StepInfo):
        self.steps.append(step)
        self.events.append(("step", step.epoch, step.step))
        return self.stop_at is not None and len(self.steps) >= self.stop_at

    def on_epoch_end(self, run: RunInfo) -> None:
        self.events.append(("epoch", run.history["epoch"][-1], len(run.history["test_metric"])))
        self.anchor_state = run.task.generator.get_state()


def test_callbacks_see_every_step_and_epoch_in_order_and_add_nothing_to_the_run():
    recorder = Recorder()
    history = train(tiny(), progress=False, callbacks=[recorder])
    plain = train(tiny(), progress=False)
    for key in ("train_loss", "train_metric", "test_metric"):
        assert history[key] == plain[key]
    steps = [("step", epoch, step) for epoch in (1, 2) for step in (1, 2, 3)]
    assert recorder.events == [("begin", 3, 0, 0), *steps[:3], ("epoch", 1, 1), *steps[3:], ("epoch", 2, 2)]
    first = recorder.steps[0]
    assert isinstance(first.criterion, uniloss.UniLoss)
    assert not first.loss.requires_grad
    assert first.outputs.shape == (32,)
    assert set(first.targets[0].tolist()) <= {0, 1}  # labels == positive_class
    assert sorted(torch.cat([step.indices for step in recorder.steps[:3]]).tolist()) == list(range(96))
    for epoch in (0, 1):
        losses = [float(step.loss) for step in recorder.steps[3 * epoch : 3 * epoch + 3]]
        assert sum(losses) / 3 == pytest.approx(history["train_loss"][epoch], rel=1e-6)
    assert history["completed"] is True


def test_a_callback_that_returns_true_stops_the_run_without_recording_the_epoch(tmp_path):
    recorder = Recorder(stop_at=4)
    history = train(tiny(out=str(tmp_path)), progress=False, callbacks=[recorder])
    assert len(recorder.steps) == 4
    assert history["epoch"] == [1]
    assert history["completed"] is False
    assert uniloss_lab.train.load_checkpoint(tmp_path / "checkpoint.pt")["epoch"] == 1


def test_a_criterion_replaces_the_loss_of_the_config():
    calls = []

    def hinge(scores, labels):
        calls.append(scores.shape[0])
        return torch.relu(1 - (2 * labels - 1) * scores).mean()

    recorder = Recorder()
    history = train(tiny(loss="baseline"), progress=False, callbacks=[recorder], criterion=hinge)
    assert calls == [32] * 6
    assert history["loss_name"] == "hinge"
    assert recorder.steps[0].criterion is hinge


def test_an_epoch_order_replaces_the_seeded_order():
    recorder = Recorder()
    seen = []

    def backwards(epoch, size):
        seen.append((epoch, size))
        return torch.arange(size).flip(0)

    train(tiny(), progress=False, callbacks=[recorder], epoch_order=backwards)
    assert seen == [(0, 96), (1, 96)]
    assert recorder.steps[0].indices.tolist() == list(range(95, 63, -1))


def test_diagnose_records_the_steps_of_the_training_run(tmp_path):
    config = tiny(epochs=1)
    recorder = Recorder()
    train(config, progress=False, callbacks=[recorder])
    summary, png = diagnose(config, progress=False, out=tmp_path)
    assert summary["surrogate"] == [1 - float(step.loss) for step in recorder.steps]
    assert png == tmp_path / "diagnostic.png"
    assert not (tmp_path / "checkpoint.pt").exists()


def test_the_monitor_of_a_stacked_hourglass_leaves_the_runs_anchors_alone():
    config = TrainConfig(task="pck", stacks=2, width=8, depth=2, batch_size=4, limit_train=4, limit_test=4,
                         eval_batch_size=4, epochs=1, device="cpu")  # fmt: skip
    plain, monitored = Recorder(), Recorder()
    monitor = _MonitorCallback(steps=None, progress=False)
    train(config, progress=False, callbacks=[plain])
    train(config, progress=False, callbacks=[monitor, monitored])
    assert torch.equal(monitored.anchor_state, plain.anchor_state)  # the next step would draw the same anchors
    assert monitor.monitor is not None
    assert len(monitor.monitor.exact) == 1


# (call, exception, message pattern): every raise of train()'s extension points.
ERROR_CASES = [
    (lambda: train(tiny(), callbacks=[object()]), TypeError, r"`callbacks\[0\]` must be a uniloss_lab.train.Callback"),
    (lambda: train(tiny(), criterion="bce"), TypeError, r"`criterion` must be callable or None, but got str"),
    (
        lambda: uniloss_lab.train.build_task(tiny(), criterion=3),
        TypeError,
        r"`criterion` must be callable or None, but got int",
    ),
    (
        lambda: train(tiny(nproc=2), callbacks=[Recorder()]),
        ValueError,
        r"`callbacks`, `criterion` and `epoch_order` need a run in one process .* but got 2",
    ),
    (
        lambda: train(tiny(), epoch_order=lambda epoch, size: torch.arange(size - 1)),
        ValueError,
        r"`epoch_order` must return a permutation of 0\.\.95, but got \(95,\)",
    ),
    (
        lambda: train(tiny(), epoch_order=lambda epoch, size: list(range(size))),
        ValueError,
        r"`epoch_order` must return a permutation of 0\.\.95, but got list",
    ),
    (lambda: diagnose(tiny(), steps=0), ValueError, r"`steps` must be a positive int or None, but got 0"),
]


@pytest.mark.parametrize(("call", "error", "pattern"), ERROR_CASES)
def test_errors_name_the_argument(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
