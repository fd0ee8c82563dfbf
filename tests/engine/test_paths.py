"""The engine's two paths: every anchor materialised (small problems) and the structured one (large problems).

Each is forced here on small batches (``_SMALL_ENTRIES``) and checked against the dense reference, with gradcheck,
and on CUDA for the absence of host-device syncs and for capture in a CUDA graph.
"""

import pytest
import torch

import uniloss
from uniloss.anchors import PaperAnchors, StructuredAnchors
from uniloss.engine import distances as engine_distances
from uniloss.engine import loss as engine_loss
from uniloss.engine.reference import dense_uniloss
from uniloss.metrics import PCK, Accuracy, AveragePrecision


def _ap(g, dtype, n=30):
    targets = (torch.rand(n, generator=g) < 0.3).long()
    targets[:2] = torch.tensor([1, 0])
    return torch.randn(n, generator=g, dtype=dtype), (targets,)


def _ap_with_ties(g, dtype):
    targets = (torch.rand(30, generator=g) < 0.4).long()
    targets[:2] = torch.tensor([1, 0])
    return torch.randint(-2, 3, (30,), generator=g).to(dtype), (targets,)


def _accuracy(g, dtype, n=12):
    return torch.randn(n, 7, generator=g, dtype=dtype), (torch.randint(0, 7, (n,), generator=g),)


def _pck(g, dtype):
    heatmaps = torch.randn(2, 3, 7, 6, generator=g, dtype=dtype)
    joints = torch.rand(2, 3, 2, generator=g, dtype=dtype) * 6
    return heatmaps, (joints, torch.tensor([[True, False, True], [True, True, True]]), torch.tensor([3.0, 5.0]))


CASES = {
    "ap": (AveragePrecision(), _ap),
    "ap-ties": (AveragePrecision(mode="interpolated"), _ap_with_ties),
    "ap-static": (AveragePrecision(layout="static"), _ap),
    "accuracy": (Accuracy(num_classes=7), _accuracy),
    "accuracy-candidates": (Accuracy(num_classes=7, candidates=3), _accuracy),
    "pck": (PCK(threshold=0.5), _pck),
}
ANCHORS = {
    "paper": PaperAnchors(good=5, nearby=5, bad=11, current=1),
    "structured": StructuredAnchors(good=3, nearby=3, bad=5, rows=3, halfway=2),
    "no-random": PaperAnchors(good=4, nearby=4, bad=0),
}


@pytest.fixture(params=["small", "large"])
def path(request, monkeypatch):
    """Force one path; the large one in chunks of a few rows, so that several chunks add up."""
    if request.param == "small":
        monkeypatch.setattr(engine_loss, "_SMALL_ENTRIES", 1 << 40)
    else:
        monkeypatch.setattr(engine_loss, "_SMALL_ENTRIES", 0)
        monkeypatch.setattr(engine_distances, "_ROW_CHUNK_ENTRIES", {"cpu": 40, "cuda": 40})
    return request.param


@pytest.mark.parametrize("anchors", ANCHORS)
@pytest.mark.parametrize("case", CASES)
def test_each_path_equals_the_dense_reference_in_value_and_gradient(path, case, anchors, device):
    metric, make = CASES[case]
    parts = {
        "relax": uniloss.Sigmoid(0.5),
        "anchors": ANCHORS[anchors],
        "interpolator": uniloss.InverseDistanceWeighting(2),
    }
    for seed in range(2 if anchors == "paper" else 1):
        scores, targets = make(torch.Generator().manual_seed(seed), torch.float64)
        targets = tuple(t.to(device) for t in targets)
        results = []
        for fn in (uniloss.uniloss, dense_uniloss):
            s = scores.clone().to(device).requires_grad_()
            loss = fn(s, *targets, metric=metric, generator=torch.Generator(device).manual_seed(seed), **parts)
            loss.backward()
            results.append((loss, s.grad))
        torch.testing.assert_close(results[0][0], results[1][0])
        torch.testing.assert_close(results[0][1], results[1][1])


@pytest.mark.parametrize("case", ["ap", "ap-static", "accuracy"])
def test_each_path_on_a_saturated_batch_returns_the_anchor_value(path, case):
    metric, make = CASES[case]
    scores, targets = make(torch.Generator().manual_seed(3), torch.float32)
    scores = (scores * 1e4).requires_grad_()
    c = metric.comparisons(scores.detach(), *targets)
    exact = 1 - metric.evaluate(uniloss.HardStep()(c.values)[None], c)[0]
    loss = uniloss.uniloss(
        scores,
        *targets,
        metric=metric,
        relax=uniloss.Sigmoid(0.01),
        anchors=PaperAnchors(current=1),
        generator=torch.Generator().manual_seed(0),
    )
    loss.backward()
    assert abs(loss.item() - exact.item()) < 1e-6
    assert torch.all(torch.isfinite(scores.grad))


@pytest.mark.grad
@pytest.mark.parametrize("case", ["ap", "ap-static", "accuracy"])  # PCK: covered by the reference
def test_each_path_passes_gradcheck(path, case):
    metric, make = CASES[case]
    scores, targets = make(torch.Generator().manual_seed(5), torch.float64, n=10)

    def loss(s):
        return uniloss.uniloss(
            s,
            *targets,
            metric=metric,
            relax=uniloss.Sigmoid(0.7),
            anchors=PaperAnchors(good=4, nearby=4, bad=9, current=1),
            generator=torch.Generator().manual_seed(0),
        )

    assert torch.autograd.gradcheck(loss, (scores.requires_grad_(),))


def test_each_path_refuses_a_second_backward_clearly(path):
    scores, (targets,) = _ap(torch.Generator().manual_seed(0), torch.float32)
    scores.requires_grad_()
    loss = uniloss.uniloss(scores, targets, metric=AveragePrecision(), generator=torch.Generator().manual_seed(0))
    (grad,) = torch.autograd.grad(loss, scores, create_graph=True)
    with pytest.raises(RuntimeError, match="marked with @once_differentiable"):
        grad.sum().backward()


def test_the_default_path_follows_the_size_of_the_layout(monkeypatch):
    calls = []
    for name in ("dense_interpolation", "squared_distances"):
        real = getattr(engine_loss, name)
        monkeypatch.setattr(
            engine_loss, name, lambda *a, _name=name, _real=real, **k: calls.append(_name) or _real(*a, **k)
        )
    for n in (128, 4096):
        targets = (torch.arange(n) % 10 == 0).long()
        uniloss.uniloss(torch.randn(n), targets, metric=AveragePrecision(), generator=torch.Generator().manual_seed(0))
    assert calls == ["dense_interpolation", "squared_distances"]  # 13 x 115 x 49 entries, then 410 x 3686 x 49


def _no_sync_cases():
    return {
        "ap-static-small": (
            AveragePrecision(layout="static"),
            lambda: torch.randn(64),
            lambda: torch.arange(64) % 7 == 0,
        ),
        "ap-static-large": (
            AveragePrecision(layout="static"),
            lambda: torch.randn(1024),
            lambda: torch.arange(1024) % 9 == 0,
        ),
        "accuracy-small": (Accuracy(num_classes=10), lambda: torch.randn(128, 10), lambda: torch.arange(128) % 10),
        "accuracy-large": (Accuracy(num_classes=1000), lambda: torch.randn(1024, 1000), lambda: torch.arange(1024)),
    }


@pytest.mark.gpu
@pytest.mark.parametrize("case", list(_no_sync_cases()))
def test_static_layouts_run_both_paths_without_host_device_synchronisation(case):
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    metric, scores, targets = _no_sync_cases()[case]
    scores = scores().cuda().requires_grad_()
    targets = targets().long().cuda()
    criterion = uniloss.UniLoss(metric, validate_args=False, generator=torch.Generator("cuda").manual_seed(0))
    criterion(scores, targets).backward()  # warm-up: cached constants, allocator
    torch.cuda.set_sync_debug_mode("error")
    try:
        criterion(scores, targets).backward()
    finally:
        torch.cuda.set_sync_debug_mode("default")


@pytest.mark.gpu
@pytest.mark.parametrize("batch", [64, 2048])  # the small path (64 x 64 x 49 entries), then the large one
def test_a_training_step_with_a_static_layout_is_captured_in_a_cuda_graph(batch):
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1)).cuda()
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1)
    criterion = uniloss.UniLoss(AveragePrecision(layout="static"), validate_args=False)  # default generator: capturable
    inputs = torch.randn(batch, 16, device="cuda")
    labels = (torch.rand(batch, device="cuda") < 0.2).long()

    def step() -> torch.Tensor:
        optimiser.zero_grad(set_to_none=False)
        loss = criterion(model(inputs).squeeze(1), labels)
        loss.backward()
        optimiser.step()
        return loss

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        captured = step()
    before = [p.detach().clone() for p in model.parameters()]
    losses = []
    for seed in range(3):
        inputs.copy_(torch.randn(batch, 16, generator=torch.Generator().manual_seed(seed)).cuda())
        graph.replay()
        losses.append(captured.item())
    assert all(0 <= value <= 1 for value in losses)
    assert any(not torch.equal(a, p) for a, p in zip(before, model.parameters(), strict=True))
    eager = criterion(model(inputs).squeeze(1), labels)
    assert abs(eager.item() - losses[-1]) < 0.5  # same batch, other anchors and one more update


@pytest.mark.slow  # compiles four kernels: tens of seconds on a CPU
def test_compiled_kernels_give_the_eager_loss_and_gradient(path):
    metric, make = CASES["ap-static"]
    scores, targets = make(torch.Generator().manual_seed(0), torch.float32)
    results = []
    for compile in (False, True):
        s = scores.clone().requires_grad_()
        criterion = uniloss.UniLoss(metric, generator=torch.Generator().manual_seed(1), compile=compile)
        loss = criterion(s, *targets)
        loss.backward()
        results.append((loss.detach(), s.grad))
    torch.testing.assert_close(results[0][0], results[1][0])
    torch.testing.assert_close(results[0][1], results[1][1])
    assert "compile=True" in repr(uniloss.UniLoss(metric, compile=True))
