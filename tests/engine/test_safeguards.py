"""Guards of the loss against inputs that used to fail late or train silently, and its own random source."""

import inspect
import warnings

import pytest
import torch

import uniloss
from uniloss.engine import diagnostics
from uniloss.metrics import Accuracy, AveragePrecision


def _batch(n=32, seed=0):
    generator = torch.Generator().manual_seed(seed)
    targets = (torch.rand(n, generator=generator) < 0.3).long()
    targets[:2] = torch.tensor([1, 0])
    return torch.randn(n, generator=generator), targets


@pytest.fixture
def fresh_warnings(monkeypatch):
    """Every once-per-run warning not yet given, and the checks' call counts from zero (the next call checks)."""
    monkeypatch.setattr(diagnostics, "_WARNED", set())
    monkeypatch.setattr(diagnostics, "_CALLS", {})


# --- temperature, meta device ----------------------------------------------------------------------------------


def test_the_smallest_temperature_accepted_gives_a_finite_loss_and_gradient(fresh_warnings):
    scores, targets = _batch()
    scores.requires_grad_()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (saturated: see below)
        loss = uniloss.UniLoss(AveragePrecision(), temperature=torch.finfo(torch.float32).tiny)(scores, targets)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(scores.grad).all()


def test_meta_scores_are_refused_by_name_under_autocast_too():
    criterion = uniloss.UniLoss(Accuracy(num_classes=3))
    scores, targets = torch.empty(4, 3, device="meta"), torch.zeros(4, dtype=torch.long, device="meta")
    with torch.autocast("cpu"), pytest.raises(ValueError, match=r"`scores` must hold values, .* meta device"):
        criterion(scores, targets)


# --- warnings: probabilities as scores, a saturated relaxation ------------------------------------------------


def test_sigmoid_outputs_as_scores_warn_once_at_the_users_line(fresh_warnings):
    scores, targets = _batch()
    criterion = uniloss.UniLoss(AveragePrecision())
    line = inspect.currentframe().f_lineno + 2
    with pytest.warns(UserWarning, match=r"scores look like probabilities: .*Pass the model's output before") as caught:
        criterion(torch.sigmoid(scores), targets)
    assert [(w.filename, w.lineno) for w in caught if "probabilities" in str(w.message)] == [(__file__, line)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        criterion(torch.sigmoid(scores), targets)  # once per run


@pytest.mark.parametrize(
    "options",
    [{}, {"validate_args": False}, {"relax": uniloss.HardStep()}],
    ids=["logits", "unchecked", "not-a-sigmoid"],
)
def test_logits_unchecked_calls_and_other_relaxations_do_not_warn_about_probabilities(options, fresh_warnings):
    scores, targets = _batch()
    if options:
        scores = torch.sigmoid(scores)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        uniloss.uniloss(scores, targets, metric=AveragePrecision(), **options)


def test_a_saturated_relaxation_warns_once_that_the_gradient_is_zero(fresh_warnings):
    scores, targets = _batch()
    scores = (scores * 1e4).requires_grad_()
    criterion = uniloss.UniLoss(AveragePrecision(), temperature=1e-3)
    line = inspect.currentframe().f_lineno + 2
    with pytest.warns(UserWarning, match=r"the relaxation is saturated: .*Raise the temperature") as caught:
        loss = criterion(scores, targets)
    assert [(w.filename, w.lineno) for w in caught if "saturated" in str(w.message)] == [(__file__, line)]
    loss.backward()
    assert torch.equal(scores.grad, torch.zeros_like(scores))  # what the warning says
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        criterion(scores, targets)


def test_a_trainable_relaxation_does_not_warn_about_saturation(fresh_warnings):
    scores, targets = _batch()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        uniloss.UniLoss(AveragePrecision())(scores.requires_grad_(), targets).backward()


# --- the loss's own random source -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [32, 4096], ids=["small-path", "large-path"])
def test_a_loss_call_leaves_the_global_random_stream_untouched(size):
    scores, targets = _batch(size)
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    uniloss.UniLoss(AveragePrecision())(scores.clone().requires_grad_(), targets).backward()
    assert torch.equal(torch.rand(3), expected)


def test_two_runs_under_the_same_manual_seed_give_the_same_losses():
    batches = [_batch(seed=seed) for seed in range(3)]

    def run(seed):
        torch.manual_seed(seed)
        criterion = uniloss.UniLoss(AveragePrecision())
        return torch.stack([criterion(scores, targets) for scores, targets in batches])

    assert torch.equal(run(5), run(5))
    draws = {tuple(run(seed).tolist()) for seed in range(4)}
    assert len(draws) > 1  # the seed chooses the anchors


def test_a_given_generator_is_still_used_and_left_as_given():
    scores, targets = _batch()
    generator = torch.Generator().manual_seed(0)
    criterion = uniloss.UniLoss(AveragePrecision(), generator=generator)
    state = generator.get_state()
    criterion(scores, targets)
    assert criterion.generator is generator
    assert not torch.equal(generator.get_state(), state)


def test_the_diagnostics_run_at_calls_that_are_powers_of_two(fresh_warnings):
    due = [diagnostics._due("kind") for _ in range(9)]
    assert [call for call, yes in enumerate(due, 1) if yes] == [1, 2, 4, 8]


def test_inside_cuda_graph_capture_the_default_cuda_generator_is_used(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_current_stream_capturing", lambda: True)
    criterion = uniloss.UniLoss(AveragePrecision())
    assert criterion._default_generator(torch.device("cuda")) is None  # the generator capture registers
    assert criterion._own_generator is None
