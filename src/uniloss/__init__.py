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

_LAZY = ("data", "models", "reports", "train")  # imported on first use: they bring scikit-learn and matplotlib


def __getattr__(name: str) -> object:
    """Import the heavier subpackages (``uniloss.reports``, ``uniloss.train``, ...) on first access (PEP 562)."""
    if name in _LAZY:
        import importlib

        return importlib.import_module(f"uniloss.{name}")
    raise AttributeError(f"module 'uniloss' has no attribute {name!r}")
