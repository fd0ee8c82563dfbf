"""The protocol a metric implements to become a loss: which pairs to compare, and its exact value."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from uniloss.anchors import AnchorSampler, PaperAnchors
from uniloss.core.checks import check_instance
from uniloss.core.comparisons import Comparisons
from uniloss.core.reprs import constructor_repr
from uniloss.interpolators import Interpolator, InverseDistanceWeighting
from uniloss.metrics._constructors import name_inherited_constructor
from uniloss.relaxations import Relaxation, Sigmoid

__all__ = ["DefaultParts", "MetricRefactoring", "check_parts"]


def check_parts(relax: object, anchors: object, interpolator: object, *, optional: bool) -> None:
    """Raise ``TypeError`` naming the argument unless each part is an instance of its base class (or ``None``).

    A plain function is no interpolator: the engine also asks an interpolator for its slope
    (:meth:`~uniloss.interpolators.Interpolator.value_and_slope`), which a subclass implementing ``__call__`` has.

    Args:
        relax: the relaxation given.
        anchors: the anchor sampler given.
        interpolator: the interpolator given.
        optional: whether ``None`` is accepted for each (the loss then takes the metric's default part).

    Example:
        >>> try:
        ...     check_parts(None, None, lambda squared, values: values.mean(), optional=True)
        ... except TypeError as error:
        ...     print(str(error).split(";")[0])
        `interpolator` must be a uniloss Interpolator (e.g. InverseDistanceWeighting) or None
    """
    none = " or None" if optional else ""
    for name, value, kind, example in (
        ("relax", relax, Relaxation, "Sigmoid"),
        ("anchors", anchors, AnchorSampler, "PaperAnchors"),
        ("interpolator", interpolator, Interpolator, "InverseDistanceWeighting"),
    ):
        if value is None and optional:
            continue
        expected = f"a uniloss {kind.__name__} (e.g. {example}){none}"
        if kind is Interpolator:
            expected += "; for a function of (squared_distances, values), subclass Interpolator and implement __call__"
        check_instance(name, value, kind, expected)


@dataclass(frozen=True)
class DefaultParts:
    """The parts a loss of a metric uses when none is given: what :meth:`MetricRefactoring.default_parts` returns.

    The field names are :class:`~uniloss.UniLoss`'s arguments, so ``UniLoss(metric, **vars(parts))`` builds the
    default loss explicitly. A field left out takes the paper's part.

    Args:
        relax: the relaxation (default: ``Sigmoid(temperature=1.0)``).
        anchors: the anchor sampler (default: ``PaperAnchors()``, 1 ground truth + 16 good + 16 nearby + 16 bad).
        interpolator: the interpolator (default: ``InverseDistanceWeighting(power=1.0)``).

    Example:
        >>> parts = DefaultParts(interpolator=InverseDistanceWeighting(power=2.0))
        >>> parts.relax, parts.interpolator
        (Sigmoid(temperature=1.0), InverseDistanceWeighting(power=2.0))
    """

    relax: Relaxation = field(default_factory=Sigmoid)
    anchors: AnchorSampler = field(default_factory=PaperAnchors)
    interpolator: Interpolator = field(default_factory=InverseDistanceWeighting)

    def __post_init__(self) -> None:
        check_parts(self.relax, self.anchors, self.interpolator, optional=False)


class MetricRefactoring(ABC):
    """A metric refactored into comparisons of scores and a function of the resulting binaries.

    A subclass implements:

    - :meth:`comparisons`: the oriented score differences of a batch, as an ``(R, L)`` layout
      (:class:`~uniloss.core.comparisons.Comparisons`);
    - :meth:`evaluate_counts` when the metric depends on a configuration only through the number of wrong
      binaries in each row (every built-in metric does): then anchors cost O(1) each; or else
    - :meth:`evaluate`, the metric of a batch of dense ``+-1`` configurations (the general case, which the
      engine feeds with anchors materialised in chunks).

    and sets ``name`` and ``higher_is_better``. :meth:`check` validates user input (may sync the device).
    :meth:`default_parts` gives the parts a loss of this metric uses when none is given (override it to change
    them); ``poolable`` says whether batches may be pooled (``UniLoss(memory=...)``). The loss is
    ``1 - metric`` when ``higher_is_better`` (metrics in ``[0, 1]``), else the metric itself.
    """

    name: ClassVar[str] = ""
    higher_is_better: ClassVar[bool] = True
    checks_finite: ClassVar[bool] = False
    """Whether :meth:`check` itself refuses non-finite scores; when ``False`` the engine checks them after it."""
    poolable: ClassVar[bool] = True
    """Whether the examples of several batches can be pooled along the first dimension of the scores and every
    target (``UniLoss(memory=...)``); ``False`` for metrics whose targets index queries."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__init__ is not object.__init__:  # an inherited constructor's errors name this class, not its base
            name_inherited_constructor(cls)

    def default_parts(self) -> DefaultParts:
        """The relaxation, anchor sampler and interpolator a loss of this metric uses when none is given.

        Fresh objects at every call. The base class gives the paper's parts (``DefaultParts()``); a metric whose
        loss trains better with other parts overrides this method (``docs/ablation.md`` has the measurements).

        Example:
            >>> from uniloss.metrics import AveragePrecision
            >>> AveragePrecision().default_parts().interpolator
            InverseDistanceWeighting(power=1.5)
        """
        return DefaultParts()

    @abstractmethod
    def comparisons(self, scores: torch.Tensor, *targets: torch.Tensor) -> Comparisons:
        """Return the comparisons of one batch; differentiable w.r.t. ``scores``."""

    def check(self, scores: torch.Tensor, *targets: torch.Tensor) -> None:  # noqa: B027
        """Raise ``TypeError`` or ``ValueError`` for invalid input; the default accepts anything."""

    def evaluate(self, binaries: torch.Tensor, comparisons: Comparisons) -> torch.Tensor:
        """Exact metric of a batch of configurations.

        Args:
            binaries: ``(K, R, L)`` tensor of ``+1`` (right) and ``-1`` (wrong), in the layout of ``comparisons``;
                padding entries are ignored.
            comparisons: the layout the configurations belong to (its ``values`` are not used).

        Returns:
            ``(K,)`` float tensor, the metric of each configuration.
        """
        wrong = binaries < 0
        if comparisons.mask is not None:
            wrong = wrong & comparisons.mask
        return self.evaluate_counts(wrong.sum(-1), comparisons)

    def evaluate_counts(self, wrong: torch.Tensor, comparisons: Comparisons) -> torch.Tensor:
        """Exact metric of configurations given only the number of wrong binaries in each row.

        Args:
            wrong: ``(K, R)`` int64 counts of ``-1`` binaries per row.
            comparisons: the layout the configurations belong to.

        Returns:
            ``(K,)`` float tensor.

        Raises:
            NotImplementedError: for metrics that need the whole configuration; they override :meth:`evaluate`.
        """
        raise NotImplementedError(f"{type(self).__name__} does not depend on row counts alone; it implements evaluate.")

    @property
    def uses_counts(self) -> bool:
        """Whether this metric implements :meth:`evaluate_counts` (the fast, structured path)."""
        return type(self).evaluate_counts is not MetricRefactoring.evaluate_counts

    def __repr__(self) -> str:
        """The constructor call: every ``__init__`` argument kept as a same-named attribute, defaults included."""
        return constructor_repr(self)
