import pytest
import torch
from torch import nn

from uniloss_lab.models import ResNet20


def _num_parameters(model):
    return sum(parameter.numel() for parameter in model.parameters())


def test_resnet20_has_about_270k_parameters():
    assert 260_000 <= _num_parameters(ResNet20()) <= 280_000


def test_resnet20_has_20_weighted_layers_and_parameter_free_shortcuts():
    model = ResNet20()
    convs = [module for module in model.modules() if isinstance(module, nn.Conv2d)]
    linears = [module for module in model.modules() if isinstance(module, nn.Linear)]
    assert len(convs) + len(linears) == 20
    assert all(conv.kernel_size == (3, 3) for conv in convs)
    assert sorted({conv.out_channels for conv in convs}) == [16, 32, 64]


def test_resnet20_returns_logits_for_cifar_images():
    logits = ResNet20(num_classes=10)(torch.randn(2, 3, 32, 32))
    assert logits.shape == (2, 10)
    assert logits.dtype == torch.float32


def test_resnet20_with_one_class_returns_one_score_per_sample():
    assert ResNet20(num_classes=1, in_channels=1)(torch.randn(2, 1, 16, 16)).shape == (2,)


def test_resnet20_conv_weights_follow_kaiming_fan_in_scale():
    model = ResNet20()
    conv = model.stages[-1].conv2  # 64 * 3 * 3 = 576 inputs per unit, 36,864 weights
    expected_std = (2.0 / 576) ** 0.5
    assert conv.weight.std().item() == pytest.approx(expected_std, rel=0.05)


def test_resnet20_in_float64_returns_float64():
    model = ResNet20().double()
    assert model(torch.randn(2, 3, 8, 8, dtype=torch.float64)).dtype == torch.float64


@pytest.mark.grad
def test_resnet20_backward_gives_finite_gradients_for_every_parameter(assert_finite_grads):
    model = ResNet20()
    model(torch.randn(2, 3, 32, 32)).logsumexp(dim=1).sum().backward()
    assert_finite_grads(model)
