"""The built-in metrics of the zoo written as plain PyTorch code, as a user would write them for from_function."""

from __future__ import annotations

import torch


def average_precision(scores, labels):
    rel = labels[scores.argsort(descending=True)].float()
    precision = rel.cumsum(0) / torch.arange(1, len(rel) + 1)
    return (precision * rel).sum() / rel.sum().clamp(min=1)


def auroc(scores, labels):
    positive = labels.bool()
    pairs = scores[positive][:, None] > scores[~positive][None, :]
    return pairs.float().sum() / max(pairs.numel(), 1)


def _counts(scores, labels, threshold=0.0):
    predicted, actual = scores > threshold, labels.bool()
    tp = (predicted & actual).sum().float()
    fp = (predicted & ~actual).sum().float()
    fn = (~predicted & actual).sum().float()
    tn = (~predicted & ~actual).sum().float()
    return tp, fp, fn, tn


def _ratio(num, den):
    return torch.where(den > 0, num / den.clamp(min=1e-12), torch.zeros_like(num))


def fbeta(scores, labels, beta=2.0):
    tp, fp, fn, _ = _counts(scores, labels)
    b2 = beta * beta
    return _ratio((1 + b2) * tp, (1 + b2) * tp + b2 * fn + fp)


def f1(scores, labels):
    tp, fp, fn, _ = _counts(scores, labels)
    return _ratio(2 * tp, 2 * tp + fn + fp)


def precision(scores, labels):
    tp, fp, _, _ = _counts(scores, labels)
    return _ratio(tp, tp + fp)


def recall(scores, labels):
    tp, _, fn, _ = _counts(scores, labels)
    return _ratio(tp, tp + fn)


def balanced_accuracy(scores, labels):
    tp, fp, fn, tn = _counts(scores, labels)
    rates = [_ratio(tp, tp + fn)] if bool(labels.any()) else []
    rates += [_ratio(tn, tn + fp)] if not bool(labels.all()) else []
    return torch.stack(rates).mean()


def accuracy(scores, classes):
    return (scores.argmax(1) == classes).float().mean()


def top_3_accuracy(scores, classes):
    return (scores.topk(3, dim=1).indices == classes[:, None]).any(1).float().mean()


def hit_rate(scores, classes, k=3):  # top-k accuracy by counting, the example
    true = scores.gather(1, classes[:, None])
    return ((scores > true).sum(1) < k).float().mean()


def _queries(groups):
    return [groups == query for query in groups.unique()]


def precision_at_3(scores, labels, groups):
    values = []
    for query in _queries(groups):
        s, t = scores[query], labels[query]
        values.append(t[s.topk(min(3, len(s))).indices].float().sum() / 3)
    return torch.stack(values).mean()


def recall_at_3(scores, labels, groups):
    values = []
    for query in _queries(groups):
        s, t = scores[query], labels[query]
        hits = t[s.topk(min(3, len(s))).indices].float().sum()
        values.append(hits / t.sum().clamp(min=1))
    return torch.stack(values).mean()


def ndcg_at_3(scores, relevance, groups):
    values = []
    for query in _queries(groups):
        s, r = scores[query], relevance[query].float()
        k = min(3, len(s))
        discount = 1 / torch.log2(torch.arange(k) + 2.0)
        dcg = (r[s.argsort(descending=True)][:k] * discount).sum()
        idcg = (r.sort(descending=True).values[:k] * discount).sum()
        values.append(_ratio(dcg, idcg))
    return torch.stack(values).mean()


def mean_average_precision(scores, labels):
    order = scores.argsort(dim=0, descending=True)
    rel = labels.gather(0, order).float()
    ranks = torch.arange(1, rel.shape[0] + 1)[:, None]
    ap = (rel.cumsum(0) / ranks * rel).sum(0) / rel.sum(0).clamp(min=1)
    present = labels.bool().any(0)
    return ap[present].mean() if bool(present.any()) else ap.sum() * 0


def _overlaps(scores, classes):
    predicted = scores.argmax(1)
    present = [c for c in range(scores.shape[1]) if bool((classes == c).any())]
    tp = torch.stack([((predicted == c) & (classes == c)).sum() for c in range(scores.shape[1])]).float()
    fp = torch.stack([((predicted == c) & (classes != c)).sum() for c in range(scores.shape[1])]).float()
    fn = torch.stack([((predicted != c) & (classes == c)).sum() for c in range(scores.shape[1])]).float()
    seen = (tp + fp + fn) > 0
    return tp, fp, fn, seen, present


def iou(scores, classes):
    tp, fp, fn, seen, _ = _overlaps(scores, classes)
    values = _ratio(tp, tp + fp + fn)
    return (values * seen).sum() / seen.sum().clamp(min=1)


def dice(scores, classes):
    tp, fp, fn, seen, _ = _overlaps(scores, classes)
    values = _ratio(2 * tp, 2 * tp + fp + fn)
    return (values * seen).sum() / seen.sum().clamp(min=1)


def binary_iou(scores, labels):
    tp, fp, fn, _ = _counts(scores, labels)
    return _ratio(tp, tp + fp + fn)


def binary_dice(scores, labels):
    tp, fp, fn, _ = _counts(scores, labels)
    return _ratio(2 * tp, 2 * tp + fp + fn)


def pck(heatmaps, joints, visible, head_size, threshold=0.5):
    w = heatmaps.shape[-1]
    peak = heatmaps.flatten(2).argmax(-1)
    x, y = peak % w, peak // w
    distance = (x - joints[..., 0]) ** 2 + (y - joints[..., 1]) ** 2
    right = (distance <= (threshold * head_size[:, None]) ** 2) & visible.bool()
    return right.sum().float() / visible.bool().sum().clamp(min=1)


def pck_ideal(heatmaps, joints, visible, head_size, threshold=0.5):
    """+1 on the pixels within the radius of the joint, -1 elsewhere: the ideal heatmap."""
    h, w = heatmaps.shape[-2:]
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    distance = (xs - joints[..., 0, None, None]) ** 2 + (ys - joints[..., 1, None, None]) ** 2
    inside = distance <= (threshold * head_size[:, None, None, None]) ** 2
    return torch.where(inside, 1.0, -1.0).to(heatmaps.dtype)
