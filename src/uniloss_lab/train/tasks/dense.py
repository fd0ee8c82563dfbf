"""Dense tasks: PCK of keypoint heatmaps, and the mean IoU of segmentation masks."""

from __future__ import annotations

from typing import Any

import torch

from uniloss import exact
from uniloss.metrics import PCK, IoU, MetricRefactoring
from uniloss_lab.train.tasks.base import Task, _Accumulator, _ClassesTask

__all__: list[str] = []


class _PCKTask(Task):
    """PCK on heatmaps; with several hourglass stacks the loss is summed over stacks, the metric uses the last."""

    def _refactoring(self) -> MetricRefactoring:
        return PCK(threshold=self.config.threshold)

    @staticmethod
    def _stacks(outputs: Any) -> list[torch.Tensor]:
        return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]

    def loss(
        self, outputs: Any, targets: tuple[torch.Tensor, ...], indices: torch.Tensor | None = None
    ) -> torch.Tensor:
        heatmaps, joints, visible, head_size = targets
        total = torch.zeros((), device=self.device)
        weight = visible.to(heatmaps.dtype)[..., None, None]
        for stack in self._stacks(outputs):
            if self.criterion is not None:
                total = total + self._criterion(stack, joints, visible, head_size, indices=indices)
            else:
                total = total + ((stack.float() - heatmaps) ** 2 * weight).mean()
        return total

    def batch_metric(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> tuple[float, float]:
        _, joints, visible, head_size = targets
        last = self._stacks(outputs)[-1].detach().float()
        value = exact.pck(last, joints, visible, head_size, threshold=self.config.threshold, validate_args=False)
        return float(value), float(visible.sum())

    def gather_batch(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> tuple[Any, tuple[torch.Tensor, ...]]:
        from uniloss.distributed import gather

        heatmaps, *rest = targets  # the target heatmaps are not needed by the metric: not sent
        return gather(self._stacks(outputs)[-1].detach()), (heatmaps, *(gather(target) for target in rest))


def _pooled_iou(scores: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    return exact.iou(scores, masks, validate_args=False)


class _SegmentationTask(_ClassesTask):
    """Mean IoU of per-pixel classes (the argmax of ``(B, C, H, W)`` logits), pooled over the whole split.

    UniLoss is ``IoU(num_classes=C)``; the baseline is the per-pixel cross-entropy.
    """

    def _refactoring(self) -> MetricRefactoring:
        return IoU(num_classes=self.num_classes)

    def batch_metric(self, outputs: Any, targets: tuple[torch.Tensor, ...]) -> tuple[float, float]:
        value = exact.iou(outputs.detach().float(), targets[0], validate_args=False)
        return float(value), float(outputs.shape[0])

    def accumulator(self) -> _Accumulator:
        return _Accumulator(_pooled_iou)

    def update(self, accumulator: _Accumulator, outputs: Any, targets: tuple[torch.Tensor, ...]) -> None:
        accumulator.add_scores(outputs, targets[0])
