"""uniloss: turn an evaluation metric into a training loss (UniLoss, Liu, Wang and Deng, ECCV 2020)."""

from uniloss import anchors, engine, functional, interpolators, metrics, presets, relaxations
from uniloss.check import check_metric
from uniloss.core.comparisons import Comparisons
from uniloss.core.registry import METRICS, register
from uniloss.engine.loss import UniLoss, uniloss
from uniloss.interpolators.idw import InverseDistanceWeighting
from uniloss.relaxations import HardStep, Sigmoid

__version__ = "0.1.0"

__all__ = [
    "METRICS",
    "Comparisons",
    "HardStep",
    "InverseDistanceWeighting",
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
