"""Fuzzing every registered metric: hostile shapes, values and dtypes are rejected by name, or give finite results.

For the functional form and for ``UniLoss(metric)`` of every metric in ``uniloss.METRICS``, starting from the
valid batch of ``tests/_helpers/metric_cases.py``, the scores or one target are replaced by a mutant: empty,
0-d, mismatched or reshaped; NaN, infinite, huge, subnormal or tied values; other dtypes (bool, int, half,
complex); lists, arrays or ``None``. Each call must either raise ``TypeError`` or ``ValueError`` with a message
naming an argument in backticks, or return a finite value (for ``UniLoss``: a finite scalar loss whose backward
gives finite gradients). There is no list of exceptions: a mutant that breaks the contract fails the test. The
regression tests at the end pin the bugs this campaign found, each on its smallest input.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import uniloss
from tests._helpers.metric_cases import make_case

NAMES = sorted(uniloss.METRICS)
NAMED = re.compile(r"`[A-Za-z_][A-Za-z0-9_.\[\]]*`")
# UNILOSS_FUZZ_EXAMPLES=2000 python -m pytest tests/test_fuzz.py  for a longer campaign.
FUZZ_EXAMPLES = int(os.environ.get("UNILOSS_FUZZ_EXAMPLES", "20"))
FUZZ_SETTINGS = settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # "the batch gives no comparison" and the like


def _set_first(value: float, count: int = 1) -> Callable[[torch.Tensor], torch.Tensor]:
    def mutate(tensor: torch.Tensor) -> torch.Tensor:
        out = tensor.clone()
        out.view(-1)[:count] = value
        return out

    return mutate


def _extremes(tensor: torch.Tensor) -> torch.Tensor:
    out = tensor.clone()
    largest = torch.finfo(tensor.dtype).max
    out.view(-1)[0::2] = largest
    out.view(-1)[1::2] = -largest
    return out


SCORE_MUTATIONS: dict[str, Callable[[torch.Tensor], Any]] = {
    "nan": _set_first(float("nan")),
    "inf": _set_first(float("inf")),
    "-inf": _set_first(float("-inf")),
    "all_nan": lambda s: torch.full_like(s, float("nan")),
    "largest_finite": _extremes,
    "huge": lambda s: s * 1e30,
    "huge_float64": lambda s: s.double() * 1e300,
    "subnormal": lambda s: s * 1e-40,
    "all_tied_zero": torch.zeros_like,
    "all_tied_one": torch.ones_like,
    "float16": lambda s: s.half(),
    "float16_saturated": lambda s: (s * 1e5).half(),
    "bfloat16": lambda s: s.bfloat16(),
    "float64": lambda s: s.double(),
    "int64": lambda s: s.round().long(),
    "bool": lambda s: s > 0,
    "complex": lambda s: s.to(torch.complex64),
    "trailing_dim": lambda s: s.unsqueeze(-1),
    "leading_dim": lambda s: s.unsqueeze(0),
    "zero_d": lambda s: s.sum(),
    "flattened": lambda s: s.flatten() if s.dim() > 1 else s.view(1, -1),
    "one_row_fewer": lambda s: s[1:],
    "no_rows": lambda s: s[:0],
    "empty_last_dim": lambda s: s[..., :0],
    "non_contiguous": lambda s: s.transpose(0, -1).contiguous().transpose(0, -1) if s.dim() > 1 else s[::1],
    "list": lambda s: s.tolist(),
    "numpy": lambda s: s.numpy(),
    "none": lambda s: None,
}

TARGET_MUTATIONS: dict[str, Callable[[torch.Tensor], Any]] = {
    "float": lambda t: t.float(),
    "float64": lambda t: t.double(),
    "bool": lambda t: t.long() if t.dtype == torch.bool else t.bool(),
    "int32": lambda t: t.int(),
    "uint8": lambda t: t.to(torch.uint8),
    "fractional": lambda t: t.float() + 0.5,
    "negative": lambda t: -t.abs().float() - 1 if t.is_floating_point() else t.long() - 5,
    "huge": lambda t: t * 1e30 if t.is_floating_point() else torch.full_like(t.long(), 1000),
    "nan": lambda t: torch.full_like(t.float(), float("nan")),
    "inf": lambda t: torch.full_like(t.float(), float("inf")),
    "zeros": torch.zeros_like,
    "ones": torch.ones_like,
    "zero_d": lambda t: t.flatten()[0],
    "one_row_fewer": lambda t: t[1:],
    "no_rows": lambda t: t[:0],
    "trailing_dim": lambda t: t.unsqueeze(-1),
    "complex": lambda t: t.to(torch.complex64),
    "list": lambda t: t.tolist(),
    "none": lambda t: None,
}

SPECIAL_VALUES = [
    float("nan"),
    float("inf"),
    float("-inf"),
    0.0,
    -0.0,
    1.0,
    1e30,
    -1e30,
    3e38,
    -3e38,
    1e-40,
    1e300,
]

CONFUSION_FUNCTIONALS = ("balanced_accuracy", "f1", "fbeta", "precision", "recall")


def _rejected_or_value(call: Callable[[], Any]) -> Any:
    """Run ``call``; a TypeError or ValueError must name an argument in backticks (returns ``None`` then)."""
    try:
        return call()
    except (TypeError, ValueError) as error:
        message = f"{type(error).__name__}: {error}"
    assert NAMED.search(message), f"raised without naming an argument in backticks: {message}"
    return None


def check_functional(case, scores: Any, targets: tuple[Any, ...]) -> None:
    value = _rejected_or_value(lambda: case.exact(scores, *targets))
    if value is not None:
        assert isinstance(value, torch.Tensor), type(value)
        assert torch.isfinite(value).all(), f"non-finite metric {value}"


def check_uniloss(case, scores: Any, targets: tuple[Any, ...]) -> None:
    leaf = scores
    if isinstance(scores, torch.Tensor) and (scores.is_floating_point() or scores.is_complex()):
        leaf = scores.detach().clone().requires_grad_(True)
    criterion = uniloss.UniLoss(case.metric, generator=torch.Generator().manual_seed(0))

    def run() -> torch.Tensor:
        loss = criterion(leaf, *targets)
        if loss.requires_grad:
            loss.backward()
        return loss

    loss = _rejected_or_value(run)
    if loss is not None:
        assert loss.dim() == 0, f"loss of shape {tuple(loss.shape)}"
        assert torch.isfinite(loss), f"non-finite loss {loss}"
        if isinstance(leaf, torch.Tensor) and leaf.grad is not None:
            assert torch.isfinite(leaf.grad).all(), f"non-finite gradient (loss {float(loss):.4g})"


CHECKS = {"functional": check_functional, "UniLoss": check_uniloss}


def _mutants(case) -> list[tuple[str, str, Any, tuple[Any, ...]]]:
    """Every catalogue mutant of ``case``: (what is mutated, mutation name, scores, targets)."""
    mutants = [("scores", name, mutate(case.scores), case.targets) for name, mutate in SCORE_MUTATIONS.items()]
    for index, target in enumerate(case.targets):
        for name, mutate in TARGET_MUTATIONS.items():
            targets = list(case.targets)
            targets[index] = mutate(target)
            mutants.append((f"targets[{index}]", name, case.scores, tuple(targets)))
    mutants.append(("all", "no_rows", case.scores[:0], tuple(target[:0] for target in case.targets)))
    mutants.append(("all", "zero_d", case.scores.sum(), tuple(target.flatten()[0] for target in case.targets)))
    same_shape = case.scores.shape
    mutants.append(
        (
            "all",
            "empty_last_dim",
            case.scores[..., :0],
            tuple(target[..., :0] if target.shape == same_shape else target for target in case.targets),
        )
    )
    overflowing = _set_first(torch.finfo(case.scores.dtype).max, count=2)(case.scores)  # finite, sum is inf
    for index, target in enumerate(case.targets):
        for name in ("zeros", "ones"):  # one class only: often no comparison at all
            targets = list(case.targets)
            targets[index] = TARGET_MUTATIONS[name](target)
            mutants.append((f"scores+targets[{index}]", f"overflowing_sum+{name}", overflowing, tuple(targets)))
    return mutants


@pytest.mark.parametrize("form", sorted(CHECKS))
@pytest.mark.parametrize("name", NAMES)
def test_every_catalogued_mutant_is_rejected_by_name_or_gives_a_finite_result(name, form):
    failures = []
    for dtype in (torch.float32, torch.float64):
        case = make_case(name, dtype=dtype)
        for where, mutation, scores, targets in _mutants(case):
            try:
                CHECKS[form](case, scores, targets)
            except Exception as error:  # collect them all, so one run reports every failing mutant
                failures.append(f"{dtype} {where}:{mutation}: {type(error).__name__}: {str(error).splitlines()[0]}")
    assert not failures, "\n".join(failures)


@st.composite
def hostile_batches(draw, name: str):
    """A valid batch of ``name`` with random elements set to special values, then perhaps one random mutation."""
    seed = draw(st.integers(0, 2**16))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    case = make_case(name, dtype=dtype, seed=seed)
    scores = case.scores.clone()
    count = draw(st.integers(0, min(4, scores.numel())))
    for _ in range(count):
        position = draw(st.integers(0, scores.numel() - 1))
        value = torch.tensor(draw(st.sampled_from(SPECIAL_VALUES)), dtype=torch.float64)
        scores.view(-1)[position] = value.to(dtype)  # 1e300 becomes inf in float32
    if draw(st.booleans()):  # ties: copy one score over others
        source = draw(st.integers(0, scores.numel() - 1))
        scores.view(-1)[draw(st.integers(0, scores.numel() - 1))] = scores.view(-1)[source]
    targets = case.targets
    where, mutation = "values", "specials"
    if draw(st.booleans()):
        index = draw(st.integers(-1, len(targets) - 1))
        if index < 0:
            where, mutation = "scores", draw(st.sampled_from(sorted(SCORE_MUTATIONS)))
            scores = SCORE_MUTATIONS[mutation](scores)
        else:
            where, mutation = f"targets[{index}]", draw(st.sampled_from(sorted(TARGET_MUTATIONS)))
            targets = tuple(TARGET_MUTATIONS[mutation](t) if i == index else t for i, t in enumerate(targets))
    return case, where, mutation, scores, targets


@pytest.mark.parametrize("form", sorted(CHECKS))
@pytest.mark.parametrize("name", NAMES)
@FUZZ_SETTINGS
@given(data=st.data())
def test_random_hostile_batches_are_rejected_by_name_or_give_finite_results(name, form, data):
    case, _, _, scores, targets = data.draw(hostile_batches(name))
    CHECKS[form](case, scores, targets)


@st.composite
def random_shapes(draw):
    """Any shape of 0 to 4 dimensions of sizes 0 to 5."""
    return tuple(draw(st.lists(st.integers(0, 5), min_size=0, max_size=4)))


@pytest.mark.parametrize("form", sorted(CHECKS))
@pytest.mark.parametrize("name", NAMES)
@FUZZ_SETTINGS
@given(data=st.data())
def test_tensors_of_random_shapes_and_dtypes_are_rejected_by_name_or_give_finite_results(name, form, data):
    case = make_case(name)
    scores = torch.randn(data.draw(random_shapes()), dtype=data.draw(st.sampled_from([torch.float32, torch.float64])))
    targets = []
    for target in case.targets:
        shape = data.draw(st.one_of(st.just(tuple(target.shape)), random_shapes()))
        kind = data.draw(st.sampled_from(["int", "bool", "float"]))
        if kind == "int":
            targets.append(torch.randint(-1, 4, shape))
        elif kind == "bool":
            targets.append(torch.rand(shape) < 0.5)
        else:
            targets.append(torch.rand(shape) * 4)
    CHECKS[form](case, scores, tuple(targets))


def test_numpy_inputs_are_not_silently_accepted_as_tensors():
    case = make_case("average_precision")
    with pytest.raises(TypeError, match=r"`scores`"):
        case.exact(np.asarray(case.scores), *case.targets)


# Regression tests of bugs the fuzzing found, each on its smallest input.


@pytest.mark.parametrize("shape", [(1, 1, 6, 0), (1, 1, 0, 6), (1, 1, 0, 0)])
def test_pck_functional_rejects_an_empty_heatmap_by_name(shape):
    joints, visible, head_size = torch.tensor([[[1.0, 2.0]]]), torch.tensor([[True]]), torch.tensor([2.0])
    with pytest.raises(ValueError, match=r"`heatmaps` must have H and W of at least 1"):
        uniloss.exact.pck(torch.randn(shape), joints, visible, head_size)


@pytest.mark.parametrize("average", ["macro", "micro"])
@pytest.mark.parametrize("name", CONFUSION_FUNCTIONALS)
def test_confusion_functionals_reject_inputs_without_labels(name, average):
    import importlib

    module = "fbeta" if name == "f1" else name
    functional = getattr(importlib.import_module(f"uniloss.metrics.{module}"), name)
    options = {"beta": 2.0} if name == "fbeta" else {}
    scores, targets = torch.zeros(1, 0), torch.zeros(1, 0, dtype=torch.long)
    with pytest.raises(ValueError, match=r"`scores` must have at least one label \(L >= 1\), but got shape \(1, 0\)"):
        functional(scores, targets, average=average, **options)  # a finite value here would be a silent 0 / 0


@pytest.mark.parametrize(
    ("metric", "scores", "targets", "dtype"),
    [
        (uniloss.metrics.AveragePrecision(), [3e38, 3e38], ([1, 1],), torch.float32),
        (uniloss.metrics.AveragePrecision(), [1e308, 1e308], ([0, 0],), torch.float64),
        (uniloss.metrics.NDCG(top_k=3), [3e38, 3e38, 0.5], ([0, 0, 0],), torch.float32),
        (uniloss.metrics.Recall(num_labels=2), [[3e38, 3e38], [0.1, 0.2]], ([[0, 0], [0, 0]],), torch.float32),
    ],
    ids=["ap-all-positive", "ap-all-negative-float64", "ndcg-no-relevant", "recall-no-positive"],
)
def test_uniloss_is_finite_on_a_batch_without_comparisons_whose_scores_sum_overflows(metric, scores, targets, dtype):
    leaf = torch.tensor(scores, dtype=dtype, requires_grad=True)  # every score finite; their sum is inf
    loss = uniloss.UniLoss(metric)(leaf, *(torch.tensor(target) for target in targets))
    loss.backward()
    assert torch.isfinite(loss), f"loss {loss}"
    assert torch.isfinite(leaf.grad).all()
