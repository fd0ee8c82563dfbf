"""uniloss: turn an evaluation metric into a training loss (UniLoss, Liu, Wang and Deng, ECCV 2020).

The four swappable parts each have a public base class, exported here together with their subpackages:
:class:`MetricRefactoring` (:mod:`uniloss.metrics`), :class:`Relaxation` (:mod:`uniloss.relaxations`),
:class:`AnchorSampler` (:mod:`uniloss.anchors`) and :class:`Interpolator` (:mod:`uniloss.interpolators`).
:class:`UniLoss` (:mod:`uniloss.engine`) composes them.
"""

from uniloss import anchors, engine, functional, interpolators, metrics, presets, relaxations
from uniloss.anchors import AnchorSampler
from uniloss.check import check_metric
from uniloss.core.comparisons import Comparisons
from uniloss.core.registry import METRICS, register
from uniloss.engine.loss import UniLoss, uniloss
from uniloss.interpolators import Interpolator, InverseDistanceWeighting
from uniloss.metrics import MetricRefactoring
from uniloss.relaxations import HardStep, Relaxation, Sigmoid

__version__ = "0.1.0"

__all__ = [
    "METRICS",
    "AnchorSampler",
    "Comparisons",
    "HardStep",
    "Interpolator",
    "InverseDistanceWeighting",
    "MetricRefactoring",
    "Relaxation",
    "Sigmoid",
    "UniLoss",
    "__version__",
    "anchors",
    "check_metric",
    "engine",
    "functional",
    "interpolators",
    "metrics",
    "presets",
    "register",
    "relaxations",
    "uniloss",
]
