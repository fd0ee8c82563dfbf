"""The anchor samplers and metrics of the quality ablations' variants (benchmarks/quality/variants.py)."""

import pytest
import torch

from benchmarks.quality.variants import DatasetRankAP, RelaxedPointAnchors, RelaxedPointAP, make_loss
from uniloss.metrics import AveragePrecision


@pytest.mark.parametrize(("probability", "expected"), [(1.0, True), (0.0, False)])
def test_relaxed_point_draws_follow_the_given_wrong_probabilities(probability, expected):
    sampler = RelaxedPointAnchors(draws=16)
    wrong = torch.tensor([[True, False, False], [False, True, False]])
    sampler.probabilities = torch.full(wrong.shape, probability)
    drawn = sampler.sample(wrong, None, torch.Generator().manual_seed(0))
    assert drawn.num_anchors == 1 + 16 + 16 + 16  # ground truth, good, nearby, then the draws
    assert torch.all(drawn.random.dense() == expected)


def test_relaxed_point_sampler_keeps_uniform_bad_anchors_before_the_draws_when_asked():
    sampler = RelaxedPointAnchors(draws=8, counts={"bad": 8})
    wrong = torch.zeros(4, 64, dtype=torch.bool)
    sampler.probabilities = torch.zeros(wrong.shape)
    drawn = sampler.sample(wrong, None, torch.Generator().manual_seed(0))
    random = drawn.random.dense()
    assert random.shape[0] == 16
    assert 0.3 < random[:8].float().mean() < 0.7  # uniform
    assert not random[8:].any()  # around a point where every binary is surely right


def test_relaxed_point_draws_are_wrong_at_about_the_given_rate_per_binary():
    sampler = RelaxedPointAnchors(draws=4000)
    probabilities = torch.tensor([[0.1, 0.5, 0.9]])
    sampler.probabilities = probabilities
    drawn = sampler.sample(torch.zeros(1, 3, dtype=torch.bool), None, torch.Generator().manual_seed(0))
    rates = drawn.random.dense().float().mean(0)
    assert torch.allclose(rates, probabilities, atol=0.03)


def test_relaxed_point_sampler_refuses_a_step_without_probabilities():
    sampler = RelaxedPointAnchors()
    sampler.probabilities = torch.full((1, 2), 0.5)
    sampler.sample(torch.zeros(1, 2, dtype=torch.bool), None, None)
    with pytest.raises(ValueError, match="probabilities"):  # used once: the next step needs its own
        sampler.sample(torch.zeros(1, 2, dtype=torch.bool), None, None)


def test_relaxed_point_ap_hands_the_sigmoid_of_minus_the_comparisons_to_its_sampler():
    sampler = RelaxedPointAnchors()
    metric = RelaxedPointAP(sampler, temperature=2.0)
    scores, labels = torch.tensor([3.0, 1.0, 0.0, 2.0]), torch.tensor([1, 0, 1, 0])
    layout = metric.comparisons(scores, labels)
    assert torch.allclose(sampler.probabilities, torch.sigmoid(-layout.values / 2.0))
    assert sampler.probabilities[1, 1] > 0.5  # positive 0.0 below negative 2.0: more likely wrong than right


@pytest.mark.parametrize("memory", [0, 8])
def test_relaxed_draws_variant_trains_with_and_without_memory(memory):
    loss = make_loss({"power": 1.5, "relaxed_draws": 16, "memory": memory}, AveragePrecision(), 0)
    generator = torch.Generator().manual_seed(0)
    for _ in range(3):  # later calls pool the remembered scores
        scores = torch.randn(16, generator=generator, requires_grad=True)
        value = loss(scores, torch.arange(16) % 3 == 0)
        value.backward()
        assert torch.isfinite(value)
        assert scores.grad is not None
        assert scores.grad.abs().sum() > 0


def _pooled_precision_of(positives, pool_scores, pool_labels):
    """Mean over ``positives`` (scores) of the precision at each in the ranking of ``pool``, by brute force."""
    precisions = []
    for score in positives:
        negatives_above = ((pool_scores >= score) & ~pool_labels).sum()
        positives_above = ((pool_scores > score) & pool_labels).sum() + 1
        precisions.append(float(positives_above / (positives_above + negatives_above)))
    return sum(precisions) / len(precisions)


def test_dataset_rank_ap_ranks_the_batch_against_the_stored_scores_of_earlier_batches():
    metric = DatasetRankAP()
    generator = torch.Generator().manual_seed(0)
    first, first_labels = torch.randn(12, generator=generator), torch.arange(12) % 3 == 0
    metric.comparisons(first, first_labels, torch.arange(12))
    batch, labels, indices = torch.randn(8, generator=generator), torch.arange(8) % 2 == 0, torch.arange(8, 16)
    layout = metric.comparisons(batch, labels, indices)
    current = (layout.values <= 0).sum(1, keepdim=True).T
    # examples 8-11 are in the batch: their stored scores are replaced by the current ones
    pool = torch.cat([first[:8], batch])
    pool_labels = torch.cat([first_labels[:8], labels])
    expected = _pooled_precision_of(batch[labels], pool, pool_labels)
    assert metric.evaluate_counts(current, layout).item() == pytest.approx(expected)
    assert expected != pytest.approx(_pooled_precision_of(batch[labels], batch, labels))  # the table counts
    assert torch.equal(metric.scores[8:16], batch)  # and then takes the batch's scores


def test_dataset_rank_ap_scales_the_batch_pairs_by_lambda():
    metric = DatasetRankAP(scale=10.0)
    scores, labels = torch.tensor([1.0, 0.0, 2.0]), torch.tensor([True, False, False])
    layout = metric.comparisons(scores, labels, torch.arange(3))
    one_more_wrong = metric.evaluate_counts(torch.tensor([[2]]), layout)  # current: 1 wrong (2.0 above 1.0)
    assert one_more_wrong.item() == pytest.approx(1 / (1 + 1 + 10))
