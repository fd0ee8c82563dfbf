import json
import math
import re

import numpy as np
import pytest
import torch
from PIL import Image

from uniloss_lab.data.mpii import JOINT_NAMES, MPII


def _write_annotation(root, records):
    (root / "mpii_annotations.json").write_text(json.dumps(records))


def _gaussian_oracle(joint, size, sigma):
    ys, xs = np.mgrid[0:size, 0:size]
    return np.exp(-((xs - joint[0]) ** 2 + (ys - joint[1]) ** 2) / (2 * sigma**2))


def test_splits_follow_is_validation(mpii_folder):
    root, _ = mpii_folder
    assert len(MPII(root, root / "images", "train")) == 2
    assert len(MPII(root, root / "images", "test")) == 1


def test_items_have_the_pose_format(mpii_folder):
    root, _ = mpii_folder
    image, heatmaps, joints, visible, head_size = MPII(root, root / "images", "train", input_size=40, heatmap_size=20)[
        0
    ]
    assert image.shape == (3, 40, 40)
    assert image.dtype == torch.float32
    assert image.min() >= 0
    assert image.max() <= 1
    assert heatmaps.shape == (16, 20, 20)
    assert heatmaps.dtype == torch.float32
    assert joints.shape == (16, 2)
    assert joints.dtype == torch.float32
    assert visible.shape == (16,)
    assert visible.dtype == torch.bool
    assert head_size.shape == ()
    assert head_size.dtype == torch.float32
    assert MPII.num_joints == len(JOINT_NAMES) == 16


def test_joints_map_to_heatmap_pixels_of_the_scaled_crop(mpii_folder):
    root, records = mpii_folder
    _, _, joints, visible, _ = MPII(root, None, "train", heatmap_size=64)[0]
    side = 200 * records[0]["scale_provided"] * 1.25
    expected = (np.array(records[0]["joint_self"])[:, :2] - records[0]["objpos"]) * 64 / side + 31.5
    np.testing.assert_allclose(joints.numpy(), expected, rtol=1e-5)
    assert visible.all()


def test_heatmaps_are_gaussians_centred_on_the_joints(mpii_folder):
    root, _ = mpii_folder
    _, heatmaps, joints, _, _ = MPII(root, None, "train", heatmap_size=32, sigma=1.5)[1]
    for heatmap, joint in zip(heatmaps, joints, strict=True):
        np.testing.assert_allclose(heatmap.numpy(), _gaussian_oracle(joint.numpy(), 32, 1.5), atol=1e-6)


def test_joint_flagged_invisible_or_outside_the_crop_is_not_visible_and_has_no_heatmap(mpii_folder):
    root, records = mpii_folder
    records[0]["joint_self"][3] = [115.0, 50.0, 1.0]  # inside the image, right of the crop [10.5, 110.5)
    records[0]["joint_self"][5][2] = 0.0
    _write_annotation(root, records)
    _, heatmaps, joints, visible, _ = MPII(root, None, "train", heatmap_size=16)[0]
    assert visible.tolist() == [index not in (3, 5) for index in range(16)]
    assert joints[3, 0] > 15.5
    assert heatmaps[[3, 5]].abs().sum() == 0
    assert (heatmaps.flatten(1).amax(1)[visible] > 0.5).all()


def test_crop_puts_image_content_where_the_joints_land(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    pixels = np.zeros((100, 120, 3), dtype=np.uint8)
    pixels[36:45, 76:85] = 255  # white 9x9 square centred on pixel (x=80, y=40)
    Image.fromarray(pixels).save(images / "square.jpg", quality=100)
    joints = [[80.0, 40.0, 1.0]] * 16
    record = {
        "img_paths": "square.jpg",
        "joint_self": joints,
        "objpos": [60, 50],
        "scale_provided": 0.4,
        "isValidation": 0,
    }
    _write_annotation(tmp_path, [record])
    image, _, joint_positions, _, _ = MPII(tmp_path, images, "train", input_size=50, heatmap_size=50)[0]
    brightness = image.mean(0)
    ys, xs = torch.meshgrid(torch.arange(50.0), torch.arange(50.0), indexing="ij")
    centroid = torch.stack([(brightness * xs).sum(), (brightness * ys).sum()]) / brightness.sum()
    torch.testing.assert_close(centroid, joint_positions[0], atol=0.2, rtol=0)
    assert brightness[:, :2].max() < 0.05  # zero padding left of the image edge (x < 0 maps to crop x < 5.25)


def test_head_size_is_six_tenths_of_the_head_box_diagonal(mpii_folder):
    root, records = mpii_folder
    *_, head_size = MPII(root, None, "test", heatmap_size=64)[0]
    side = 200 * records[1]["scale_provided"] * 1.25
    assert head_size.item() == pytest.approx(0.6 * math.hypot(30, 40) * 64 / side, rel=1e-6)


def test_head_box_given_as_two_corners_is_accepted(mpii_folder):
    root, records = mpii_folder
    records[1]["headboxes"] = [[10, 10], [40, 50]]
    del records[1]["head_box"]
    _write_annotation(root, records)
    *_, head_size = MPII(root, None, "test", heatmap_size=64)[0]
    assert head_size.item() == pytest.approx(0.6 * 50 * 64 / 75, rel=1e-6)


def test_head_size_without_head_box_is_six_tenths_of_neck_to_head_top(mpii_folder):
    root, records = mpii_folder
    *_, head_size = MPII(root, None, "train", heatmap_size=64)[0]
    joints = np.array(records[0]["joint_self"])
    segment = np.linalg.norm(joints[9, :2] - joints[8, :2])
    assert head_size.item() == pytest.approx(0.6 * segment * 64 / 100, rel=1e-6)


def test_accepts_the_annotation_file_itself_and_a_symlink_inside_the_images_folder(mpii_folder):
    root, records = mpii_folder
    (root / "images" / "alias.jpg").symlink_to(root / "images" / "a.jpg")
    records[0]["img_paths"] = "alias.jpg"
    _write_annotation(root, records)
    dataset = MPII(root / "mpii_annotations.json", root / "images", "train", input_size=16, heatmap_size=8)
    assert dataset[0][0].shape == (3, 16, 16)


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.jpg", "sub/../../outside.jpg"])
def test_image_paths_escaping_the_images_folder_are_refused(mpii_folder, path):
    root, records = mpii_folder
    records[2]["img_paths"] = path
    _write_annotation(root, records)
    with pytest.raises(ValueError, match=rf"record 2: image path {re.escape(repr(path))} escapes the images folder"):
        MPII(root, None, "train")


def test_symlink_resolving_outside_the_images_folder_is_refused(mpii_folder, tmp_path):
    root, records = mpii_folder
    Image.new("RGB", (8, 8)).save(tmp_path / "secret.jpg")
    (root / "images" / "link.jpg").symlink_to(tmp_path / "secret.jpg")
    records[0]["img_paths"] = "link.jpg"
    _write_annotation(root, records)
    dataset = MPII(root, None, "train")
    with pytest.raises(ValueError, match=r"image path 'link\.jpg' \(record 0\) resolves to .*secret\.jpg, outside "):
        dataset[0]


def _set(field, value):
    def edit(record):
        record[field] = value

    return edit


def _drop(field):
    return lambda record: record.pop(field)


RECORD_ERRORS = [
    ("missing field", _drop("objpos"), r"field `objpos` is missing"),
    ("15 joints", _set("joint_self", [[1, 2, 1]] * 15), r"field `joint_self` must have shape \(16, 3\), got \(15, 3\)"),
    ("ragged joints", _set("joint_self", [[1, 2, 1]] * 15 + [[2]]), r"field `joint_self` must be numbers of shape"),
    ("text centre", _set("objpos", "middle"), r"field `objpos` must be numbers of shape \(2,\), got middle"),
    ("non-finite scale", _set("scale_provided", float("nan")), r"field `scale_provided` must hold finite numbers"),
    ("zero scale", _set("scale_provided", 0), r"field `scale_provided` must be positive, got 0\.0"),
    ("isValidation 2", _set("isValidation", 2), r"field `isValidation` must be 0 or 1, got 2"),
    ("path not text", _set("img_paths", 5), r"field `img_paths` must be a non-empty string, got 5"),
    ("head box of 3", _set("head_box", [1, 2, 3]), r"field `head_box` must have shape \(4,\), got \(3,\)"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "edit", "match"), RECORD_ERRORS, ids=[case[0] for case in RECORD_ERRORS])
def test_malformed_record_names_file_record_and_field(mpii_folder, name, edit, match):
    root, records = mpii_folder
    edit(records[1])
    _write_annotation(root, records)
    annotation = re.escape(str(root / "mpii_annotations.json"))
    with pytest.raises(ValueError, match=rf"{annotation}: record 1: {match}"):
        MPII(root, None, "train")


FILE_ERRORS = [
    ("record not an object", json.dumps([[1, 2]]), r"record 0: expected an object with fields"),
    ("not a list", json.dumps({"root": []}), r"expected a list of records, got dict"),
    ("not json", "[{", r"not valid JSON"),
]


@pytest.mark.parametrize(("name", "text", "match"), FILE_ERRORS, ids=[case[0] for case in FILE_ERRORS])
def test_malformed_annotation_file_is_refused_naming_it(mpii_folder, name, text, match):
    root, _ = mpii_folder
    (root / "mpii_annotations.json").write_text(text)
    with pytest.raises(ValueError, match=rf"{re.escape(str(root / 'mpii_annotations.json'))}: {match}"):
        MPII(root, None, "train")


def test_missing_files_raise_file_not_found_naming_the_path(mpii_folder, tmp_path):
    root, records = mpii_folder
    with pytest.raises(FileNotFoundError, match=r"MPII annotation file .*/nowhere does not exist; MPII is not shipped"):
        MPII(tmp_path / "nowhere", None, "train")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"annotation file .*/empty/mpii_annotations\.json does not exist"):
        MPII(tmp_path / "empty", None, "train")
    with pytest.raises(FileNotFoundError, match=r"MPII image folder .*pictures does not exist"):
        MPII(root, root / "pictures", "train")
    records[0]["img_paths"] = "gone.jpg"
    _write_annotation(root, records)
    with pytest.raises(FileNotFoundError, match=r"MPII image .*images/gone\.jpg \(record 0\) does not exist"):
        MPII(root, None, "train")[0]


def test_unreadable_image_raises_value_error_naming_it(mpii_folder):
    root, _ = mpii_folder
    (root / "images" / "a.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(ValueError, match=r"images/a\.jpg: not a readable image \(cannot identify image file"):
        MPII(root, None, "train")[0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"split": "val"}, r"`split` must be one of 'train', 'test', but got 'val'"),
        ({"input_size": 0}, r"`input_size` must be a positive int, but got 0"),
        ({"heatmap_size": 2.5}, r"`heatmap_size` must be a positive int, but got 2\.5"),
        ({"sigma": 0.0}, r"`sigma` must be a positive float, but got 0\.0"),
    ],
)
def test_bad_arguments_are_rejected(mpii_folder, kwargs, match):
    root, _ = mpii_folder
    with pytest.raises(ValueError, match=match):
        MPII(root, None, **{"split": "train", **kwargs})
