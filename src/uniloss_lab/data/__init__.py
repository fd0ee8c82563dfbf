"""Dataset loaders: embedded digits, MNIST, Fashion-MNIST, CIFAR-10/100, MPII, synthetic keypoints and shapes.

Nothing is downloaded: each loader reads a folder the user points at, in the dataset's published format
(Fashion-MNIST defaults to Debian's ``/usr/share/datasets/fashion-mnist``), except ``digits`` (shipped with
scikit-learn), ``keypoints`` and ``shapes`` (generated). Needs the ``data`` extra (scikit-learn, Pillow).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch.utils.data import Dataset, TensorDataset

from uniloss_lab.data._common import Split, _check_split
from uniloss_lab.data.cifar import load_cifar10, load_cifar100
from uniloss_lab.data.digits import load_digits
from uniloss_lab.data.idx import read_idx
from uniloss_lab.data.keypoints import SyntheticKeypoints
from uniloss_lab.data.mnist import load_fashion_mnist, load_mnist
from uniloss_lab.data.mpii import MPII
from uniloss_lab.data.shapes import SyntheticShapes

__all__ = [
    "DATASET_NAMES",
    "MPII",
    "SyntheticKeypoints",
    "SyntheticShapes",
    "dataset_info",
    "dataset_names",
    "load_cifar10",
    "load_cifar100",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_mnist",
    "read_idx",
]

_INFO: dict[str, dict[str, Any]] = {
    "digits": {"task": "classification", "num_classes": 10, "image_shape": (1, 8, 8)},
    "mnist": {"task": "classification", "num_classes": 10, "image_shape": (1, 28, 28)},
    "fashion-mnist": {"task": "classification", "num_classes": 10, "image_shape": (1, 28, 28)},
    "cifar10": {"task": "classification", "num_classes": 10, "image_shape": (3, 32, 32)},
    "cifar100": {"task": "classification", "num_classes": 100, "image_shape": (3, 32, 32)},
    "keypoints": {"task": "pose", "num_joints": 8, "image_shape": (3, 64, 64), "heatmap_size": 32},
    "mpii": {"task": "pose", "num_joints": 16, "image_shape": (3, 256, 256), "heatmap_size": 64},
    "shapes": {"task": "segmentation", "num_classes": 4, "image_shape": (1, 64, 64)},
}
DATASET_NAMES: tuple[str, ...] = tuple(_INFO)
"""Every dataset name, classification sets first: the one registry (``uniloss_lab.train`` and the CLI read it)."""
_KEYPOINT_SAMPLES = {"train": 2000, "test": 500}
_SHAPES_SAMPLES = {"train": 2000, "test": 500}
_TASKS = ("classification", "pose", "segmentation")


def _check_name(name: str) -> None:
    """Raise `ValueError` listing the valid names unless `name` is one of them."""
    if name not in _INFO:
        raise ValueError(f"`name` must be one of {', '.join(DATASET_NAMES)}, but got {name!r}.")


def dataset_info(name: str) -> dict[str, Any]:
    """Describe a dataset with its default arguments, without loading it.

    Formally, a fresh dict with ``task`` (``"classification"``, ``"pose"`` or ``"segmentation"``), ``image_shape``
    ``(C, H, W)``, and ``num_classes`` for classification and segmentation (the background included) or
    ``num_joints`` and ``heatmap_size`` for pose.
    Loaded pose datasets also carry ``num_joints`` and ``joint_names`` attributes, which follow their arguments.

    Args:
        name: one of ``digits``, ``mnist``, ``fashion-mnist``, ``cifar10``, ``cifar100``, ``keypoints``, ``mpii``,
            ``shapes``.

    Returns:
        The description (a copy; editing it changes nothing).

    Raises:
        ValueError: if `name` is unknown, listing the valid names.

    Example:
        >>> dataset_info("cifar100")["num_classes"]
        100
        >>> dataset_info("keypoints")["num_joints"]
        8
    """
    _check_name(name)
    return dict(_INFO[name])


def dataset_names(task: str | None = None) -> tuple[str, ...]:
    """The names of the datasets of one kind, in :data:`DATASET_NAMES` order.

    Args:
        task: ``"classification"``, ``"pose"``, ``"segmentation"``, or ``None`` for every dataset.

    Returns:
        The names.

    Raises:
        ValueError: if ``task`` is another value.

    Example:
        >>> dataset_names("pose")
        ('keypoints', 'mpii')
    """
    if task is None:
        return DATASET_NAMES
    if task not in _TASKS:
        raise ValueError(f"`task` must be one of {list(_TASKS)} or None, but got {task!r}.")
    return tuple(name for name, info in _INFO.items() if info["task"] == task)


def _require_dir(name: str, data_dir: str | Path | None) -> str | Path:
    """Return `data_dir`, or raise `ValueError` for datasets that have no default folder."""
    if data_dir is None:
        raise ValueError(f"`data_dir` is required for {name!r} (it is not shipped with uniloss), but got None.")
    return data_dir


def load_dataset(name: str, split: Split, data_dir: str | Path | None = None, **kwargs: Any) -> Dataset[Any]:
    """Load one split of a dataset by name, as a map-style `torch.utils.data.Dataset`.

    Formally, classification sets are `TensorDataset` of ``(image, label)`` (float32 ``(C, H, W)`` in
    ``[0, 1]``, int64); pose sets (`MPII`, `SyntheticKeypoints`) yield ``(image, heatmaps, joints, visible,
    head_size)``. Keyword arguments go to the loader: ``digits`` takes ``seed``; ``mpii`` takes ``images_dir``
    (default: ``images`` next to the annotation file), ``input_size``, ``heatmap_size``, ``sigma``; ``keypoints`` takes
    ``num_samples`` (default 2,000 for train and 500 for test) and ``image_size``, ``heatmap_size``,
    ``num_joints``, ``sigma``, ``seed`` (default 0 for train and 1 for test, so the splits differ); ``shapes`` (a
    :class:`SyntheticShapes`, items ``(image, mask)``) takes ``num_samples`` (default 2,000 for train and 500 for
    test), ``image_size`` (64), ``num_classes`` (4), ``channels`` (1) and ``seed`` (0 for train, 1 for test).

    Args:
        name: one of ``digits``, ``mnist``, ``fashion-mnist``, ``cifar10``, ``cifar100``, ``keypoints``, ``mpii``,
            ``shapes``.
        split: ``"train"`` or ``"test"``.
        data_dir: the dataset's folder; required for ``mnist``, ``cifar10``, ``cifar100`` and ``mpii``, ignored
            by ``digits``, ``keypoints`` and ``shapes``, defaulting to ``/usr/share/datasets/fashion-mnist`` for
            ``fashion-mnist``.
        **kwargs: loader-specific options, listed above.

    Returns:
        The dataset; `dataset_info` gives its number of classes or joints.

    Raises:
        ValueError: if `name` is unknown (listing the valid names), `split` is unknown, `data_dir` is missing
            where required, or the loader rejects its files or arguments.
        FileNotFoundError: if the loader cannot find its files.
        TypeError: if `kwargs` holds an option the loader does not take.

    Example:
        >>> train = load_dataset("digits", "train")
        >>> image, label = train[0]
        >>> len(train), image.shape, dataset_info("digits")["num_classes"]
        (1438, torch.Size([1, 8, 8]), 10)
    """
    _check_name(name)
    _check_split(split)
    if name == "keypoints":
        options = {"num_samples": _KEYPOINT_SAMPLES[split], "seed": 0 if split == "train" else 1, **kwargs}
        return SyntheticKeypoints(**options)
    if name == "shapes":
        options = {"num_samples": _SHAPES_SAMPLES[split], "seed": 0 if split == "train" else 1, **kwargs}
        return SyntheticShapes(**options)
    if name == "mpii":
        return MPII(_require_dir(name, data_dir), kwargs.pop("images_dir", None), split, **kwargs)
    if name == "digits":
        return TensorDataset(*load_digits(split, **kwargs))
    if name == "fashion-mnist":
        return TensorDataset(*load_fashion_mnist(split, data_dir, **kwargs))
    loaders = {"mnist": load_mnist, "cifar10": load_cifar10, "cifar100": load_cifar100}
    return TensorDataset(*loaders[name](split, _require_dir(name, data_dir), **kwargs))
