import pytest
import torch

from uniloss import InverseDistanceWeighting


def test_equal_distances_average_the_values():
    out = InverseDistanceWeighting(power=3.0)(torch.tensor([2.0, 2.0, 2.0]), torch.tensor([0.0, 0.3, 0.9]))
    assert out.item() == pytest.approx(0.4)


def test_weights_are_inverse_distances_to_the_power():
    squared = torch.tensor([1.0, 4.0], dtype=torch.float64)
    values = torch.tensor([1.0, 0.0], dtype=torch.float64)
    for power in (1.0, 2.0, 4.0):
        w = squared ** (-power / 2)
        expected = (w * values).sum() / w.sum()
        assert InverseDistanceWeighting(power)(squared, values).item() == pytest.approx(expected.item())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("power", [1.0, 2.0, 8.0])
def test_at_an_anchor_the_value_is_the_anchors_and_the_gradient_is_finite(dtype, power):
    squared = torch.tensor([0.0, 1e-3, 4.0, 1e6], dtype=dtype, requires_grad=True)
    values = torch.tensor([0.25, 1.0, 0.0, 1.0], dtype=dtype)
    out = InverseDistanceWeighting(power)(squared, values)
    out.backward()
    assert out.item() == pytest.approx(0.25, abs=1e-6)
    assert torch.all(torch.isfinite(squared.grad))


@pytest.mark.grad
def test_idw_passes_gradcheck():
    squared = torch.tensor([0.5, 1.3, 2.0], dtype=torch.float64, requires_grad=True)
    values = torch.tensor([0.1, 0.7, 0.4], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda d: InverseDistanceWeighting(2.0)(d, values), (squared,))


@pytest.mark.parametrize(
    ("power", "error"), [(0.0, ValueError), (-1.0, ValueError), (float("nan"), ValueError), ("2", TypeError)]
)
def test_invalid_power_is_refused(power, error):
    with pytest.raises(error, match="`power` must be a positive float"):
        InverseDistanceWeighting(power)


def test_equal_values_are_returned_exactly_despite_rounding_of_the_weights():
    assert InverseDistanceWeighting()(torch.full((10,), 4.0), torch.ones(10)).item() == 1.0


@pytest.mark.parametrize("values", [[0.1, 0.7, 0.4, 0.9], [0.5, 0.5, 0.5, 0.5]])
def test_value_and_slope_equal_autograd_of_the_formula(values):
    squared = torch.tensor([0.5, 1.3, 2.0, 1e-12], dtype=torch.float64)
    values = torch.tensor(values, dtype=torch.float64)
    idw = InverseDistanceWeighting(1.5)
    value, slope = idw.value_and_slope(squared, values)
    leaf = squared.clone().requires_grad_()
    expected = idw(leaf, values.clone().requires_grad_())  # values with a gradient: autograd through the formula
    (expected_slope,) = torch.autograd.grad(expected, leaf)
    torch.testing.assert_close(value, expected.detach())
    torch.testing.assert_close(slope, expected_slope)
