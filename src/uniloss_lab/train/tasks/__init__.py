"""Tasks: what a run does with model outputs (its targets, training loss and exact metric).

One module per family: :mod:`~uniloss_lab.train.tasks.base` (the :class:`Task` base class, the loss choice),
:mod:`~uniloss_lab.train.tasks.classification` (AP and F1 of one class against the rest, accuracy) and
:mod:`~uniloss_lab.train.tasks.dense` (PCK, segmentation) and :mod:`~uniloss_lab.train.tasks.retrieval` (precision,
recall and NDCG at k of an embedding); :func:`build_task` picks one from the config.
"""

from __future__ import annotations

import torch

from uniloss_lab.data import dataset_info
from uniloss_lab.train.config import RETRIEVAL_TASKS, TrainConfig
from uniloss_lab.train.tasks.base import Criterion, Task, criterion_name
from uniloss_lab.train.tasks.classification import _AccuracyTask, _APTask, _F1Task, _FBetaTask, _TopKTask
from uniloss_lab.train.tasks.dense import _PCKTask, _SegmentationTask
from uniloss_lab.train.tasks.retrieval import _RetrievalTask

__all__ = ["Criterion", "Task", "build_task", "criterion_name"]


def build_task(
    config: TrainConfig,
    device: torch.device | str = "cpu",
    distributed: bool = False,
    criterion: Criterion | None = None,
    train_size: int | None = None,
    pos_weight: float | None = None,
) -> Task:
    """Build the task object of ``config``: targets, training loss and exact metric for its model outputs.

    Formally, for ``ap`` and ``f1`` the targets are ``label == positive_class`` and the losses UniLoss of
    ``AveragePrecision`` or ``F1(threshold=0)``, or binary cross-entropy on logits (``fbeta``: ``FBeta(beta)``);
    for ``accuracy`` (``topk``: ``TopKAccuracy(top_k)``)
    UniLoss(Accuracy) or cross-entropy; for ``pck`` UniLoss(PCK) or the heatmap MSE over visible joints, summed
    over hourglass stacks; for ``segmentation`` UniLoss(IoU(num_classes=C)) or the per-pixel cross-entropy. A
    ``config.loss`` naming a peer (:data:`~uniloss_lab.train.peers.PEERS`) builds that peer here, so a missing
    optional package fails before training with an error naming the install line. The UniLoss anchors are
    drawn from a generator seeded with ``config.seed``. A given ``criterion`` replaces the loss of
    ``config.loss`` and is called as UniLoss would be: ``criterion(scores, labels)`` for ``ap``, ``f1`` and
    ``accuracy``, ``criterion(scores, masks)`` for ``segmentation``, ``criterion(heatmaps, joints, visible,
    head_size)`` for each hourglass stack of ``pck``, ``criterion(scores, relevance, groups)`` of
    :func:`~uniloss_lab.train.tasks.retrieval.query_pairs` for the retrieval tasks.

    Args:
        config: the run's configuration.
        device: device of the batches and of the UniLoss generator.
        distributed: build UniLoss with ``distributed=True``: under a process group it computes the loss of
            the batch gathered from every process (used by ``nproc > 1``).
        criterion: a training loss to use instead of ``config.loss`` (for example a UniLoss with other parts,
            or a loss under study), or ``None``.
        train_size: number of training examples; needed by a peer that keeps a state per example (LibAUC's).
        pos_weight: negatives / positives of the training split; needed by the class-weighted BCE peer.

    Returns:
        The :class:`Task`.

    Raises:
        TypeError: if ``criterion`` is not callable.
        ValueError: if a peer that needs ``train_size`` gets none.
        ModuleNotFoundError: if a peer's package is not installed, naming the install line.

    Example:
        >>> task = build_task(TrainConfig(task="ap", positive_class=3))
        >>> task.metric_name, task.loss_name
        ('average_precision', 'UniLoss')
        >>> def hinge(scores, labels):
        ...     return torch.relu(1 - (2 * labels - 1) * scores).mean()
        >>> build_task(TrainConfig(task="ap"), criterion=hinge).loss_name
        'hinge'
        >>> build_task(TrainConfig(task="f1", loss="sigmoid_f1")).criterion
        SigmoidF1(beta=1.0, eta=0.0)
    """
    device = torch.device(device)
    if criterion is not None and not callable(criterion):
        raise TypeError(f"`criterion` must be callable or None, but got {type(criterion).__name__}.")
    if config.task in ("ap", "f1", "fbeta"):
        binary = {"ap": _APTask, "f1": _F1Task, "fbeta": _FBetaTask}[config.task]
        return binary(config, device, distributed, criterion, train_size, pos_weight)
    if config.task in ("accuracy", "topk", "segmentation"):
        num_classes = dataset_info(config.dataset_name)["num_classes"]
        kinds = {"accuracy": _AccuracyTask, "topk": _TopKTask, "segmentation": _SegmentationTask}
        return kinds[config.task](config, device, num_classes, distributed, criterion, train_size)
    if config.task in RETRIEVAL_TASKS:
        return _RetrievalTask(config, device, distributed, criterion, train_size)
    return _PCKTask(config, device, distributed, criterion, train_size)
