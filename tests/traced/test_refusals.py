"""What from_function refuses, one row per rule: a ValueError subclass at the first call, naming the rule, the
op and the user's file and line, with the supported rewrite."""

from __future__ import annotations

import os

import pytest
import torch

import uniloss
from uniloss.traced import RULES, UnsupportedMetricError

S, T = torch.randn(8), torch.tensor([1, 0, 1, 0, 1, 1, 0, 0])
LOGITS, CLASSES = torch.randn(8, 4), torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
LOGITS[torch.arange(8), (CLASSES + 1) % 4] = 5.0  # every example wrong: the error rate below is 1

ROWS = [  # rule, op, function (the refused op on the lambda's line), batch, options
    ("arithmetic", "mean", lambda s, t: s.sigmoid().mean(), (S, T), {}),
    ("arithmetic", "mean", lambda s, t: ((s - t) ** 2).mean(), (S, T), {}),
    ("arithmetic", "sum", lambda s, t: (s * (s > 0)).sum(), (S, T), {}),
    ("leaves torch", "item", lambda s, t: torch.tensor(float(s.max().item() > 0)), (S, T), {}),
    ("leaves torch", "tolist", lambda s, t: torch.tensor(sum(x > 0 for x in s.tolist()) / len(s)), (S, T), {}),
    ("leaves torch", "__bool__", lambda s, t: (s > 0).float().mean() * (1.0 if s[0] else 0.0), (S, T), {}),
    ("index by scores", "__getitem__", lambda s, t: t[s.long().clamp(0, 7)].float().mean(), (S, T), {}),
    ("index by scores", "gather", lambda s, t: t.gather(0, s.long().clamp(0, 7)).float().mean(), (S, T), {}),
    ("outcome shapes", "gt", lambda s, t: (s[s > 0] > 1).float().sum(), (S, T), {}),
    ("outcome shapes", "topk", lambda s, t: t[s.topk(int((s > 0).sum()) + 1).indices].float().mean(), (S, T), {}),
    ("no gradient", "__eq__", lambda s, t: (s.round() == 1).float().mean(), (S, T), {}),
    ("no gradient", "gt", lambda s, t: (s.detach() > 0).float().mean(), (S, T), {}),
    ("no gradient", "gt", lambda s, t: (s.data > 0).float().mean(), (S, T), {}),
    ("unsupported op", "median", lambda s, t: (s.median(0).indices == 0).float(), (S, T), {}),
    ("unsupported op", "searchsorted", lambda s, t: torch.searchsorted(s.sort().values, s).float().mean(), (S, T), {}),
    ("unsupported op", "unique", lambda s, t: (s.unique() > 0).float().mean(), (S, T), {}),
    ("no comparison", "<lambda>", lambda s, t: t.float().mean(), (S, T), {}),
    ("not ideal", "<lambda>", lambda s, y: (s.argmax(1) != y).float().mean(), (LOGITS, CLASSES), {}),
    ("no ideal", "guess_ideal", lambda s, y: (s > 0).float().mean(), (LOGITS, torch.randn(8, 2)), {}),
]


@pytest.mark.parametrize(("rule", "op", "fn", "batch", "options"), ROWS, ids=[f"{r[0]}-{r[1]}" for r in ROWS])
def test_each_rule_is_refused_at_the_first_call_naming_rule_op_file_and_line(rule, op, fn, batch, options):
    criterion = uniloss.UniLoss(uniloss.from_function(fn, **options))
    scores = batch[0].clone().requires_grad_()
    with pytest.raises(UnsupportedMetricError, match=rf"`{op}` at .*\[{rule}\]") as caught:
        criterion(scores, *batch[1:])
    error = caught.value
    assert isinstance(error, ValueError)
    assert not isinstance(error, TypeError)
    assert error.rule == rule
    assert os.path.basename(__file__) in error.where
    if rule not in ("no comparison", "not ideal", "no ideal"):  # these name the caller's line
        assert error.where.endswith(f":{fn.__code__.co_firstlineno}")
    assert "Rewrite: " + RULES[rule][1] in str(error)


def test_every_rule_has_a_row():
    assert {row[0] for row in ROWS} == set(RULES)


def test_a_refusal_inside_a_comparison_is_not_turned_into_a_type_error():
    # Tensor.__gt__ turns a TypeError raised inside it into "'>' not supported": the refusal is a ValueError.
    fn = uniloss.from_function(lambda s, t: ((s.round() > 0) & t.bool()).float().mean())
    with pytest.raises(ValueError, match=r"\[no gradient\]"):
        fn.comparisons(S, T)


def test_the_rewrites_of_the_table_are_accepted():
    rewrites = [
        (lambda s, t: ((s > 0) == t.bool()).float().mean(), (S, T)),  # for s.sigmoid().mean()
        (lambda s, t: ((s > 0) & (s > -1) & t.bool()).float().sum() / t.sum(), (S, T)),  # for s[s > 0] > -1
        (lambda s, t: ((s >= 0.5) == t.bool()).float().mean(), (S, T)),  # for s.round() == 1
        (lambda s, t: t[s.argmax()].float(), (S, T)),  # for t[s.long()]
    ]
    for fn, batch in rewrites:
        metric = uniloss.from_function(fn)
        comparisons = metric.comparisons(*batch)
        value = metric.evaluate(uniloss.HardStep()(comparisons.values)[None], comparisons)
        assert float(value[0]) == pytest.approx(float(fn(*batch)))
