"""Which way does the UniLoss AP gradient push each score? A diagnostic of the interpolation, not a benchmark.

    python -m benchmarks.quality.gradient_directions

On synthetic batches shaped like Fashion-MNIST at batch 128 (13 positives scored N(4.5, 3), 115 negatives N(0, 3);
150 batches, seeded), counts the fraction of scores that one gradient-descent step moves the right way: positives
up, negatives down, separately for examples in a wrong pair (a positive at or below some negative) and for the
rest. Binary cross-entropy moves every one of them the right way; an interpolation of anchor values need not,
because its gradient pulls towards the anchors whose value is above the interpolated one and pushes away from the
others, whichever binaries they differ in.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

import torch

import uniloss
from uniloss.anchors import PaperAnchors

from .variants import GaussianKernel, per_row_ap_loss

POSITIVES, NEGATIVES, SPREAD, BATCHES = 13, 115, 3.0, 150


def engine_loss(anchors: PaperAnchors, interpolator) -> Callable[..., torch.Tensor]:
    """``loss(scores, labels, generator)`` of the engine with these anchors and this interpolation."""

    def loss(scores: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        metric = uniloss.metrics.AveragePrecision()
        return uniloss.uniloss(
            scores, labels, metric=metric, anchors=anchors, interpolator=interpolator, generator=generator
        )

    return loss


def right_way_fractions(loss_fn: Callable[..., torch.Tensor]) -> tuple[float, float, float, float]:
    """Fractions moved the right way: (wrong positives, right positives, wrong negatives, right negatives)."""
    moved: dict[str, list[float]] = {"wrong+": [], "right+": [], "wrong-": [], "right-": []}
    labels = torch.cat([torch.ones(POSITIVES), torch.zeros(NEGATIVES)]).long()
    for batch in range(BATCHES):
        g = torch.Generator().manual_seed(batch)
        scores = torch.randn(POSITIVES + NEGATIVES, generator=g) * SPREAD
        scores[:POSITIVES] += 1.5 * SPREAD
        scores.requires_grad_()
        loss_fn(scores, labels, torch.Generator().manual_seed(1000 + batch)).backward()
        step = -scores.grad
        below = scores.detach()[:POSITIVES, None] <= scores.detach()[None, POSITIVES:]
        for i, wrong in enumerate(below.any(1).tolist()):
            moved["wrong+" if wrong else "right+"].append(float(step[i] > 0))
        for j, wrong in enumerate(below.any(0).tolist()):
            moved["wrong-" if wrong else "right-"].append(float(step[POSITIVES + j] < 0))
    return tuple(statistics.fmean(moved[key]) for key in ("wrong+", "right+", "wrong-", "right-"))  # type: ignore[return-value]


def main() -> None:
    idw = uniloss.InverseDistanceWeighting
    variants = [
        ("IDW p 2", engine_loss(PaperAnchors(), idw(2.0))),
        ("IDW p 1.5 (default)", engine_loss(PaperAnchors(), idw(1.5))),
        ("IDW p 1", engine_loss(PaperAnchors(), idw(1.0))),
        ("IDW p 0.5", engine_loss(PaperAnchors(), idw(0.5))),
        ("IDW p 1.5, + current", engine_loss(PaperAnchors(current=1), idw(1.5))),
        ("IDW p 1.5, no nearby", engine_loss(PaperAnchors(nearby=0), idw(1.5))),
        ("IDW p 1.5, no good", engine_loss(PaperAnchors(good=0), idw(1.5))),
        ("gaussian 1", engine_loss(PaperAnchors(), GaussianKernel(1.0))),
        ("gaussian 4, + current", engine_loss(PaperAnchors(current=1), GaussianKernel(4.0))),
        ("per-example rows, p 1.5", lambda scores, labels, g: per_row_ap_loss(scores, labels, 1.5, g)),
        ("per-example rows, p 2", lambda scores, labels, g: per_row_ap_loss(scores, labels, 2.0, g)),
    ]
    print(
        "| interpolation, anchors | wrong positives up | right positives up | wrong negatives down "
        "| right negatives down |"
    )
    print("|---|---|---|---|---|")
    for name, loss_fn in variants:
        cells = " | ".join(f"{value:.2f}" for value in right_way_fractions(loss_fn))
        print(f"| {name} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
