import pytest
import torch

from uniloss import HardStep, Sigmoid


def test_sigmoid_is_twice_the_sigmoid_minus_one_and_its_distances_sum_to_two():
    c = torch.linspace(-5, 5, 11, dtype=torch.float64)
    relax = Sigmoid(temperature=2.0)
    torch.testing.assert_close(relax(c), 2 * torch.sigmoid(c / 2) - 1)
    to_right, to_wrong = relax.distances(c)
    torch.testing.assert_close(to_right + to_wrong, torch.full_like(c, 2.0))


def test_sigmoid_distances_keep_precision_where_the_binary_saturates():
    to_right, _ = Sigmoid(1.0).distances(torch.tensor([40.0]))
    assert 0 < to_right.item() < 1e-16  # 1 - b would be exactly 0 in float32


def test_sigmoid_tends_to_the_hard_step_as_temperature_goes_to_zero():
    c = torch.tensor([-1.0, -0.01, 0.02, 3.0], dtype=torch.float64)
    torch.testing.assert_close(Sigmoid(1e-4)(c), HardStep()(c))


def test_hard_step_counts_a_tie_as_wrong():
    assert HardStep()(torch.tensor([0.0])).item() == -1.0


@pytest.mark.parametrize(
    ("temperature", "error"), [(0, ValueError), (-0.1, ValueError), (float("inf"), ValueError), (None, TypeError)]
)
def test_invalid_temperature_is_refused(temperature, error):
    with pytest.raises(error, match="`temperature` must be a positive float"):
        Sigmoid(temperature)
