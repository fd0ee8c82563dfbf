import pytest
import torch


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def assert_finite_grads():
    """Return a checker: every parameter of ``model`` has a gradient, and all its entries are finite."""

    def check(model):
        for name, parameter in model.named_parameters():
            assert parameter.grad is not None, f"{name} has no gradient"
            assert torch.isfinite(parameter.grad).all(), f"{name} has a non-finite gradient"

    return check
