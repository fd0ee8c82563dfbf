"""The one training loop of uniloss: every task (AP, accuracy, PCK) and every loss (UniLoss, baseline)."""

from __future__ import annotations

import json
import math
import os
import random
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset

import uniloss
from uniloss import functional
from uniloss.train.config import TrainConfig

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
    {"epochs", "resume", "stop_after", "device", "out", "data_dir", "num_workers", "eval_batch_size", "preset"}
)
_HISTORY_SERIES = ("epoch", "train_loss", "train_metric", "test_metric", "lr", "epoch_time", "eval_time")
_SHORT_METRIC = {"average_precision": "AP", "accuracy": "acc", "pck": "PCK"}


class NonFiniteLossError(FloatingPointError):
    """Raised when a training loss is NaN or infinite; the last good checkpoint is left in place.

    Attributes:
        epoch: the 1-based epoch of the bad step.
        step: the 1-based step within that epoch.
        value: the loss value.
    """

    def __init__(self, epoch: int, step: int, value: float, checkpoint: Path | None, last_good_epoch: int) -> None:
        kept = (
            f"the last good checkpoint ({checkpoint}, epoch {last_good_epoch}) is kept"
            if checkpoint is not None and last_good_epoch > 0
            else "no checkpoint was written"
        )
        super().__init__(f"non-finite training loss {value} at epoch {epoch}, step {step}; stopping: {kept}.")
        self.epoch = epoch
        self.step = step
        self.value = value


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

    Attributes:
        metric_name: ``"average_precision"``, ``"accuracy"`` or ``"pck"``.
        loss_name: ``"UniLoss"`` or the baseline's name.
        criterion: the UniLoss module, or ``None`` for the baseline.
    """

    metric_name = ""

    def __init__(self, config: TrainConfig, device: torch.device) -> None:
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

    def __init__(self, config: TrainConfig, device: torch.device, num_classes: int) -> None:
        self.num_classes = num_classes
        super().__init__(config, device)

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


def build_task(config: TrainConfig, device: torch.device | str = "cpu") -> Task:
    """Build the task object of ``config``: targets, training loss and exact metric for its model outputs.

    Formally, for ``ap`` the targets are ``label == positive_class`` and the losses UniLoss(AveragePrecision)
    or binary cross-entropy on logits; for ``accuracy`` UniLoss(Accuracy) or cross-entropy; for ``pck``
    UniLoss(PCK) or the heatmap MSE over visible joints, summed over hourglass stacks. The UniLoss anchors
    are drawn from a generator seeded with ``config.seed``.

    Args:
        config: the run's configuration.
        device: device of the batches and of the UniLoss generator.

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
        return _APTask(config, device)
    if config.task == "accuracy":
        return _AccuracyTask(config, device, dataset_info(config.dataset_name)["num_classes"])
    return _PCKTask(config, device)


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


def _batches(
    dataset: Dataset[Any], batch_size: int, generator: torch.Generator | None, num_workers: int
) -> Iterator[Sequence[torch.Tensor]]:
    """Yield batches, shuffled by ``generator`` when given; tensor datasets are sliced without a DataLoader."""
    if isinstance(dataset, TensorDataset) and num_workers == 0:
        size = len(dataset)
        order = torch.randperm(size, generator=generator) if generator is not None else torch.arange(size)
        for start in range(0, size, batch_size):
            index = order[start : start + batch_size]
            yield tuple(tensor[index] for tensor in dataset.tensors)
        return
    loader = DataLoader(
        dataset, batch_size=batch_size, shuffle=generator is not None, generator=generator, num_workers=num_workers
    )
    yield from loader


def _num_batches(dataset: Dataset[Any], batch_size: int) -> int:
    return math.ceil(len(dataset) / batch_size)  # type: ignore[arg-type]


def _augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random crops of the 4-pixel zero-padded images and horizontal flips, one draw per image."""
    count, _, height, width = images.shape
    shifts = torch.randint(0, 9, (count, 2), generator=generator).to(images.device)
    flips = (torch.rand(count, generator=generator) < 0.5).to(images.device)
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
    """Write ``path`` through a temporary file in the same folder and ``os.replace``: never a half-written file."""
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    _atomic_write_bytes(path, lambda handle: torch.save(payload, handle))


def _save_history(path: Path, history: dict[str, Any]) -> None:
    text = json.dumps(history, indent=1, allow_nan=True).encode()
    _atomic_write_bytes(path, lambda handle: handle.write(text))


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :func:`train` with ``torch.load(weights_only=True)``.

    Args:
        path: the ``checkpoint.pt`` file.
        map_location: where to put its tensors.

    Returns:
        A dict with ``version``, ``epoch``, ``config``, ``model``, ``optimizer``, ``scheduler``, ``rng`` and
        ``history``.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the file is not a uniloss checkpoint.
    """
    checkpoint = torch.load(Path(path), map_location=map_location, weights_only=True)
    if not isinstance(checkpoint, dict) or checkpoint.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path} is not a uniloss checkpoint of version {CHECKPOINT_VERSION}.")
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
) -> tuple[float, float, float]:
    """One pass over the training split; returns (mean loss, mean batch metric, seconds).

    The training metric is the mean of each batch's exact metric (weighted by examples, or visible joints):
    pooling AP over an epoch would rank early scores against late ones from a different model.
    """
    from tqdm.auto import tqdm

    model.train()
    order = torch.Generator().manual_seed(_epoch_seed(config.seed, epoch))
    loss_sum, loss_count, metric_sum, metric_weight = 0.0, 0, 0.0, 0.0
    short = _SHORT_METRIC[task.metric_name]
    bar = tqdm(
        total=_num_batches(dataset, config.batch_size),
        desc=f"epoch {epoch + 1}/{config.epochs} [{task.loss_name}]",
        disable=not progress,
        leave=False,
        dynamic_ncols=True,
    )
    _synchronize(task.device)
    start = time.perf_counter()
    for step, batch in enumerate(_batches(dataset, config.batch_size, order, config.num_workers), start=1):
        bar.update(1)
        if batch[0].shape[0] < 2:  # BatchNorm needs two examples; only a last batch of one is skipped
            continue
        inputs, targets = task.split(batch)
        if config.augment:
            inputs = _augment(inputs, augment_generator)
        outputs = model(inputs)
        loss = task.loss(outputs, targets)
        value = float(loss.detach())
        if not math.isfinite(value):
            bar.close()
            raise NonFiniteLossError(epoch + 1, step, value, checkpoint, epoch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        loss_sum += value
        loss_count += 1
        with torch.no_grad():
            batch_value, batch_weight = task.batch_metric(outputs, targets)
        metric_sum += batch_value * batch_weight
        metric_weight += batch_weight
        bar.set_postfix(
            {"loss": f"{loss_sum / loss_count:.4f}", short: f"{metric_sum / max(metric_weight, 1e-12):.4f}"},
            refresh=False,
        )
    _synchronize(task.device)
    seconds = time.perf_counter() - start
    bar.close()
    return loss_sum / max(loss_count, 1), metric_sum / max(metric_weight, 1e-12), seconds


def train(config: TrainConfig, progress: bool = True) -> dict[str, Any]:
    """Train ``config.model`` on ``config.dataset`` with UniLoss or the baseline, evaluating every epoch.

    Formally, for each epoch: shuffle the training split with a generator seeded by ``(seed, epoch)``, take a
    step of ``config.optimizer`` on ``task.loss`` for each batch, compute the exact metric on the test split,
    step the learning-rate schedule, and (with ``config.out``) write ``checkpoint.pt`` (model, optimiser,
    scheduler, every RNG state, epoch and history; temp file + ``os.replace``) and ``history.json``. With
    ``config.resume`` a run continues from ``out/checkpoint.pt`` and gives the same history as an
    uninterrupted run with the same seed.

    Args:
        config: the run's configuration.
        progress: show a tqdm progress bar with the running loss and metric, and one line per epoch.

    Returns:
        The history: ``config``, ``metric``, ``loss_name`` and other metadata, the per-epoch lists ``epoch``,
        ``train_loss``, ``train_metric``, ``test_metric``, ``lr``, ``epoch_time`` (training seconds) and
        ``eval_time``, and ``final_metric``, ``best_metric`` and ``completed``.

    Raises:
        NonFiniteLossError: if a loss is NaN or infinite (the last good checkpoint is kept).
        ValueError: for a device that is not available, or a checkpoint made with different options.
        FileNotFoundError: if the dataset's files are missing.

    Example:
        >>> history = train(TrainConfig(epochs=1, limit_train=64, limit_test=64, device="cpu"), progress=False)
        >>> history["metric"], len(history["test_metric"]), 0.0 <= history["final_metric"] <= 1.0
        ('average_precision', 1, True)
    """
    from tqdm.auto import tqdm

    device = resolve_device(config.device)
    _seed_everything(config.seed)
    train_set, test_set = load_data(config)
    model = build_model_for(config).to(device)
    task = build_task(config, device)
    optimizer = _make_optimizer(config, model)
    scheduler = _make_scheduler(config, optimizer)
    augment_generator = torch.Generator().manual_seed(config.seed + 1)
    sizes = (len(train_set), len(test_set))  # type: ignore[arg-type]
    history = _new_history(config, task, model, device, sizes)

    out = Path(config.out) if config.out is not None else None
    checkpoint_path = out / CHECKPOINT_NAME if out is not None else None
    start_epoch = 0
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    if config.resume and checkpoint_path is not None and checkpoint_path.exists():
        checkpoint = load_checkpoint(checkpoint_path)  # on the CPU: RNG states must stay there; weights are copied
        _check_resumable(checkpoint["config"], config, checkpoint_path)
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        _set_rng_state(checkpoint["rng"], task, augment_generator)
        saved = checkpoint["history"]
        for key in _HISTORY_SERIES:
            history[key] = list(saved[key])
        start_epoch = int(checkpoint["epoch"])
        if progress:
            tqdm.write(f"resuming {checkpoint_path} after epoch {start_epoch}")

    stop = config.epochs if config.stop_after is None else max(config.stop_after, start_epoch)
    short = _SHORT_METRIC[task.metric_name]
    for epoch in range(start_epoch, stop):
        lr = optimizer.param_groups[0]["lr"]
        train_loss, train_metric, seconds = _train_epoch(
            epoch, config, model, task, optimizer, train_set, augment_generator, progress, checkpoint_path
        )
        _synchronize(device)
        eval_start = time.perf_counter()
        test_metric = evaluate(model, task, test_set, config.eval_batch_size, config.num_workers)
        eval_seconds = time.perf_counter() - eval_start
        scheduler.step()
        for key, value in zip(
            _HISTORY_SERIES,
            (epoch + 1, train_loss, train_metric, test_metric, lr, seconds, eval_seconds),
            strict=True,
        ):
            history[key].append(value)
        _finish_history(history, config)
        if progress:
            tqdm.write(
                f"epoch {epoch + 1}/{config.epochs} [{task.loss_name}] loss {train_loss:.4f}  "
                f"train {short} {train_metric:.4f}  test {short} {test_metric:.4f}  ({seconds:.1f} s)"
            )
        if out is not None and checkpoint_path is not None:
            payload = {
                "version": CHECKPOINT_VERSION,
                "epoch": epoch + 1,
                "config": config.to_dict(),
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": _rng_state(task, augment_generator),
                "history": history,
            }
            _save_checkpoint(checkpoint_path, payload)
            _save_history(out / HISTORY_NAME, history)
    _finish_history(history, config)
    return history


def _finish_history(history: dict[str, Any], config: TrainConfig) -> None:
    metrics = history["test_metric"]
    history["final_metric"] = metrics[-1] if metrics else None
    history["best_metric"] = max(metrics) if metrics else None
    history["completed"] = len(metrics) >= config.epochs
