import functools
import inspect
import warnings

import pytest
import torch

import uniloss
from uniloss.anchors import PaperAnchors
from uniloss.core.comparisons import Comparisons
from uniloss.engine import diagnostics
from uniloss.engine.reference import dense_uniloss
from uniloss.metrics import PCK, Accuracy, AveragePrecision, MetricRefactoring


def _ap_batch(g, dtype, n=12):
    scores = torch.randn(n, generator=g, dtype=dtype)
    targets = (torch.rand(n, generator=g) < 0.4).long()
    targets[0], targets[1] = 1, 0
    return scores, (targets,)


def _accuracy_batch(g, dtype, n=9, classes=6):
    return torch.randn(n, classes, generator=g, dtype=dtype), (torch.randint(0, classes, (n,), generator=g),)


def _pck_batch(g, dtype):
    heatmaps = torch.randn(2, 3, 7, 6, generator=g, dtype=dtype)
    joints = torch.rand(2, 3, 2, generator=g, dtype=dtype) * 6
    visible = torch.tensor([[True, False, True], [True, True, True]])
    return heatmaps, (joints, visible, torch.tensor([3.0, 5.0], dtype=dtype))


CASES = {
    "ap-step": (AveragePrecision(), _ap_batch),
    "ap-interpolated": (AveragePrecision(mode="interpolated"), _ap_batch),
    "accuracy": (Accuracy(num_classes=6), _accuracy_batch),
    "accuracy-candidates": (Accuracy(num_classes=6, candidates=3), _accuracy_batch),
    "pck": (PCK(threshold=0.5), _pck_batch),
}


def _parts(temperature=1.0, power=1.0, current=0):
    return {
        "relax": uniloss.Sigmoid(temperature),
        "anchors": PaperAnchors(good=5, nearby=5, bad=5, current=current),
        "interpolator": uniloss.InverseDistanceWeighting(power),
    }


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(("temperature", "power"), [(1.0, 1.0), (0.3, 2.0), (3.0, 4.0)])
def test_structured_engine_equals_dense_reference_in_value_and_gradient(case, temperature, power, device):
    metric, make = CASES[case]
    for seed in range(3):
        scores, targets = make(torch.Generator().manual_seed(seed), torch.float64)
        scores, targets = scores.to(device), tuple(t.to(device) for t in targets)
        grads = []
        values = []
        for fn in (uniloss.uniloss, dense_uniloss):
            s = scores.clone().requires_grad_()
            generator = torch.Generator(device).manual_seed(seed)
            loss = fn(s, *targets, metric=metric, generator=generator, **_parts(temperature, power))
            loss.backward()
            values.append(loss)
            grads.append(s.grad)
        torch.testing.assert_close(values[0], values[1])
        torch.testing.assert_close(grads[0], grads[1])


class _RightPairs(MetricRefactoring):
    """Fraction of right binaries: a metric that only implements the dense ``evaluate``."""

    name = "test_right_pairs"

    def comparisons(self, scores, *targets):
        positive = targets[0].bool()
        return Comparisons(scores[positive].unsqueeze(1) - scores[~positive].unsqueeze(0))

    def evaluate(self, binaries, comparisons):
        return (binaries > 0).double().flatten(1).mean(1)


class _RightPairsCounted(_RightPairs):
    def evaluate_counts(self, wrong, comparisons):
        return 1 - wrong.double().sum(1) / comparisons.num_binaries


def test_a_metric_with_only_dense_evaluate_gives_the_same_loss_as_its_counted_twin(monkeypatch):
    from uniloss.engine import loss as engine_loss

    monkeypatch.setattr(engine_loss, "_DENSE_CHUNK", 40)  # several chunks of anchors
    scores, (targets,) = _ap_batch(torch.Generator().manual_seed(0), torch.float64)
    losses, grads = [], []
    for metric in (_RightPairs(), _RightPairsCounted()):
        assert metric.uses_counts == isinstance(metric, _RightPairsCounted)
        s = scores.clone().requires_grad_()
        loss = uniloss.uniloss(s, targets, metric=metric, generator=torch.Generator().manual_seed(1), **_parts())
        loss.backward()
        losses.append(loss)
        grads.append(s.grad)
    torch.testing.assert_close(losses[0], losses[1])
    torch.testing.assert_close(grads[0], grads[1])


@pytest.mark.parametrize("case", CASES)
def test_saturated_scores_on_an_anchor_give_its_value_and_finite_gradients(case, dtype, device):
    metric, make = CASES[case]
    scores, targets = make(torch.Generator().manual_seed(4), dtype)
    targets = tuple(t.to(device) for t in targets)
    scores = (scores * 1e4).to(device).requires_grad_()
    exact = (
        1
        - metric.evaluate(
            uniloss.HardStep()(metric.comparisons(scores, *targets).values)[None], metric.comparisons(scores, *targets)
        )[0]
    )
    loss = uniloss.uniloss(
        scores,
        *targets,
        metric=metric,
        generator=torch.Generator(device).manual_seed(0),
        **_parts(temperature=0.01, current=1),
    )
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.all(torch.isfinite(scores.grad))
    assert abs(loss.item() - exact.item()) < 1e-6


def test_a_perfect_saturated_batch_sits_on_the_ground_truth_anchor():
    scores = torch.tensor([50.0, 40.0, -40.0, -50.0], requires_grad=True)
    loss = uniloss.UniLoss(AveragePrecision(), generator=torch.Generator().manual_seed(0))(
        scores, torch.tensor([1, 1, 0, 0])
    )
    loss.backward()
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    assert torch.all(torch.isfinite(scores.grad))


@pytest.mark.parametrize(
    ("targets", "expected"), [(torch.zeros(5, dtype=torch.long), 1.0), (torch.ones(5, dtype=torch.long), 0.0)]
)
def test_an_ap_batch_without_pairs_gives_the_constant_loss_and_zero_gradients(targets, expected, monkeypatch):
    monkeypatch.setattr(diagnostics, "_WARNED", set())
    scores = torch.randn(5, requires_grad=True)
    with pytest.warns(UserWarning, match="no comparison") as record:
        loss = uniloss.UniLoss(AveragePrecision())(scores, targets)
    assert record[0].filename == __file__  # the caller's line, not torch's or uniloss's
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        uniloss.UniLoss(AveragePrecision())(scores, targets)  # at most once per run
    loss.backward()
    assert loss.item() == expected
    assert torch.equal(scores.grad, torch.zeros(5))


@pytest.mark.parametrize("form", ["module", "function", "compiled"])
def test_the_no_comparison_warning_points_at_the_callers_line(form, monkeypatch):
    monkeypatch.setattr(diagnostics, "_WARNED", set())
    criterion = uniloss.UniLoss(AveragePrecision())
    if form == "function":
        criterion = functools.partial(uniloss.uniloss, metric=AveragePrecision())
    elif form == "compiled":
        criterion = torch.compile(criterion, backend="eager")
    scores, targets = torch.randn(5), torch.zeros(5, dtype=torch.long)
    line = inspect.currentframe().f_lineno + 2
    with pytest.warns(UserWarning, match="no comparison") as record:
        criterion(scores, targets)
    assert (record[0].filename, record[0].lineno) == (__file__, line)


class _RightPairsOrAll(_RightPairs):
    """``_RightPairs`` with the value 1 where there is no pair: dense ``evaluate`` only, defined everywhere."""

    def evaluate(self, binaries, comparisons):
        if binaries[0].numel() == 0:
            return binaries.new_ones(binaries.shape[0], dtype=torch.float64)
        return super().evaluate(binaries, comparisons)


@pytest.mark.parametrize("targets", [torch.zeros(5, dtype=torch.long), torch.ones(5, dtype=torch.long)])
def test_a_metric_with_only_evaluate_gives_the_constant_loss_on_a_batch_without_binaries(targets, monkeypatch):
    monkeypatch.setattr(diagnostics, "_WARNED", set())
    metric = _RightPairsOrAll()
    assert not metric.uses_counts
    scores = torch.randn(5, requires_grad=True)
    with pytest.warns(UserWarning, match="no comparison"):
        loss = uniloss.UniLoss(metric)(scores, targets)  # evaluate_counts would raise NotImplementedError
    loss.backward()
    assert loss.item() == 0.0
    assert torch.equal(scores.grad, torch.zeros(5))


def test_a_single_class_gives_zero_loss_and_zero_gradients():
    scores = torch.randn(4, 1, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loss = uniloss.UniLoss(Accuracy(num_classes=1))(scores, torch.zeros(4, dtype=torch.long))
    loss.backward()
    assert loss.item() == 0.0
    assert torch.equal(scores.grad, torch.zeros(4, 1))


def test_a_seeded_generator_repeats_the_loss_exactly_and_other_seeds_differ():
    scores, (targets,) = _ap_batch(torch.Generator().manual_seed(0), torch.float32, n=64)
    losses = [
        uniloss.UniLoss(AveragePrecision(), generator=torch.Generator().manual_seed(seed))(scores, targets)
        for seed in (7, 7, 8)
    ]
    assert torch.equal(losses[0], losses[1])
    assert not torch.equal(losses[0], losses[2])


def test_the_module_equals_the_functional_form():
    scores, (targets,) = _accuracy_batch(torch.Generator().manual_seed(0), torch.float32)
    module = uniloss.UniLoss(
        Accuracy(num_classes=6), temperature=0.5, power=2.0, generator=torch.Generator().manual_seed(3)
    )
    functional = uniloss.uniloss(
        scores,
        targets,
        metric=Accuracy(num_classes=6),
        relax=uniloss.Sigmoid(0.5),
        interpolator=uniloss.InverseDistanceWeighting(2.0),
        generator=torch.Generator().manual_seed(3),
    )
    assert torch.equal(module(scores, targets), functional)


@pytest.mark.parametrize("half", [torch.bfloat16, torch.float16])
def test_half_precision_scores_are_computed_in_float32(half):
    scores, (targets,) = _ap_batch(torch.Generator().manual_seed(0), torch.float32, n=32)
    scores = scores.to(half).requires_grad_()
    loss = uniloss.UniLoss(AveragePrecision(), generator=torch.Generator().manual_seed(0))(scores, targets)
    loss.backward()
    assert loss.dtype == torch.float32
    assert torch.isfinite(loss)
    assert torch.all(torch.isfinite(scores.grad))


def test_training_with_the_loss_raises_the_metric():
    g = torch.Generator().manual_seed(0)
    features = torch.randn(256, 5, generator=g)
    labels = (features[:, 0] + 0.5 * torch.randn(256, generator=g) > 1.0).long()
    model = torch.nn.Linear(5, 1)
    torch.nn.init.zeros_(model.weight)
    criterion = uniloss.UniLoss(AveragePrecision(), generator=torch.Generator().manual_seed(0))
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    before = uniloss.exact.average_precision(model(features).squeeze(1).detach() + 1e-3 * features[:, 1], labels)
    for _ in range(60):
        optimiser.zero_grad()
        criterion(model(features).squeeze(1), labels).backward()
        optimiser.step()
    after = uniloss.exact.average_precision(model(features).squeeze(1).detach(), labels)
    assert after > before + 0.2


@pytest.mark.gpu
def test_accuracy_loss_runs_without_host_device_synchronisation():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    scores = torch.randn(128, 100, device="cuda", requires_grad=True)
    targets = torch.randint(0, 100, (128,), device="cuda")
    criterion = uniloss.UniLoss(
        Accuracy(num_classes=100, candidates=21), validate_args=False, generator=torch.Generator("cuda").manual_seed(0)
    )
    criterion(scores, targets).backward()  # warm-up
    torch.cuda.set_sync_debug_mode("error")
    try:
        criterion(scores, targets).backward()
    finally:
        torch.cuda.set_sync_debug_mode("default")


@pytest.mark.parametrize("case", CASES)
def test_distance_sums_in_many_row_chunks_equal_the_dense_reference(case, monkeypatch):
    from uniloss.engine import distances

    monkeypatch.setattr(distances, "_ROW_CHUNK_ENTRIES", {"cpu": 7})  # a chunk of one row at a time
    metric, make = CASES[case]
    scores, targets = make(torch.Generator().manual_seed(11), torch.float64)
    results = []
    for fn in (uniloss.uniloss, dense_uniloss):
        s = scores.clone().requires_grad_()
        loss = fn(s, *targets, metric=metric, generator=torch.Generator().manual_seed(2), **_parts(0.5, 2.0))
        loss.backward()
        results.append((loss, s.grad))
    torch.testing.assert_close(results[0][0], results[1][0])
    torch.testing.assert_close(results[0][1], results[1][1])
