"""CIFAR-10 and CIFAR-100 from their "python version" batch files, unpickled with a restricted unpickler."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch

from uniloss_lab.data._common import Split, _check_split

_ROW_LENGTH = 3 * 32 * 32
# numpy writes its array reconstructor under the module that defines it: numpy.core before 2.0, numpy._core after.
_RECONSTRUCT = np.empty(0).__reduce__()[0]


class _RefusedGlobalError(ValueError):
    """A pickle asked for a global that CIFAR batch files never contain."""


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals needed to rebuild numpy arrays of plain data.

    Python-2 pickles (the published files) name ``numpy.core.multiarray._reconstruct``, ``numpy.ndarray``
    and ``numpy.dtype``; Python-3 protocol-2 pickles also rebuild ``bytes`` with ``_codecs.encode(text,
    "latin1")`` and ``bytes()`` (empty). Every other global or use is refused, so the file cannot run code.
    """

    def __init__(self, file: IO[bytes], path: Path) -> None:
        super().__init__(file, encoding="bytes")
        self._path = path

    def _encode_latin1(self, text: str, encoding: str = "utf-8") -> bytes:
        if encoding != "latin1":
            raise _RefusedGlobalError(f"{self._path}: refusing _codecs.encode with encoding {encoding!r}.")
        return text.encode("latin1")

    def _empty_bytes(self, *args: object) -> bytes:
        if args:
            raise _RefusedGlobalError(f"{self._path}: refusing bytes() with arguments; only bytes() is allowed.")
        return b""

    def find_class(self, module: str, name: str) -> Any:
        allowed: dict[tuple[str, str], Any] = {
            ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
            ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
            ("_codecs", "encode"): self._encode_latin1,
            ("__builtin__", "bytes"): self._empty_bytes,
            ("builtins", "bytes"): self._empty_bytes,
        }
        if (module, name) not in allowed:
            raise _RefusedGlobalError(
                f"{self._path}: refusing to unpickle global {module}.{name}; CIFAR batch files hold only numpy "
                "arrays, lists and bytes."
            )
        return allowed[(module, name)]


def _load_batch(path: Path, label_key: bytes, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Unpickle one batch file and check its ``b"data"`` rows and labels."""
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR batch file {path} does not exist.")
    try:
        with path.open("rb") as file:
            batch = _RestrictedUnpickler(file, path).load()
    except _RefusedGlobalError:
        raise
    except Exception as error:  # any unpickling failure means a truncated or corrupt file
        raise ValueError(f"{path}: truncated or corrupt pickle ({type(error).__name__}: {error}).") from error
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: expected a dict of batch fields, got {type(batch).__name__}.")
    for key in (b"data", label_key):
        if key not in batch:
            raise ValueError(f"{path}: missing field {key!r}; fields are {sorted(batch)}.")
    data = batch[b"data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != _ROW_LENGTH:
        got = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise ValueError(f"{path}: field b'data' must be uint8 of shape (N, {_ROW_LENGTH}), got {got}.")
    if data.shape[0] == 0:
        raise ValueError(f"{path}: field b'data' must hold at least one image, got shape {data.shape}.")
    labels = np.asarray(batch[label_key])
    if labels.shape != (data.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"{path}: field {label_key!r} must be {data.shape[0]} integers, got {labels.dtype} {labels.shape}."
        )
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(
            f"{path}: field {label_key!r} must lie in 0..{num_classes - 1}, got {labels.min()}..{labels.max()}."
        )
    return data, labels.astype(np.int64)


def _load_cifar(
    split: Split, data_dir: str | Path, subfolder: str, files: dict[str, list[str]], label_key: bytes, num_classes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Find the batch folder, load the split's batch files and concatenate them."""
    _check_split(split)
    root = Path(data_dir)
    hint = f"extract the CIFAR python version ({subfolder}) and pass it, or its parent, as `data_dir`."
    if not root.is_dir():
        raise FileNotFoundError(f"CIFAR folder {root} does not exist; {hint}")
    first = files[split][0]
    folder = root if (root / first).is_file() else root / subfolder
    if not (folder / first).is_file():
        raise FileNotFoundError(f"CIFAR batch file {first} not found in {root} nor in {root / subfolder}; {hint}")
    batches = [_load_batch(folder / name, label_key, num_classes) for name in files[split]]
    data = np.concatenate([batch[0] for batch in batches])
    labels = np.concatenate([batch[1] for batch in batches])
    images = torch.from_numpy(data).reshape(-1, 3, 32, 32).to(torch.float32).div_(255.0)
    return images, torch.from_numpy(labels)


def load_cifar10(split: Split, data_dir: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one split of CIFAR-10 (50,000 train / 10,000 test 32x32 colour images, 10 classes).

    Formally, ``train`` concatenates ``data_batch_1`` .. ``data_batch_5`` and ``test`` reads ``test_batch``;
    each row of ``b"data"`` holds the 1,024 red, then green, then blue pixels of one image in row-major order,
    and pixels ``0..255`` are divided by 255. The pickles are read with a restricted unpickler that refuses
    every global except numpy's array reconstruction.

    Args:
        split: ``"train"`` or ``"test"``.
        data_dir: the ``cifar-10-batches-py`` folder, or its parent.

    Returns:
        ``(images, labels)``: float32 ``(N, 3, 32, 32)`` in ``[0, 1]`` and int64 ``(N,)`` in ``0..9``.

    Raises:
        FileNotFoundError: naming the path, if the folder or a batch file is missing.
        ValueError: if `split` is unknown, or naming the file, if a pickle is truncated, asks for a refused
            global, or has data not of shape ``(N, 3072)`` uint8 or labels outside ``0..9``.

    Example:
        >>> images, labels = load_cifar10("test", "/data")  # doctest: +SKIP
        >>> images.shape  # doctest: +SKIP
        torch.Size([10000, 3, 32, 32])
    """
    files = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
    return _load_cifar(split, data_dir, "cifar-10-batches-py", files, b"labels", 10)


def load_cifar100(split: Split, data_dir: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one split of CIFAR-100 with its 100 fine labels (50,000 train / 10,000 test images).

    Formally, ``train`` reads the file ``train`` and ``test`` the file ``test``, in the same row layout and
    scaling as `load_cifar10`; the labels are the ``b"fine_labels"`` field (the coarse labels are ignored).

    Args:
        split: ``"train"`` or ``"test"``.
        data_dir: the ``cifar-100-python`` folder, or its parent.

    Returns:
        ``(images, labels)``: float32 ``(N, 3, 32, 32)`` in ``[0, 1]`` and int64 ``(N,)`` in ``0..99``.

    Raises:
        FileNotFoundError: naming the path, if the folder or a batch file is missing.
        ValueError: if `split` is unknown, or naming the file, if a pickle is truncated, asks for a refused
            global, or has data not of shape ``(N, 3072)`` uint8 or fine labels outside ``0..99``.

    Example:
        >>> images, labels = load_cifar100("train", "/data/cifar-100-python")  # doctest: +SKIP
        >>> int(labels.max())  # doctest: +SKIP
        99
    """
    files = {"train": ["train"], "test": ["test"]}
    return _load_cifar(split, data_dir, "cifar-100-python", files, b"fine_labels", 100)
