"""AveragePrecision(layout="static"): all N x N pairs with a mask, no device sync."""

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import uniloss
from uniloss.anchors import PaperAnchors
from uniloss.engine.reference import dense_uniloss
from uniloss.metrics import AveragePrecision


@st.composite
def _batches(draw):
    n = draw(st.integers(1, 12))
    scores = draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n))  # many ties
    targets = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    return torch.tensor(scores, dtype=torch.float64), torch.tensor(targets)


@settings(max_examples=60, deadline=None)
@given(batch=_batches(), mode=st.sampled_from(["step", "interpolated"]))
def test_static_layout_gives_the_exact_ap_of_the_hard_configuration(batch, mode):
    scores, targets = batch
    metric = AveragePrecision(mode=mode, layout="static")
    c = metric.comparisons(scores, targets)
    exact = metric.evaluate(uniloss.HardStep()(c.values)[None], c)[0]
    assert exact.item() == pytest.approx(
        uniloss.exact.average_precision(scores, targets, mode, ties="pessimistic").item()
    )


@settings(max_examples=25, deadline=None)
@given(batch=_batches(), seed=st.integers(0, 1000))
def test_static_layout_engine_equals_the_dense_reference(batch, seed):
    scores, targets = batch
    parts = {
        "relax": uniloss.Sigmoid(0.7),
        "anchors": PaperAnchors(good=3, nearby=3, bad=3, current=1),
        "interpolator": uniloss.InverseDistanceWeighting(2.0),
    }
    metric = AveragePrecision(layout="static")
    losses, grads = [], []
    for fn in (uniloss.uniloss, dense_uniloss):
        s = scores.clone().requires_grad_()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loss = fn(s, targets, metric=metric, generator=torch.Generator().manual_seed(seed), **parts)
        loss.backward()
        losses.append(loss)
        grads.append(s.grad)
    torch.testing.assert_close(losses[0], losses[1])
    torch.testing.assert_close(grads[0], grads[1])


@pytest.mark.grad
def test_static_layout_passes_gradcheck():
    scores = torch.randn(7, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    targets = torch.tensor([1, 0, 0, 1, 0, 1, 0])

    def loss(s):
        return uniloss.uniloss(
            s,
            targets,
            metric=AveragePrecision(layout="static"),
            anchors=PaperAnchors(good=4, nearby=4, bad=4),
            generator=torch.Generator().manual_seed(0),
        )

    assert torch.autograd.gradcheck(loss, (scores,))


def test_static_and_compact_layouts_agree_in_the_limit():
    scores = torch.randn(40, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    targets = (torch.rand(40, generator=torch.Generator().manual_seed(2)) < 0.3).long()
    anchors = PaperAnchors(good=4, nearby=4, bad=4, current=1)
    losses = [
        uniloss.uniloss(
            scores,
            targets,
            metric=AveragePrecision(layout=layout),
            relax=uniloss.Sigmoid(1e-4),
            anchors=anchors,
            generator=torch.Generator().manual_seed(0),
        )
        for layout in ("compact", "static")
    ]
    expected = 1 - uniloss.exact.average_precision(scores, targets).double()
    for loss in losses:
        assert loss.item() == pytest.approx(expected.item(), abs=1e-6)


def test_an_unknown_layout_is_refused():
    with pytest.raises(ValueError, match=r"`layout` must be one of \('compact', 'static'\), but got 'dense'"):
        AveragePrecision(layout="dense")


@pytest.mark.gpu
def test_static_ap_runs_without_host_device_synchronisation():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    scores = torch.randn(1024, device="cuda", requires_grad=True)
    targets = (torch.rand(1024, device="cuda") < 0.1).long()
    criterion = uniloss.UniLoss(
        AveragePrecision(layout="static"), validate_args=False, generator=torch.Generator("cuda").manual_seed(0)
    )
    criterion(scores, targets).backward()
    torch.cuda.set_sync_debug_mode("error")
    try:
        criterion(scores, targets).backward()
    finally:
        torch.cuda.set_sync_debug_mode("default")
