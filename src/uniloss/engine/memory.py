"""The cross-batch memory of :class:`~uniloss.UniLoss`: the last examples, pooled with each new batch."""

from __future__ import annotations

import torch

from uniloss.core.checks import check_nonnegative_int

__all__ = ["ExampleMemory", "pool_examples"]


def pool_examples(batch: tuple[torch.Tensor, ...], remembered: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """The batch's ``(scores, *targets)`` followed by the remembered ones, on the batch's device.

    Args:
        batch: the new examples, ``(scores, *targets)``, each with examples along the first dimension.
        remembered: earlier examples of the same layout (as :attr:`ExampleMemory.examples` holds them).

    Returns:
        One tensor per input, the batch's examples first.

    Example:
        >>> pooled = pool_examples((torch.tensor([1.0]), torch.tensor([1])), (torch.tensor([0.5]), torch.tensor([0])))
        >>> pooled[0], pooled[1]
        (tensor([1.0000, 0.5000]), tensor([1, 0]))
    """
    return tuple(torch.cat([new, old.to(new.device)]) for new, old in zip(batch, remembered, strict=True))


class ExampleMemory:
    """The newest ``size`` examples (scores detached, targets) seen by a loss, to be pooled with the next batch.

    The loss calls :meth:`pool` before computing a batch's loss and :meth:`remember` once that loss is computed, so
    a batch that fails the checks never enters. A memory of size 0 holds nothing and pools nothing.

    Args:
        size: number of examples kept (0: none).

    Raises:
        TypeError: if ``size`` is not an int.
        ValueError: if ``size`` is negative.

    Example:
        >>> memory = ExampleMemory(3)
        >>> batch = (torch.tensor([0.1, 0.2]), torch.tensor([1, 0]))
        >>> memory.remember(memory.pool(batch))
        >>> memory.pool((torch.tensor([0.3, 0.4]), torch.tensor([0, 1])))[1]
        tensor([0, 1, 1, 0])
    """

    def __init__(self, size: int) -> None:
        self.size = check_nonnegative_int("memory", size)
        self._examples: tuple[torch.Tensor, ...] | None = None

    @property
    def examples(self) -> tuple[torch.Tensor, ...] | None:
        """The remembered ``(scores, *targets)``, newest first, or ``None`` when nothing is remembered."""
        return self._examples

    def pool(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """The batch ``(scores, *targets)`` followed by the remembered examples.

        Raises:
            ValueError: if the batch's number of targets, trailing shapes or dtypes differ from the remembered
                examples'.
        """
        remembered = self._examples
        if remembered is None:
            return batch
        if len(remembered) != len(batch):
            raise ValueError(
                f"`memory` holds {len(remembered) - 1} targets per example, but the batch has {len(batch) - 1}; "
                "call reset_memory() when the inputs change."
            )
        names = ("scores", *(f"targets[{i}]" for i in range(len(batch) - 1)))
        for name, old, new in zip(names, remembered, batch, strict=True):
            if old.shape[1:] != new.shape[1:] or old.dtype != new.dtype:
                trailing = ", ".join(map(str, old.shape[1:]))
                raise ValueError(
                    f"`{name}` must match the remembered examples (shape (*, {trailing}), {old.dtype}), but got "
                    f"shape {tuple(new.shape)} and {new.dtype}; call reset_memory() when the inputs change."
                )
        return pool_examples(batch, remembered)

    def remember(self, pooled: tuple[torch.Tensor, ...]) -> None:
        """Keep the first ``size`` examples of ``pooled`` (as :meth:`pool` returned it), detached and copied."""
        if self.size:
            self._examples = tuple(part.detach()[: self.size].clone() for part in pooled)

    def reset(self) -> None:
        """Forget every remembered example."""
        self._examples = None

    def state(self) -> dict[str, list[torch.Tensor]]:
        """The remembered examples as ``{"remembered": [...]}`` (empty when none), for a state dict."""
        return {"remembered": list(self._examples) if self._examples is not None else []}

    def load_state(self, state: dict[str, list[torch.Tensor]]) -> None:
        """Restore what :meth:`state` returned."""
        remembered = state.get("remembered", [])
        self._examples = tuple(remembered) if remembered else None
