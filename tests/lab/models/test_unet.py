import pytest
import torch
import torch.nn.functional as F

from uniloss_lab.data.shapes import SyntheticShapes
from uniloss_lab.models.unet import UNet


@pytest.mark.parametrize(("in_channels", "num_classes", "size"), [(1, 4, (32, 32)), (3, 2, (64, 48)), (1, 3, (16, 16))])
def test_unet_returns_one_logit_per_pixel_and_class(in_channels, num_classes, size):
    logits = UNet(in_channels, num_classes, width=4)(torch.randn(2, in_channels, *size))
    assert logits.shape == (2, num_classes, *size)
    assert logits.dtype == torch.float32


def test_unet_with_one_class_returns_one_binary_logit_per_pixel():
    assert UNet(num_classes=1, width=4, depth=2)(torch.randn(3, 1, 16, 16)).shape == (3, 16, 16)


@pytest.mark.parametrize("size", [(17, 17), (21, 30), (5, 3), (1, 1)])
def test_unet_handles_sizes_that_are_not_a_multiple_of_two_to_the_depth(size):
    model = UNet(num_classes=3, width=4, depth=3).eval()
    images = torch.randn(2, 1, *size)
    logits = model(images)
    assert logits.shape == (2, 3, *size)
    # padding is on the bottom and right only: the crop equals the padded image's top-left logits
    padded = F.pad(images, (0, -size[1] % 8, 0, -size[0] % 8))
    torch.testing.assert_close(logits, model(padded)[..., : size[0], : size[1]])


def test_unet_width_and_depth_set_the_channels_of_each_level():
    model = UNet(in_channels=3, num_classes=5, width=4, depth=2)
    assert [block[0].out_channels for block in model.encoder] == [4, 8, 16]
    assert [up.out_channels for up in model.upsample] == [4, 8]
    assert model.encoder[0][0].in_channels == 3
    assert (model.head.in_channels, model.head.out_channels) == (4, 5)


def test_unet_in_float64_returns_float64():
    model = UNet(width=4, depth=1).double()
    assert model(torch.randn(2, 1, 8, 8, dtype=torch.float64)).dtype == torch.float64


@pytest.mark.grad
def test_unet_backward_gives_finite_gradients_for_every_parameter(assert_finite_grads):
    model = UNet(in_channels=1, num_classes=3, width=4, depth=2)
    F.cross_entropy(model(torch.randn(2, 1, 16, 16)), torch.randint(0, 3, (2, 16, 16))).backward()
    assert_finite_grads(model)


def test_a_few_steps_on_eight_shapes_images_reduce_the_cross_entropy():
    images, masks = SyntheticShapes(8, image_size=16, seed=0).tensors
    model = UNet(in_channels=1, num_classes=4, width=8, depth=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(15):
        loss = F.cross_entropy(model(images), masks)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


ERRORS = [
    ("in_channels zero", {"in_channels": 0}, ValueError, r"`in_channels` must be a positive int, but got 0"),
    ("num_classes float", {"num_classes": 2.0}, TypeError, r"`num_classes` must be a positive int, but got float"),
    ("width negative", {"width": -4}, ValueError, r"`width` must be a positive int, but got -4"),
    ("depth bool", {"depth": True}, TypeError, r"`depth` must be a positive int, but got bool"),
]


@pytest.mark.parametrize(("case", "kwargs", "exception", "message"), ERRORS, ids=[row[0] for row in ERRORS])
def test_every_constructor_error_names_the_argument_the_expectation_and_the_value(case, kwargs, exception, message):
    with pytest.raises(exception, match=message):
        UNet(**kwargs)


@pytest.mark.parametrize(
    ("inputs", "exception", "message"),
    [
        (torch.randn(2, 3, 8, 8), ValueError, r"`inputs` must have shape \(B, 1, H, W\), but got \(2, 3, 8, 8\)"),
        (torch.randn(1, 8, 8), ValueError, r"`inputs` must have shape \(B, 1, H, W\), but got \(1, 8, 8\)"),
        ([[0.0]], TypeError, r"`inputs` must be a torch.Tensor, but got list"),
    ],
)
def test_forward_refuses_inputs_that_are_not_image_batches(inputs, exception, message):
    with pytest.raises(exception, match=message):
        UNet(width=4, depth=1)(inputs)
