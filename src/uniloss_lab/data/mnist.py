"""MNIST and Fashion-MNIST from their published IDX files (60,000 train / 10,000 test 28x28 images)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from uniloss_lab.data._common import Split, _check_split
from uniloss_lab.data.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
NUM_CLASSES = 10
_IMAGE_SIDE = 28
_PREFIXES: dict[str, str] = {"train": "train", "test": "t10k"}
_MNIST_HINT = "MNIST is not shipped with uniloss: download its four IDX files and pass their folder as `data_dir`."
_FASHION_HINT = (
    "install Debian's package dataset-fashion-mnist (`apt-get install dataset-fashion-mnist`, which fills "
    f"{FASHION_MNIST_DIR}) or pass the folder holding the four IDX files as `data_dir`."
)


def _find_file(folders: list[Path], stem: str, hint: str) -> Path:
    """Return the first of ``<folder>/<stem>.gz`` and ``<folder>/<stem>`` that exists."""
    candidates = [folder / name for folder in folders for name in (f"{stem}.gz", stem)]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(candidate) for candidate in candidates)
    raise FileNotFoundError(f"IDX file {stem}[.gz] not found (tried {tried}); {hint}")


def _load_idx_pair(
    split: Split, data_dir: Path, subfolders: tuple[str, ...], hint: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load and cross-check the images and labels of one split."""
    _check_split(split)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"dataset folder {data_dir} does not exist; {hint}")
    folders = [data_dir / sub for sub in subfolders]
    prefix = _PREFIXES[split]
    images_path = _find_file(folders, f"{prefix}-images-idx3-ubyte", hint)
    labels_path = _find_file(folders, f"{prefix}-labels-idx1-ubyte", hint)
    images = read_idx(images_path, expected_magic=IMAGES_MAGIC)
    labels = read_idx(labels_path, expected_magic=LABELS_MAGIC)
    if images.shape[1:] != (_IMAGE_SIDE, _IMAGE_SIDE):
        raise ValueError(f"{images_path}: bad dimensions: expected (N, 28, 28), got {images.shape}.")
    if labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"{labels_path}: expected {images.shape[0]} labels to match {images_path}, got {labels.shape[0]}."
        )
    if labels.max() >= NUM_CLASSES:
        raise ValueError(f"{labels_path}: expected labels in 0..9, got {int(labels.max())}.")
    pixels = torch.from_numpy(images).to(torch.float32).div_(255.0).unsqueeze(1)
    return pixels, torch.from_numpy(labels.astype(np.int64))


def load_mnist(split: Split, data_dir: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one split of MNIST from its IDX files.

    Formally, ``train`` reads ``train-images-idx3-ubyte[.gz]`` and ``train-labels-idx1-ubyte[.gz]``, ``test``
    reads the ``t10k-`` files, and pixels ``0..255`` are divided by 255. The files are looked for in
    `data_dir`, then in ``data_dir/raw`` and ``data_dir/MNIST/raw`` (torchvision's layout); nothing is
    downloaded.

    Args:
        split: ``"train"`` or ``"test"``.
        data_dir: folder holding the four IDX files (gzipped or not).

    Returns:
        ``(images, labels)``: float32 ``(N, 1, 28, 28)`` in ``[0, 1]`` and int64 ``(N,)`` in ``0..9``.

    Raises:
        FileNotFoundError: naming the path, if `data_dir` or one of the files is missing.
        ValueError: if `split` is unknown, or naming the file, if a file is malformed (see `read_idx`),
            the images are not 28x28, the counts differ or a label exceeds 9.

    Example:
        >>> images, labels = load_mnist("test", "/data/mnist")  # doctest: +SKIP
        >>> images.shape  # doctest: +SKIP
        torch.Size([10000, 1, 28, 28])
    """
    return _load_idx_pair(split, Path(data_dir), ("", "raw", "MNIST/raw"), _MNIST_HINT)


def load_fashion_mnist(split: Split, data_dir: str | Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one split of Fashion-MNIST (Zalando's clothing images) from its IDX files.

    Formally, the same files and scaling as `load_mnist`; labels are 0 T-shirt/top, 1 Trouser, 2 Pullover,
    3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot. The files are looked for in
    `data_dir`, ``data_dir/raw`` and ``data_dir/FashionMNIST/raw``.

    Args:
        split: ``"train"`` or ``"test"``.
        data_dir: folder holding the four IDX files; ``None`` means ``/usr/share/datasets/fashion-mnist``,
            where Debian's package ``dataset-fashion-mnist`` installs them.

    Returns:
        ``(images, labels)``: float32 ``(N, 1, 28, 28)`` in ``[0, 1]`` and int64 ``(N,)`` in ``0..9``.

    Raises:
        FileNotFoundError: naming the path and the package that provides it, if the folder or a file is missing.
        ValueError: if `split` is unknown, or naming the file, if a file is malformed.

    Example:
        >>> images, labels = load_fashion_mnist("test")  # doctest: +SKIP
        >>> images.shape, labels[:3].tolist()  # doctest: +SKIP
        (torch.Size([10000, 1, 28, 28]), [9, 2, 1])
    """
    folder = FASHION_MNIST_DIR if data_dir is None else Path(data_dir)
    return _load_idx_pair(split, folder, ("", "raw", "FashionMNIST/raw"), _FASHION_HINT)
