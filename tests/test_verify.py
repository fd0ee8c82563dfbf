"""``verify_metric`` tries the layout of a batch without binaries, the path the engine takes for one."""

import pytest
import torch

import uniloss

SCORES, TARGETS = torch.tensor([0.9, -0.3, 0.4, -1.2, 0.1, 2.0]), torch.tensor([1, 0, 0, 1, 0, 1])


class _DensePairs(uniloss.MetricRefactoring):
    """The fraction of right positive-negative pairs, from the dense ``evaluate`` only."""

    name = "test_dense_pairs"

    def comparisons(self, scores, *targets):
        positive = targets[0].bool()
        return uniloss.Comparisons(scores[positive].unsqueeze(1) - scores[~positive].unsqueeze(0))

    def evaluate(self, binaries, comparisons):
        right = (binaries > 0).flatten(1).double()
        if right.shape[1] == 0:
            return right.new_ones(right.shape[0])
        return right.mean(1)


class _NanWithoutPairs(_DensePairs):
    def evaluate(self, binaries, comparisons):
        return (binaries > 0).flatten(1).double().mean(1)  # 0 / 0 without a pair


class _RaisesWithoutPairs(_DensePairs):
    def evaluate(self, binaries, comparisons):
        if binaries.shape[-1] == 0:
            raise IndexError("no column")
        return super().evaluate(binaries, comparisons)


class _CountsOutsideUnitWithoutPairs(_DensePairs):
    def evaluate_counts(self, wrong, comparisons):
        if comparisons.num_binaries == 0:
            return torch.full((wrong.shape[0],), 2.0, dtype=torch.float64)
        return 1 - wrong.sum(-1).double() / comparisons.num_binaries

    def evaluate(self, binaries, comparisons):  # the default: through evaluate_counts
        return uniloss.MetricRefactoring.evaluate(self, binaries, comparisons)


def test_a_metric_with_only_evaluate_that_handles_no_pairs_passes_and_the_report_says_so():
    report = uniloss.verify_metric(_DensePairs(), SCORES, TARGETS)
    assert report.checks[-1].startswith("edge batches:")
    assert report.checks[-1].endswith("metric 1 without binaries")


@pytest.mark.parametrize(
    ("metric", "pattern"),
    [
        (_NanWithoutPairs(), r"edge batches failed: without binaries \(layout \(3, 0\)\) the metric is nan"),
        (_RaisesWithoutPairs(), r"edge batches failed: without binaries \(layout \(3, 0\)\): IndexError: no column"),
        (_CountsOutsideUnitWithoutPairs(), r"without binaries \(layout \(3, 0\)\) the metric is 2.0, outside \[0, 1\]"),
    ],
)
def test_a_metric_that_fails_without_binaries_is_caught(metric, pattern):
    with pytest.raises(ValueError, match=pattern):
        uniloss.verify_metric(metric, SCORES, TARGETS)
