"""``UniLoss(memory=M)``: earlier examples ranked together with each batch, gradients to the batch only."""

import pytest
import torch

import uniloss
from uniloss.metrics import Accuracy, AveragePrecision


def _batches(count, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(count):
        labels = (torch.rand(size, generator=g) < 0.3).long()
        labels[:2] = torch.tensor([0, 1])
        out.append((torch.randn(size, generator=g), labels))
    return out


def test_each_batch_is_ranked_with_the_newest_remembered_examples():
    batches = _batches(3)
    criterion = uniloss.UniLoss(AveragePrecision(), memory=20, generator=torch.Generator().manual_seed(1))
    reference = torch.Generator().manual_seed(1)
    seen_scores, seen_labels = torch.zeros(0), torch.zeros(0, dtype=torch.long)
    for scores, labels in batches:
        scores = scores.clone().requires_grad_()
        loss = criterion(scores, labels)
        pooled = torch.cat([scores, seen_scores]), torch.cat([labels, seen_labels])
        expected = uniloss.uniloss(*pooled, metric=AveragePrecision(), generator=reference)
        assert torch.equal(loss, expected)
        seen_scores = torch.cat([scores.detach(), seen_scores])[:20]
        seen_labels = torch.cat([labels, seen_labels])[:20]
    assert criterion.get_extra_state()["remembered"][0].shape == (20,)


def test_gradients_reach_only_the_current_batch_and_differ_from_the_batch_alone():
    (old, old_labels), (new, labels) = _batches(2, seed=3)
    criterion = uniloss.UniLoss(AveragePrecision(), memory=16, generator=torch.Generator().manual_seed(0))
    criterion(old.requires_grad_(), old_labels)
    scores = new.clone().requires_grad_()
    criterion(scores, labels).backward()
    alone = new.clone().requires_grad_()
    uniloss.UniLoss(AveragePrecision(), generator=torch.Generator().manual_seed(0))(alone, labels).backward()
    assert scores.grad.shape == (16,)
    assert torch.all(torch.isfinite(scores.grad))
    assert not torch.allclose(scores.grad, alone.grad)
    assert old.grad is None


def test_eval_mode_neither_uses_nor_updates_the_memory():
    (first, first_labels), (second, labels) = _batches(2, seed=4)
    criterion = uniloss.UniLoss(AveragePrecision(), memory=32, generator=torch.Generator().manual_seed(0))
    criterion(first.requires_grad_(), first_labels)
    remembered = criterion.get_extra_state()["remembered"]
    assert remembered
    criterion.eval()
    loss = criterion(second, labels)
    alone = uniloss.UniLoss(AveragePrecision(), generator=torch.Generator().manual_seed(0))
    alone(first, first_labels)  # the same generator state as the criterion's
    assert torch.equal(loss, alone(second, labels))
    assert all(torch.equal(a, b) for a, b in zip(remembered, criterion.get_extra_state()["remembered"], strict=True))


def test_state_dict_carries_the_memory_and_reset_empties_it():
    batches = _batches(3, seed=5)
    criterion = uniloss.UniLoss(AveragePrecision(), memory=24, generator=torch.Generator().manual_seed(2))
    for scores, labels in batches[:2]:
        criterion(scores, labels)
    restored = uniloss.UniLoss(AveragePrecision(), memory=24, generator=torch.Generator().manual_seed(2))
    restored.load_state_dict(criterion.state_dict())
    restored.generator.set_state(criterion.generator.get_state())
    assert torch.equal(criterion(*batches[2]), restored(*batches[2]))
    restored.reset_memory()
    assert restored.get_extra_state() == {"remembered": []}


@pytest.mark.parametrize("memory", [0, 5])
def test_multi_class_targets_are_pooled_too(memory):
    g = torch.Generator().manual_seed(6)
    criterion = uniloss.UniLoss(Accuracy(num_classes=4), memory=memory, generator=g)
    for _ in range(3):
        logits = torch.randn(6, 4, generator=g, requires_grad=True)
        criterion(logits, torch.randint(0, 4, (6,), generator=g)).backward()
        assert logits.grad.shape == (6, 4)
    assert len(criterion.get_extra_state()["remembered"]) == (2 if memory else 0)
    assert "memory=5" in repr(criterion) if memory else "memory" not in repr(criterion)


def test_training_with_memory_raises_ap_on_small_batches():
    g = torch.Generator().manual_seed(7)
    x = torch.randn(512, 8, generator=g)
    y = (x[:, 0] + 0.5 * torch.randn(512, generator=g) > 1.0).long()
    with torch.random.fork_rng():  # the same initial weights whatever ran before (the global stream)
        torch.manual_seed(0)
        model = torch.nn.Linear(8, 1)
    criterion = uniloss.UniLoss(AveragePrecision(), memory=128, generator=torch.Generator().manual_seed(0))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    before = uniloss.exact.average_precision(model(x).squeeze(1).detach(), y)
    for _epoch in range(3):
        for start in range(0, 512, 16):
            optimizer.zero_grad()
            criterion(model(x[start : start + 16]).squeeze(1), y[start : start + 16]).backward()
            optimizer.step()
    after = uniloss.exact.average_precision(model(x).squeeze(1).detach(), y)
    oracle = uniloss.exact.average_precision(x[:, 0], y)  # the score that made the labels (0.78)
    assert before < 0.5
    assert after > 0.95 * oracle


def test_a_batch_that_fails_the_checks_is_not_remembered():
    (first, first_labels), (second, labels) = _batches(2, seed=8)
    criterion = uniloss.UniLoss(AveragePrecision(), memory=32, generator=torch.Generator().manual_seed(0))
    criterion(first.requires_grad_(), first_labels)
    remembered = criterion.get_extra_state()["remembered"]
    assert remembered
    broken = second.clone()
    broken[3] = float("nan")
    with pytest.raises(ValueError, match="`scores` must be finite"):
        criterion(broken, labels)
    assert all(torch.equal(a, b) for a, b in zip(remembered, criterion.get_extra_state()["remembered"], strict=True))
    assert torch.isfinite(criterion(second, labels))


@pytest.mark.parametrize("validation", ["no_grad", "inference_mode", "scores_without_grad"])
def test_a_validation_loss_in_training_mode_leaves_only_training_examples_in_the_memory(validation):
    (train, train_labels), (held_out, held_out_labels), (nxt, next_labels) = _batches(3, seed=5)
    criterion = uniloss.UniLoss(AveragePrecision(), memory=512, generator=torch.Generator().manual_seed(0))
    criterion(train.clone().requires_grad_(), train_labels)
    if validation == "scores_without_grad":
        criterion(held_out, held_out_labels)
    else:
        with torch.no_grad() if validation == "no_grad" else torch.inference_mode():
            criterion(held_out.clone().requires_grad_(), held_out_labels)
    remembered_scores, remembered_labels = criterion.example_memory.examples
    assert torch.equal(remembered_scores, train)
    assert torch.equal(remembered_labels, train_labels)
    generator_state = criterion.generator.get_state()
    loss = criterion(nxt.clone().requires_grad_(), next_labels)  # ranked with the training examples only
    expected = uniloss.uniloss(
        torch.cat([nxt, train]),
        torch.cat([next_labels, train_labels]),
        metric=AveragePrecision(),
        generator=torch.Generator().set_state(generator_state),
    )
    assert torch.equal(loss.detach(), expected)
    assert criterion.example_memory.examples[0].shape == (32,)


def test_double_backward_is_refused_clearly():
    scores = torch.randn(12, requires_grad=True)
    labels = torch.tensor([1, 0] * 6)
    loss = uniloss.UniLoss(AveragePrecision(), generator=torch.Generator().manual_seed(0))(scores, labels)
    (grad,) = torch.autograd.grad(loss, scores, create_graph=True)
    with pytest.raises(RuntimeError, match="marked with @once_differentiable"):
        grad.sum().backward()


# ExampleMemory on its own, without a loss.


def test_an_example_memory_pools_then_keeps_the_newest_examples_detached():
    from uniloss.engine import ExampleMemory

    memory = ExampleMemory(3)
    assert memory.examples is None
    first = (torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor([1, 0]))
    assert memory.pool(first) is first  # nothing remembered yet
    memory.remember(memory.pool(first))
    second = (torch.tensor([3.0, 4.0]), torch.tensor([0, 1]))
    pooled = memory.pool(second)
    assert torch.equal(pooled[0], torch.tensor([3.0, 4.0, 1.0, 2.0]))
    assert torch.equal(pooled[1], torch.tensor([0, 1, 1, 0]))
    memory.remember(pooled)
    scores, labels = memory.examples
    assert torch.equal(scores, torch.tensor([3.0, 4.0, 1.0]))
    assert not scores.requires_grad
    assert torch.equal(labels, torch.tensor([0, 1, 1]))


def test_an_example_memory_round_trips_its_state_and_resets():
    from uniloss.engine import ExampleMemory

    memory = ExampleMemory(2)
    memory.remember((torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1, 0, 1])))
    restored = ExampleMemory(2)
    restored.load_state(memory.state())
    assert all(torch.equal(a, b) for a, b in zip(memory.examples, restored.examples, strict=True))
    restored.reset()
    assert restored.examples is None
    assert restored.state() == {"remembered": []}


def test_an_example_memory_of_size_zero_remembers_nothing():
    from uniloss.engine import ExampleMemory

    memory = ExampleMemory(0)
    memory.remember((torch.tensor([1.0]), torch.tensor([1])))
    assert memory.examples is None


@pytest.mark.parametrize(
    ("batch", "match"),
    [
        ((torch.zeros(2),), r"`memory` holds 1 targets per example, but the batch has 0"),
        ((torch.zeros(2, 3), torch.zeros(2, dtype=torch.long)), r"`scores` must match the remembered examples"),
        ((torch.zeros(2), torch.zeros(2)), r"`targets\[0\]` must match the remembered examples"),
    ],
)
def test_an_example_memory_refuses_a_batch_of_another_layout(batch, match):
    from uniloss.engine import ExampleMemory

    memory = ExampleMemory(2)
    memory.remember((torch.zeros(2), torch.zeros(2, dtype=torch.long)))
    with pytest.raises(ValueError, match=match):
        memory.pool(batch)


@pytest.mark.parametrize(("size", "error"), [(-1, ValueError), (1.5, TypeError)])
def test_an_example_memory_refuses_a_bad_size(size, error):
    from uniloss.engine import ExampleMemory

    with pytest.raises(error, match="`memory`"):
        ExampleMemory(size)
