"""Builders of a run's parts from its config: the data splits, the model, the device, the optimiser and schedule."""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from torch import nn
from torch.utils.data import Dataset, Subset, TensorDataset

from uniloss_lab.data import dataset_info, load_dataset
from uniloss_lab.models import build_model
from uniloss_lab.train.config import ONE_VS_REST, RETRIEVAL_TASKS, TrainConfig
from uniloss_lab.train.peers import PEERS

__all__ = ["build_model_for", "load_data", "make_optimizer", "make_scheduler", "resolve_device"]


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
    name = config.dataset_name
    sets = []
    splits: tuple[tuple[Literal["train", "test"], int | None], ...] = (
        ("train", config.limit_train),
        ("test", config.limit_test),
    )
    for split, limit in splits:
        options: dict[str, Any] = {}
        if name in ("keypoints", "shapes") and limit is not None:
            options["num_samples"] = min(limit, 2000 if split == "train" else 500)  # samples do not depend on N
        sets.append(_limit(load_dataset(name, split, config.data_dir, **options), limit))
    return sets[0], sets[1]


def build_model_for(config: TrainConfig) -> nn.Module:
    """Build ``config.model`` sized for ``config.dataset`` and ``config.task``.

    Formally ``mlp`` gets ``in_features = C*H*W``, ``small_cnn`` and ``resnet20`` the image channels; all get one
    output for ``ap``, ``f1`` and ``fbeta``, ``num_classes`` for ``accuracy`` and ``topk``, and ``embedding_dim``
    for the retrieval tasks. The hourglass gets
    the dataset's joints and a
    stem stride of ``image_size / heatmap_size``; the U-Net the image channels and the dataset's classes.

    Args:
        config: the run's configuration.

    Returns:
        The model (on the CPU, in training mode).

    Raises:
        ValueError: if the images do not fit the hourglass's ``depth`` or the heatmap size.
    """
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
    if config.task == "segmentation":
        return build_model(
            "unet", in_channels=channels, num_classes=info["num_classes"], width=config.width or 16, depth=config.depth
        )
    outputs = 1 if config.task in ONE_VS_REST else info["num_classes"]
    if config.task in RETRIEVAL_TASKS:
        outputs = config.embedding_dim
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


def make_optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    """The optimiser of ``config`` (SGD, Adam or RMSprop with its learning rate, momentum and weight decay).

    A peer loss with an optimiser of its own (``Peer.optimizer``: LibAUC's SOAP for ``libauc_ap_recipe``) gets
    that one at ``config.lr`` instead; ``optimizer``, ``momentum`` and ``weight_decay`` are then its recipe's.

    Example:
        >>> from uniloss_lab.train import TrainConfig
        >>> type(make_optimizer(TrainConfig(optimizer="sgd"), nn.Linear(2, 1))).__name__
        'SGD'
    """
    params = model.parameters()
    peer = PEERS.get(config.loss)
    if peer is not None and peer.optimizer is not None:
        return peer.optimizer(params, config.lr)
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


def make_scheduler(config: TrainConfig, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LambdaLR:
    """The learning-rate schedule of ``config``, stepped once per epoch: a multiplier of the initial rate.

    With ``scheduler`` ``"none"`` the loop never steps it, so it never changes the rate (a callback may).
    """
    # LambdaLR keeps a state dict of plain numbers (MultiStepLR's holds a Counter, which weights_only rejects).
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: _lr_factor(config, epoch))
