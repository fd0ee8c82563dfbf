import re

import pytest
import torch

from uniloss_lab.models import MLP, ResNet20, SmallCNN, StackedHourglass, UNet, build_model


@pytest.mark.parametrize(
    ("name", "cls"),
    [("mlp", MLP), ("small_cnn", SmallCNN), ("resnet20", ResNet20), ("hourglass", StackedHourglass), ("unet", UNet)],
)
def test_build_model_returns_the_named_class(name, cls):
    assert type(build_model(name)) is cls


def test_build_model_passes_keyword_arguments_to_the_constructor():
    model = build_model("small_cnn", in_channels=3, num_classes=4, width=8)
    assert (model.in_channels, model.num_classes, model.width) == (3, 4, 8)


def test_build_model_with_unknown_name_lists_the_valid_names():
    expected = "`name` must be one of ['hourglass', 'mlp', 'resnet20', 'small_cnn', 'unet'], but got 'vgg16'."
    with pytest.raises(ValueError, match=re.escape(expected)):
        build_model("vgg16")


CONSTRUCTOR_ERRORS = [
    (lambda: MLP(in_features=0), ValueError, "`in_features` must be a positive int, but got 0."),
    (lambda: MLP(out_features=-1), ValueError, "`out_features` must be a positive int, but got -1."),
    (lambda: MLP(hidden=(500, 0)), ValueError, "`hidden[1]` must be a positive int, but got 0."),
    (lambda: MLP(hidden=500), TypeError, "`hidden` must be a sequence of positive ints, but got int 500."),
    (lambda: MLP(hidden=(2.5,)), TypeError, "`hidden[0]` must be a positive int, but got float 2.5."),
    (lambda: MLP(in_features=True), TypeError, "`in_features` must be a positive int, but got bool True."),
    (lambda: SmallCNN(num_classes=0), ValueError, "`num_classes` must be a positive int, but got 0."),
    (lambda: SmallCNN(width=-4), ValueError, "`width` must be a positive int, but got -4."),
    (lambda: SmallCNN(in_channels=0), ValueError, "`in_channels` must be a positive int, but got 0."),
    (lambda: ResNet20(num_classes=0), ValueError, "`num_classes` must be a positive int, but got 0."),
    (lambda: ResNet20(in_channels=0), ValueError, "`in_channels` must be a positive int, but got 0."),
    (lambda: StackedHourglass(num_joints=0), ValueError, "`num_joints` must be a positive int, but got 0."),
    (lambda: StackedHourglass(num_stacks=0), ValueError, "`num_stacks` must be a positive int, but got 0."),
    (lambda: StackedHourglass(width=0), ValueError, "`width` must be a positive int, but got 0."),
    (lambda: StackedHourglass(depth=0), ValueError, "`depth` must be a positive int, but got 0."),
    (lambda: StackedHourglass(in_channels=0), ValueError, "`in_channels` must be a positive int, but got 0."),
    (lambda: StackedHourglass(stem_stride=3), ValueError, "`stem_stride` must be one of (1, 2, 4), but got 3."),
    (lambda: StackedHourglass(stem_stride=True), ValueError, "`stem_stride` must be one of (1, 2, 4), but got True."),
    (
        lambda: build_model("resnet20", num_classes=0),
        ValueError,
        "`num_classes` must be a positive int, but got 0.",
    ),
]


@pytest.mark.parametrize(("make", "error", "message"), CONSTRUCTOR_ERRORS)
def test_invalid_constructor_argument_raises_naming_argument_expectation_and_value(make, error, message):
    with pytest.raises(error, match=re.escape(message)):
        make()


FORWARD_ERRORS = [
    (
        MLP(in_features=4, hidden=(3,)),
        torch.randn(2, 5),
        "`inputs` must have shape (B, *) with trailing dimensions multiplying to in_features=4, but got (2, 5).",
    ),
    (
        MLP(in_features=4, hidden=(3,)),
        torch.randn(4),
        "`inputs` must have shape (B, *) with trailing dimensions multiplying to in_features=4, but got (4,).",
    ),
    (
        SmallCNN(in_channels=1, width=4),
        torch.randn(2, 3, 8, 8),
        "`inputs` must have shape (B, 1, H, W), but got (2, 3, 8, 8).",
    ),
    (
        SmallCNN(in_channels=1, width=4),
        torch.randn(1, 8, 8),
        "`inputs` must have shape (B, 1, H, W), but got (1, 8, 8).",
    ),
    (ResNet20(), torch.randn(2, 1, 32, 32), "`inputs` must have shape (B, 3, H, W), but got (2, 1, 32, 32)."),
    (
        StackedHourglass(num_joints=2, num_stacks=1, width=8, depth=2),
        torch.randn(1, 1, 16, 16),
        "`inputs` must have shape (B, 3, H, W), but got (1, 1, 16, 16).",
    ),
    (
        StackedHourglass(num_joints=2, num_stacks=1, width=8, depth=2),
        torch.randn(1, 3, 60, 64),
        "`inputs` must have H and W divisible by stem_stride * 2**depth = 16, but got shape (1, 3, 60, 64).",
    ),
    (
        StackedHourglass(num_joints=2, num_stacks=1, width=8, depth=3, stem_stride=1),
        torch.randn(1, 3, 16, 12),
        "`inputs` must have H and W divisible by stem_stride * 2**depth = 8, but got shape (1, 3, 16, 12).",
    ),
]


@pytest.mark.parametrize(("model", "inputs", "message"), FORWARD_ERRORS)
def test_invalid_input_shape_raises_value_error_naming_expected_and_received_shape(model, inputs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        model(inputs)
