"""Every option of a training run in one frozen dataclass, its validation, and :func:`make_config` (recipes)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, get_args

from uniloss.core.checks import (
    check_choice,
    check_device,
    check_nonnegative,
    check_nonnegative_int,
    check_positive,
    check_positive_int,
)
from uniloss_lab.data import dataset_info, dataset_names
from uniloss_lab.train.peers import PEERS, peer_names
from uniloss_lab.train.recipes import RECIPES

__all__ = [
    "CLASSIFICATION_DATASETS",
    "DATASETS",
    "DEFAULT_VALIDATION",
    "LOSSES",
    "METRIC_LABELS",
    "MODELS",
    "ONE_VS_REST",
    "OPTIMIZERS",
    "POSE_DATASETS",
    "RETRIEVAL_TASKS",
    "SCHEDULERS",
    "SEGMENTATION_DATASETS",
    "TASKS",
    "THRESHOLD_TASKS",
    "TrainConfig",
    "make_config",
]

TaskName = Literal[
    "ap", "accuracy", "pck", "f1", "segmentation", "fbeta", "topk", "precision_at_k", "recall_at_k", "ndcg"
]
OptimizerName = Literal["sgd", "adam", "rmsprop"]
SchedulerName = Literal["none", "multistep", "cosine"]
ApMode = Literal["step", "interpolated"]

TASKS: tuple[str, ...] = get_args(TaskName)
LOSSES: tuple[str, ...] = ("uniloss", "baseline", *peer_names())
"""The choices of ``loss``: UniLoss, the task's baseline, and every peer of :data:`~uniloss_lab.train.peers.PEERS`."""
OPTIMIZERS: tuple[str, ...] = get_args(OptimizerName)
SCHEDULERS: tuple[str, ...] = get_args(SchedulerName)
MODELS: tuple[str, ...] = ("mlp", "small_cnn", "resnet20", "hourglass", "unet")
# The dataset names come from the one registry, uniloss_lab.data.
CLASSIFICATION_DATASETS: tuple[str, ...] = dataset_names("classification")
POSE_DATASETS: tuple[str, ...] = dataset_names("pose")
SEGMENTATION_DATASETS: tuple[str, ...] = dataset_names("segmentation")
DATASETS: tuple[str, ...] = dataset_names()


class _TaskDefaults(NamedTuple):
    dataset: str
    model: str
    metric: str
    baseline: str


_TASK_DEFAULTS: dict[str, _TaskDefaults] = {
    "ap": _TaskDefaults("digits", "mlp", "average_precision", "binary cross-entropy"),
    "accuracy": _TaskDefaults("digits", "small_cnn", "accuracy", "cross-entropy"),
    "pck": _TaskDefaults("keypoints", "hourglass", "pck", "heatmap MSE"),
    "f1": _TaskDefaults("digits", "mlp", "f1", "binary cross-entropy"),
    "segmentation": _TaskDefaults("shapes", "unet", "iou", "cross-entropy"),
    "fbeta": _TaskDefaults("digits", "mlp", "fbeta", "binary cross-entropy"),
    "topk": _TaskDefaults("digits", "mlp", "top_k_accuracy", "cross-entropy"),
    "precision_at_k": _TaskDefaults("digits", "mlp", "precision_at_k", "contrastive loss"),
    "recall_at_k": _TaskDefaults("digits", "mlp", "recall_at_k", "contrastive loss"),
    "ndcg": _TaskDefaults("digits", "mlp", "ndcg", "contrastive loss"),
}
"""Each task's default dataset and model, the name of its exact metric, and the human name of its baseline loss."""
# The datasets and models each task takes: pose sets and the hourglass for PCK, the shapes and the U-Net for
# segmentation, classification sets and the classifiers for the other tasks.
_TASK_DATASETS: dict[str, tuple[str, ...]] = {
    "pck": POSE_DATASETS,
    "segmentation": SEGMENTATION_DATASETS,
}
_TASK_MODELS: dict[str, tuple[str, ...]] = {"pck": ("hourglass",), "segmentation": ("unet",)}
ONE_VS_REST: tuple[str, ...] = ("ap", "f1", "fbeta")
"""The tasks that score one class against the rest (one logit per example)."""
RETRIEVAL_TASKS: tuple[str, ...] = ("precision_at_k", "recall_at_k", "ndcg")
"""The tasks of a retrieval metric at ``top_k`` over embeddings: every example a query, the rest its gallery."""
THRESHOLD_TASKS: tuple[str, ...] = ("f1", "fbeta")
"""The tasks of a metric at a threshold: they hold out part of the training split by default to tune one."""
DEFAULT_VALIDATION = 0.1
"""The part of the training split a threshold task holds out when ``validation`` is ``None``."""
METRIC_LABELS: dict[str, str] = {
    "average_precision": "AP",
    "accuracy": "accuracy",
    "pck": "PCKh",
    "f1": "F1",
    "iou": "mean IoU",
    "fbeta": "Fβ",
    "top_k_accuracy": "top-k accuracy",
    "precision_at_k": "P@k",
    "recall_at_k": "R@k",
    "ndcg": "NDCG@k",
}
"""Short label of each task metric, in progress lines, tables and plots (the one set)."""


@dataclass(frozen=True)
class TrainConfig:
    """All options of one training run; the defaults train UniLoss for AP on the embedded digits in seconds.

    Formally a run is ``train(model(config), data(config), loss(config), optimizer(config), epochs)``; every
    field below is one command-line option of ``uniloss train`` (``batch_size`` is ``--batch-size``). ``None``
    means "the task's default": ``dataset`` is ``digits`` for ``ap``, ``f1`` and ``accuracy``, ``keypoints`` for
    ``pck`` and ``shapes`` for ``segmentation``; ``model`` is ``mlp`` for ``ap`` and ``f1``, ``small_cnn`` for
    ``accuracy``, ``hourglass`` for ``pck`` and ``unet`` for ``segmentation``.
    A config is validated when it is built (see :meth:`validate`).

    Args:
        task: ``"ap"`` (one class against the rest), ``"accuracy"`` (multi-class), ``"pck"`` (keypoints),
            ``"f1"`` (F1 at logit 0 of one class against the rest; the last tenth of the training split is held
            out to tune a threshold, see :mod:`uniloss_lab.train.thresholds`), ``"fbeta"`` (F-beta at logit 0 with
            ``beta``, as ``f1`` otherwise), ``"topk"`` (top-``top_k`` accuracy, multi-class), ``"segmentation"``
            (mean IoU), or a retrieval metric at ``top_k`` of an embedding, every example a query and the other
            examples of its split the gallery, relevant when of the same class: ``"precision_at_k"``,
            ``"recall_at_k"`` or ``"ndcg"`` (see :mod:`uniloss_lab.train.tasks.retrieval`).
        dataset: one of :data:`DATASETS`; ``None`` for the task's default.
        loss: ``"uniloss"``, ``"baseline"`` (binary cross-entropy, cross-entropy or heatmap MSE) or a peer loss of
            the task (:data:`~uniloss_lab.train.peers.PEERS`: ``pairwise_logistic``, ``libauc_ap`` and
            ``libauc_ap_recipe`` for ``ap``, ``sigmoid_f1`` for ``f1``, ``kornia_lovasz``, ``kornia_dice`` and
            ``monai_dice`` for ``segmentation``; the libraries come with the ``peers`` extra).
        model: ``"mlp"``, ``"small_cnn"``, ``"resnet20"``, ``"hourglass"`` or ``"unet"``; ``None`` for the task's
            default.
        positive_class: the class scored against the rest for ``ap``, ``f1`` and ``fbeta``.
        positive_fraction: cut the training positives (of the limited split, before the validation part is held
            out) to this fraction of the training split, keeping a random subset drawn with a fixed seed
            (one-vs-rest tasks; see :func:`uniloss_lab.train.splits.cut_positives`); ``None`` to keep them all.
        validation: part of the training split held out as a validation split (stratified by class, drawn with a
            fixed seed, the same for every seed and loss) and evaluated every epoch; the test split is then read
            once, after the last epoch; ``None`` for the task's default (0.1 for ``f1`` and ``fbeta``, which tune
            their threshold there; 0 otherwise: no validation, the test split read every epoch).
        beta: the ``beta`` of the ``fbeta`` task (weight of recall).
        top_k: the ``k`` of the ``topk`` task and of the retrieval tasks.
        embedding_dim: size of the embedding the model outputs for the retrieval tasks.
        task_weight: with ``loss="uniloss"``, train on UniLoss plus ``task_weight`` times the task's baseline loss
            (0: UniLoss alone); not for ``pck`` or ``nproc > 1``.
        epochs: number of epochs (the total, also when resuming).
        batch_size: training batch size.
        eval_batch_size: batch size of the evaluation passes.
        lr: initial learning rate.
        optimizer: ``"sgd"``, ``"adam"`` or ``"rmsprop"``.
        momentum: momentum of SGD and RMSprop (ignored by Adam).
        weight_decay: L2 weight decay.
        scheduler: ``"none"``, ``"multistep"`` (multiply by ``gamma`` at each of ``milestones``) or
            ``"cosine"`` (to zero over ``epochs``); stepped once per epoch.
        milestones: epochs at which ``multistep`` multiplies the learning rate by ``gamma``.
        gamma: factor of the ``multistep`` schedule.
        grad_clip: clip the gradient norm to this value; ``None`` for no clipping.
        seed: seeds the model's initialisation, the data order and the UniLoss anchors.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        data_dir: folder of MNIST, Fashion-MNIST, CIFAR or MPII files; ``None`` for the loader's default.
        out: folder for ``checkpoint.pt`` and ``history.json``; ``None`` writes nothing.
        resume: continue the run in ``out`` from ``out/checkpoint.pt`` (an error when there is none).
        overwrite: replace the run in ``out``; without ``resume`` or ``overwrite`` a folder that already holds a
            run is refused (see :func:`uniloss_lab.train.outputs.check_output`).
        stop_after: stop after this epoch although ``epochs`` is larger (an interruption that ``resume`` can
            continue); ``None`` to run to the end.
        temperature: temperature of UniLoss's sigmoid relaxation; ``None`` for the metric's
            ``default_temperature`` (see ``docs/ablation.md``; the paper recipes set 1).
        power: power of UniLoss's inverse-distance weighting; ``None`` for the metric's ``default_power``
            (the paper recipes set 1).
        memory: number of earlier training examples UniLoss ranks together with each batch (its scores
            detached); 0 for none; tasks ``ap`` and ``f1`` only. See ``UniLoss(memory=...)`` and ``docs/ablation.md``.
        metric: ``"FILE:FUNC"``: UniLoss trains the metric ``FUNC`` of the Python file ``FILE``, written in plain
            PyTorch and taking the task's outputs and targets (``ap``, ``f1``: scores ``(N,)`` and labels ``(N,)``;
            ``accuracy``: scores ``(N, C)`` and classes ``(N,)``), through ``uniloss.from_function``, instead of the
            task's metric (when unset, the task's metric); the test metric stays the task's.
        ap_mode: ``"step"`` (scikit-learn's AP) or ``"interpolated"`` (the paper code's) for the UniLoss AP.
        candidates: UniLoss accuracy compares the true class with the top ``candidates - 1`` other classes
            (paper: 21 on CIFAR-100); ``None`` for all classes.
        threshold: PCK radius as a fraction of the head size (0.5 for PCKh@0.5).
        hidden: hidden layer widths of the MLP.
        width: width of ``small_cnn`` (first block), ``hourglass`` (features) or ``unet`` (first level); ``None``
            for 32, 64 and 16.
        stacks: number of hourglass stacks (the loss is applied to every stack and summed).
        depth: halvings inside each hourglass, or poolings of the U-Net.
        limit_train: use only the first ``limit_train`` training examples; ``None`` for all.
        limit_test: use only the first ``limit_test`` test examples; ``None`` for all.
        num_workers: data-loading worker processes (0 loads in the main process).
        augment: random 4-pixel-padded crops and horizontal flips of training images (classification only; the
            paper's CIFAR recipe).
        nproc: number of training processes on this machine (``uniloss train --nproc N``): ``N`` processes
            (gloo on the CPU, nccl on ``N`` GPUs) share each batch of ``batch_size`` examples, UniLoss computes
            the loss of the whole batch, and the result matches one process up to floating-point noise (see
            ``docs/distributed.md``).
        threads: CPU threads of each process (``torch.set_num_threads``); ``None`` keeps PyTorch's default, or
            splits the cores evenly between the ``nproc`` processes.
        skip_nonfinite: skip a batch whose loss is NaN or infinite (counted in the history's ``skipped``) instead
            of stopping the run.
        recipe: name of the recipe the run came from (recorded only; see :func:`make_config`).

    Raises:
        TypeError: if a field has the wrong type.
        ValueError: if a field has a wrong value, naming the field, e.g. ``"`batch_size` must be a positive int,
            but got 0."``

    Example:
        >>> config = TrainConfig(task="accuracy", epochs=2)
        >>> config.dataset_name, config.model_name, config.metric_name
        ('digits', 'small_cnn', 'accuracy')
        >>> TrainConfig(batch_size=0)
        Traceback (most recent call last):
        ...
        ValueError: `batch_size` must be a positive int, but got 0.
    """

    task: TaskName = "ap"
    dataset: str | None = None
    loss: str = "uniloss"
    model: str | None = None
    positive_class: int = 0
    positive_fraction: float | None = None
    validation: float | None = None
    beta: float = 1.0
    top_k: int = 5
    embedding_dim: int = 64
    task_weight: float = 0.0
    epochs: int = 10
    batch_size: int = 128
    eval_batch_size: int = 512
    lr: float = 1e-3
    optimizer: OptimizerName = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.0
    scheduler: SchedulerName = "none"
    milestones: tuple[int, ...] = ()
    gamma: float = 0.1
    grad_clip: float | None = None
    seed: int = 0
    device: str = "auto"
    data_dir: str | None = None
    out: str | None = None
    resume: bool = False
    overwrite: bool = False
    stop_after: int | None = None
    temperature: float | None = None
    power: float | None = None
    memory: int = 0
    metric: str | None = None
    ap_mode: ApMode = "step"
    candidates: int | None = None
    threshold: float = 0.5
    hidden: tuple[int, ...] = (500, 300)
    width: int | None = None
    stacks: int = 2
    depth: int = 3
    limit_train: int | None = None
    limit_test: int | None = None
    num_workers: int = 0
    augment: bool = False
    nproc: int = 1
    threads: int | None = None
    skip_nonfinite: bool = False
    recipe: str | None = None

    def __post_init__(self) -> None:
        # Lists from JSON or argparse become tuples, so configs stay hashable and compare equal after a reload.
        for name in ("milestones", "hidden"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        self.validate()

    @property
    def dataset_name(self) -> str:
        """The dataset, with the task's default filled in."""
        return self.dataset if self.dataset is not None else _TASK_DEFAULTS[self.task].dataset

    @property
    def model_name(self) -> str:
        """The model, with the task's default filled in."""
        return self.model if self.model is not None else _TASK_DEFAULTS[self.task].model

    @property
    def metric_name(self) -> str:
        """Name of the task's exact metric: ``average_precision``, ``accuracy``, ``pck``, ``f1``, ``iou``, ..."""
        return _TASK_DEFAULTS[self.task].metric

    @property
    def validation_fraction(self) -> float:
        """The part of the training split held out for validation, with the task's default filled in."""
        if self.validation is not None:
            return self.validation
        return DEFAULT_VALIDATION if self.task in THRESHOLD_TASKS else 0.0

    @property
    def baseline_name(self) -> str:
        """Human name of the task's baseline loss."""
        return _TASK_DEFAULTS[self.task].baseline

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (JSON- and ``torch.load(weights_only=True)``-safe)."""
        return {field.name: _plain(getattr(self, field.name)) for field in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainConfig:
        """Rebuild a config from :meth:`to_dict` output; unknown keys raise ``ValueError``."""
        _check_known(values)
        return cls(**dict(values))

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied and validated; unknown names raise ``ValueError``."""
        _check_known(changes)
        return dataclasses.replace(self, **changes)

    def validate(self) -> None:
        """Check every field; called by the constructor.

        Raises:
            TypeError: if a field has the wrong type.
            ValueError: if a field has a wrong value or the task, dataset and model do not fit together.
        """
        check_choice("task", self.task, TASKS)
        check_choice("loss", self.loss, LOSSES)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("scheduler", self.scheduler, SCHEDULERS)
        check_choice("ap_mode", self.ap_mode, get_args(ApMode))
        if self.dataset is not None:
            check_choice("dataset", self.dataset, DATASETS)
        if self.model is not None:
            check_choice("model", self.model, MODELS)
        for name in ("epochs", "batch_size", "eval_batch_size", "stacks", "depth", "nproc", "top_k", "embedding_dim"):
            check_positive_int(name, getattr(self, name))
        for name in ("width", "limit_train", "limit_test", "stop_after", "threads"):
            if getattr(self, name) is not None:
                check_positive_int(name, getattr(self, name))
        for name in ("positive_class", "seed", "num_workers", "memory"):
            check_nonnegative_int(name, getattr(self, name))
        for name in ("lr", "threshold", "beta"):
            check_positive(name, getattr(self, name))
        if self.metric is not None and (not isinstance(self.metric, str) or ":" not in self.metric):
            raise ValueError(f"`metric` must be FILE:FUNC (e.g. my_metrics.py:hit_rate), but got {self.metric!r}.")
        check_nonnegative("task_weight", self.task_weight)
        if self.positive_fraction is not None and check_positive("positive_fraction", self.positive_fraction) >= 1:
            raise ValueError(f"`positive_fraction` must be in (0, 1), but got {self.positive_fraction!r}.")
        if self.validation is not None and check_nonnegative("validation", self.validation) >= 1:
            raise ValueError(f"`validation` must be in [0, 1), but got {self.validation!r}.")
        for name in ("temperature", "power"):
            if getattr(self, name) is not None:
                check_positive(name, getattr(self, name))
        for name in ("momentum", "weight_decay"):
            check_nonnegative(name, getattr(self, name))
        if self.grad_clip is not None:
            check_positive("grad_clip", self.grad_clip)
        check_positive("gamma", self.gamma)
        if self.gamma > 1:
            raise ValueError(f"`gamma` must be in (0, 1], but got {self.gamma!r}.")
        self._validate_sequences()
        if self.candidates is not None and check_positive_int("candidates", self.candidates) < 2:
            raise ValueError(
                f"`candidates` must be at least 2 (the true class and one other), but got {self.candidates}."
            )
        for name in ("resume", "overwrite", "augment", "skip_nonfinite"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"`{name}` must be a bool, but got {getattr(self, name)!r}.")
        for name in ("data_dir", "out", "recipe"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"`{name}` must be a str or None, but got {type(value).__name__} {value!r}.")
        check_device("device", self.device)
        self._validate_combination()

    def _validate_sequences(self) -> None:
        if not isinstance(self.milestones, tuple):
            raise TypeError(f"`milestones` must be a tuple of ints, but got {type(self.milestones).__name__}.")
        for index, milestone in enumerate(self.milestones):
            check_positive_int(f"milestones[{index}]", milestone)
        if list(self.milestones) != sorted(set(self.milestones)):
            raise ValueError(f"`milestones` must be strictly increasing, but got {list(self.milestones)}.")
        if self.scheduler == "multistep" and not self.milestones:
            raise ValueError("`milestones` must list at least one epoch when `scheduler` is 'multistep', but got ().")
        if not isinstance(self.hidden, tuple):
            raise TypeError(f"`hidden` must be a tuple of ints, but got {type(self.hidden).__name__}.")
        for index, size in enumerate(self.hidden):
            check_positive_int(f"hidden[{index}]", size)

    def _validate_combination(self) -> None:
        datasets = _TASK_DATASETS.get(self.task, CLASSIFICATION_DATASETS)
        if self.dataset_name not in datasets:
            raise ValueError(
                f"`dataset` must be one of {list(datasets)} for task {self.task!r}, but got {self.dataset_name!r}."
            )
        models = _TASK_MODELS.get(self.task, tuple(name for name in MODELS if name not in ("hourglass", "unet")))
        if self.model_name not in models:
            raise ValueError(
                f"`model` must be one of {list(models)} for task {self.task!r}, but got {self.model_name!r}."
            )
        if self.task == "pck" and self.augment:
            raise ValueError("`augment` must be False for task 'pck' (joints would move with the image), but got True.")
        if self.task == "segmentation" and self.augment:
            raise ValueError(
                "`augment` must be False for task 'segmentation' (masks would not move with the image), but got True."
            )
        if self.loss in PEERS and self.task not in PEERS[self.loss].tasks:
            peers = [name for name, peer in PEERS.items() if self.task in peer.tasks]
            raise ValueError(
                f"`loss` must be 'uniloss', 'baseline' or a peer of task {self.task!r} {peers}, "
                f"but got the {'/'.join(PEERS[self.loss].tasks)!r} peer {self.loss!r}."
            )
        if self.positive_fraction is not None and self.task not in ONE_VS_REST:
            raise ValueError(
                f"`positive_fraction` cuts the positives of a one-vs-rest task {list(ONE_VS_REST)}; it must be None "
                f"for task {self.task!r}, but got {self.positive_fraction}."
            )
        if self.task_weight and (self.loss != "uniloss" or self.task == "pck" or self.nproc > 1):
            raise ValueError(
                "`task_weight` adds the task loss to UniLoss: it needs loss 'uniloss', a task other than 'pck' and "
                f"nproc 1, but got {self.task_weight} with loss {self.loss!r}, task {self.task!r}, nproc {self.nproc}."
            )
        if self.task == "topk":
            num_classes = dataset_info(self.dataset_name)["num_classes"]
            if self.top_k >= num_classes:
                raise ValueError(
                    f"`top_k` must be below the {num_classes} classes of {self.dataset_name!r}, but got {self.top_k}."
                )
        if self.task in RETRIEVAL_TASKS and self.nproc > 1:
            raise ValueError(
                f"`nproc` must be 1 for task {self.task!r}: each process would rank only its part of the batch, "
                f"but got {self.nproc}."
            )
        if self.memory and self.task not in ONE_VS_REST:
            raise ValueError(
                f"`memory` pools batches for the batch-level AP and F1; it must be 0 for task {self.task!r}, "
                f"but got {self.memory}."
            )
        if self.task in ONE_VS_REST:
            num_classes = dataset_info(self.dataset_name)["num_classes"]
            if self.positive_class >= num_classes:
                raise ValueError(
                    f"`positive_class` must be in 0..{num_classes - 1} for {self.dataset_name!r}, "
                    f"but got {self.positive_class}."
                )
        if self.stop_after is not None and self.stop_after > self.epochs:
            raise ValueError(f"`stop_after` must be at most `epochs` ({self.epochs}), but got {self.stop_after}.")
        if self.nproc > 1 and self.batch_size < 2 * self.nproc:
            raise ValueError(
                f"`batch_size` must be at least 2 x `nproc` = {2 * self.nproc} (each process needs two examples), "
                f"but got {self.batch_size}."
            )


def make_config(recipe: str | None = None, **overrides: Any) -> TrainConfig:
    """Build a validated :class:`TrainConfig` from a recipe and overrides (overrides win).

    Formally ``TrainConfig(**{**RECIPES[recipe], **overrides, "recipe": recipe})``.

    Args:
        recipe: a key of :data:`~uniloss_lab.train.recipes.RECIPES`, or ``None`` for the plain defaults.
        **overrides: field values; ``None`` values are kept (they mean "task default" for some fields).

    Returns:
        The config.

    Raises:
        ValueError: for an unknown recipe or option, or any invalid value.

    Example:
        >>> make_config("paper-cifar100", epochs=1).candidates
        21
    """
    _check_known(overrides)
    values: dict[str, Any] = {}
    if recipe is not None:
        check_choice("recipe", recipe, sorted(RECIPES))
        values.update(RECIPES[recipe])
        values["recipe"] = recipe
    values.update(overrides)
    return TrainConfig(**values)


def _check_known(values: Mapping[str, Any]) -> None:
    known = {field.name for field in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown option(s) {unknown}; the options are {sorted(known)}.")


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
