"""uniloss: turn an evaluation metric into a training loss (UniLoss, Liu, Wang and Deng, ECCV 2020).

The four swappable parts each have a public base class, exported here together with their subpackages:
:class:`MetricRefactoring` (:mod:`uniloss.metrics`), :class:`Relaxation` (:mod:`uniloss.relaxations`),
:class:`AnchorSampler` (:mod:`uniloss.anchors`) and :class:`Interpolator` (:mod:`uniloss.interpolators`).
:class:`UniLoss` (:mod:`uniloss.engine`) composes them.
"""

from uniloss import anchors, engine, exact, interpolators, metrics, presets, relaxations, traced
from uniloss.anchors import AnchorSampler
from uniloss.core.comparisons import Comparisons
from uniloss.core.registry import METRICS, register
from uniloss.engine.loss import UniLoss, uniloss
from uniloss.interpolators import Interpolator, InverseDistanceWeighting
from uniloss.metrics import MetricRefactoring
from uniloss.monitor import SurrogateMonitor
from uniloss.relaxations import HardStep, Relaxation, Sigmoid
from uniloss.traced import from_function
from uniloss.verify import verify_metric
from uniloss.version import __version__

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
    "SurrogateMonitor",
    "UniLoss",
    "__version__",
    "anchors",
    "engine",
    "exact",
    "from_function",
    "interpolators",
    "metrics",
    "presets",
    "register",
    "relaxations",
    "traced",
    "uniloss",
    "verify_metric",
]
