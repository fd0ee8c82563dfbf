import pytest
import torch

from uniloss_lab.models import SmallCNN


@pytest.mark.parametrize(("in_channels", "size"), [(1, 8), (1, 28), (3, 32)])
def test_small_cnn_returns_logits_for_8_28_and_32_pixel_images(in_channels, size):
    logits = SmallCNN(in_channels=in_channels, num_classes=10, width=8)(torch.randn(2, in_channels, size, size))
    assert logits.shape == (2, 10)
    assert logits.dtype == torch.float32


def test_small_cnn_with_one_class_returns_one_score_per_sample():
    assert SmallCNN(num_classes=1, width=8)(torch.randn(3, 1, 8, 8)).shape == (3,)


def test_small_cnn_width_sets_channels_of_the_three_blocks():
    model = SmallCNN(in_channels=3, num_classes=5, width=4)
    convs = [module for module in model.modules() if isinstance(module, torch.nn.Conv2d)]
    assert [(conv.in_channels, conv.out_channels) for conv in convs] == [(3, 4), (4, 8), (8, 16)]
    assert model.head.in_features == 16


def test_small_cnn_in_float64_returns_float64():
    model = SmallCNN(width=4).double()
    assert model(torch.randn(2, 1, 8, 8, dtype=torch.float64)).dtype == torch.float64


@pytest.mark.grad
def test_small_cnn_backward_gives_finite_gradients_for_every_parameter(assert_finite_grads):
    model = SmallCNN(in_channels=1, num_classes=10)
    model(torch.randn(2, 1, 28, 28)).logsumexp(dim=1).sum().backward()
    assert_finite_grads(model)
