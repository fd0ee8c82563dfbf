import pytest
import torch
from torch import nn

from uniloss_lab.models import MLP


def test_mlp_defaults_are_the_papers_784_500_300_1_layers():
    linears = [module for module in MLP().modules() if isinstance(module, nn.Linear)]
    assert [(layer.in_features, layer.out_features) for layer in linears] == [(784, 500), (500, 300), (300, 1)]


def test_mlp_uses_relu_between_layers_and_none_after_the_last():
    model = MLP(in_features=4, hidden=(3, 2), out_features=1)
    kinds = [type(module) for module in model.layers]
    assert kinds == [nn.Flatten, nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]


def test_mlp_flattens_images_and_returns_one_score_per_sample():
    scores = MLP()(torch.randn(3, 1, 28, 28))
    assert scores.shape == (3,)
    assert scores.dtype == torch.float32


def test_mlp_returns_b_by_out_features_when_out_features_is_above_one():
    assert MLP(in_features=6, hidden=(5,), out_features=4)(torch.randn(2, 6)).shape == (2, 4)


def test_mlp_with_empty_hidden_is_a_single_linear_layer():
    model = MLP(in_features=6, hidden=(), out_features=2)
    assert [type(module) for module in model.layers] == [nn.Flatten, nn.Linear]
    assert model(torch.randn(2, 2, 3)).shape == (2, 2)


def test_mlp_keeps_a_batch_of_one_as_shape_1():
    assert MLP(in_features=4, hidden=(3,))(torch.randn(1, 4)).shape == (1,)


def test_mlp_in_float64_returns_float64():
    model = MLP(in_features=4, hidden=(3,)).double()
    assert model(torch.randn(2, 4, dtype=torch.float64)).dtype == torch.float64


@pytest.mark.grad
def test_mlp_backward_gives_finite_gradients_for_every_parameter(assert_finite_grads):
    model = MLP()
    model(torch.randn(4, 1, 28, 28)).sum().backward()
    assert_finite_grads(model)
