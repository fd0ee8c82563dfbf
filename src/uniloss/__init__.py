"""uniloss: turn an evaluation metric into a training loss (UniLoss, Liu, Wang and Deng, ECCV 2020)."""

from uniloss import anchors, functional, interpolators, metrics, presets
from uniloss.check import check_metric
from uniloss.core.comparisons import Comparisons
from uniloss.core.engine import UniLoss, uniloss
from uniloss.core.registry import METRICS, register
from uniloss.core.relax import HardStep, Sigmoid
from uniloss.interpolators.idw import InverseDistanceWeighting

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
    "functional",
    "interpolators",
    "metrics",
    "presets",
    "register",
    "uniloss",
]
