"""SurrogateMonitor: the surrogate beside the exact metric of the same batches."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import uniloss
from uniloss.monitor import SurrogateMonitor, exact_batch_metric, pearson


def test_pearson_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=50), rng.normal(size=50)
    y = 0.5 * x + y
    assert pearson(x.tolist(), y.tolist()) == pytest.approx(float(np.corrcoef(x, y)[0, 1]), abs=1e-12)
    assert pearson([1.0, 2.0, 3.0], [3.0, 2.0, 1.0]) == pytest.approx(-1.0)
    assert math.isnan(pearson([1.0], [2.0]))
    assert math.isnan(pearson([1.0, 1.0], [2.0, 3.0]))
    with pytest.raises(ValueError, match="same length"):
        pearson([1.0], [1.0, 2.0])


def test_exact_batch_metric_matches_functional() -> None:
    generator = torch.Generator().manual_seed(0)
    scores = torch.randn(40, generator=generator)
    labels = (torch.rand(40, generator=generator) < 0.3).long()
    exact = exact_batch_metric(uniloss.metrics.AveragePrecision(), scores, labels)
    assert exact == pytest.approx(float(uniloss.exact.average_precision(scores, labels)), abs=1e-6)
    logits = torch.randn(20, 4, generator=generator)
    targets = torch.randint(0, 4, (20,), generator=generator)
    accuracy = exact_batch_metric(uniloss.metrics.Accuracy(num_classes=4), logits, targets)
    assert accuracy == pytest.approx(float((logits.argmax(1) == targets).float().mean()))


def test_monitor_toy_correlation_and_png(tmp_path: pytest.TempPathFactory) -> None:
    metric = uniloss.metrics.AveragePrecision()
    monitor = SurrogateMonitor(metric)
    labels = torch.tensor([1, 0, 1, 0])
    # The exact AP of these batches is 0.5, 0.8333 and 1.0; the surrogate (1 - loss) is given.
    for loss, scores in ((0.6, [0.0, 1.0, -1.0, 2.0]), (0.3, [2.0, 1.0, 0.0, -1.0]), (0.1, [3.0, -1.0, 2.0, 0.0])):
        monitor.record(torch.tensor(loss), torch.tensor(scores), labels)
    exact = [
        float(uniloss.exact.average_precision(torch.tensor(s), labels))
        for s in ([0.0, 1.0, -1.0, 2.0], [2.0, 1.0, 0.0, -1.0], [3.0, -1.0, 2.0, 0.0])
    ]
    assert monitor.exact == pytest.approx(exact)
    assert monitor.surrogate == pytest.approx([0.4, 0.7, 0.9])
    assert monitor.correlation() == pytest.approx(float(np.corrcoef([0.4, 0.7, 0.9], exact)[0, 1]))
    assert monitor.correlation(detrend=True) == pytest.approx(1.0)  # two changes, both up
    path = monitor.save_png(tmp_path / "sub" / "d.png")  # type: ignore[operator]
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(monitor.summary()) >= {"surrogate", "exact", "correlation", "correlation_of_changes"}


def test_monitor_with_uniloss_tracks_the_metric() -> None:
    criterion = uniloss.UniLoss(uniloss.metrics.AveragePrecision(), generator=torch.Generator().manual_seed(0))
    monitor = SurrogateMonitor(criterion)
    generator = torch.Generator().manual_seed(1)
    labels = (torch.arange(64) % 4 == 0).long()
    for strength in (0.0, 0.5, 1.0, 2.0, 4.0, 8.0):
        scores = torch.randn(64, generator=generator) + strength * labels
        monitor.record(criterion(scores, labels), scores, labels)
    assert monitor.correlation() > 0.8
    with pytest.raises(TypeError, match="UniLoss or a MetricRefactoring"):
        SurrogateMonitor("ap")  # type: ignore[arg-type]


def test_monitor_with_memory_compares_the_pooled_sample() -> None:
    from uniloss.exact import average_precision

    criterion = uniloss.UniLoss(
        uniloss.metrics.AveragePrecision(), memory=6, generator=torch.Generator().manual_seed(0)
    )
    monitor = SurrogateMonitor(criterion)
    generator = torch.Generator().manual_seed(2)
    batches = [(torch.randn(4, generator=generator).requires_grad_(), torch.tensor([1, 0, 0, 1])) for _ in range(3)]
    for scores, labels in batches:
        monitor.record(criterion(scores, labels), scores, labels)
    pooled = torch.cat([batches[2][0], batches[1][0], batches[0][0][:2]])
    pooled_labels = torch.cat([batches[2][1], batches[1][1], batches[0][1][:2]])
    assert monitor.exact[0] == pytest.approx(float(average_precision(*batches[0])))
    assert monitor.exact[2] == pytest.approx(float(average_precision(pooled, pooled_labels)))
    criterion.eval()  # no memory in eval mode: the batch alone
    monitor.record(criterion(*batches[0]), *batches[0])
    assert monitor.exact[3] == pytest.approx(float(average_precision(*batches[0])))
