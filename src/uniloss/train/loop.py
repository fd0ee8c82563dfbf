"""The one training loop of uniloss: every task (AP, accuracy, PCK) and every loss (UniLoss, baseline)."""

from __future__ import annotations

import datetime
import json
import math
import os
import pickle
import random
import signal
import sys
import tempfile
import time
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset

import uniloss
from uniloss import functional
from uniloss.train.config import TrainConfig
from uniloss.train.outputs import check_output, run_label

__all__ = [
    "CHECKPOINT_NAME",
    "HISTORY_NAME",
    "NonFiniteLossError",
    "Task",
    "build_model_for",
    "build_task",
    "evaluate",
    "load_checkpoint",
    "load_data",
    "resolve_device",
    "train",
]

CHECKPOINT_NAME = "checkpoint.pt"
HISTORY_NAME = "history.json"
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
        "preset",
        "nproc",
        "threads",
        "skip_nonfinite",
    }
)
_HISTORY_SERIES = ("epoch", "train_loss", "train_metric", "test_metric", "lr", "epoch_time", "eval_time", "skipped")
_SHOWN_INDICES = 8  # training indices of a non-finite batch named in the error
_SHORT_METRIC = {"average_precision": "AP", "accuracy": "acc", "pck": "PCK"}


class NonFiniteLossError(FloatingPointError):
    """Raised when a training loss is NaN or infinite; the last good checkpoint is left in place.

    The message names the epoch, the step and the training examples of the batch (their indices in the
    training split), e.g. ``non-finite training loss nan at epoch 2, step 2 (batch of 32 training examples:
    indices [17, 3, ...]); stopping: the last good checkpoint (runs/x/checkpoint.pt, epoch 1) is kept.``

    Attributes:
        epoch: the 1-based epoch of the bad step.
        step: the 1-based step within that epoch.
        value: the loss value.
        indices: the indices, in the training split, of the batch's examples (empty when unknown).
        all_skipped: ``True`` when ``skip_nonfinite`` skipped every batch of the epoch, so the run cannot go on.
    """

    def __init__(
        self,
        epoch: int,
        step: int,
        value: float,
        checkpoint: Path | None,
        last_good_epoch: int,
        indices: Sequence[int] = (),
        all_skipped: bool = False,
    ) -> None:
        kept = (
            f"the last good checkpoint ({checkpoint}, epoch {last_good_epoch}) is kept"
            if checkpoint is not None and last_good_epoch > 0
            else "no checkpoint was written"
        )
        indices = [int(index) for index in indices]
        shown = ", ".join(str(index) for index in indices[:_SHOWN_INDICES])
        more = ", ..." if len(indices) > _SHOWN_INDICES else ""
        batch = f" (batch of {len(indices)} training examples: indices [{shown}{more}])" if indices else ""
        if all_skipped:
            message = (
                f"every batch of epoch {epoch} had a non-finite training loss (the last: {value} at step {step}"
                f"{batch}), so skipping them cannot go on; stopping: {kept}."
            )
        else:
            message = (
                f"non-finite training loss {value} at epoch {epoch}, step {step}{batch}; stopping: {kept}. "
                "Skip such batches with --skip-nonfinite (skip_nonfinite=True), or lower the learning rate."
            )
        super().__init__(message)
        self.epoch = epoch
        self.step = step
        self.value = value
        self.indices = indices
        self.all_skipped = all_skipped
        self._arguments = (epoch, step, value, checkpoint, last_good_epoch, tuple(indices), all_skipped)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled by the worker processes of a multi-process run and raised again in the parent.
        return (type(self), self._arguments)


# ----------------------------------------------------------------------------------------------------------- tasks


class _Accumulator:
    """Exact metric over many batches: a weighted mean of batch metrics, or AP over all stored scores."""

    def __init__(self, pooled_ap: bool) -> None:
        self.pooled_ap = pooled_ap
        self.total = 0.0
        self.weight = 0.0
        self.scores: list[torch.Tensor] = []
        self.labels: list[torch.Tensor] = []

    def add(self, value: float, weight: float) -> None:
        self.total += value * weight
        self.weight += weight

    def add_scores(self, scores: torch.Tensor, labels: torch.Tensor) -> None:
        self.scores.append(scores.detach().float().cpu())
        self.labels.append(labels.detach().cpu())

    def compute(self) -> float:
        if self.pooled_ap:
            if not self.scores:
                return 0.0
            scores, labels = torch.cat(self.scores), torch.cat(self.labels)
            return float(functional.average_precision(scores, labels, validate_args=False))
        return self.total / self.weight if self.weight > 0 else 0.0


class Task:
    """What a task does with model outputs: the training loss (UniLoss or baseline) and the exact metric.

    Formally a task maps a data batch to ``(inputs, targets)``, model outputs and targets to a scalar loss
    (UniLoss of the task's metric, or the baseline), and accumulates the exact metric over a whole split. Build
    one with :func:`build_task`.

    Args:
        config: the run's configuration.
        device: where batches are moved.
        distributed: build UniLoss with ``distributed=True`` (the loss of the batch gathered from every process).

    Attributes:
        metric_name: ``"average_precision"``, ``"accuracy"`` or ``"pck"``.
        loss_name: ``"UniLoss"`` or the baseline's name.
        criterion: the UniLoss module, or ``None`` for the baseline.
    """

    metric_name = ""

    def __init__(self, config: TrainConfig, device: torch.device, distributed: bool = False) -> None:
        self.config = config
        self.device = device
        self.loss_name = "UniLoss" if config.loss == "uniloss" else config.baseline_name
        self.generator = torch.Generator(device=device).manual_seed(config.seed)
        self.criterion: uniloss.UniLoss | None = None
        if config.loss == "uniloss":
            self.criterion = uniloss.UniLoss(
                self._refactoring(),
                temperature=config.temperature,
                power=config.power,
                generator=self.generator,
                validate_args=False,
                distributed=distributed,
                memory=config.memory,
            )

    def _refactoring(self) -> uniloss.metrics.MetricRefactoring:
        raise NotImplementedError

    def split(self, batch: Sequence[torch.Tensor]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Move a data batch to the device and split it into ``(inputs, targets)``."""
        moved = [tensor.to(self.device, non_blocking=True) for tensor in batch]
        return moved[0], tuple(moved[1:])

    def loss(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """The training loss of one batch (UniLoss or the baseline)."""
        raise NotImplementedError

    def batch_metric(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> tuple[float, float]:
        """Exact metric of one batch and its weight (examples or visible joints)."""
        raise NotImplementedError

    def accumulator(self) -> _Accumulator:
        """A fresh accumulator of the exact metric over a split."""
        return _Accumulator(pooled_ap=False)

    def update(self, accumulator: _Accumulator, outputs: Any, targets: tuple[torch.Tensor, ...]) -> None:
        """Add one batch to ``accumulator``."""
        accumulator.add(*self.batch_metric(outputs, targets))

    def gather_batch(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> tuple[Any, tuple[torch.Tensor, ...]]:
        """The detached outputs and targets of every process's part of the batch, for :meth:`batch_metric`."""
        from uniloss.distributed import gather

        return gather(outputs.detach()), tuple(gather(target) for target in targets)


class _APTask(Task):
    """One class against the rest: labels become ``label == positive_class``; AP over the whole split."""

    metric_name = "average_precision"

    def _refactoring(self) -> uniloss.metrics.MetricRefactoring:
        return uniloss.metrics.AveragePrecision(mode=self.config.ap_mode)

    def split(self, batch: Sequence[torch.Tensor]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        inputs, (labels,) = super().split(batch)
        return inputs, ((labels == self.config.positive_class).long(),)

    def loss(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> torch.Tensor:
        (labels,) = targets
        if self.criterion is not None:
            return self.criterion(outputs, labels)
        return F.binary_cross_entropy_with_logits(outputs.float(), labels.float())

    def batch_metric(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> tuple[float, float]:
        value = functional.average_precision(outputs.detach().float(), targets[0], validate_args=False)
        return float(value), float(outputs.shape[0])

    def accumulator(self) -> _Accumulator:
        return _Accumulator(pooled_ap=True)

    def update(self, accumulator: _Accumulator, outputs: Any, targets: tuple[torch.Tensor, ...]) -> None:
        accumulator.add_scores(outputs, targets[0])


class _AccuracyTask(Task):
    """Multi-class accuracy (a tie for the top score counts as wrong)."""

    metric_name = "accuracy"

    def __init__(self, config: TrainConfig, device: torch.device, num_classes: int, distributed: bool = False) -> None:
        self.num_classes = num_classes
        super().__init__(config, device, distributed)

    def _refactoring(self) -> uniloss.metrics.MetricRefactoring:
        return uniloss.metrics.Accuracy(num_classes=self.num_classes, candidates=self.config.candidates)

    def loss(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> torch.Tensor:
        (labels,) = targets
        if self.criterion is not None:
            return self.criterion(outputs, labels)
        return F.cross_entropy(outputs.float(), labels)

    def batch_metric(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> tuple[float, float]:
        value = functional.accuracy(outputs.detach().float(), targets[0], validate_args=False)
        return float(value), float(outputs.shape[0])


class _PCKTask(Task):
    """PCK on heatmaps; with several hourglass stacks the loss is summed over stacks, the metric uses the last."""

    metric_name = "pck"

    def _refactoring(self) -> uniloss.metrics.MetricRefactoring:
        return uniloss.metrics.PCK(threshold=self.config.threshold)

    @staticmethod
    def _stacks(outputs: Any) -> list[torch.Tensor]:
        return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]

    def loss(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> torch.Tensor:
        heatmaps, joints, visible, head_size = targets
        total = torch.zeros((), device=self.device)
        weight = visible.to(heatmaps.dtype)[..., None, None]
        for stack in self._stacks(outputs):
            if self.criterion is not None:
                total = total + self.criterion(stack, joints, visible, head_size)
            else:
                total = total + ((stack.float() - heatmaps) ** 2 * weight).mean()
        return total

    def batch_metric(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> tuple[float, float]:
        _, joints, visible, head_size = targets
        last = self._stacks(outputs)[-1].detach().float()
        value = functional.pck(last, joints, visible, head_size, threshold=self.config.threshold, validate_args=False)
        return float(value), float(visible.sum())

    def gather_batch(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> tuple[Any, tuple[torch.Tensor, ...]]:
        from uniloss.distributed import gather

        heatmaps, *rest = targets  # the target heatmaps are not needed by the metric: not sent
        return gather(self._stacks(outputs)[-1].detach()), (heatmaps, *(gather(target) for target in rest))


def build_task(config: TrainConfig, device: torch.device | str = "cpu", distributed: bool = False) -> Task:
    """Build the task object of ``config``: targets, training loss and exact metric for its model outputs.

    Formally, for ``ap`` the targets are ``label == positive_class`` and the losses UniLoss(AveragePrecision)
    or binary cross-entropy on logits; for ``accuracy`` UniLoss(Accuracy) or cross-entropy; for ``pck``
    UniLoss(PCK) or the heatmap MSE over visible joints, summed over hourglass stacks. The UniLoss anchors
    are drawn from a generator seeded with ``config.seed``.

    Args:
        config: the run's configuration.
        device: device of the batches and of the UniLoss generator.
        distributed: build UniLoss with ``distributed=True``: under a process group it computes the loss of
            the batch gathered from every process (used by ``nproc > 1``).

    Returns:
        The :class:`Task`.

    Example:
        >>> task = build_task(TrainConfig(task="ap", positive_class=3))
        >>> task.metric_name, task.loss_name
        ('average_precision', 'UniLoss')
    """
    from uniloss.data import dataset_info

    device = torch.device(device)
    if config.task == "ap":
        return _APTask(config, device, distributed)
    if config.task == "accuracy":
        return _AccuracyTask(config, device, dataset_info(config.dataset_name)["num_classes"], distributed)
    return _PCKTask(config, device, distributed)


# ------------------------------------------------------------------------------------------------ data and models


def _limit(dataset: Dataset[Any], limit: int | None) -> Dataset[Any]:
    if limit is None or limit >= len(dataset):  # type: ignore[arg-type]
        return dataset
    if isinstance(dataset, TensorDataset):
        return TensorDataset(*(tensor[:limit] for tensor in dataset.tensors))
    return Subset(dataset, range(limit))


def load_data(config: TrainConfig) -> tuple[Dataset[Any], Dataset[Any]]:
    """Load the training and test splits of ``config.dataset``, cut to ``limit_train`` and ``limit_test``.

    Args:
        config: the run's configuration.

    Returns:
        ``(train_set, test_set)``.

    Raises:
        FileNotFoundError: if the dataset's files are not in ``config.data_dir``.
        ValueError: if ``config.data_dir`` is needed but missing.
    """
    from uniloss.data import load_dataset

    name = config.dataset_name
    sets = []
    splits: tuple[tuple[Literal["train", "test"], int | None], ...] = (
        ("train", config.limit_train),
        ("test", config.limit_test),
    )
    for split, limit in splits:
        options: dict[str, Any] = {}
        if name == "keypoints" and limit is not None:
            options["num_samples"] = min(limit, 2000 if split == "train" else 500)  # samples do not depend on N
        sets.append(_limit(load_dataset(name, split, config.data_dir, **options), limit))
    return sets[0], sets[1]


def build_model_for(config: TrainConfig) -> nn.Module:
    """Build ``config.model`` sized for ``config.dataset`` and ``config.task``.

    Formally ``mlp`` gets ``in_features = C*H*W``, ``small_cnn`` and ``resnet20`` the image channels; all get one
    output for ``ap`` and ``num_classes`` for ``accuracy``. The hourglass gets the dataset's joints and a stem
    stride of ``image_size / heatmap_size``.

    Args:
        config: the run's configuration.

    Returns:
        The model (on the CPU, in training mode).

    Raises:
        ValueError: if the images do not fit the hourglass's ``depth`` or the heatmap size.
    """
    from uniloss.data import dataset_info
    from uniloss.models import build_model

    info = dataset_info(config.dataset_name)
    channels, height, width = info["image_shape"]
    name = config.model_name
    if config.task == "pck":
        heatmap = info["heatmap_size"]
        stride = height // heatmap
        if stride not in (1, 2, 4) or stride * heatmap != height:
            raise ValueError(f"image size {height} / heatmap size {heatmap} must be 1, 2 or 4 for the hourglass.")
        if height % (stride * 2**config.depth):
            raise ValueError(
                f"`depth` must leave the {height}x{width} images divisible by stem stride * 2**depth, "
                f"but got depth {config.depth} (stem stride {stride})."
            )
        return build_model(
            "hourglass",
            num_joints=info["num_joints"],
            num_stacks=config.stacks,
            width=config.width or 64,
            depth=config.depth,
            in_channels=channels,
            stem_stride=stride,
        )
    outputs = 1 if config.task == "ap" else info["num_classes"]
    if name == "mlp":
        return build_model("mlp", in_features=channels * height * width, hidden=config.hidden, out_features=outputs)
    if name == "small_cnn":
        return build_model("small_cnn", in_channels=channels, num_classes=outputs, width=config.width or 32)
    return build_model("resnet20", num_classes=outputs, in_channels=channels)


def resolve_device(device: str) -> torch.device:
    """``"auto"`` gives CUDA when available, else the CPU; other names are passed to ``torch.device``.

    Raises:
        ValueError: if CUDA is requested but not available.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"`device` is {device!r}, but CUDA is not available; use 'cpu' or 'auto'.")
    return resolved


def _epoch_seed(seed: int, epoch: int) -> int:
    """Seed of the data order of ``epoch``: a function of the run seed and the epoch only, so resuming repeats it."""
    return (seed * 1_000_003 + epoch * 7_919 + 12_345) % (2**63 - 1)


def _index_batches(size: int, batch_size: int, generator: torch.Generator | None) -> list[torch.Tensor]:
    """The example indices of each batch: a permutation drawn from ``generator`` (or ``0..size-1``) cut in order."""
    order = torch.randperm(size, generator=generator) if generator is not None else torch.arange(size)
    return list(order.split(batch_size))


def _load_batches(
    dataset: Dataset[Any], index_batches: Sequence[torch.Tensor], num_workers: int
) -> Iterator[Sequence[torch.Tensor]]:
    """Yield the batches of ``index_batches``; tensor datasets are sliced without a DataLoader."""
    if isinstance(dataset, TensorDataset) and num_workers == 0:
        for index in index_batches:
            yield tuple(tensor[index] for tensor in dataset.tensors)
        return
    sampler = [index.tolist() for index in index_batches]
    yield from DataLoader(dataset, batch_sampler=sampler, num_workers=num_workers)


def _batches(
    dataset: Dataset[Any], batch_size: int, generator: torch.Generator | None, num_workers: int
) -> Iterator[Sequence[torch.Tensor]]:
    """Yield batches, shuffled by ``generator`` when given."""
    size = len(dataset)  # type: ignore[arg-type]
    yield from _load_batches(dataset, _index_batches(size, batch_size, generator), num_workers)


def _augment(
    images: torch.Tensor, generator: torch.Generator, total: int | None = None, offset: int = 0
) -> torch.Tensor:
    """Random crops of the 4-pixel zero-padded images and horizontal flips, one draw per image.

    With several processes, the draws are made for the whole batch of ``total`` images on every process and
    this process's ``images`` take those from ``offset`` on, so the crops do not depend on the number of processes.
    """
    count, _, height, width = images.shape
    total = count if total is None else total
    shifts = torch.randint(0, 9, (total, 2), generator=generator)[offset : offset + count].to(images.device)
    flips = (torch.rand(total, generator=generator) < 0.5)[offset : offset + count].to(images.device)
    padded = F.pad(images, (4, 4, 4, 4))
    rows = shifts[:, 0, None] + torch.arange(height, device=images.device)
    cols = shifts[:, 1, None] + torch.arange(width, device=images.device)
    cols = torch.where(flips[:, None], cols.flip(1), cols)
    batch = torch.arange(count, device=images.device)[:, None, None]
    cropped = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
    return cropped.permute(0, 3, 1, 2).contiguous()


# ------------------------------------------------------------------------------------------- optimiser, schedule


def _make_optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    params = model.parameters()
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)


def _lr_factor(config: TrainConfig, epoch: int) -> float:
    """Learning-rate multiplier for the 0-based ``epoch``."""
    if config.scheduler == "multistep":
        return float(config.gamma ** sum(epoch >= milestone for milestone in config.milestones))
    if config.scheduler == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * epoch / config.epochs))
    return 1.0


def _make_scheduler(config: TrainConfig, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LambdaLR:
    # LambdaLR keeps a state dict of plain numbers (MultiStepLR's holds a Counter, which weights_only rejects).
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: _lr_factor(config, epoch))


# --------------------------------------------------------------------------------------------- RNG and checkpoints


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _rng_state(task: Task, augment_generator: torch.Generator) -> dict[str, Any]:
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


def _set_rng_state(state: dict[str, Any], task: Task, augment_generator: torch.Generator) -> None:
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


def _atomic_write_bytes(path: Path, write: Any) -> None:
    """Write ``path`` through a temporary file in the same folder and ``os.replace``: never a half-written file.

    A process killed at any moment leaves either the old file or the new one (and perhaps a stale temporary
    file, overwritten by the next write); the file and then its folder are synced, so a power cut does too.
    """
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    _atomic_write_bytes(path, lambda handle: torch.save(payload, handle))


def _save_history(path: Path, history: dict[str, Any]) -> None:
    text = json.dumps(history, indent=1, allow_nan=True).encode()
    _atomic_write_bytes(path, lambda handle: handle.write(text))


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


def _check_resumable(saved: dict[str, Any], config: TrainConfig, path: Path) -> None:
    current = config.to_dict()
    changed = sorted(name for name in current if name not in _RESUMABLE_CHANGES and saved.get(name) != current[name])
    if changed:
        details = ", ".join(f"{name}: {saved.get(name)!r} -> {current[name]!r}" for name in changed)
        raise ValueError(f"cannot resume from {path}: the run was made with different options ({details}).")


# ---------------------------------------------------------------------------------------------------- the loop


def _new_history(
    config: TrainConfig, task: Task, model: nn.Module, device: torch.device, sizes: tuple[int, int]
) -> dict[str, Any]:
    history: dict[str, Any] = {
        "config": config.to_dict(),
        "task": config.task,
        "dataset": config.dataset_name,
        "model": config.model_name,
        "loss": config.loss,
        "loss_name": task.loss_name,
        "metric": task.metric_name,
        "seed": config.seed,
        "device": str(device),
        "num_parameters": sum(parameter.numel() for parameter in model.parameters()),
        "num_train": sizes[0],
        "num_test": sizes[1],
        "uniloss_version": uniloss.__version__,
        "torch_version": str(torch.__version__),
    }
    for key in _HISTORY_SERIES:
        history[key] = []
    history.update(final_metric=None, best_metric=None, completed=False)
    return history


@torch.no_grad()
def evaluate(model: nn.Module, task: Task, dataset: Dataset[Any], batch_size: int = 512, num_workers: int = 0) -> float:
    """The task's exact metric of ``model`` on a whole split (AP pooled over the split, not a batch mean).

    Args:
        model: the model; put in eval mode and left there.
        task: from :func:`build_task`.
        dataset: the split.
        batch_size: evaluation batch size (does not change the value).
        num_workers: data-loading worker processes.

    Returns:
        The metric as a float.
    """
    model.eval()
    accumulator = task.accumulator()
    for batch in _batches(dataset, batch_size, None, num_workers):
        inputs, targets = task.split(batch)
        task.update(accumulator, model(inputs), targets)
    return accumulator.compute()


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _world() -> tuple[int, int]:
    """``(rank, world size)`` of the initialised process group, or ``(0, 1)`` without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _training_batches(config: TrainConfig, size: int, epoch: int, world: int) -> list[torch.Tensor]:
    """Example indices of every batch of ``epoch``, the same on every process.

    A permutation seeded by ``(seed, epoch)`` cut into batches of ``batch_size``; a last batch too small to give
    each of the ``world`` processes two examples (BatchNorm needs two) is dropped.
    """
    order = torch.Generator().manual_seed(_epoch_seed(config.seed, epoch))
    return [batch for batch in _index_batches(size, config.batch_size, order) if batch.numel() >= 2 * world]


def _loss_value(loss: torch.Tensor, world: int) -> float:
    """The loss of the whole batch as a float: with several processes, the mean of their (weighted) losses.

    Every process then sees the same value, so all of them agree on stopping or skipping a non-finite batch.
    """
    value = loss.detach().float()
    if world > 1:
        value = value.clone()
        dist.all_reduce(value)
        value = value / world
    return float(value)


def _train_epoch(
    epoch: int,
    config: TrainConfig,
    model: nn.Module,
    task: Task,
    optimizer: torch.optim.Optimizer,
    dataset: Dataset[Any],
    augment_generator: torch.Generator,
    progress: bool,
    checkpoint: Path | None,
) -> tuple[float, float, float, int]:
    """One pass over the training split; returns (mean loss, mean batch metric, seconds, skipped batches).

    The training metric is the mean of each batch's exact metric (weighted by examples, or visible joints):
    pooling AP over an epoch would rank early scores against late ones from a different model. With several
    processes each batch is cut into contiguous parts, one per process in rank order, so the batch that
    UniLoss gathers is the batch one process would see.
    """
    from tqdm.auto import tqdm

    rank, world = _world()
    model.train()
    batches = _training_batches(config, len(dataset), epoch, world)  # type: ignore[arg-type]
    parts = [batch.tensor_split(world) for batch in batches]
    local = [part[rank] for part in parts]
    loss_sum, loss_count, metric_sum, metric_weight, skipped = 0.0, 0, 0.0, 0.0, 0
    last_bad: tuple[int, float, list[int]] = (0, math.nan, [])
    short = _SHORT_METRIC[task.metric_name]
    bar = tqdm(
        total=len(batches),
        desc=f"{run_label(config)} epoch {epoch + 1}/{config.epochs}",
        disable=not progress,
        leave=False,
        dynamic_ncols=True,
    )
    _synchronize(task.device)
    start = time.perf_counter()
    loaded = _load_batches(dataset, local, config.num_workers)
    for step, (indices, part, batch) in enumerate(zip(batches, parts, loaded, strict=True), start=1):
        bar.update(1)
        inputs, targets = task.split(batch)
        if config.augment:
            offset = sum(int(piece.numel()) for piece in part[:rank])
            inputs = _augment(inputs, augment_generator, int(indices.numel()), offset)
        outputs = model(inputs)
        loss = task.loss(outputs, targets)
        if world > 1 and task.criterion is None:
            # The baseline is a mean over this process's part: weighted so that DDP's mean of the gradients is
            # the gradient of the mean over the whole batch (UniLoss is already the loss of the whole batch).
            loss = loss * (part[rank].numel() * world / indices.numel())
        value = _loss_value(loss, world)
        if not math.isfinite(value):
            if config.skip_nonfinite:
                skipped += 1
                last_bad = (step, value, indices.tolist())
                if task.criterion is not None:
                    task.criterion.reset_memory()  # the bad batch must not stay among the remembered examples
                continue
            bar.close()
            raise NonFiniteLossError(epoch + 1, step, value, checkpoint, epoch, indices.tolist())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        loss_sum += value
        loss_count += 1
        with torch.no_grad():
            metric_outputs, metric_targets = task.gather_batch(outputs, targets) if world > 1 else (outputs, targets)
            batch_value, batch_weight = task.batch_metric(metric_outputs, metric_targets)
        metric_sum += batch_value * batch_weight
        metric_weight += batch_weight
        bar.set_postfix(
            {"loss": f"{loss_sum / loss_count:.4f}", short: f"{metric_sum / max(metric_weight, 1e-12):.4f}"},
            refresh=False,
        )
    _synchronize(task.device)
    seconds = time.perf_counter() - start
    bar.close()
    if batches and skipped == len(batches):
        step, value, indices_list = last_bad
        raise NonFiniteLossError(epoch + 1, step, value, checkpoint, epoch, indices_list, all_skipped=True)
    mean_loss = loss_sum / loss_count if loss_count else math.nan
    return mean_loss, metric_sum / max(metric_weight, 1e-12), seconds, skipped


def train(config: TrainConfig, progress: bool = True) -> dict[str, Any]:
    """Train ``config.model`` on ``config.dataset`` with UniLoss or the baseline, evaluating every epoch.

    Formally, for each epoch: shuffle the training split with a generator seeded by ``(seed, epoch)``, take a
    step of ``config.optimizer`` on ``task.loss`` for each batch, compute the exact metric on the test split,
    step the learning-rate schedule, and (with ``config.out``) write ``checkpoint.pt`` (model, optimiser,
    scheduler, every RNG state, epoch and history) and then ``history.json``, each to a temporary file renamed
    over the old one. A run killed at any moment loses at most the epoch in progress: with ``config.resume``
    it continues from ``out/checkpoint.pt`` (whose history is authoritative: ``history.json`` is rewritten
    from it) and gives the same history as an uninterrupted run with the same seed. An ``out`` that already holds
    a run is refused unless ``config.resume`` (continue it) or ``config.overwrite`` (replace it; its checkpoint
    and history are deleted first), and ``config.resume`` without a checkpoint is an error.

    A NaN or infinite loss stops the run, naming the epoch, the step and the batch's examples, and leaves the
    last good checkpoint; with ``config.skip_nonfinite`` the batch is skipped instead (no optimiser step) and
    counted in the history's ``skipped``. With ``config.nproc > 1`` the run is spread over that many processes
    (see ``docs/distributed.md``): each batch is cut in ``nproc`` parts, the model is wrapped in
    ``DistributedDataParallel``, UniLoss computes the loss of the whole batch, process 0 evaluates and alone
    writes files, and the history matches a one-process run up to floating-point noise.

    Args:
        config: the run's configuration.
        progress: show a tqdm progress bar with the running loss and metric, and one line per epoch.

    Returns:
        The history: ``config``, ``metric``, ``loss_name`` and other metadata, the per-epoch lists ``epoch``,
        ``train_loss``, ``train_metric``, ``test_metric``, ``lr``, ``epoch_time`` (training seconds),
        ``eval_time`` and ``skipped`` (non-finite batches skipped), and ``final_metric``, ``best_metric`` and
        ``completed``.

    Raises:
        NonFiniteLossError: if a loss is NaN or infinite (the last good checkpoint is kept), or with
            ``skip_nonfinite`` if every batch of an epoch is.
        ValueError: for a device that is not available, an ``out`` that holds a run without ``resume`` or
            ``overwrite``, ``resume`` without a checkpoint, a checkpoint made with different options, or a
            truncated or corrupted checkpoint or data file (naming it).
        FileNotFoundError: if the dataset's files are missing.

    Example:
        >>> history = train(TrainConfig(epochs=1, limit_train=64, limit_test=64, device="cpu"), progress=False)
        >>> history["metric"], len(history["test_metric"]), 0.0 <= history["final_metric"] <= 1.0
        ('average_precision', 1, True)
    """
    rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else int(os.environ.get("RANK", "0"))
    check_output(config.out, config.resume, config.overwrite, "train", clear=rank == 0)  # process 0 alone deletes
    if config.nproc > 1:
        return _train_processes(config, progress)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not (dist.is_available() and dist.is_initialized()):
        return _train_torchrun(config, progress)
    device = resolve_device(config.device)
    if _world()[1] > 1 and device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())  # in a process group made by the caller
    threads = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    try:
        return _train_process(config, progress, device)
    finally:
        torch.set_num_threads(threads)


def _train_process(config: TrainConfig, progress: bool, device: torch.device) -> dict[str, Any]:
    """The run of one process: of the whole run, or of one rank of an initialised process group."""
    from tqdm.auto import tqdm

    rank, world = _world()
    _seed_everything(config.seed)
    train_set, test_set = load_data(config)
    model = build_model_for(config)
    if world > 1 and device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)  # BatchNorm statistics of the whole batch
    model = model.to(device)
    task = build_task(config, device, distributed=world > 1)
    optimizer = _make_optimizer(config, model)
    scheduler = _make_scheduler(config, optimizer)
    augment_generator = torch.Generator().manual_seed(config.seed + 1)
    sizes = (len(train_set), len(test_set))  # type: ignore[arg-type]
    history = _new_history(config, task, model, device, sizes)

    out = Path(config.out) if config.out is not None else None
    checkpoint_path = out / CHECKPOINT_NAME if out is not None else None
    writes = out is not None and rank == 0  # process 0 alone writes checkpoints and history
    start_epoch = 0
    if out is not None and writes:
        out.mkdir(parents=True, exist_ok=True)
    if config.resume and checkpoint_path is not None and checkpoint_path.exists():
        checkpoint = load_checkpoint(checkpoint_path)  # on the CPU: RNG states must stay there; weights are copied
        _check_resumable(checkpoint["config"], config, checkpoint_path)
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        _set_rng_state(checkpoint["rng"], task, augment_generator)
        if task.criterion is not None and checkpoint.get("criterion"):
            task.criterion.load_state_dict(checkpoint["criterion"])  # examples remembered by UniLoss(memory=...)
        saved = checkpoint["history"]
        for key in _HISTORY_SERIES:
            history[key] = list(saved.get(key, [0] * len(saved["epoch"])))  # "skipped" is newer than version 1
        start_epoch = int(checkpoint["epoch"])
        _finish_history(history, config)
        if writes and out is not None:
            # The checkpoint is written first: a run killed between the two writes left history.json behind.
            _save_history(out / HISTORY_NAME, history)
        if progress:
            tqdm.write(f"resuming {checkpoint_path} after epoch {start_epoch}")
    trained = model
    if world > 1:
        device_ids = [device.index] if device.type == "cuda" else None
        trained = nn.parallel.DistributedDataParallel(model, device_ids=device_ids)

    stop = config.epochs if config.stop_after is None else max(config.stop_after, start_epoch)
    short = _SHORT_METRIC[task.metric_name]
    for epoch in range(start_epoch, stop):
        lr = optimizer.param_groups[0]["lr"]
        train_loss, train_metric, seconds, skipped = _train_epoch(
            epoch, config, trained, task, optimizer, train_set, augment_generator, progress, checkpoint_path
        )
        _synchronize(device)
        eval_start = time.perf_counter()
        test_metric = evaluate(model, task, test_set, config.eval_batch_size, config.num_workers) if rank == 0 else 0.0
        if world > 1:
            test_metric = _broadcast_float(test_metric, device)
        eval_seconds = time.perf_counter() - eval_start
        scheduler.step()
        for key, value in zip(
            _HISTORY_SERIES,
            (epoch + 1, train_loss, train_metric, test_metric, lr, seconds, eval_seconds, skipped),
            strict=True,
        ):
            history[key].append(value)
        _finish_history(history, config)
        if progress:
            note = f", skipped {skipped} non-finite batch{'es' if skipped > 1 else ''}" if skipped else ""
            tqdm.write(
                f"{run_label(config)} epoch {epoch + 1}/{config.epochs}: loss {train_loss:.4f}  "
                f"train {short} {train_metric:.4f}  test {short} {test_metric:.4f}  ({seconds:.1f} s{note})"
            )
        if writes and out is not None and checkpoint_path is not None:
            payload = {
                "version": CHECKPOINT_VERSION,
                "epoch": epoch + 1,
                "config": config.to_dict(),
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": _rng_state(task, augment_generator),
                "criterion": task.criterion.state_dict() if task.criterion is not None else {},
                "history": history,
            }
            _save_checkpoint(checkpoint_path, payload)  # first the checkpoint, which carries the history,
            _save_history(out / HISTORY_NAME, history)  # then its JSON copy
    _finish_history(history, config)
    return history


def _finish_history(history: dict[str, Any], config: TrainConfig) -> None:
    metrics = history["test_metric"]
    history["final_metric"] = metrics[-1] if metrics else None
    history["best_metric"] = max(metrics) if metrics else None
    history["completed"] = len(metrics) >= config.epochs


# ------------------------------------------------------------------------------------------------- several processes


def _broadcast_float(value: float, device: torch.device) -> float:
    """Process 0's ``value`` on every process."""
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    dist.broadcast(tensor, src=0)
    return float(tensor)


def _cpu_count() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _train_processes(config: TrainConfig, progress: bool) -> dict[str, Any]:
    """Run ``config.nproc`` processes (spawned, with a file rendezvous) and return process 0's history."""
    import torch.multiprocessing as mp

    device = resolve_device(config.device)
    if device.type == "cuda":
        if config.device not in ("auto", "cuda"):
            raise ValueError(
                "`device` must be 'cuda' or 'auto' when `nproc` > 1 (process r uses cuda:r), "
                f"but got {config.device!r}."
            )
        if torch.cuda.device_count() < config.nproc:
            raise ValueError(
                f"`nproc` must be at most the number of CUDA devices ({torch.cuda.device_count()}) with nccl, but got "
                f"{config.nproc}; use `device` 'cpu' for CPU processes."
            )
    with tempfile.TemporaryDirectory(prefix="uniloss-train-") as name:
        folder = Path(name)
        try:
            mp.start_processes(
                _process_main,
                args=(config, progress, device.type, str(folder), os.getpid()),
                nprocs=config.nproc,
                start_method="spawn",
            )
        except (mp.ProcessRaisedException, mp.ProcessExitedException) as failure:
            error = _worker_error(folder, config.nproc)
            if error is not None:
                raise error from None
            raise RuntimeError(f"a training process failed: {failure}") from failure
        return dict(json.loads((folder / HISTORY_NAME).read_text()))


def _train_torchrun(config: TrainConfig, progress: bool) -> dict[str, Any]:
    """The run of one process started by ``torchrun`` (``WORLD_SIZE`` > 1): join its group from the environment."""
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(config.device)
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("WORLD_SIZE", "1")))
    torch.set_num_threads(config.threads or max(1, _cpu_count() // local_world))
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=datetime.timedelta(minutes=30))
    try:
        return _train_process(config, progress and dist.get_rank() == 0, device)
    finally:
        dist.destroy_process_group()


def _process_main(rank: int, config: TrainConfig, progress: bool, device_type: str, folder: str, parent: int) -> None:
    """Entry point of process ``rank`` of ``_train_processes``."""
    _exit_with_parent(parent)
    world = config.nproc
    if device_type == "cuda":
        torch.cuda.set_device(rank)
        device, backend = torch.device("cuda", rank), "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    torch.set_num_threads(config.threads or max(1, _cpu_count() // world))
    dist.init_process_group(
        backend,
        init_method=(Path(folder) / "rendezvous").as_uri(),
        rank=rank,
        world_size=world,
        timeout=datetime.timedelta(minutes=30),
    )
    try:
        history = _train_process(config, progress and rank == 0, device)
        if rank == 0:
            (Path(folder) / HISTORY_NAME).write_text(json.dumps(history, allow_nan=True))
    except BaseException as error:
        _save_worker_error(Path(folder), rank, error)
        raise
    finally:
        dist.destroy_process_group()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # success: skip interpreter teardown, where a lingering gloo thread has been seen to hang


def _exit_with_parent(parent: int) -> None:
    """On Linux, have this process killed with its parent: a killed run leaves no orphan writing checkpoints."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before prctl
        os._exit(1)


def _save_worker_error(folder: Path, rank: int, error: BaseException) -> None:
    """Pickle a worker's exception for the parent, which raises it again (a private temporary folder)."""
    try:
        data = pickle.dumps(error)
        pickle.loads(data)
    except Exception:
        data = pickle.dumps(RuntimeError(f"training process {rank} failed: {type(error).__name__}: {error}"))
    (folder / f"error-{rank}.pickle").write_bytes(data)


def _worker_error(folder: Path, world: int) -> BaseException | None:
    """The exception of the lowest rank that saved one, or ``None``."""
    for rank in range(world):
        path = folder / f"error-{rank}.pickle"
        if path.is_file():
            error = pickle.loads(path.read_bytes())  # written by our own worker into our own temporary folder
            if isinstance(error, BaseException):
                return error
    return None
