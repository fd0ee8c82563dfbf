"""MPII Human Pose from the stacked-hourglass annotation JSON (``mpii_annotations.json``) and the image folder."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from uniloss_lab.data._common import Split, _check_split, _gaussian_heatmaps

ANNOTATION_FILE = "mpii_annotations.json"
NUM_JOINTS = 16
JOINT_NAMES: tuple[str, ...] = (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "pelvis", "thorax",
    "upper_neck", "head_top", "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow",
    "left_wrist",
)  # fmt: skip
HEAD_SIZE_FACTOR = 0.6  # MPII: head size is 0.6 x the head box diagonal (or x the neck-to-head-top length).
CROP_FACTOR = 1.25  # crop side = 200 px x scale_provided x 1.25
_UPPER_NECK, _HEAD_TOP = 8, 9
_FIELDS = ("img_paths", "joint_self", "objpos", "scale_provided", "isValidation")
_HINT = (
    "MPII is not shipped with uniloss: get the images from the MPII Human Pose site and the stacked-hourglass "
    f"`{ANNOTATION_FILE}`, and pass the annotation (or its folder) and `images_dir`."
)

PoseItem = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class _Record:
    """One person: image path relative to the image folder, joints ``(16, 3)``, centre, scale, head box."""

    index: int
    image: str
    joints: np.ndarray
    center: np.ndarray
    scale: float
    head_box: np.ndarray | None


def _field_error(path: Path, index: int, field: str, problem: str) -> ValueError:
    """Build the error for a malformed field, naming the file, the record index and the field."""
    return ValueError(f"{path}: record {index}: field `{field}` {problem}.")


def _as_array(raw: dict[str, Any], field: str, shape: tuple[int, ...], path: Path, index: int) -> np.ndarray:
    """Convert ``raw[field]`` to a finite float64 array of `shape`."""
    value = raw[field]
    if field in ("head_box", "headboxes") and isinstance(value, list):
        value = [item for part in value for item in (part if isinstance(part, list) else [part])]  # [[x1, y1], ...]
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise _field_error(path, index, field, f"must be numbers of shape {shape}, got {str(value)[:60]}") from None
    if array.shape != shape:
        raise _field_error(path, index, field, f"must have shape {shape}, got {array.shape}")
    if not np.isfinite(array).all():
        raise _field_error(path, index, field, "must hold finite numbers")
    return array


def _parse_record(raw: Any, index: int, path: Path) -> tuple[_Record, bool]:
    """Check one JSON record and return it with its ``isValidation`` flag."""
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: record {index}: expected an object with fields {_FIELDS}, got {type(raw).__name__}.")
    for field in _FIELDS:
        if field not in raw:
            raise _field_error(path, index, field, "is missing")
    image = raw["img_paths"]
    if not isinstance(image, str) or not image:
        raise _field_error(path, index, "img_paths", f"must be a non-empty string, got {image!r}")
    relative = Path(image)
    if relative.is_absolute() or relative.anchor or ".." in relative.parts:
        raise ValueError(f"{path}: record {index}: image path {image!r} escapes the images folder.")
    joints = _as_array(raw, "joint_self", (NUM_JOINTS, 3), path, index)
    center = _as_array(raw, "objpos", (2,), path, index)
    scale = float(_as_array(raw, "scale_provided", (), path, index))
    if scale <= 0:
        raise _field_error(path, index, "scale_provided", f"must be positive, got {scale}")
    is_validation = raw["isValidation"]
    if is_validation not in (0, 1):
        raise _field_error(path, index, "isValidation", f"must be 0 or 1, got {is_validation!r}")
    head_box = None
    for field in ("head_box", "headboxes"):
        if raw.get(field) is not None:
            head_box = _as_array(raw, field, (4,), path, index)
            break
    return _Record(index, image, joints, center, scale, head_box), bool(is_validation)


class MPII(Dataset[PoseItem]):
    """MPII Human Pose, one person per item, cropped around ``objpos`` with Gaussian heatmap targets.

    Formally, the crop is the square of side ``L = 200 * scale_provided * 1.25`` image pixels centred on
    ``objpos``, resized to ``input_size`` (Pillow, bilinear, zero padding outside the image); an image point
    ``p`` maps to heatmap pixel ``(p - objpos) * heatmap_size / L + heatmap_size / 2 - 1/2``, and the target of
    joint ``j`` is ``exp(-||q - p_j||^2 / (2 sigma^2))`` over heatmap pixels ``q`` (zero if not visible).
    ``train`` holds the records with ``isValidation == 0`` and ``test`` those with ``isValidation == 1``
    (MPII's test labels are not public). Head size is 0.6 x the diagonal of ``head_box``/``headboxes`` when
    present, else 0.6 x the distance from joint 8 (upper neck) to joint 9 (head top).

    Args:
        data_dir_or_annotation: ``mpii_annotations.json`` (a list of records with ``img_paths``,
            ``joint_self`` 16 x ``[x, y, visible]``, ``objpos``, ``scale_provided``, ``isValidation``), or its folder.
        images_dir: folder the ``img_paths`` are relative to; ``None`` means ``images`` next to the annotation.
        split: ``"train"`` or ``"test"``.
        input_size: side ``S`` of the image crop.
        heatmap_size: side ``H`` of the heatmaps.
        sigma: Gaussian standard deviation in heatmap pixels.

    Returns:
        Items ``(image, heatmaps, joints, visible, head_size)``: float32 ``(3, S, S)`` in ``[0, 1]``, float32
        ``(16, H, H)``, float32 ``(16, 2)`` as ``(x, y)`` heatmap pixels, bool ``(16,)`` (flag set and inside the
        crop) and a float32 scalar in heatmap pixels.

    Raises:
        FileNotFoundError: naming the path, if the annotation, the image folder or (when read) an image is missing.
        ValueError: if an argument is out of range, or naming the file, the record index and the field, if a
            record is malformed; naming the path, if an image path is absolute, uses ``..`` or resolves (through
            symlinks) outside `images_dir`, or (when read) the image cannot be decoded.

    Example:
        >>> dataset = MPII("/data/mpii", "/data/mpii/images", "test")  # doctest: +SKIP
        >>> image, heatmaps, joints, visible, head_size = dataset[0]  # doctest: +SKIP
        >>> image.shape, heatmaps.shape  # doctest: +SKIP
        (torch.Size([3, 256, 256]), torch.Size([16, 64, 64]))
    """

    num_joints = NUM_JOINTS
    joint_names = JOINT_NAMES

    def __init__(
        self,
        data_dir_or_annotation: str | Path,
        images_dir: str | Path | None,
        split: Split,
        input_size: int = 256,
        heatmap_size: int = 64,
        sigma: float = 1.0,
    ) -> None:
        _check_split(split)
        for name, value in (("input_size", input_size), ("heatmap_size", heatmap_size)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive int, but got {value!r}.")
        if not sigma > 0:
            raise ValueError(f"`sigma` must be a positive float, but got {sigma!r}.")
        annotation = Path(data_dir_or_annotation)
        if annotation.is_dir():
            annotation = annotation / ANNOTATION_FILE
        if not annotation.is_file():
            raise FileNotFoundError(f"MPII annotation file {annotation} does not exist; {_HINT}")
        images = annotation.parent / "images" if images_dir is None else Path(images_dir)
        if not images.is_dir():
            raise FileNotFoundError(f"MPII image folder {images} does not exist; {_HINT}")
        try:
            raw_records = json.loads(annotation.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{annotation}: not valid JSON ({error}).") from error
        if not isinstance(raw_records, list):
            raise ValueError(f"{annotation}: expected a list of records, got {type(raw_records).__name__}.")
        parsed = [_parse_record(raw, index, annotation) for index, raw in enumerate(raw_records)]
        self.annotation_path = annotation
        self.images_dir = images
        self.input_size = input_size
        self.heatmap_size = heatmap_size
        self.sigma = float(sigma)
        self._records = [record for record, is_validation in parsed if is_validation == (split == "test")]

    def __len__(self) -> int:
        return len(self._records)

    def _image_path(self, record: _Record) -> Path:
        """Resolve the record's image inside `images_dir`, refusing symlinks that lead outside it."""
        root = self.images_dir.resolve()
        full = (root / record.image).resolve()
        if not full.is_relative_to(root):
            raise ValueError(f"image path {record.image!r} (record {record.index}) resolves to {full}, outside {root}.")
        if not full.is_file():
            raise FileNotFoundError(f"MPII image {full} (record {record.index}) does not exist; {_HINT}")
        return full

    def _crop(self, path: Path, center: np.ndarray, side: float) -> torch.Tensor:
        """Crop the square of `side` pixels around `center` and resize it to ``input_size``."""
        from PIL import Image

        left, top = center[0] + 0.5 - side / 2, center[1] + 0.5 - side / 2  # pixel i spans [i, i + 1)
        box = (math.floor(left), math.floor(top), math.ceil(left + side), math.ceil(top + side))
        try:
            with Image.open(path) as opened:
                region = opened.convert("RGB").crop(box)  # zero padding where the box leaves the image
        except OSError as error:  # includes PIL.UnidentifiedImageError and truncated files
            raise ValueError(f"{path}: not a readable image ({error}).") from error
        sub_box = (left - box[0], top - box[1], left + side - box[0], top + side - box[1])
        size = (self.input_size, self.input_size)
        resized = region.resize(size, Image.Resampling.BILINEAR, box=sub_box)
        pixels = np.asarray(resized, dtype=np.float32) / 255.0
        return torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))

    def __getitem__(self, index: int) -> PoseItem:
        record = self._records[index]
        side = 200.0 * record.scale * CROP_FACTOR
        size = self.heatmap_size
        image = self._crop(self._image_path(record), record.center, side)
        joints = (record.joints[:, :2] - record.center) * (size / side) + size / 2 - 0.5
        inside = ((joints >= -0.5) & (joints < size - 0.5)).all(axis=1)
        visible = torch.from_numpy((record.joints[:, 2] > 0) & inside)
        if record.head_box is not None:
            head = math.hypot(record.head_box[2] - record.head_box[0], record.head_box[3] - record.head_box[1])
        else:
            head = float(np.linalg.norm(record.joints[_HEAD_TOP, :2] - record.joints[_UPPER_NECK, :2]))
        head_size = torch.tensor(HEAD_SIZE_FACTOR * head * size / side, dtype=torch.float32)
        joints_tensor = torch.from_numpy(joints.astype(np.float32))
        heatmaps = _gaussian_heatmaps(joints_tensor, visible, size, self.sigma)
        return image, heatmaps, joints_tensor, visible, head_size
