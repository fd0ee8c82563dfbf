"""Checkpoints and random state: every RNG of a run, the atomic ``checkpoint.pt``, and its checked loading."""

from __future__ import annotations

import pickle
import random
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from uniloss_lab.train.atomic import write_atomic
from uniloss_lab.train.config import TrainConfig
from uniloss_lab.train.tasks import Task

__all__ = [
    "CHECKPOINT_NAME",
    "CHECKPOINT_VERSION",
    "check_resumable",
    "load_checkpoint",
    "rng_state",
    "save_checkpoint",
    "seed_everything",
    "set_rng_state",
]

CHECKPOINT_NAME = "checkpoint.pt"
CHECKPOINT_VERSION = 1
# Fields that may change between a run and its resumption without changing what is trained.
_RESUMABLE_CHANGES = frozenset(
    {
        "epochs",
        "resume",
        "overwrite",
        "stop_after",
        "device",
        "out",
        "data_dir",
        "num_workers",
        "eval_batch_size",
        "recipe",
        "nproc",
        "threads",
        "skip_nonfinite",
    }
)


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state(task: Task, augment_generator: torch.Generator) -> dict[str, Any]:
    """Every random state of the run, as tensors and plain numbers (``weights_only``-safe)."""
    _, keys, position, has_gauss, cached = np.random.get_state()  # type: ignore[misc]
    version, python_state, gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(position),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": {"version": int(version), "state": torch.tensor(python_state, dtype=torch.int64), "gauss": gauss},
        "uniloss": task.generator.get_state(),
        "augment": augment_generator.get_state(),
    }


def set_rng_state(state: dict[str, Any], task: Task, augment_generator: torch.Generator) -> None:
    """Restore every random state saved by :func:`rng_state` (a CUDA state only on as many devices)."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            "MT19937",
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    python_state = state["python"]
    random.setstate((python_state["version"], tuple(python_state["state"].tolist()), python_state["gauss"]))
    try:
        task.generator.set_state(state["uniloss"])
    except (RuntimeError, ValueError):  # saved on another device type: CPU and CUDA generator states differ
        warnings.warn(
            "the checkpoint's UniLoss anchor generator comes from another device type; it is reseeded, so the "
            "resumed run will not repeat the original bit for bit.",
            stacklevel=3,
        )
        task.generator.manual_seed(task.config.seed + 1_000_003)
    augment_generator.set_state(state["augment"])


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` to ``path`` with ``torch.save``, atomically (:func:`uniloss_lab.train.atomic.write_atomic`)."""
    write_atomic(path, lambda handle: torch.save(payload, handle))


def _check_archive(path: Path) -> None:
    """Check the zip structure and every member's CRC-32 (``torch.load`` reads neither the CRCs nor all members)."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as error:
        raise ValueError(
            f"{path}: truncated or corrupted checkpoint (not a complete torch.save archive: {error}); "
            "delete it to start the run again, or restore a copy."
        ) from error
    if bad is not None:
        raise ValueError(
            f"{path}: truncated or corrupted checkpoint (member {bad!r} fails its CRC-32 check); "
            "delete it to start the run again, or restore a copy."
        )


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :func:`train` with ``torch.load(weights_only=True)``, checking it first.

    Formally, the file must be a complete zip archive (``torch.save``'s format) whose members all match their
    CRC-32, must load with ``weights_only=True`` (tensors, numbers, strings, lists and dicts only), and must be
    a dict of ``version`` :data:`CHECKPOINT_VERSION`.

    Args:
        path: the ``checkpoint.pt`` file.
        map_location: where to put its tensors.

    Returns:
        A dict with ``version``, ``epoch``, ``config``, ``model``, ``optimizer``, ``scheduler``, ``rng`` and
        ``history``.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: naming the file, if it is truncated or corrupted (``"truncated or corrupted"``, with
            ``torch.load``'s error chained), holds objects ``weights_only`` refuses, or is not a uniloss
            checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist.")
    _check_archive(path)
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(
            f"{path}: cannot be loaded with torch.load(weights_only=True), so it is not a uniloss checkpoint, "
            f"or it is corrupted ({first_line})."
        ) from error
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, IndexError, TypeError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(
            f"{path}: truncated or corrupted checkpoint ({type(error).__name__}: {first_line}); "
            "delete it to start the run again, or restore a copy."
        ) from error
    if not isinstance(checkpoint, dict) or checkpoint.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path} is not a uniloss checkpoint of version {CHECKPOINT_VERSION}.")
    missing = sorted({"epoch", "config", "model", "optimizer", "scheduler", "rng", "history"} - set(checkpoint))
    if missing:
        raise ValueError(f"{path}: truncated or corrupted checkpoint (missing {', '.join(missing)}).")
    return checkpoint


def check_resumable(saved: dict[str, Any], config: TrainConfig, path: Path) -> None:
    """Raise ``ValueError`` naming every option that differs from the checkpoint's, except those resuming may change."""
    current = config.to_dict()
    changed = sorted(name for name in current if name not in _RESUMABLE_CHANGES and saved.get(name) != current[name])
    if changed:
        details = ", ".join(f"{name}: {saved.get(name)!r} -> {current[name]!r}" for name in changed)
        raise ValueError(f"cannot resume from {path}: the run was made with different options ({details}).")
