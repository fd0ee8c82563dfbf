"""A second implementation of each of the four public base classes, written with the public API only.

Each part is a subclass of ``uniloss.Relaxation``, ``uniloss.AnchorSampler``, ``uniloss.Interpolator`` or
``uniloss.MetricRefactoring`` that imports nothing private; each trains a step through ``uniloss.UniLoss``
and agrees with the dense reference, and the metric passes ``uniloss.verify_metric``.
"""

import ast
import pathlib
import warnings

import pytest
import torch

import uniloss
from uniloss.anchors import CURRENT, GROUND_TRUTH, AnchorBits, AnchorSet, PaperAnchors, sample_set_entries
from uniloss.engine.reference import dense_uniloss


class Hardtanh(uniloss.Relaxation):
    """``b = clamp(c / width, -1, 1)``: linear near a tie, flat beyond ``width`` (no slope given: autograd's)."""

    def __init__(self, width: float = 1.0) -> None:
        self.width = width

    def distances(self, values):
        b = (values / self.width).clamp(-1.0, 1.0)
        return 1 - b, 1 + b


class WorseAnchors(uniloss.AnchorSampler):
    """The ground truth, the current configuration with one right binary made wrong, and random coin flips."""

    def __init__(self, worse: int = 4, coins: int = 3) -> None:
        self.worse, self.coins = worse, coins

    def sample(self, wrong, mask, generator):
        device = wrong.device
        right = ~wrong if mask is None else mask & ~wrong
        index, found = sample_set_entries(right, wrong.numel(), self.worse, generator, device)
        base = torch.tensor([GROUND_TRUTH] + [CURRENT] * self.worse, device=device)
        flip = torch.cat([torch.tensor([-1], device=device), torch.where(found, index, -1)])
        source = generator.device if generator is not None else device
        coins = (torch.rand((self.coins, *wrong.shape), generator=generator, device=source) < 0.5).to(device)
        if mask is not None:
            coins &= mask
        return AnchorSet(base=base, flip=flip, random=AnchorBits.from_masks(coins))


class GaussianKernel(uniloss.Interpolator):
    """Weights ``exp(-d^2 / (2 sigma^2))``, normalised: a smooth kernel instead of inverse distances."""

    def __init__(self, sigma: float = 2.0) -> None:
        self.sigma = sigma

    def __call__(self, squared_distances, values):
        weights = torch.softmax(-squared_distances / (2 * self.sigma**2), dim=0)
        return (weights * values.to(weights.dtype)).sum()


class RightPairs(uniloss.MetricRefactoring):
    """The fraction of positive-negative pairs ranked right (AUROC), written with the dense ``evaluate`` only."""

    name = "test_right_pairs_public"

    def comparisons(self, scores, *targets):
        positive = targets[0].bool()
        return uniloss.Comparisons(scores[positive].unsqueeze(1) - scores[~positive].unsqueeze(0))

    def evaluate(self, binaries, comparisons):
        right = (binaries > 0).flatten(1).double().sum(1)
        total = binaries[0].numel()
        return right / total if total else torch.ones_like(right)  # no pair: nothing ranked wrong


PARTS = {
    "relax": (Hardtanh(0.5), {"metric": uniloss.metrics.AveragePrecision()}),
    "anchors": (WorseAnchors(), {"metric": uniloss.metrics.AveragePrecision()}),
    "interpolator": (GaussianKernel(), {"metric": uniloss.metrics.AveragePrecision()}),
    "metric": (RightPairs(), {}),
}


def _batch(seed=0, n=16, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randn(n, 5, generator=g, dtype=dtype)
    labels = (torch.rand(n, generator=g) < 0.4).long()
    labels[:2] = torch.tensor([1, 0])
    return inputs, labels


def _options(kind, part):
    if kind == "metric":
        return {"metric": part}
    return {kind: part, **PARTS[kind][1]}


@pytest.mark.parametrize("kind", PARTS)
def test_a_custom_part_trains_a_step_through_uniloss(kind):
    part = PARTS[kind][0]
    inputs, labels = _batch()
    model = torch.nn.Linear(5, 1).double()
    before = model.weight.detach().clone()
    criterion = uniloss.UniLoss(**_options(kind, part), generator=torch.Generator().manual_seed(1))
    assert getattr(criterion, kind) is part
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    loss = criterion(model(inputs).squeeze(1), labels)
    loss.backward()
    assert 0 <= float(loss.detach()) <= 1
    assert torch.isfinite(model.weight.grad).all()
    assert model.weight.grad.abs().sum() > 0
    optimizer.step()
    assert not torch.equal(model.weight, before)


@pytest.mark.parametrize("kind", PARTS)
def test_a_custom_part_gives_the_dense_reference_value_and_gradient(kind):
    part = PARTS[kind][0]
    options = {
        "relax": uniloss.Sigmoid(0.7),
        "anchors": PaperAnchors(good=4, nearby=4, bad=4),
        "interpolator": uniloss.InverseDistanceWeighting(1.5),
        "metric": uniloss.metrics.AveragePrecision(),
    }
    options.update(_options(kind, part))
    scores = torch.randn(14, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    labels = _batch(n=14)[1]
    results = []
    for fn in (uniloss.uniloss, dense_uniloss):
        s = scores.clone().requires_grad_()
        loss = fn(s, labels, generator=torch.Generator().manual_seed(4), **options)
        loss.backward()
        results.append((loss.detach(), s.grad))
    torch.testing.assert_close(results[0][0], results[1][0])
    torch.testing.assert_close(results[0][1], results[1][1])


def test_the_custom_metric_passes_check_metric_with_a_reference():
    scores, labels = torch.tensor([0.9, -0.3, 0.4, -1.2, 0.1]), torch.tensor([1, 0, 0, 1, 1])

    def auroc(s, y):
        pos, neg = s[y.bool()], s[~y.bool()]
        return float((pos.unsqueeze(1) > neg.unsqueeze(0)).double().mean())

    report = uniloss.verify_metric(RightPairs(), scores, labels, reference=auroc)
    assert report.layout == (3, 2)
    assert any(check.startswith("counts: skipped") for check in report.checks)


def test_the_custom_relaxation_gets_its_slope_from_autograd():
    values = torch.tensor([-2.0, -0.2, 0.0, 0.3, 2.0])
    to_right, to_wrong, slope = Hardtanh(0.5).distances_with_slope(values)
    torch.testing.assert_close(to_right + to_wrong, torch.full_like(values, 2.0))
    torch.testing.assert_close(slope, torch.tensor([0.0, 2.0, 2.0, 2.0, 0.0]))


def test_the_custom_sampler_draws_worse_anchors_of_the_current_configuration():
    wrong = torch.tensor([[True, False, False], [False, False, True]])
    drawn = WorseAnchors(worse=20, coins=5).sample(wrong, None, torch.Generator().manual_seed(0))
    assert drawn.num_anchors == 26
    dense = drawn.materialise(wrong)
    assert not dense[0].any()  # the ground truth
    for anchor in dense[1:21]:  # the current configuration and one more wrong binary
        assert torch.all(anchor >= wrong)
        assert int((anchor & ~wrong).sum()) == 1


def test_the_custom_parts_import_nothing_private():
    tree = ast.parse(pathlib.Path(__file__).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert not any(part.startswith("_") for part in (node.module or "").split("."))
            assert not any(alias.name.startswith("_") for alias in node.names)
        elif isinstance(node, ast.Import):
            assert not any(part.startswith("_") for alias in node.names for part in alias.name.split("."))
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "uniloss":
            assert not node.attr.startswith("_") or node.attr.endswith("__"), node.attr


@pytest.mark.parametrize(
    ("name", "package"),
    [
        ("Relaxation", "relaxations"),
        ("AnchorSampler", "anchors"),
        ("Interpolator", "interpolators"),
        ("MetricRefactoring", "metrics"),
    ],
)
def test_the_four_base_classes_are_exported_together_and_abstract(name, package):
    base = getattr(uniloss, name)
    assert name in uniloss.__all__
    assert getattr(getattr(uniloss, package), name) is base
    assert name in getattr(uniloss, package).__all__
    with pytest.raises(TypeError, match="abstract"):
        base()


@pytest.mark.parametrize("size", [16, 2048], ids=["small-dense-path", "large-distance-sums-path"])
def test_a_custom_interpolator_with_only_call_trains_on_small_and_large_batches(size):
    scores = torch.randn(size, generator=torch.Generator().manual_seed(5), dtype=torch.float64).requires_grad_()
    labels = _batch(n=size)[1]
    metric = uniloss.metrics.AveragePrecision()
    anchors = PaperAnchors()
    binaries = metric.comparisons(scores, labels).values.numel()
    assert (binaries * 49 > 1 << 18) == (size > 16)  # the engine's two paths
    loss = uniloss.UniLoss(metric, anchors=anchors, interpolator=GaussianKernel(), generator=torch.Generator())(
        scores, labels
    )
    loss.backward()
    assert 0 <= float(loss) <= 1
    assert torch.isfinite(scores.grad).all()
    assert scores.grad.abs().sum() > 0


@pytest.mark.parametrize("make", [uniloss.UniLoss, uniloss.metrics.DefaultParts], ids=["UniLoss", "DefaultParts"])
def test_a_plain_function_as_interpolator_is_refused_at_construction_saying_what_to_do(make):
    def nearest(squared_distances, values):
        return values[squared_distances.argmin()]

    options = {"metric": uniloss.metrics.AveragePrecision()} if make is uniloss.UniLoss else {}
    with pytest.raises(
        TypeError,
        match=r"`interpolator` must be a uniloss Interpolator .*subclass Interpolator and "
        r"implement __call__, but got function .*nearest\.",
    ):
        make(interpolator=nearest, **options)


class _Step(uniloss.Relaxation):
    """A relaxation without a graph: the exact step."""

    def distances(self, values):
        binaries = torch.where(values > 0, 1.0, -1.0).to(values.dtype)
        return 1 - binaries, 1 + binaries


class _Nearest(uniloss.Interpolator):
    """An interpolator without a graph: the value of the nearest anchor."""

    def __call__(self, squared_distances, values):
        return values[squared_distances.argmin()].to(squared_distances.dtype)


@pytest.mark.parametrize("size", [16, 2048], ids=["small-path", "large-path"])
@pytest.mark.parametrize("part", ["relax", "interpolator"])
def test_a_part_without_a_graph_gives_a_zero_gradient_not_an_error(part, size):
    scores = torch.randn(size, generator=torch.Generator().manual_seed(0), requires_grad=True)
    labels = torch.arange(size) % 2
    options = {"relax": _Step()} if part == "relax" else {"interpolator": _Nearest()}
    criterion = uniloss.UniLoss(uniloss.metrics.AUROC(), generator=torch.Generator().manual_seed(0), **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the saturation warning, for the step
        loss = criterion(scores, labels)
    assert torch.isfinite(loss)
    loss.backward()
    assert torch.equal(scores.grad, torch.zeros_like(scores))
