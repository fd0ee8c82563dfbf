"""Every public constructor: impossible arguments are refused by name, and the repr shows the arguments.

The classes come from the ``__all__`` of ``uniloss`` and of its part packages (``PACKAGES``), so a new public class
fails ``test_every_argument_of_every_public_constructor_has_a_row`` until each of its arguments has a row in
``CONSTRUCTOR_ERRORS`` (one row per constructor and bad argument) and an entry in ``EXAMPLES`` (arguments that
differ from the defaults, for the repr test). ``tests/metrics/test_errors.py`` counts these rows when it checks
that every ``raise`` statement of the engine and the metrics is reached.
"""

from __future__ import annotations

import importlib
import inspect
from typing import NamedTuple

import pytest
import torch

import uniloss
from uniloss import HardStep, InverseDistanceWeighting, Sigmoid, UniLoss
from uniloss.anchors import AnchorBits, AnchorSet, PaperAnchors, StructuredAnchors
from uniloss.metrics import (
    AUROC,
    F1,
    NDCG,
    PCK,
    Accuracy,
    AveragePrecision,
    BalancedAccuracy,
    DefaultParts,
    Dice,
    FBeta,
    IoU,
    MeanAveragePrecision,
    Precision,
    PrecisionAtK,
    Recall,
    RecallAtK,
    TopKAccuracy,
)

PACKAGES = ("uniloss", "uniloss.metrics", "uniloss.anchors", "uniloss.interpolators", "uniloss.relaxations")
"""Packages whose ``__all__`` lists public classes; one that does not exist (yet) is skipped."""
EXEMPT = {
    "Comparisons": "a layout record built by metrics, not configured by users; verify_metric reports bad layouts",
    "Counts": "the confusion counts a ThresholdMetric's statistic receives, built by the metric, not by users",
    "SurrogateMonitor": "a recorder of a training run, not a part of the loss: no repr to rebuild it from",
}


def _public_classes() -> dict[str, type]:
    found: dict[str, type] = {}
    for package in PACKAGES:
        try:
            module = importlib.import_module(package)
        except ModuleNotFoundError:
            continue
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            if inspect.isclass(value) and value.__module__.startswith("uniloss") and not inspect.isabstract(value):
                found[name] = value
    return {name: cls for name, cls in sorted(found.items()) if name not in EXEMPT}


PUBLIC = _public_classes()


def _arguments(cls: type) -> list[str]:
    skipped = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    return [p.name for p in parameters if p.kind not in skipped]


class Bad(NamedTuple):
    """``cls(**kwargs)`` raises ``exception`` matching ``pattern``; ``argument`` is the one that is wrong."""

    cls: type
    argument: str
    kwargs: dict
    exception: type[Exception]
    pattern: str


K = torch.zeros(2, dtype=torch.long)
ANCHORS = {"base": K, "flip": K}
BYTES = torch.zeros(1, 2, 2, dtype=torch.uint8)
AP = AveragePrecision()
POSITIVE_FLOAT = r"must be a positive float, but got "
NON_NEGATIVE = r"must be a non-negative int, but got "

# fmt: off
BAD = [
    # --- metrics ---
    Bad(Accuracy, "num_classes", {"num_classes": 0}, ValueError, r"`num_classes` must be a positive int, but got 0\."),
    Bad(Accuracy, "num_classes", {"num_classes": "10"}, TypeError, r"`num_classes` must be a positive int"),
    Bad(Accuracy, "candidates", {"num_classes": 10, "candidates": 1}, ValueError, r"`candidates` must be at least 2"),
    Bad(Accuracy, "candidates", {"num_classes": 10, "candidates": 50}, ValueError,
        r"`candidates` must be at most `num_classes` \(10\), but got 50\."),
    Bad(AveragePrecision, "mode", {"mode": "area"}, ValueError, r"`mode` must be one of \('step', 'interpolated'\)"),
    Bad(AveragePrecision, "layout", {"layout": "dense"}, ValueError, r"`layout` must be one of \('compact',"),
    Bad(MeanAveragePrecision, "num_labels", {"num_labels": 0}, ValueError, r"`num_labels` must be a positive int"),
    Bad(MeanAveragePrecision, "mode", {"num_labels": 2, "mode": "11-point"}, ValueError, r"`mode` must be one of"),
    Bad(TopKAccuracy, "num_classes", {"num_classes": -1}, ValueError, r"`num_classes` must be a positive int"),
    Bad(TopKAccuracy, "top_k", {"num_classes": 5, "top_k": 0}, ValueError, r"`top_k` must be a positive int, but"),
    Bad(TopKAccuracy, "top_k", {"num_classes": 5, "top_k": 6}, ValueError,
        r"`top_k` must be at most `num_classes` \(5\), but got 6\."),
    Bad(PCK, "threshold", {"threshold": 0.0}, ValueError, r"`threshold` " + POSITIVE_FLOAT + r"0\.0\."),
    Bad(NDCG, "top_k", {"top_k": 0}, ValueError, r"`top_k` must be a positive int, but got 0\."),
    Bad(PrecisionAtK, "top_k", {"top_k": 1.5}, TypeError, r"`top_k` must be a positive int, but got float 1\.5\."),
    Bad(RecallAtK, "top_k", {"top_k": None}, TypeError, r"`top_k` must be a positive int, but got NoneType None\."),
    Bad(FBeta, "beta", {"beta": float("inf")}, ValueError, r"`beta` " + POSITIVE_FLOAT + r"inf\."),
    *[
        row
        for cls in (FBeta, F1, Precision, Recall, BalancedAccuracy)
        for row in (
            Bad(cls, "threshold", {"threshold": float("nan")}, ValueError, r"`threshold` must be a finite float"),
            Bad(cls, "num_labels", {"num_labels": 0}, ValueError, r"`num_labels` must be a positive int, but got 0\."),
            Bad(cls, "average", {"average": "weighted"}, ValueError, r"`average` must be one of \('micro', 'macro'\)"),
        )
    ],
    *[
        row
        for cls in (IoU, Dice)
        for row in (
            Bad(cls, "num_classes", {"num_classes": 1}, ValueError, r"`num_classes` must be at least 2"),
            Bad(cls, "threshold", {"threshold": "0"}, TypeError, r"`threshold` must be a finite float, but got str"),
            Bad(cls, "ignore_index", {"ignore_index": 255.0}, TypeError, r"`ignore_index` must be an int or None"),
        )
    ],
    # --- anchors ---
    Bad(AnchorSet, "base", {**ANCHORS, "base": [0, 0]}, TypeError, r"`base` must be a torch\.Tensor, but got list\."),
    Bad(AnchorSet, "base", {**ANCHORS, "base": K.int()}, TypeError,
        r"`base` must be an int64 tensor, but got torch\.int32\."),
    Bad(AnchorSet, "base", {**ANCHORS, "base": K.view(2, 1)}, ValueError,
        r"`base` must have shape \(K,\), but got \(2, 1\)\."),
    Bad(AnchorSet, "flip", {**ANCHORS, "flip": K[:1]}, ValueError,
        r"`flip` must have shape \(K,\) with K=2, but got \(1,\)\."),
    Bad(AnchorSet, "flip", {**ANCHORS, "flip": K.to("meta")}, ValueError,
        r"`flip` must be on the device of `base` \(cpu\), but got meta\."),
    Bad(AnchorSet, "random", {**ANCHORS, "random": "bits"}, TypeError,
        r"`random` must be AnchorBits or None, but got str 'bits'\."),
    Bad(AnchorBits, "codes", {"codes": [0], "count": 1}, TypeError, r"`codes` must be a torch\.Tensor, but got list\."),
    Bad(AnchorBits, "codes", {"codes": torch.zeros(1, 2, 2), "count": 1}, ValueError,
        r"`codes` must be a uint8 tensor of shape \(ceil\(count / 8\), R, L\), but got torch\.float32 \(1, 2, 2\)\."),
    Bad(AnchorBits, "count", {"codes": BYTES, "count": 9}, ValueError,
        r"`codes` must have ceil\(count / 8\) = 2 byte planes for `count` = 9, but got 1\."),
    Bad(AnchorBits, "count", {"codes": BYTES, "count": -1}, ValueError, r"`count` must be a non-negative int"),
    Bad(DefaultParts, "relax", {"relax": "sigmoid"}, TypeError,
        r"`relax` must be a uniloss Relaxation \(e\.g\. Sigmoid\), but got str 'sigmoid'\."),
    Bad(DefaultParts, "anchors", {"anchors": 49}, TypeError,
        r"`anchors` must be a uniloss AnchorSampler \(e\.g\. PaperAnchors\), but got int 49\."),
    Bad(DefaultParts, "interpolator", {"interpolator": 2.0}, TypeError,
        r"`interpolator` must be a uniloss Interpolator \(e\.g\. InverseDistanceWeighting\); for a function of "
        r"\(squared_distances, values\), subclass Interpolator and implement __call__, but got float 2\.0\."),
    *[
        Bad(cls, name, {name: value}, error, rf"`{name}` " + NON_NEGATIVE + shown)
        for cls in (PaperAnchors, StructuredAnchors)
        for name, value, error, shown in (
            ("ground_truth", -1, ValueError, r"-1\."),
            ("good", 1.0, TypeError, r"float 1\.0\."),
            ("nearby", "16", TypeError, r"str '16'\."),
            ("bad", -16, ValueError, r"-16\."),
            ("current", True, TypeError, r"bool True\."),
        )
    ],
    Bad(PaperAnchors, "ground_truth", {"ground_truth": 0, "good": 0, "nearby": 0, "bad": 0}, ValueError,
        r"`PaperAnchors` needs at least one anchor, but every count is 0\."),
    Bad(StructuredAnchors, "rows", {"rows": -2}, ValueError, r"`rows` " + NON_NEGATIVE + r"-2\."),
    Bad(StructuredAnchors, "halfway", {"halfway": 0.5}, TypeError, r"`halfway` " + NON_NEGATIVE + r"float 0\.5\."),
    Bad(StructuredAnchors, "halfway", {"ground_truth": 0, "good": 0, "nearby": 0, "bad": 0}, ValueError,
        r"`StructuredAnchors` needs at least one anchor, but every count is 0\."),
    # --- interpolators and relaxations ---
    Bad(InverseDistanceWeighting, "power", {"power": -1.0}, ValueError, r"`power` " + POSITIVE_FLOAT + r"-1\.0\."),
    Bad(Sigmoid, "temperature", {"temperature": 0}, ValueError, r"`temperature` " + POSITIVE_FLOAT + r"0\."),
    Bad(Sigmoid, "temperature", {"temperature": 1e-39}, ValueError, r"`temperature` must be a positive float in "
        r"\[1\.18e-38, 3\.4e\+38\]"),
    Bad(Sigmoid, "temperature", {"temperature": 1e39}, ValueError, r"but got 1e\+39\."),
    Bad(Sigmoid, "temperature", {"temperature": "1"}, TypeError, r"`temperature` " + POSITIVE_FLOAT + r"str '1'\."),
    # --- the loss ---
    Bad(UniLoss, "metric", {"metric": "average_precision"}, TypeError,
        r"`metric` must be a uniloss MetricRefactoring, but got str\."),
    Bad(UniLoss, "temperature", {"metric": AP, "temperature": -0.1}, ValueError, r"`temperature` " + POSITIVE_FLOAT),
    Bad(UniLoss, "temperature", {"metric": AP, "temperature": 0.5, "relax": Sigmoid()}, ValueError,
        r"give either `temperature` or `relax`, not both\."),
    Bad(UniLoss, "power", {"metric": AP, "power": float("nan")}, ValueError, r"`power` " + POSITIVE_FLOAT + r"nan\."),
    Bad(UniLoss, "power", {"metric": AP, "power": 2.0, "interpolator": InverseDistanceWeighting()}, ValueError,
        r"give either `power` or `interpolator`, not both\."),
    Bad(UniLoss, "relax", {"metric": AP, "relax": torch.nn.Sigmoid()}, TypeError,
        r"`relax` must be a uniloss Relaxation \(e\.g\. Sigmoid\) or None, but got Sigmoid Sigmoid\(\)\."),
    Bad(UniLoss, "anchors", {"metric": AP, "anchors": "paper"}, TypeError,
        r"`anchors` must be a uniloss AnchorSampler \(e\.g\. PaperAnchors\) or None, but got str 'paper'\."),
    Bad(UniLoss, "anchors", {"metric": AP, "anchors": PaperAnchors}, TypeError,
        r"`anchors` must be .*, but got the class PaperAnchors; pass an instance: PaperAnchors\(\)\."),
    Bad(UniLoss, "interpolator", {"metric": AP, "interpolator": 1.5}, TypeError,
        r"`interpolator` must be a uniloss Interpolator \(e\.g\. InverseDistanceWeighting\) or None; .*, but got "
        r"float 1\.5\."),
    Bad(UniLoss, "interpolator", {"metric": AP, "interpolator": lambda squared, values: values.mean()}, TypeError,
        r"`interpolator` must be a uniloss Interpolator .* subclass Interpolator and implement __call__, but got "
        r"function <lambda>\."),
    Bad(UniLoss, "generator", {"metric": AP, "generator": 0}, TypeError,
        r"`generator` must be a torch\.Generator or None, but got int 0\."),
    Bad(UniLoss, "validate_args", {"metric": AP, "validate_args": "no"}, TypeError,
        r"`validate_args` must be a bool, but got str 'no'\."),
    Bad(UniLoss, "distributed", {"metric": AP, "distributed": 1}, TypeError,
        r"`distributed` must be a bool, but got int 1\."),
    Bad(UniLoss, "compile", {"metric": AP, "compile": "yes"}, TypeError,
        r"`compile` must be a bool, but got str 'yes'\."),
    Bad(UniLoss, "memory", {"metric": AP, "memory": -8}, ValueError, r"`memory` " + NON_NEGATIVE + r"-8\."),
    Bad(UniLoss, "memory", {"metric": NDCG(), "memory": 8}, ValueError,
        r"`memory` needs a metric whose batches can be pooled, but NDCG\(top_k=None\) cannot\."),
]
# fmt: on


def _row_id(bad: Bad, counter: dict[str, int]) -> str:
    key = f"{bad.cls.__name__}-{bad.argument}"
    counter[key] = counter.get(key, 0) + 1
    return f"{key}-{counter[key]}"


_COUNTER: dict[str, int] = {}
CONSTRUCTOR_ERRORS = [
    pytest.param(bad.cls, (), bad.kwargs, bad.exception, bad.pattern, id=_row_id(bad, _COUNTER)) for bad in BAD
]
"""The rows in the format of ``tests/metrics/test_errors.py``: ``(callable, args, kwargs, exception, pattern)``."""


@pytest.mark.parametrize(("fn", "args", "kwargs", "exception", "pattern"), CONSTRUCTOR_ERRORS)
def test_impossible_constructor_argument_is_refused_by_name(fn, args, kwargs, exception, pattern):
    with pytest.raises(exception, match=pattern):
        fn(*args, **kwargs)


def test_every_argument_of_every_public_constructor_has_a_row():
    covered = {(bad.cls.__name__, bad.argument) for bad in BAD}
    wanted = {(name, argument) for name, cls in PUBLIC.items() for argument in _arguments(cls)}
    missing = sorted(wanted - covered)
    assert not missing, f"public constructor arguments without a row in BAD: {missing}"
    assert {"Accuracy", "PaperAnchors", "InverseDistanceWeighting", "Sigmoid", "HardStep", "UniLoss"} <= set(PUBLIC)


def test_every_row_names_a_real_argument():
    unknown = sorted({(b.cls.__name__, b.argument) for b in BAD if b.argument not in _arguments(b.cls)})
    assert not unknown, f"rows naming no argument of their constructor: {unknown}"


# --- reprs ------------------------------------------------------------------------------------------------------

EXAMPLES: dict[str, dict] = {
    "AUROC": {},
    "Accuracy": {"num_classes": 10, "candidates": 5},
    "AnchorBits": {"codes": torch.zeros(2, 1, 3, dtype=torch.uint8), "count": 9},
    "AnchorSet": {"base": torch.tensor([0, 1]), "flip": torch.tensor([-1, 3])},
    "DefaultParts": {
        "relax": Sigmoid(2.0),
        "anchors": PaperAnchors(bad=4),
        "interpolator": InverseDistanceWeighting(3.0),
    },
    "AveragePrecision": {"mode": "interpolated", "layout": "static"},
    "BalancedAccuracy": {"threshold": 0.5, "num_labels": 3, "average": "micro"},
    "Dice": {"num_classes": 4, "threshold": 1.0, "ignore_index": 255},
    "F1": {"threshold": -0.5, "num_labels": 2, "average": "micro"},
    "FBeta": {"beta": 2.0, "threshold": 0.25, "num_labels": 5, "average": "micro"},
    "HardStep": {},
    "InverseDistanceWeighting": {"power": 2.5},
    "IoU": {"num_classes": 3, "threshold": 0.5, "ignore_index": -1},
    "MeanAveragePrecision": {"num_labels": 4, "mode": "interpolated"},
    "NDCG": {"top_k": 10},
    "PCK": {"threshold": 0.2},
    "PaperAnchors": {"ground_truth": 2, "good": 3, "nearby": 4, "bad": 5, "current": 1},
    "Precision": {"threshold": 1.5, "num_labels": 2, "average": "micro"},
    "PrecisionAtK": {"top_k": 3},
    "Recall": {"threshold": 0.1, "num_labels": 6, "average": "micro"},
    "RecallAtK": {"top_k": 7},
    "Sigmoid": {"temperature": 0.25},
    "StructuredAnchors": {"ground_truth": 0, "good": 2, "nearby": 0, "bad": 1, "current": 3, "rows": 4, "halfway": 5},
    "TopKAccuracy": {"num_classes": 5, "top_k": 3},
    "UniLoss": {
        "metric": Accuracy(num_classes=4, candidates=3),
        "relax": Sigmoid(0.5),
        "anchors": PaperAnchors(good=2),
        "interpolator": InverseDistanceWeighting(3.0),
        "validate_args": False,
        "distributed": True,
        "memory": 16,
        "compile": True,
    },
}
"""Valid arguments, each different from its default, for every public class."""
NAMESPACE = {**PUBLIC, "tensor": torch.tensor, "torch": torch}


def test_every_public_class_has_an_example():
    assert sorted(set(PUBLIC) - set(EXAMPLES)) == []


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_repr_shows_every_argument_and_evaluates_to_an_equal_repr(name):
    obj = PUBLIC[name](**EXAMPLES[name])
    text = repr(obj)
    assert text.startswith(f"{name}(")
    for argument, value in EXAMPLES[name].items():
        assert f"{argument}={value!r}" in text, f"{argument}={value!r} not in {text}"
    assert repr(eval(text, NAMESPACE)) == text  # our own reprs only


@pytest.mark.parametrize("name", sorted(set(EXAMPLES) - {"UniLoss"}))
def test_repr_of_the_defaults_names_every_argument_of_a_part(name):
    required = {argument: value for argument, value in EXAMPLES[name].items() if _is_required(PUBLIC[name], argument)}
    obj = PUBLIC[name](**required)
    for argument in _arguments(PUBLIC[name]):
        assert f"{argument}=" in repr(obj), f"{argument} missing from {obj!r}"


def _is_required(cls: type, argument: str) -> bool:
    return inspect.signature(cls.__init__).parameters[argument].default is inspect.Parameter.empty


def test_repr_of_a_custom_metric_shows_its_arguments():
    class HitRate(uniloss.metrics.MetricRefactoring):
        def __init__(self, k: int = 1, strict: bool = False) -> None:
            self.k = k
            self._strict = strict

        def comparisons(self, scores, *targets):
            return uniloss.Comparisons(scores.view(1, -1))

    assert repr(HitRate(k=3)) == "HitRate(k=3, strict=False)"
    assert repr(HitRate(k=3, strict=True)) == "HitRate(k=3, strict=True)"


def test_repr_of_custom_parts_shows_their_arguments():
    relaxation = next(cls for cls in Sigmoid.__mro__ if cls.__name__ == "Relaxation")

    class Tanh(relaxation):
        def __init__(self, scale: float = 1.0) -> None:
            self.scale = scale

        def distances(self, values):
            b = torch.tanh(values / self.scale)
            return 1 - b, 1 + b

    class OnlyTruth(uniloss.anchors.AnchorSampler):
        def __init__(self, copies: int = 1) -> None:
            self.copies = copies

        def sample(self, wrong, mask, generator):
            return AnchorSet(torch.zeros(self.copies, dtype=torch.long), torch.full((self.copies,), -1))

    assert repr(Tanh(0.5)) == "Tanh(scale=0.5)"
    assert repr(OnlyTruth(copies=2)) == "OnlyTruth(copies=2)"
    loss = UniLoss(AUROC(), relax=Tanh(0.5), anchors=OnlyTruth(2))
    assert "relax=Tanh(scale=0.5), anchors=OnlyTruth(copies=2)" in repr(loss)


def test_uniloss_repr_leaves_out_options_at_their_defaults():
    text = repr(UniLoss(AUROC()))
    for option in ("validate_args", "distributed", "memory", "generator"):
        assert option not in text
    assert repr(HardStep()) == "HardStep()"
