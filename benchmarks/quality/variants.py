"""The loss variants of the quality ablations: a *variant* is a dict of loss options, built by :func:`make_loss`.

The options (``_harness.train_ap`` trains with them through ``uniloss_lab.train.train``):

- ``loss``: ``"uniloss"`` (default), ``"bce"`` or ``"pairwise"`` (logistic loss on every positive-negative pair);
- ``scores``: ``"logits"`` (default) or ``"sigmoid"`` (the published code: sigmoid outputs compared);
- ``temperature``: a float, or ``"spread"`` with ``spread`` k: ``t = k * std(comparisons)`` of the batch;
- ``power``: inverse-distance power; ``anchors``: ``PaperAnchors`` counts; ``scale``: loss multiplier;
- ``memory``: rank the batch together with the last ``memory`` detached scores (``UniLoss(memory=...)``);
- ``repeats``: average the loss over this many independent anchor draws per step;
- ``kernel``: ``"gaussian"`` with ``bandwidth`` k: weights ``softmax(-d^2 / (k min d^2))`` instead of IDW;
- ``shift``: k, inverse distances to a power of ``d^2 + k min d^2`` (a flatter kernel near the closest anchors);
- ``fresh``: M, rank the batch with the last M training examples re-scored by the current model (no gradient) at
  every step, instead of their stale scores (``memory``); applied by ``_harness.train_ap``, not by ``make_loss``;
- ``relative``: distances measured from the current configuration, ``d_k^2 - d_current^2`` (the component every
  anchor shares drops out), with the current configuration drawn as an extra anchor and then left out;
  ``"frozen"``: IDW's own distances, but no gradient through ``d_current^2``;
- ``pairs``: ``"batch"`` with ``memory`` M, the memory's pairs of two remembered examples are constants outside the
  interpolation (``BatchPairsAP``) instead of binaries;
- ``strata``: [n, p], rank the batch with the stale scores of the last n negatives and the last p positives;
- ``worse``: k, add k anchors that make one right binary of the current configuration wrong (``NeighbourAnchors``);
- ``bad_rate``: q, bad anchors whose binaries are each wrong with probability q (``bad`` of them, default 16);
- ``focus``: with ``memory``, good and nearby anchors flip only pairs that involve the current batch (pairs of two
  remembered examples get no gradient);
- ``scope``: ``"row"`` interpolates each positive's row of pairs on its own (``per_row_ap_loss``); ``"counts"``
  interpolates in the space of per-positive counts (``count_space_ap_loss``);
- ``anneal``: ``{"temperature" | "power": [start, end, steps]}``, changed linearly over the first ``steps`` calls;
- ``plus_bce``: λ, add λ times binary cross-entropy to the UniLoss loss (a diagnostic of what BCE adds);
- ``mode``: the AP the anchors are valued by, ``"step"`` (default) or ``"interpolated"`` (the paper code's);
- ``lr``: Adam learning rate (default 1e-3); ``schedule``: ``"cosine"`` anneals it to zero over the run (both
  applied by ``_harness.train_ap``);
- ``relax``: ``"hardtanh"`` or ``"algebraic"`` (``ShapedStep``); ``"linear"`` continues the sigmoid linearly for
  wrong pairs (``LinearTail``; ``tail`` scales that slope), ``"floor"`` keeps the sigmoid's values but holds the
  slope of wrong pairs at ``1 / 2t``;
- ``relaxed_draws``: k, the paper's bad anchors replaced by k random anchors drawn around the relaxed point, each
  binary wrong with probability ``sigmoid(-c / t)`` (``RelaxedPointAnchors``, fed by ``RelaxedPointAP``);
  ``anchors`` still sets the ground-truth, good and nearby counts (and ``bad``, 0 by default, keeps uniform ones);
- ``dataset_ranks``: λ, each batch positive's precision counted against the stored latest scores of every training
  example seen so far, keyed by dataset index (``DatasetRankAP``; the batch's pairs are the only binaries, each
  standing for λ pairs; ``"share"``: λ = 1 + the stored negatives per batch negative); needs the batch's training
  indices, which ``_harness.train_ap`` passes as a last target.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

import uniloss
from uniloss.anchors import CURRENT, AnchorBits, AnchorSampler, AnchorSet, PaperAnchors, sample_set_entries
from uniloss.anchors.bits import draw
from uniloss.core.comparisons import Comparisons
from uniloss.interpolators import InverseDistanceWeighting
from uniloss.metrics import AveragePrecision
from uniloss.metrics.ap import _precision_at_positives
from uniloss.relaxations import Relaxation, Sigmoid


class SpreadSigmoid(Relaxation):
    """Sigmoid relaxation whose temperature is ``k`` times the standard deviation of the batch's comparisons."""

    def __init__(self, k: float) -> None:
        self.k = k

    def distances(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scale = (self.k * values.detach().std()).clamp_min(1e-3)
        scaled = values / scale
        return 2 * torch.sigmoid(-scaled), 2 * torch.sigmoid(scaled)


class LinearTail(Relaxation):
    """``b = tanh(c / 2t)`` for right comparisons, continued linearly (``b = c / 2t``) for wrong ones.

    The sigmoid's slope vanishes on badly wrong pairs; this relaxation keeps it at ``1 / 2t`` there (``b`` goes
    below ``-1``), so a badly misranked pair is pulled as hard as a barely wrong one, as in a logistic loss.
    With ``floor`` the values stay the sigmoid's and only the slope of wrong pairs is held at ``1 / 2t``.
    """

    def __init__(self, temperature: float = 1.0, tail: float = 1.0, floor: bool = False) -> None:
        self.temperature, self.tail, self.floor = temperature, tail, floor

    def distances(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scaled = values / self.temperature
        right = values > 0
        if self.floor:
            return 2 * torch.sigmoid(-scaled), 2 * torch.sigmoid(scaled)
        linear = self.tail * scaled.clamp_max(0) / 2
        return (
            torch.where(right, 2 * torch.sigmoid(-scaled), 1 - linear),
            torch.where(right, 2 * torch.sigmoid(scaled), 1 + linear),
        )

    def distances_with_slope(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        to_right, to_wrong = self.distances(values)
        sigmoid_slope = (2 * torch.sigmoid(-values / self.temperature)) * (2 * torch.sigmoid(values / self.temperature))
        slope = torch.where(values > 0, sigmoid_slope, torch.full_like(values, self.tail)) / (2 * self.temperature)
        return to_right, to_wrong, slope


class ShapedStep(Relaxation):
    """Other smooth steps, ``b = f(c / 2t)``: ``"hardtanh"`` ``clamp(x, -1, 1)`` (the same slope for every pair within
    ``2t`` of a tie, none beyond) or ``"algebraic"`` ``x / sqrt(1 + x^2)`` (a slope that decays as ``|x|^-3``, a
    heavier tail than the sigmoid's ``e^-|x|``)."""

    def __init__(self, kind: str, temperature: float = 1.0) -> None:
        self.kind, self.temperature = kind, temperature

    def distances(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = values / (2 * self.temperature)
        b = x.clamp(-1, 1) if self.kind == "hardtanh" else x * torch.rsqrt(1 + x.square())
        return 1 - b, 1 + b


class GaussianKernel:
    """Interpolation weights ``softmax(-d^2 / (k min_j d_j^2))``: a kernel whose width follows the nearest anchor."""

    def __init__(self, bandwidth: float) -> None:
        self.bandwidth = bandwidth

    def __call__(self, squared_distances: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        scale = squared_distances.detach().min().clamp_min(1e-6) * self.bandwidth
        values = values.to(squared_distances.dtype)
        mixed = (torch.softmax(-squared_distances / scale, dim=0) * values).sum()
        return mixed.clamp(values.min(), values.max())


class BatchFocusedAnchors(AnchorSampler):
    """The paper's anchors whose good and nearby flips land only on AP pairs involving the current batch.

    The pooled layout of ``AveragePrecision`` lists the batch's positives and negatives before the remembered ones,
    so a pair ``(p, n)`` involves the batch iff ``p < positives`` or ``n < negatives`` (set before each call).
    """

    def __init__(self) -> None:
        self.flips = PaperAnchors(bad=0)
        self.bad = 16
        self.positives = self.negatives = 0

    def sample(self, wrong: torch.Tensor, mask: torch.Tensor | None, generator: torch.Generator | None) -> AnchorSet:
        rows, length = wrong.shape
        focus = (torch.arange(rows) < self.positives)[:, None] | (torch.arange(length) < self.negatives)[None, :]
        if mask is not None:
            focus &= mask
        drawn = self.flips.sample(wrong & focus, focus, generator)
        random = AnchorBits.uniform(self.bad, mask, wrong.shape, generator, wrong.device)
        return AnchorSet(base=drawn.base, flip=drawn.flip, random=random)


class BiasedBadAnchors(AnchorSampler):
    """The paper's anchors with ``bad`` random configurations whose binaries are each wrong with probability ``rate``.

    ``rate`` 0.5 is the paper's uniform draw; ``rate`` 1 makes every bad anchor the all-wrong configuration.
    """

    def __init__(self, rate: float, bad: int = 16) -> None:
        self.flips = PaperAnchors(bad=0)
        self.rate, self.bad = rate, bad

    def sample(self, wrong: torch.Tensor, mask: torch.Tensor | None, generator: torch.Generator | None) -> AnchorSet:
        drawn = self.flips.sample(wrong, mask, generator)
        masks = torch.rand((self.bad, *wrong.shape), generator=generator) < self.rate
        if mask is not None:
            masks &= mask
        return AnchorSet(base=drawn.base, flip=drawn.flip, random=AnchorBits.from_masks(masks))


class RelaxedPointAnchors(AnchorSampler):
    """The paper's ground-truth, good and nearby anchors, and ``draws`` random anchors around the relaxed point.

    The paper's bad anchors are uniform (each binary wrong with probability 1/2), far from the relaxed point ``b``.
    Here each binary of a draw is wrong with the probability the relaxation gives it, ``P(wrong_i) = (1 - b_i) / 2
    = sigmoid(-c_i / t)`` for the sigmoid, so the draws scatter around ``b`` (expected squared distance
    ``sum 1 - b_i^2``): confident pairs keep their sign and near-ties flip half the time.

    ``counts`` are ``PaperAnchors`` counts; ``bad`` defaults to 0 (the draws replace the uniform anchors), and a
    positive ``bad`` keeps that many uniform anchors before the draws. A sampler sees only the current signs, so
    ``probabilities`` (``(R, L)``, the comparisons' layout) must be set before each :meth:`sample`;
    :class:`RelaxedPointAP` sets it from the comparisons it computes. It is used once.
    """

    def __init__(self, draws: int = 16, counts: dict[str, int] | None = None) -> None:
        self.paper = PaperAnchors(**{"bad": 0, **(counts or {})})  # uniform bad anchors only if asked for
        self.draws = draws
        self.probabilities: torch.Tensor | None = None

    def sample(self, wrong: torch.Tensor, mask: torch.Tensor | None, generator: torch.Generator | None) -> AnchorSet:
        probabilities, self.probabilities = self.probabilities, None
        if probabilities is None or probabilities.shape != wrong.shape:
            shape = None if probabilities is None else tuple(probabilities.shape)
            raise ValueError(f"`probabilities` must be set to the {tuple(wrong.shape)} layout first, but got {shape}.")
        drawn = self.paper.sample(wrong, mask, generator)
        masks = draw((self.draws, *wrong.shape), generator, wrong.device) < probabilities
        if mask is not None:
            masks &= mask
        around = AnchorBits.from_masks(masks)
        random = around if drawn.random is None else AnchorBits.cat([drawn.random, around])
        return AnchorSet(base=drawn.base, flip=drawn.flip, random=random)


class RelaxedPointAP(AveragePrecision):
    """``AveragePrecision`` that hands each batch's wrong-probabilities ``sigmoid(-c / t)`` to ``sampler``.

    The engine computes the comparisons (of the pooled batch, with ``memory``) before it draws the anchors, so
    the probabilities of :class:`RelaxedPointAnchors` are those of the very comparisons the step relaxes.
    """

    def __init__(self, sampler: RelaxedPointAnchors, temperature: float = 1.0, mode: Any = "step") -> None:
        super().__init__(mode)
        self.sampler, self.temperature = sampler, temperature

    def comparisons(self, scores: torch.Tensor, *targets: torch.Tensor) -> Comparisons:
        layout = super().comparisons(scores, *targets)
        self.sampler.probabilities = torch.sigmoid(-layout.values.detach() / self.temperature)
        return layout


class DatasetRankAP(AveragePrecision):
    """AP of the batch's positives, each ranked against the stored scores of the whole training split.

    The idea behind SOAP (LibAUC's AP loss: a per-positive estimate kept across batches, keyed by dataset index)
    inside UniLoss's interpolation. A table keeps each training example's latest score (a running estimate with
    rate 1, at most one epoch old) and label. For a batch positive ``p`` with current score ``s_p``, let ``A_p`` be
    the stored positives scored above ``s_p`` plus its rank among the batch's positives, ``K_p`` the stored
    negatives scored at or above it (batch examples left out of the table), and ``w_p(a)`` its wrong pairs with
    the batch's negatives at anchor ``a``. The anchor's value is ``mean_p A_p / (A_p + K_p + w_p + λ (w_p(a) -
    w_p))`` (``w_p`` the current count): with λ 1, each positive's precision in the batch pooled with the table;
    with a larger λ each batch negative stands for λ stored ones. The batch's pairs are the only binaries (their
    gradient reaches only the batch); the table then takes the batch's scores.

    ``comparisons(scores, labels, indices)`` must be called once per step (it updates the table). Mode ``"step"``.
    """

    def __init__(self, scale: float | str = 1.0) -> None:
        super().__init__()
        self.scale = scale
        self.scores = torch.zeros(0)
        self.labels = torch.zeros(0, dtype=torch.bool)
        self.seen = torch.zeros(0, dtype=torch.bool)

    def check(self, scores: torch.Tensor, *targets: torch.Tensor) -> None:
        pass

    def comparisons(self, scores: torch.Tensor, *targets: torch.Tensor) -> Comparisons:
        labels, indices = targets
        scores, positive = scores.reshape(-1), labels.bool()
        layout = super().comparisons(scores, positive)
        detached = scores.detach()
        size = int(indices.max()) + 1 if indices.numel() else 0
        if size > self.scores.shape[0]:  # grow the table to the largest index seen
            grow = size - self.scores.shape[0]
            self.scores = torch.cat([self.scores, detached.new_zeros(grow)])
            self.labels = torch.cat([self.labels, torch.zeros(grow, dtype=torch.bool)])
            self.seen = torch.cat([self.seen, torch.zeros(grow, dtype=torch.bool)])
        stored = self.seen.clone()
        stored[indices] = False  # the batch is ranked with its current scores, not its stored ones
        table_positive = self.scores[stored & self.labels].sort().values
        table_negative = self.scores[stored & ~self.labels].sort().values
        ours = detached[positive]
        above = (table_positive.numel() - torch.searchsorted(table_positive, ours, right=True)).double()
        above += 1 + (ours.unsqueeze(1) < ours.unsqueeze(0)).sum(1)  # itself, and the batch positives above it
        others = (table_negative.numel() - torch.searchsorted(table_negative, ours)).double()
        current = (layout.values.detach() <= 0).sum(1).double()
        negatives = int((~positive).sum())
        scale = 1 + table_negative.numel() / max(negatives, 1) if self.scale == "share" else float(self.scale)
        self.scores[indices], self.labels[indices], self.seen[indices] = detached, positive, True
        return Comparisons(layout.values, context=(above, others, current, scale))

    def evaluate_counts(self, wrong: torch.Tensor, comparisons: Comparisons) -> torch.Tensor:
        above, others, current, scale = comparisons.context
        if above.numel() == 0:
            return torch.zeros(wrong.shape[:-1], dtype=torch.get_default_dtype(), device=wrong.device)
        negatives = (others + current + scale * (wrong.double() - current)).clamp_min(0)
        return (above / (above + negatives)).mean(-1).to(torch.get_default_dtype())


class NeighbourAnchors(AnchorSampler):
    """The paper's anchors plus ``worse`` one-flip neighbours of the current configuration that break a right pair.

    The paper's nearby anchors only correct a wrong binary (higher value than the current configuration); these
    make one right binary wrong (lower value), so the interpolation also sees what losing a right pair costs.
    """

    def __init__(self, worse: int = 16, counts: dict[str, int] | None = None) -> None:
        self.paper = PaperAnchors(**(counts or {}))
        self.worse = worse

    def sample(self, wrong: torch.Tensor, mask: torch.Tensor | None, generator: torch.Generator | None) -> AnchorSet:
        drawn = self.paper.sample(wrong, mask, generator)
        right = ~wrong if mask is None else mask & ~wrong
        index, found = sample_set_entries(right, wrong.numel(), self.worse, generator, wrong.device)
        base = torch.full((self.worse,), CURRENT, dtype=torch.long, device=wrong.device)
        return AnchorSet(
            base=torch.cat([drawn.base, base]),
            flip=torch.cat([drawn.flip, torch.where(found, index, -1)]),
            random=drawn.random,
        )


class RelativeInverseDistance:
    """Inverse distances of ``d_k^2 - d_c^2``: each anchor's distance minus the current configuration's.

    ``d_k^2 - d_c^2 = 4 sum |b_i|`` over the binaries where anchor ``k`` differs from the current signs, so binaries
    an anchor shares with the current configuration add nothing. Expects the anchors of ``PaperAnchors(current=1)``
    with one ground-truth anchor: the current configuration is anchor 1 and is left out of the interpolation.
    """

    def __init__(self, power: float, frozen: bool = False) -> None:
        self.power, self.frozen = power, frozen

    def __call__(self, squared_distances: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        keep = torch.ones_like(squared_distances, dtype=torch.bool)
        keep[1] = False
        relative = (squared_distances[keep] - squared_distances[1]).clamp_min(0)
        if self.frozen:  # IDW's own distances, with no gradient through the part every anchor shares
            relative = relative + squared_distances[1].detach()
        values = values[keep].to(relative.dtype)
        log_weights = -0.5 * self.power * torch.log(relative + torch.finfo(relative.dtype).tiny ** 0.5)
        mixed = (torch.softmax(log_weights, dim=0) * values).sum()
        return mixed.clamp(values.min(), values.max())


class ShiftedInverseDistance:
    """Weights ``(d^2 + k min_j d_j^2)^(-p / 2)``: inverse distances flattened near the closest anchors."""

    def __init__(self, power: float, shift: float) -> None:
        self.power, self.shift = power, shift

    def __call__(self, squared_distances: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        offset = self.shift * squared_distances.detach().min() + torch.finfo(squared_distances.dtype).tiny ** 0.5
        log_weights = -0.5 * self.power * torch.log(squared_distances + offset)
        values = values.to(log_weights.dtype)
        mixed = (torch.softmax(log_weights, dim=0) * values).sum()
        return mixed.clamp(values.min(), values.max())


def _ap_layout(scores: torch.Tensor, labels: torch.Tensor) -> tuple[AveragePrecision, Comparisons]:
    """``AveragePrecision()`` and its ``(P, N)`` comparisons of the batch."""
    metric = AveragePrecision()
    return metric, metric.comparisons(scores, labels)


def per_row_ap_loss(
    scores: torch.Tensor,
    labels: torch.Tensor,
    power: float,
    generator: torch.Generator,
    counts: tuple[int, int, int] = (16, 16, 16),
) -> torch.Tensor:
    """UniLoss for AP with a per-example distance: each positive's row of pairs interpolated on its own.

    Row ``p`` gets its own anchors (its ground truth, ``good`` one-flip rows, ``nearby`` rows = its current row with
    one wrong pair corrected, ``bad`` random rows), each valued by the exact AP of the batch with only row ``p``
    changed; the loss is ``1 - mean_p idw_p``, so every positive (and through its pairs every negative) gets a
    gradient at every step. Dense, for small batches: ``(P, 49, N)`` entries.
    """
    metric, layout = _ap_layout(scores, labels)
    values = layout.values
    if values.numel() == 0:
        return scores.sum() * 0
    rows, length = values.shape
    good, nearby, bad = counts
    with torch.no_grad():
        wrong = values <= 0
        flips = torch.nn.functional.one_hot(torch.randint(0, length, (rows, good), generator=generator), length).bool()
        pick = (torch.rand(rows, nearby, length, generator=generator) * wrong[:, None, :]).argmax(-1)
        corrected = wrong[:, None, :].expand(rows, nearby, length).clone()
        corrected.scatter_(2, pick[..., None], False)
        has_wrong = wrong.any(1)[:, None, None]
        fallback = torch.nn.functional.one_hot(
            torch.randint(0, length, (rows, nearby), generator=generator), length
        ).bool()
        near = torch.where(has_wrong, corrected, fallback)
        random_rows = torch.rand(rows, bad, length, generator=generator) < 0.5
        anchors = torch.cat([torch.zeros(rows, 1, length, dtype=torch.bool), flips, near, random_rows], 1)
        current = wrong.sum(1)
        configs = current.expand(rows, anchors.shape[1], rows).clone()  # (row p, anchor k, counts of every row)
        index = torch.arange(rows)
        configs[index, :, index] = anchors.sum(-1)
        exact = metric.evaluate_counts(configs.reshape(-1, rows), layout).view(rows, -1).to(values.dtype)
    relaxed = 2 * torch.sigmoid(values) - 1
    squared = (relaxed[:, None, :] - torch.where(anchors, -1.0, 1.0)).square().sum(-1)
    eps = torch.finfo(squared.dtype).tiny ** 0.5
    weights = torch.softmax(-0.5 * power * torch.log(squared + eps), dim=1)
    return 1 - (weights * exact).sum(1).mean()


class BatchPairsAP(AveragePrecision):
    """AP of a batch pooled with remembered scores, whose binaries are only the pairs involving the batch.

    ``comparisons(scores, labels, stamps)``, with ``UniLoss(memory=M)`` pooling ``(scores, labels, stamps)``: the
    examples whose stamp equals the first one's (the batch, which the pooled layout lists first) are the batch.
    Every positive is compared with every negative of the pooled examples, but the pairs of two remembered
    examples are padding (constant, outside every distance and never flipped) and their wrong counts are added
    to each anchor's counts as a constant, so the anchors' values are the pooled AP while the interpolation only
    sees what the batch can change.
    """

    def check(self, scores: torch.Tensor, *targets: torch.Tensor) -> None:
        pass

    def comparisons(self, scores: torch.Tensor, *targets: torch.Tensor) -> Comparisons:
        labels, stamps = targets
        scores, positive, in_batch = scores.reshape(-1), labels.bool(), stamps == stamps[0]
        values = scores[positive].unsqueeze(1) - scores[~positive].unsqueeze(0)
        variable = in_batch[positive].unsqueeze(1) | in_batch[~positive].unsqueeze(0)
        constant = ((values.detach() <= 0) & ~variable).sum(1)
        return Comparisons(values, mask=variable, context=constant)

    def evaluate_counts(self, wrong: torch.Tensor, comparisons: Comparisons) -> torch.Tensor:
        return _precision_at_positives(wrong + comparisons.context, self.mode)


def count_space_ap_loss(
    scores: torch.Tensor,
    labels: torch.Tensor,
    power: float,
    generator: torch.Generator,
    counts: tuple[int, int, int] = (16, 16, 16),
) -> torch.Tensor:
    """UniLoss for AP interpolated in the space of per-positive counts instead of binaries.

    AP depends on the binaries only through ``k_p``, the number of negatives above each positive. Relaxed counts
    ``k~_p = sum_n (1 - b_pn) / 2``; anchors are count vectors (ground truth 0, ``good`` one error in a random row,
    ``nearby`` the current counts with one error of a random wrong pair's row removed, ``bad`` Binomial(N, 1/2)
    rows), weighted by inverse distances ``||k~ - k_a||^-p``.
    """
    metric, layout = _ap_layout(scores, labels)
    values = layout.values
    if values.numel() == 0:
        return scores.sum() * 0
    rows, length = values.shape
    good, nearby, bad = counts
    with torch.no_grad():
        wrong = values <= 0
        current = wrong.sum(1)
        eye = torch.eye(rows, dtype=torch.long)
        good_rows = eye[torch.randint(0, rows, (good,), generator=generator)]
        if bool(wrong.any()):
            pick = torch.multinomial(current.double(), nearby, replacement=True, generator=generator)
            near = current - eye[pick]
        else:
            near = eye[torch.randint(0, rows, (nearby,), generator=generator)]
        random = (torch.rand(bad, rows, length, generator=generator) < 0.5).sum(-1)
        anchors = torch.cat([torch.zeros(1, rows, dtype=torch.long), good_rows, near, random])
        exact = metric.evaluate_counts(anchors, layout).to(values.dtype)
    soft = torch.sigmoid(-values).sum(1)
    squared = (soft - anchors.to(values.dtype)).square().sum(1)
    eps = torch.finfo(squared.dtype).tiny ** 0.5
    weights = torch.softmax(-0.5 * power * torch.log(squared + eps), dim=0)
    return 1 - (weights * exact).sum()


def make_loss(variant: dict[str, Any], metric: Any, seed: int) -> Callable[..., torch.Tensor]:
    """The loss of ``variant`` as ``loss(outputs, *targets)``."""
    kind = variant.get("loss", "uniloss")
    scale = float(variant.get("scale", 1.0))
    if kind == "bce":
        return lambda out, y: scale * F.binary_cross_entropy_with_logits(out, y.float())
    if kind == "ce":
        return lambda out, y: scale * F.cross_entropy(out, y)
    if kind == "pairwise":

        def pairwise(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            pos, neg = out[y == 1], out[y == 0]
            if pos.numel() == 0 or neg.numel() == 0:
                return 0 * out.sum()
            return scale * F.softplus(neg[None, :] - pos[:, None]).mean()

        return pairwise
    if variant.get("scope") == "row":
        generator = torch.Generator().manual_seed(seed)
        power = float(variant.get("power", 1.5))
        return lambda out, y: scale * per_row_ap_loss(out, y, power, generator)
    if variant.get("scope") == "counts":
        generator = torch.Generator().manual_seed(seed)
        power = float(variant.get("power", 1.5))
        return lambda out, y: scale * count_space_ap_loss(out, y, power, generator)
    options: dict[str, Any] = {"generator": torch.Generator().manual_seed(seed), "validate_args": False}
    temperature = variant.get("temperature")
    if temperature == "spread":
        options["relax"] = SpreadSigmoid(float(variant.get("spread", 1.0)))
    elif temperature is not None:
        options["temperature"] = float(temperature)
    if variant.get("relax") in ("hardtanh", "algebraic"):
        options["relax"] = ShapedStep(variant["relax"], float(variant.get("temperature", 1.0)))
        options.pop("temperature", None)
    if variant.get("relax") in ("linear", "floor"):
        options["relax"] = LinearTail(
            float(variant.get("temperature", 1.0)), float(variant.get("tail", 1.0)), variant["relax"] == "floor"
        )
        options.pop("temperature", None)
    if variant.get("relative"):
        frozen = variant["relative"] == "frozen"
        options["interpolator"] = RelativeInverseDistance(float(variant.get("power", 1.5)), frozen)
        options["anchors"] = uniloss.anchors.PaperAnchors(current=1)
    elif "shift" in variant:
        options["interpolator"] = ShiftedInverseDistance(float(variant.get("power", 1.5)), float(variant["shift"]))
    elif variant.get("kernel") == "gaussian":
        options["interpolator"] = GaussianKernel(float(variant.get("bandwidth", 1.0)))
    elif "power" in variant:
        options["power"] = float(variant["power"])
    if "anchors" in variant:
        options["anchors"] = uniloss.anchors.PaperAnchors(**variant["anchors"])
    if "structured" in variant:
        options["anchors"] = uniloss.anchors.StructuredAnchors(**variant["structured"])
    if "bad_rate" in variant:
        options["anchors"] = BiasedBadAnchors(float(variant["bad_rate"]), int(variant.get("bad", 16)))
    if "worse" in variant:
        options["anchors"] = NeighbourAnchors(int(variant["worse"]), variant.get("anchors"))
    focused = BatchFocusedAnchors() if variant.get("focus") else None
    if focused is not None:
        options["anchors"] = focused
    if variant.get("pairs") == "batch":  # memory whose remembered-only pairs are constants, not binaries
        metric = BatchPairsAP()
    if "dataset_ranks" in variant:  # the batch's training indices come as a last target (``_harness.train_ap``)
        metric = DatasetRankAP(variant["dataset_ranks"])
    if "relaxed_draws" in variant:  # anchors around the relaxed point: the metric feeds the sampler
        around = RelaxedPointAnchors(int(variant["relaxed_draws"]), variant.get("anchors"))
        options["anchors"] = around
        metric = RelaxedPointAP(around, float(variant.get("temperature", 1.0)), metric.mode)
    criterion = uniloss.UniLoss(metric, memory=int(variant.get("memory", 0)), **options)
    sigmoid = variant.get("scores", "logits") == "sigmoid"
    if "strata" in variant:  # stale scores of the last positives and the last negatives, kept apart
        keep = [int(n) for n in variant["strata"]]
        kept = [torch.zeros(0), torch.zeros(0)]

        def stratified(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            out = out.reshape(-1)
            pooled = torch.cat([out, kept[1], kept[0]])
            labels = torch.cat([y, torch.ones_like(kept[1], dtype=y.dtype), torch.zeros_like(kept[0], dtype=y.dtype)])
            value = scale * criterion(pooled, labels)
            for label in (0, 1):
                kept[label] = torch.cat([out.detach()[y == label], kept[label]])[: keep[label]]
            return value

        return stratified
    repeats = int(variant.get("repeats", 1))

    plus_bce = float(variant.get("plus_bce", 0.0))
    anneal = variant.get("anneal")  # {"temperature" or "power": [start, end, steps]}, linear over the steps
    step = [0]  # calls so far: the schedule's clock, and the arrival stamp of ``pairs="batch"``

    def scheduled() -> None:
        for name, (start, end, steps) in (anneal or {}).items():
            value = start + (end - start) * min(step[0] / steps, 1.0)
            if name == "temperature":
                criterion.relax = Sigmoid(value)
            else:
                criterion.interpolator = InverseDistanceWeighting(value)
        step[0] += 1

    def loss(out: torch.Tensor, *targets: torch.Tensor) -> torch.Tensor:
        scheduled()
        if variant.get("pairs") == "batch":
            targets = (*targets, torch.full_like(targets[0], step[0]))
        if plus_bce:
            return core(out, *targets) + plus_bce * F.binary_cross_entropy_with_logits(
                out.reshape(-1), targets[0].float()
            )
        return core(out, *targets)

    def core(out: torch.Tensor, *targets: torch.Tensor) -> torch.Tensor:
        if focused is not None:
            focused.positives = int(targets[0].sum())
            focused.negatives = int(targets[0].numel()) - focused.positives
        scores = torch.sigmoid(out) if sigmoid else out
        return scale * sum(criterion(scores, *targets) for _ in range(repeats)) / repeats

    return loss
