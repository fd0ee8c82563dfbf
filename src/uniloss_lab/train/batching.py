"""Batching: the order of every epoch, batches of a split (sliced, or through a DataLoader), image augmentation."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, TensorDataset

__all__ = ["EpochOrder", "augment", "count_batches", "epoch_batches", "load_batches", "split_batches"]

EpochOrder = Callable[[int, int], torch.Tensor]
"""``order(epoch, size)``: the permutation of the training indices ``0..size-1`` for the 0-based ``epoch``."""


def _epoch_seed(seed: int, epoch: int) -> int:
    """Seed of the data order of ``epoch``: a function of the run seed and the epoch only, so resuming repeats it."""
    return (seed * 1_000_003 + epoch * 7_919 + 12_345) % (2**63 - 1)


def _index_batches(size: int, batch_size: int, generator: torch.Generator | None) -> list[torch.Tensor]:
    """The example indices of each batch: a permutation drawn from ``generator`` (or ``0..size-1``) cut in order."""
    order = torch.randperm(size, generator=generator) if generator is not None else torch.arange(size)
    return list(order.split(batch_size))


def load_batches(
    dataset: Dataset[Any], index_batches: Sequence[torch.Tensor], num_workers: int
) -> Iterator[Sequence[torch.Tensor]]:
    """Yield the batches of ``index_batches``; tensor datasets are sliced without a DataLoader."""
    if isinstance(dataset, TensorDataset) and num_workers == 0:
        for index in index_batches:
            yield tuple(tensor[index] for tensor in dataset.tensors)
        return
    sampler = [index.tolist() for index in index_batches]
    yield from DataLoader(dataset, batch_sampler=sampler, num_workers=num_workers)


def split_batches(
    dataset: Dataset[Any], batch_size: int, generator: torch.Generator | None, num_workers: int
) -> Iterator[Sequence[torch.Tensor]]:
    """Yield the batches of a whole split in order (``generator`` ``None``) or shuffled by ``generator``."""
    size = len(dataset)  # type: ignore[arg-type]
    yield from load_batches(dataset, _index_batches(size, batch_size, generator), num_workers)


def augment(
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


def epoch_batches(
    seed: int, epoch: int, size: int, batch_size: int, world: int = 1, order: EpochOrder | None = None
) -> list[torch.Tensor]:
    """Example indices of every batch of ``epoch``, the same on every process.

    Formally a permutation of ``0..size-1`` seeded by ``(seed, epoch)`` (or ``order(epoch, size)``), cut into
    batches of ``batch_size``; a last batch too small to give each of the ``world`` processes two examples
    (BatchNorm needs two) is dropped.

    Args:
        seed: the run's seed.
        epoch: the 0-based epoch.
        size: the number of training examples.
        batch_size: examples per batch.
        world: the number of processes sharing each batch.
        order: a function giving the epoch's permutation instead, or ``None``.

    Returns:
        One index tensor per batch.

    Raises:
        ValueError: if ``order`` does not return a permutation of ``0..size-1``.

    Example:
        >>> [batch.tolist() for batch in epoch_batches(0, 0, 5, 2, order=lambda epoch, size: torch.arange(size))]
        [[0, 1], [2, 3]]
    """
    if order is None:
        permutation = torch.randperm(size, generator=torch.Generator().manual_seed(_epoch_seed(seed, epoch)))
    else:
        permutation = order(epoch, size)
        if (
            not isinstance(permutation, torch.Tensor)
            or permutation.shape != (size,)
            or not torch.equal(permutation.sort().values, torch.arange(size, device=permutation.device))
        ):
            shown = tuple(permutation.shape) if isinstance(permutation, torch.Tensor) else type(permutation).__name__
            raise ValueError(f"`epoch_order` must return a permutation of 0..{size - 1}, but got {shown}.")
        permutation = permutation.cpu()
    return [batch for batch in permutation.split(batch_size) if batch.numel() >= 2 * world]


def count_batches(size: int, batch_size: int, world: int = 1) -> int:
    """The number of batches :func:`epoch_batches` gives each epoch (the same for every order).

    Example:
        >>> count_batches(257, 128), count_batches(258, 128)
        (2, 3)
    """
    return size // batch_size + (1 if size % batch_size >= 2 * world else 0)
