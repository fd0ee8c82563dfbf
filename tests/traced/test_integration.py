"""from_function metrics work where a built-in metric does: UniLoss and uniloss.uniloss, verify_metric, memory,
distributed, the dtypes of scores; its options; gradients; the loop where vmap refuses; pruning and its test."""

from __future__ import annotations

import time

import pytest
import torch
import torch.multiprocessing as mp

import uniloss
from tests.traced import ddp_worker, zoo

G = torch.Generator().manual_seed(0)
SCORES, LABELS = torch.randn(24, generator=G), (torch.rand(24, generator=G) < 0.4).long()
LOGITS, CLASSES = torch.randn(16, 5, generator=G), torch.randint(0, 5, (16,), generator=G)


def test_the_decorator_forms_make_metrics():
    @uniloss.from_function
    def plain(scores, labels):
        return ((scores > 0) == labels.bool()).float().mean()

    @uniloss.from_function(name="errors", higher_is_better=False)
    def errors(scores, labels):
        return ((scores > 0) != labels.bool()).float().mean()

    assert isinstance(plain, uniloss.MetricRefactoring)
    assert (plain.name, plain.higher_is_better) == ("plain", True)
    assert (errors.name, errors.higher_is_better) == ("errors", False)
    assert repr(errors).startswith("from_function(test_the_decorator_forms_make_metrics.<locals>.errors")
    loss = uniloss.uniloss(SCORES, LABELS, metric=errors, generator=torch.Generator().manual_seed(0))
    assert 0 <= float(loss) <= 1


@pytest.mark.parametrize(
    ("fn", "batch", "reference"),
    [
        (zoo.average_precision, (SCORES, LABELS), uniloss.exact.average_precision),
        (zoo.f1, (SCORES, LABELS), uniloss.exact.f1),
        (zoo.accuracy, (LOGITS, CLASSES), uniloss.exact.accuracy),
        (zoo.hit_rate, (LOGITS, CLASSES), lambda s, y: uniloss.exact.top_k_accuracy(s, y, top_k=3)),
        (zoo.precision_at_3, (SCORES, LABELS, torch.arange(24) // 8), None),
    ],
    ids=["ap", "f1", "accuracy", "hit_rate", "p@3"],
)
def test_check_metric_passes(fn, batch, reference):
    report = uniloss.verify_metric(uniloss.from_function(fn), *batch, reference=reference)
    assert report.value == pytest.approx(float(fn(*batch)))


def test_the_loss_is_the_hand_written_loss_when_the_layouts_agree():
    # Accuracy: the same comparisons as the built-in (true class against each other class), another layout.
    auto = uniloss.from_function(zoo.accuracy)
    exact = auto.evaluate(
        uniloss.HardStep()(auto.comparisons(LOGITS, CLASSES).values)[None], auto.comparisons(LOGITS, CLASSES)
    )
    assert float(exact[0]) == pytest.approx(float(uniloss.exact.accuracy(LOGITS, CLASSES)))
    assert (
        auto.comparisons(LOGITS, CLASSES).values.numel()
        == uniloss.metrics.Accuracy(num_classes=5).comparisons(LOGITS, CLASSES).values.numel()
    )


def test_training_a_linear_scorer_raises_the_metric():
    torch.manual_seed(0)
    features = torch.randn(256, 8)
    labels = (features @ torch.randn(8) + 0.5 * torch.randn(256) > 0.8).long()
    model = torch.nn.Linear(8, 1)
    criterion = uniloss.UniLoss(
        uniloss.from_function(zoo.average_precision), generator=torch.Generator().manual_seed(0)
    )
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    with torch.no_grad():
        before = float(zoo.average_precision(model(features).squeeze(1), labels))
    for step in range(30):
        batch = slice(step % 4 * 64, step % 4 * 64 + 64)
        loss = criterion(model(features[batch]).squeeze(1), labels[batch])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        after = float(zoo.average_precision(model(features).squeeze(1), labels))
    assert after > before + 0.1


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_scores_of_every_float_dtype_give_a_finite_loss_and_gradient(dtype, device):
    scores = LOGITS.detach().clone().to(device, dtype).requires_grad_()
    criterion = uniloss.UniLoss(
        uniloss.from_function(zoo.top_3_accuracy), generator=torch.Generator(device).manual_seed(0)
    )
    loss = criterion(scores, CLASSES.to(device))
    loss.backward()
    assert torch.isfinite(loss)
    assert scores.grad.dtype == dtype
    assert bool(torch.isfinite(scores.grad).all())
    assert float(scores.grad.abs().sum()) > 0


def test_gradcheck_in_float64_with_fixed_anchors():
    metric = uniloss.from_function(zoo.average_precision)
    labels = torch.tensor([1, 0, 1, 0, 0, 1])
    scores = torch.randn(6, generator=torch.Generator().manual_seed(3), dtype=torch.float64).requires_grad_()

    def loss(x):
        return uniloss.uniloss(
            x, labels, metric=metric, relax=uniloss.Sigmoid(1.0), generator=torch.Generator().manual_seed(0)
        )

    assert torch.autograd.gradcheck(loss, (scores,), eps=1e-6, atol=1e-5)


def test_memory_pools_batches_and_a_metric_of_queries_refuses_it():
    criterion = uniloss.UniLoss(uniloss.from_function(zoo.average_precision), memory=16)
    for start in (0, 8, 16):
        loss = criterion(SCORES[start : start + 8].clone().requires_grad_(), LABELS[start : start + 8])
        loss.backward()
    assert criterion.memory == 16
    assert len(criterion.example_memory.state()["remembered"][0]) == 16
    with pytest.raises(ValueError, match="memory"):
        uniloss.UniLoss(uniloss.from_function(zoo.precision_at_3, poolable=False), memory=16)


def test_a_lower_is_better_metric_and_given_ideal_scores():
    errors = uniloss.from_function(lambda s, y: (s.argmax(1) != y).float().mean(), higher_is_better=False)
    loss = uniloss.UniLoss(errors)(LOGITS, CLASSES)
    assert 0 <= float(loss) <= 1
    ideal = uniloss.from_function(zoo.accuracy, ideal=lambda s, y: torch.nn.functional.one_hot(y, 5).float())
    default = uniloss.from_function(zoo.accuracy)
    assert torch.equal(ideal.comparisons(LOGITS, CLASSES).values, default.comparisons(LOGITS, CLASSES).values)
    with pytest.raises(ValueError, match="`ideal` must return scores of shape"):
        uniloss.from_function(zoo.accuracy, ideal=lambda s, y: y).comparisons(LOGITS, CLASSES)


def test_pruning_keeps_the_pairs_of_items_of_different_targets_and_off_keeps_every_pair():
    positives = int(LABELS.sum())
    pruned = uniloss.from_function(zoo.average_precision).comparisons(SCORES, LABELS)
    full = uniloss.from_function(zoo.average_precision, prune=False).comparisons(SCORES, LABELS)
    assert pruned.values.numel() == positives * (24 - positives)
    assert full.values.numel() == 24 * 23 // 2


def test_a_function_that_orders_items_of_equal_targets_is_not_pruned():
    def first_half_first(scores, labels):  # depends on the order of items whose labels are equal
        return (scores.argsort(descending=True)[:12] < 12).float().mean()

    metric = uniloss.from_function(first_half_first, name="first")
    comparisons = metric.comparisons(SCORES, LABELS)
    assert comparisons.values.numel() == 24 * 23 // 2
    other = torch.randn(24, generator=torch.Generator().manual_seed(5))
    replayed = metric.evaluate(uniloss.HardStep()(metric.comparisons(other, LABELS).values)[None], comparisons)
    assert float(replayed[0]) == float(first_half_first(other, LABELS))


def test_control_flow_on_outcomes_replays_in_a_loop():
    def guarded(scores, labels):
        predicted = scores > 0
        if not bool(predicted.any()):  # data-dependent control flow: vmap refuses, the loop runs it
            return predicted.float().sum()
        return (predicted == labels.bool()).float().mean()

    metric = uniloss.from_function(guarded)
    comparisons = metric.comparisons(SCORES, LABELS)
    values = metric.evaluate(
        torch.stack([torch.ones_like(comparisons.values), -torch.ones_like(comparisons.values)]), comparisons
    )
    assert metric._state["vmap"] is False
    assert values.tolist() == [1.0, 0.0]  # every prediction wrong: some positive prediction, accuracy 0


def test_a_batch_without_comparisons_gives_a_constant_loss():
    metric = uniloss.from_function(zoo.auroc)
    with pytest.warns(UserWarning, match="no comparison"):
        loss = uniloss.UniLoss(metric)(SCORES[:4].clone().requires_grad_(), torch.ones(4, dtype=torch.long))
    assert float(loss) == 1.0


def test_a_later_batch_without_comparisons_is_a_constant_and_a_first_one_is_refused():
    def guarded_accuracy(scores, labels):
        if not bool(labels.any()):  # a batch without positives: no comparison at all
            return torch.tensor(0.0)
        return ((scores > 0) == labels.bool()).float().mean()

    metric = uniloss.from_function(guarded_accuracy)
    with pytest.raises(ValueError, match=r"\[no comparison\].*on the first batch"):
        metric.comparisons(SCORES[:4], torch.zeros(4, dtype=torch.long))
    assert float(uniloss.UniLoss(metric)(SCORES, LABELS)) <= 1
    with pytest.warns(UserWarning, match="no comparison"):
        loss = uniloss.UniLoss(metric)(SCORES[:4].clone().requires_grad_(), torch.zeros(4, dtype=torch.long))
    assert float(loss) == 1.0


@pytest.mark.ddp
@pytest.mark.slow
def test_two_ranks_give_the_loss_and_gradients_of_one_process(tmp_path):
    context = mp.start_processes(
        ddp_worker.worker, args=(2, 5, str(tmp_path)), nprocs=2, join=False, start_method="spawn"
    )
    deadline = time.monotonic() + 180
    while not context.join(timeout=2):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail("the two DDP processes did not finish")
    features, labels, model = ddp_worker.problem()
    metric = uniloss.from_function(zoo.average_precision)
    loss = uniloss.UniLoss(metric, generator=torch.Generator().manual_seed(0))(model(features).squeeze(1), labels)
    loss.backward()
    for rank in range(2):
        result = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        torch.testing.assert_close(result["loss"], loss.detach())
        for got, expected in zip(result["grads"], [p.grad for p in model.parameters()], strict=True):
            torch.testing.assert_close(got, expected)


@pytest.mark.parametrize(
    ("fn", "batch"),
    [
        (zoo.average_precision, (torch.randn(40, generator=G), (torch.rand(40, generator=G) < 0.4).long())),
        (zoo.top_3_accuracy, (torch.randn(30, 6, generator=G), torch.randint(0, 6, (30,), generator=G))),
        (
            zoo.ndcg_at_3,
            (torch.randn(30, generator=G), torch.randint(0, 4, (30,), generator=G), torch.arange(30) // 10),
        ),
    ],
    ids=["ap", "top3", "ndcg"],
)
def test_the_batched_replay_of_anchors_is_the_replay_of_each(fn, batch):
    metric = uniloss.from_function(fn)
    comparisons = metric.comparisons(*batch)
    replay = comparisons.context.replay
    right = comparisons.values[0].detach() > 0
    total = right.numel()
    generator = torch.Generator().manual_seed(0)
    configurations = [right, torch.ones_like(right), torch.rand(total, generator=generator) < 0.5]
    for base in (right, torch.ones_like(right)):
        for flips in (1, 3, total // 10):
            flipped = base.clone()
            flipped[torch.randperm(total, generator=generator)[:flips]] ^= True
            configurations.append(flipped)
    outcomes = comparisons.context.layout.outcomes(torch.stack(configurations))
    batched = replay(outcomes)  # rankings of every configuration at once, then vmap
    one_by_one = torch.stack([replay.one(row) for row in outcomes])
    torch.testing.assert_close(batched, one_by_one)


def _device_ap(scores, labels):  # the zoo's AP with its ranks made on the scores' device
    rel = labels[scores.argsort(descending=True)].float()
    precision = rel.cumsum(0) / torch.arange(1, len(rel) + 1, device=scores.device)
    return (precision * rel).sum() / rel.sum().clamp(min=1)


@pytest.mark.parametrize(
    ("fn", "batch", "reference"),
    [
        (_device_ap, (SCORES, LABELS), uniloss.exact.average_precision),
        (zoo.f1, (SCORES, LABELS), uniloss.exact.f1),
        (zoo.accuracy, (LOGITS, CLASSES), uniloss.exact.accuracy),
        (zoo.hit_rate, (LOGITS, CLASSES), lambda s, y: uniloss.exact.top_k_accuracy(s, y, top_k=3)),
    ],
    ids=["ap", "f1", "accuracy", "hit_rate"],
)
def test_value_and_loss_on_the_device_under_test(fn, batch, reference, device):
    scores, *targets = (tensor.to(device) for tensor in batch)
    metric = uniloss.from_function(fn)
    comparisons = metric.comparisons(scores, *targets)
    value = metric.evaluate(uniloss.HardStep()(comparisons.values)[None], comparisons)
    assert value.device.type == device.type
    assert float(value[0]) == pytest.approx(float(reference(scores, *targets)), abs=1e-6)
    inputs = scores.clone().requires_grad_()
    uniloss.UniLoss(metric, generator=torch.Generator(device).manual_seed(0))(inputs, *targets).backward()
    assert bool(torch.isfinite(inputs.grad).all())
