import pytest
import torch

import uniloss
from uniloss.metrics import PCK, Accuracy, AveragePrecision


def _model_and_batch(task):
    g = torch.Generator().manual_seed(0)
    if task == "ap":
        x, y = torch.randn(64, 8, generator=g), (torch.rand(64, generator=g) < 0.2).long()
        return torch.nn.Linear(8, 1), x, (y,), AveragePrecision(), lambda out: out.squeeze(1)
    if task == "accuracy":
        x, y = torch.randn(64, 8, generator=g), torch.randint(0, 5, (64,), generator=g)
        return torch.nn.Linear(8, 5), x, (y,), Accuracy(num_classes=5), lambda out: out
    x = torch.randn(2, 4, 8, 8, generator=g)
    targets = (torch.rand(2, 3, 2, generator=g) * 7, torch.ones(2, 3, dtype=torch.bool), torch.tensor([4.0, 5.0]))
    return torch.nn.Conv2d(4, 3, 3, padding=1), x, targets, PCK(), lambda out: out


@pytest.mark.parametrize("task", ["ap", "accuracy", "pck"])
@pytest.mark.parametrize("half", [torch.bfloat16, torch.float16])
def test_under_autocast_the_loss_is_float32_and_finite(task, half):
    model, x, targets, metric, head = _model_and_batch(task)
    criterion = uniloss.UniLoss(metric, generator=torch.Generator().manual_seed(0))
    with torch.autocast("cpu", dtype=half):
        out = head(model(x))
        loss = criterion(out, *targets)
    assert out.dtype == half or task == "pck"
    assert loss.dtype == torch.float32
    loss.backward()
    assert torch.isfinite(loss)
    for p in model.parameters():
        assert torch.all(torch.isfinite(p.grad))


def test_under_autocast_the_loss_matches_float32_scores_of_the_same_values():
    model, x, (y,), metric, head = _model_and_batch("ap")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        scores = head(model(x))
        loss = uniloss.UniLoss(metric, generator=torch.Generator().manual_seed(0))(scores, y)
    reference = uniloss.UniLoss(metric, generator=torch.Generator().manual_seed(0))(scores.float(), y)
    torch.testing.assert_close(loss, reference)


@pytest.mark.parametrize("task", ["ap", "accuracy"])
def test_a_compiled_training_step_matches_the_eager_one(task):
    model, x, targets, metric, head = _model_and_batch(task)
    state = {k: v.clone() for k, v in model.state_dict().items()}

    def step(model, criterion):
        model.zero_grad()
        loss = criterion(head(model(x)), *targets)
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in model.parameters()]

    eager = step(model, uniloss.UniLoss(metric, generator=torch.Generator().manual_seed(0), validate_args=False))
    model.load_state_dict(state)
    compiled_step = torch.compile(step, backend="aot_eager")
    compiled = compiled_step(
        model, uniloss.UniLoss(metric, generator=torch.Generator().manual_seed(0), validate_args=False)
    )
    torch.testing.assert_close(compiled[0], eager[0])
    for a, b in zip(compiled[1], eager[1], strict=True):
        torch.testing.assert_close(a, b)
