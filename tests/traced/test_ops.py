"""Every supported spelling of a comparison and a ranking, and the values that pass through: the auto metric's
value is the function's, and its replay at the configuration of other scores is the function on them."""

from __future__ import annotations

import pytest
import torch

import uniloss

G = torch.Generator().manual_seed(0)
Y = torch.randint(0, 4, (6,), generator=G)  # classes of (6, 4) logits
T = torch.tensor([1, 0, 1, 1, 0, 0])  # labels of (6,) scores


def _hit(order, y=Y):  # the true class is among the first two of an order of classes
    return (order[:, :2] == y[:, None]).any(1).float().mean()


CLASS_OPS = {
    "argmax(1)": lambda s, y: (s.argmax(1) == y).float().mean(),
    "torch.argmax(dim=1, keepdim)": lambda s, y: (torch.argmax(s, dim=1, keepdim=True)[:, 0] == y).float().mean(),
    "argmin(-s)": lambda s, y: ((-s).argmin(1) == y).float().mean(),
    "torch.max(s, 1)": lambda s, y: (torch.max(s, 1)[1] == y).float().mean(),
    "s.max(dim=1).indices": lambda s, y: (s.max(dim=1).indices == y).float().mean(),
    "s.max(1, keepdim=True)": lambda s, y: (s.max(1, keepdim=True).indices[:, 0] == y).float().mean(),
    "torch.min(-s, dim=1)": lambda s, y: (torch.min(-s, dim=1).indices == y).float().mean(),
    "max values compared": lambda s, y: (s.gather(1, y[:, None])[:, 0] >= s.max(1).values).float().mean(),
    "sort(1, True)": lambda s, y: _hit(s.sort(1, True).indices, y),
    "torch.sort(descending=True)": lambda s, y: _hit(torch.sort(s, dim=1, descending=True)[1], y),
    "argsort ascending, flipped": lambda s, y: _hit(torch.argsort(s, dim=1).flip(1), y),
    "topk(2, 1)": lambda s, y: _hit(s.topk(2, 1).indices, y),
    "torch.topk(largest=False)": lambda s, y: _hit(torch.topk(-s, 2, dim=1, largest=False).indices, y),
    "sort along dim 0 of s.T": lambda s, y: _hit(s.T.sort(0, descending=True).indices.T, y),
    "argmax without dim": lambda s, y: (s.argmax() % 4 == y[0]).float(),
    "counting with >": lambda s, y: ((s > s.gather(1, y[:, None])).sum(1) < 2).float().mean(),
    "counting with torch.gt": lambda s, y: (torch.gt(s, s.gather(1, y[:, None])).sum(1) < 2).float().mean(),
    "counting with <": lambda s, y: ((s.gather(1, y[:, None]) < s).sum(1) < 2).float().mean(),
    "counting with .less": lambda s, y: (s.gather(1, y[:, None]).less(s).sum(1) < 2).float().mean(),
}

LABEL_OPS = {
    "s > 0": lambda s, t: ((s > 0) == t.bool()).float().mean(),
    "0 < s": lambda s, t: ((s > 0) == t.bool()).float().mean(),
    "s >= 0": lambda s, t: ((s >= 0) == t.bool()).float().mean(),
    "s.ge(0)": lambda s, t: (s.ge(0) == t.bool()).float().mean(),
    "torch.greater_equal": lambda s, t: (torch.greater_equal(s, 0.0) == t.bool()).float().mean(),
    "s <= 0 negated": lambda s, t: ((~(s <= 0)) == t.bool()).float().mean(),
    "torch.less_equal": lambda s, t: (torch.less_equal(s, 0.0) != t.bool()).float().mean(),
    "s.greater": lambda s, t: (s.greater(0) == t.bool()).float().mean(),
    "torch.lt": lambda s, t: (torch.lt(s, 0) != t.bool()).float().mean(),
    "s != s.clamp(max=0)": lambda s, t: ((s != s.clamp(max=0)) == t.bool()).float().mean(),
    "torch.ne": lambda s, t: (torch.ne(s.clamp(min=0), 0) == t.bool()).float().mean(),
    "s == s.clamp(min=0)": lambda s, t: ((s == s.clamp(min=0)) == t.bool()).float().mean(),
    "torch.eq": lambda s, t: (torch.eq(torch.maximum(s, torch.zeros(())), s) == t.bool()).float().mean(),
    "s > s.median()": lambda s, t: ((s > s.median()) == t.bool()).float().mean(),
    "s > s.quantile(0.5)": lambda s, t: ((s > s.quantile(0.5)) == t.bool()).float().mean(),
    "sigmoid(s) > 0.5": lambda s, t: ((torch.sigmoid(s) > 0.5) == t.bool()).float().mean(),
    "s - s.max() > -1": lambda s, t: ((s - s.max() > -1) == t.bool()).float().mean(),
    "s > s.min()": lambda s, t: ((s > s.min()) == t.bool()).float().mean(),
    "torch.minimum": lambda s, t: ((torch.minimum(s, s.mean()) < s) == t.bool()).float().mean(),
    "torch.where": lambda s, t: (torch.where(t.bool(), s, -s) > 0).float().mean(),
    "in place": lambda s, t: (s.clone().mul_(2).add_(1) > 1).eq(t.bool()).float().mean(),
    "setitem": lambda s, t: _setitem(s, t),
    "python loop over items": lambda s, t: (
        torch.stack([(s[i] > 0) == t[i].bool() for i in range(len(s))]).float().mean()
    ),
    "control flow on outcomes": lambda s, t: (
        ((s > 0) == t.bool()).float().mean() if bool((s > 0).any()) else s.new_zeros(())
    ),
}


def _setitem(s, t):
    x = torch.zeros_like(s)
    x[t.bool()] = s[t.bool()]
    x[~t.bool()] = -s[~t.bool()]
    return (x > 0).float().mean()


CASES = [(name, fn, (4,)) for name, fn in CLASS_OPS.items()] + [(name, fn, ()) for name, fn in LABEL_OPS.items()]


@pytest.mark.parametrize(("name", "fn", "classes"), CASES, ids=[case[0] for case in CASES])
def test_op_is_exact_at_the_batch_and_at_the_configuration_of_other_scores(name, fn, classes):
    targets = Y if classes else T
    metric = uniloss.from_function(fn)
    generator = torch.Generator().manual_seed(1)
    batch = torch.randn(6, *classes, generator=generator, dtype=torch.float64)
    comparisons = metric.comparisons(batch, targets)
    value = metric.evaluate(uniloss.HardStep()(comparisons.values)[None], comparisons)
    assert float(value[0]) == pytest.approx(float(fn(batch, targets)))
    for _ in range(5):
        other = torch.randn(6, *classes, generator=generator, dtype=torch.float64)
        elsewhere = metric.comparisons(other, targets).values
        replayed = metric.evaluate(uniloss.HardStep()(elsewhere)[None], comparisons)
        assert float(replayed[0]) == pytest.approx(float(fn(other, targets))), name
