import time

import pytest
import torch
import torch.multiprocessing as mp

import uniloss
from tests._helpers import ddp


def _run(tmp_path, task, split, seeded=True, timeout=180.0):
    context = mp.start_processes(
        ddp.worker, args=(2, task, split, str(tmp_path), seeded), nprocs=2, join=False, start_method="spawn"
    )
    deadline = time.monotonic() + timeout
    while not context.join(timeout=2):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail(f"the two DDP processes did not finish within {timeout:.0f} s")
    return [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]


def _single_process(task):
    features, labels, metric, outputs = ddp.make_problem(task)
    model = ddp.make_model(outputs)
    loss = uniloss.UniLoss(metric, generator=torch.Generator().manual_seed(0))(ddp.forward(model, features), labels)
    loss.backward()
    return loss.detach(), [p.grad for p in model.parameters()]


@pytest.mark.ddp
@pytest.mark.parametrize("task", ["ap", "accuracy"])
@pytest.mark.parametrize("split", [7, 3], ids=["almost-even", "uneven"])
def test_two_ranks_give_the_loss_and_gradients_of_one_process_on_the_whole_batch(tmp_path, task, split):
    ranks = _run(tmp_path, task, split)
    loss, grads = _single_process(task)
    for result in ranks:
        torch.testing.assert_close(result["loss"], loss)
        for got, expected in zip(result["grads"], grads, strict=True):
            torch.testing.assert_close(got, expected)


@pytest.mark.ddp
def test_without_a_generator_every_rank_draws_the_same_anchors(tmp_path):
    first, second = _run(tmp_path, "ap", 6, seeded=False)
    assert torch.equal(first["loss"], second["loss"])
    for a, b in zip(first["grads"], second["grads"], strict=True):
        assert torch.equal(a, b)


def test_without_a_process_group_distributed_is_a_no_op():
    scores, labels = torch.randn(10), torch.tensor([1, 0] * 5)
    metric = uniloss.metrics.AveragePrecision()
    plain = uniloss.UniLoss(metric, generator=torch.Generator().manual_seed(0))(scores, labels)
    switched = uniloss.UniLoss(metric, generator=torch.Generator().manual_seed(0), distributed=True)(scores, labels)
    assert torch.equal(plain, switched)
