"""The one training loop of uniloss: every task (AP, accuracy, PCK) and every loss (UniLoss, baseline, a criterion).

The loop alone lives here; its parts have a module each: :mod:`~uniloss_lab.train.config` (options),
:mod:`~uniloss_lab.train.tasks` (targets, loss, metric), :mod:`~uniloss_lab.train.builders` (data, model,
optimiser), :mod:`~uniloss_lab.train.batching`, :mod:`~uniloss_lab.train.checkpoints`,
:mod:`~uniloss_lab.train.history`, :mod:`~uniloss_lab.train.callbacks` and :mod:`~uniloss_lab.train.processes`.
"""

from __future__ import annotations

import functools
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import Dataset

from uniloss_lab.train.batching import EpochOrder, augment, count_batches, epoch_batches, load_batches, split_batches
from uniloss_lab.train.builders import build_model_for, load_data, make_optimizer, make_scheduler, resolve_device
from uniloss_lab.train.callbacks import Callback, RunInfo, StepInfo
from uniloss_lab.train.checkpoints import (
    CHECKPOINT_NAME,
    CHECKPOINT_VERSION,
    check_resumable,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    seed_everything,
    set_rng_state,
)
from uniloss_lab.train.config import METRIC_LABELS, TrainConfig
from uniloss_lab.train.history import (
    HISTORY_NAME,
    HISTORY_SERIES,
    VALIDATION_SERIES,
    finish_history,
    new_history,
    save_history,
)
from uniloss_lab.train.outputs import check_output, run_label
from uniloss_lab.train.processes import broadcast_float, train_processes, train_torchrun, world
from uniloss_lab.train.splits import cut_positives, holdout, positive_count
from uniloss_lab.train.tasks import Criterion, Task, build_task
from uniloss_lab.train.thresholds import TUNED_SERIES, tuned_metric

__all__ = ["CHECKPOINT_NAME", "HISTORY_NAME", "NonFiniteLossError", "evaluate", "train"]

_SHOWN_INDICES = 8  # training indices of a non-finite batch named in the error


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
    for batch in split_batches(dataset, batch_size, None, num_workers):
        inputs, targets = task.split(batch)
        task.update(accumulator, model(inputs), targets)
    return accumulator.compute()


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


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


def train(
    config: TrainConfig,
    progress: bool = True,
    *,
    callbacks: Sequence[Callback] = (),
    criterion: Criterion | None = None,
    epoch_order: EpochOrder | None = None,
) -> dict[str, Any]:
    """Train ``config.model`` on ``config.dataset`` with UniLoss or the baseline, evaluating every epoch.

    Formally, the training split is first cut (``config.positive_fraction``) and a validation part held out of it
    (``config.validation``; see :mod:`uniloss_lab.train.splits`); then for each epoch: shuffle the training part with a
    generator seeded by ``(seed, epoch)``, take a step of ``config.optimizer`` on ``task.loss`` for each batch,
    compute the exact metric on the validation part (with one) and on the test split (without one; with one, only
    after the last epoch: the test split is read once and chooses nothing), step the learning-rate schedule,
    and (with ``config.out``) write ``checkpoint.pt`` (model, optimiser,
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

    Diagnostics and studies plug in without copying the loop: ``callbacks`` see every step and epoch
    (:class:`~uniloss_lab.train.callbacks.Callback`), ``criterion`` replaces the loss of ``config.loss`` (see
    :func:`~uniloss_lab.train.build_task`), and ``epoch_order`` replaces the seeded order of the epochs.

    Args:
        config: the run's configuration.
        progress: show a tqdm progress bar with the running loss and metric, and one line per epoch.
        callbacks: :class:`~uniloss_lab.train.callbacks.Callback` objects, called in order.
        criterion: a training loss called as the task calls UniLoss, or ``None`` for ``config.loss``. The history
            records its name as ``loss_name``; a module's ``state_dict`` goes into the checkpoint.
        epoch_order: ``epoch_order(epoch, size)`` gives the permutation of the ``size`` training indices for the
            0-based ``epoch``, or ``None`` for the permutation seeded by ``(seed, epoch)``. A resumed run repeats
            the original only if it is a function of its arguments.

    Returns:
        The history: ``config``, ``metric``, ``loss_name`` and other metadata, the per-epoch lists ``epoch``,
        ``train_loss``, ``train_metric``, ``test_metric`` (``None`` at the epochs that did not read the test split),
        ``validation_metric`` (with a validation part), ``lr``, ``epoch_time`` (training seconds),
        ``eval_time`` and ``skipped`` (non-finite batches skipped), and ``final_metric``, ``best_metric``,
        ``completed`` and, with validation, ``best_epoch`` (see :func:`~uniloss_lab.train.history.finish_history`).

    Raises:
        NonFiniteLossError: if a loss is NaN or infinite (the last good checkpoint is kept), or with
            ``skip_nonfinite`` if every batch of an epoch is.
        TypeError: if a callback is not a :class:`~uniloss_lab.train.callbacks.Callback` or ``criterion`` is not
            callable.
        ValueError: for a device that is not available, an ``out`` that holds a run without ``resume`` or
            ``overwrite``, ``resume`` without a checkpoint, a checkpoint made with different options, a
            truncated or corrupted checkpoint or data file (naming it), ``callbacks``, ``criterion`` or
            ``epoch_order`` with ``nproc > 1``, or an ``epoch_order`` that does not return a permutation.
        FileNotFoundError: if the dataset's files are missing.

    Example:
        >>> history = train(TrainConfig(epochs=1, limit_train=64, limit_test=64, device="cpu"), progress=False)
        >>> history["metric"], len(history["test_metric"]), 0.0 <= history["final_metric"] <= 1.0
        ('average_precision', 1, True)
    """
    callbacks = list(callbacks)
    for index, callback in enumerate(callbacks):
        if not isinstance(callback, Callback):
            raise TypeError(
                f"`callbacks[{index}]` must be a uniloss_lab.train.Callback, but got {type(callback).__name__}."
            )
    if criterion is not None and not callable(criterion):
        raise TypeError(f"`criterion` must be callable or None, but got {type(criterion).__name__}.")
    rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else int(os.environ.get("RANK", "0"))
    check_output(config.out, config.resume, config.overwrite, "train", clear=rank == 0)  # process 0 alone deletes
    if config.nproc > 1:
        if callbacks or criterion is not None or epoch_order is not None:
            raise ValueError(
                "`callbacks`, `criterion` and `epoch_order` need a run in one process (they are not sent to "
                f"spawned processes), so `nproc` must be 1, but got {config.nproc}."
            )
        return train_processes(config, progress, _train_process)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not (dist.is_available() and dist.is_initialized()):
        target = functools.partial(_train_process, callbacks=callbacks, criterion=criterion, epoch_order=epoch_order)
        return train_torchrun(config, progress, target)
    device = resolve_device(config.device)
    if world()[1] > 1 and device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())  # in a process group made by the caller
    threads = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    try:
        return _train_process(config, progress, device, callbacks, criterion, epoch_order)
    finally:
        torch.set_num_threads(threads)


def _train_process(
    config: TrainConfig,
    progress: bool,
    device: torch.device,
    callbacks: Sequence[Callback] = (),
    criterion: Criterion | None = None,
    epoch_order: EpochOrder | None = None,
) -> dict[str, Any]:
    """The run of one process: of the whole run, or of one rank of an initialised process group."""
    from tqdm.auto import tqdm

    rank, size = world()
    seed_everything(config.seed)
    train_set, test_set = load_data(config)
    train_set = cut_positives(config, train_set)  # rare positives: a fixed subset, the same for every run
    train_set, validation_set = holdout(config, train_set)  # the validation part (fixed, stratified), or None
    model = build_model_for(config)
    if size > 1 and device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)  # BatchNorm statistics of the whole batch
    model = model.to(device)
    train_size = len(train_set)  # type: ignore[arg-type]
    counts = positive_count(config, train_set)
    pos_weight = counts[1] / max(counts[0], 1) if counts is not None else None  # negatives / positives
    task = build_task(
        config, device, distributed=size > 1, criterion=criterion, train_size=train_size, pos_weight=pos_weight
    )
    optimizer = make_optimizer(config, model)
    scheduler = make_scheduler(config, optimizer)
    augment_generator = torch.Generator().manual_seed(config.seed + 1)
    sizes = (len(train_set), len(test_set))  # type: ignore[arg-type]
    num_validation = 0 if validation_set is None else len(validation_set)  # type: ignore[arg-type]
    history = new_history(config, task, model, device, sizes, num_validation)

    out = Path(config.out) if config.out is not None else None
    checkpoint_path = out / CHECKPOINT_NAME if out is not None else None
    writes = out is not None and rank == 0  # process 0 alone writes checkpoints and history
    start_epoch = 0
    if out is not None and writes:
        out.mkdir(parents=True, exist_ok=True)
    if config.resume and checkpoint_path is not None and checkpoint_path.exists():
        checkpoint = load_checkpoint(checkpoint_path)  # on the CPU: RNG states must stay there; weights are copied
        check_resumable(checkpoint["config"], config, checkpoint_path)
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        set_rng_state(checkpoint["rng"], task, augment_generator)
        if isinstance(task.criterion, nn.Module) and checkpoint.get("criterion"):
            task.criterion.load_state_dict(checkpoint["criterion"])  # examples remembered by UniLoss(memory=...)
        saved = checkpoint["history"]
        for key in HISTORY_SERIES:
            history[key] = list(saved.get(key, [0] * len(saved["epoch"])))  # "skipped" is newer than version 1
        for key in (*TUNED_SERIES, *VALIDATION_SERIES):
            if key in history:
                history[key] = list(saved[key])
        start_epoch = int(checkpoint["epoch"])
        finish_history(history, config)
        if writes and out is not None:
            # The checkpoint is written first: a run killed between the two writes left history.json behind.
            save_history(out / HISTORY_NAME, history)
        if progress:
            tqdm.write(f"resuming {checkpoint_path} after epoch {start_epoch}")
    trained = model
    if size > 1:
        device_ids = [device.index] if device.type == "cuda" else None
        trained = nn.parallel.DistributedDataParallel(model, device_ids=device_ids)

    steps = count_batches(sizes[0], config.batch_size, size)
    run = RunInfo(config, model, optimizer, task, train_set, test_set, history, steps, start_epoch)
    for callback in callbacks:
        callback.on_train_begin(run)
    stop = config.epochs if config.stop_after is None else max(config.stop_after, start_epoch)
    label = METRIC_LABELS[task.metric_name]
    for epoch in range(start_epoch, stop):
        lr = optimizer.param_groups[0]["lr"]
        train_loss, train_metric, seconds, skipped, stopped = _train_epoch(
            epoch, run, trained, augment_generator, progress, checkpoint_path, callbacks, epoch_order
        )
        if stopped:
            break
        _synchronize(device)
        eval_start = time.perf_counter()
        # With a validation split the test split is read once, after the last epoch: nothing is chosen on it.
        reads_test = validation_set is None or epoch + 1 == config.epochs
        validation_metric: float | None = None
        if validation_set is not None:
            validation_metric = (
                evaluate(model, task, validation_set, config.eval_batch_size, config.num_workers) if rank == 0 else 0.0
            )
            if size > 1:
                validation_metric = broadcast_float(validation_metric, device)
        test_metric: float | None = None
        if reads_test:
            test_metric = (
                evaluate(model, task, test_set, config.eval_batch_size, config.num_workers) if rank == 0 else 0.0
            )
            if size > 1:
                test_metric = broadcast_float(test_metric, device)
        tuned: tuple[float, float | None] | None = None
        if task.tunes_threshold and validation_set is not None:  # process 0 alone evaluates
            tested = test_set if reads_test else None
            tuned = tuned_metric(model, task, validation_set, tested, config.eval_batch_size) if rank == 0 else None
        eval_seconds = time.perf_counter() - eval_start
        if config.scheduler != "none":
            scheduler.step()  # "none" leaves the rate alone, to a callback that sets it
        for key, value in zip(
            HISTORY_SERIES,
            (epoch + 1, train_loss, train_metric, test_metric, lr, seconds, eval_seconds, skipped),
            strict=True,
        ):
            history[key].append(value)
        if tuned is not None:
            for key, value in zip(TUNED_SERIES, tuned, strict=True):
                history[key].append(value)
        if validation_set is not None:
            history["validation_metric"].append(validation_metric)
        finish_history(history, config)
        if progress:
            note = f", skipped {skipped} non-finite batch{'es' if skipped > 1 else ''}" if skipped else ""
            if tuned is not None and tuned[1] is not None:
                note += f"; test {label} {tuned[1]:.4f} at threshold {tuned[0]:.3g} tuned on validation"
            read = f"  validation {label} {validation_metric:.4f}" if validation_metric is not None else ""
            read += f"  test {label} {test_metric:.4f}" if test_metric is not None else ""
            tqdm.write(
                f"{run_label(config, task.loss_name)} epoch {epoch + 1}/{config.epochs}: loss {train_loss:.4f}  "
                f"train {label} {train_metric:.4f}{read}  ({seconds:.1f} s{note})"
            )
        for callback in callbacks:
            callback.on_epoch_end(run)
        if writes and out is not None and checkpoint_path is not None:
            payload = {
                "version": CHECKPOINT_VERSION,
                "epoch": epoch + 1,
                "config": config.to_dict(),
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": rng_state(task, augment_generator),
                "criterion": task.criterion.state_dict() if isinstance(task.criterion, nn.Module) else {},
                "history": history,
            }
            save_checkpoint(checkpoint_path, payload)  # first the checkpoint, which carries the history,
            save_history(out / HISTORY_NAME, history)  # then its JSON copy
    finish_history(history, config)
    return history


def _train_epoch(
    epoch: int,
    run: RunInfo,
    model: nn.Module,
    augment_generator: torch.Generator,
    progress: bool,
    checkpoint: Path | None,
    callbacks: Sequence[Callback],
    epoch_order: EpochOrder | None,
) -> tuple[float, float, float, int, bool]:
    """One pass over the training split: (mean loss, mean batch metric, seconds, skipped batches, stopped).

    The training metric is the mean of each batch's exact metric (weighted by examples, or visible joints):
    pooling AP over an epoch would rank early scores against late ones from a different model. With several
    processes each batch is cut into contiguous parts, one per process in rank order, so the batch that
    UniLoss gathers is the batch one process would see. ``stopped`` is ``True`` when a callback stopped the run.
    """
    from tqdm.auto import tqdm

    config, task, optimizer = run.config, run.task, run.optimizer
    rank, size = world()
    model.train()
    count = len(run.train_set)  # type: ignore[arg-type]
    batches = epoch_batches(config.seed, epoch, count, config.batch_size, size, epoch_order)
    parts = [batch.tensor_split(size) for batch in batches]
    local = [part[rank] for part in parts]
    loss_sum, loss_count, metric_sum, metric_weight, skipped = 0.0, 0, 0.0, 0.0, 0
    last_bad: tuple[int, float, list[int]] = (0, math.nan, [])
    label = METRIC_LABELS[task.metric_name]
    bar = tqdm(
        total=len(batches),
        desc=f"{run_label(config, task.loss_name)} epoch {epoch + 1}/{config.epochs}",
        disable=not progress,
        leave=False,
        dynamic_ncols=True,
    )
    _synchronize(task.device)
    start = time.perf_counter()
    loaded = load_batches(run.train_set, local, config.num_workers)
    for step, (indices, part, batch) in enumerate(zip(batches, parts, loaded, strict=True), start=1):
        bar.update(1)
        inputs, targets = task.split(batch)
        if config.augment:
            offset = sum(int(piece.numel()) for piece in part[:rank])
            inputs = augment(inputs, augment_generator, int(indices.numel()), offset)
        outputs = model(inputs)
        # A peer that keeps a state per example (LibAUC's) gets the batch's indices in the training split.
        loss = task.loss(outputs, targets, part[rank]) if task.needs_index else task.loss(outputs, targets)
        if size > 1 and not task.global_loss:
            # A baseline is a mean over this process's part: weighted so that DDP's mean of the gradients is
            # the gradient of the mean over the whole batch (UniLoss is already the loss of the whole batch).
            loss = loss * (part[rank].numel() * size / indices.numel())
        value = _loss_value(loss, size)
        if not math.isfinite(value):
            if config.skip_nonfinite:
                skipped += 1
                last_bad = (step, value, indices.tolist())
                reset_memory = getattr(task.criterion, "reset_memory", None)
                if callable(reset_memory):
                    reset_memory()  # the bad batch must not stay among the remembered examples
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
            metric_outputs, metric_targets = task.gather_batch(outputs, targets) if size > 1 else (outputs, targets)
            batch_value, batch_weight = task.batch_metric(metric_outputs, metric_targets)
        metric_sum += batch_value * batch_weight
        metric_weight += batch_weight
        bar.set_postfix(
            {"loss": f"{loss_sum / loss_count:.4f}", label: f"{metric_sum / max(metric_weight, 1e-12):.4f}"},
            refresh=False,
        )
        if callbacks:
            info = StepInfo(
                epoch + 1, step, part[rank], outputs, targets, loss.detach(), run.model, task.criterion, optimizer
            )
            stopped = False
            for callback in callbacks:
                stopped = bool(callback.on_train_batch_end(info)) or stopped  # every callback sees the step
            if stopped:
                bar.close()
                return math.nan, math.nan, time.perf_counter() - start, skipped, True
    _synchronize(task.device)
    seconds = time.perf_counter() - start
    bar.close()
    if batches and skipped == len(batches):
        step, value, indices_list = last_bad
        raise NonFiniteLossError(epoch + 1, step, value, checkpoint, epoch, indices_list, all_skipped=True)
    mean_loss = loss_sum / loss_count if loss_count else math.nan
    return mean_loss, metric_sum / max(metric_weight, 1e-12), seconds, skipped, False
