"""Relaxations: how comparisons become binary variables in ``[-1, 1]`` (step 3 of the refactoring)."""

from uniloss.relaxations.base import Relaxation
from uniloss.relaxations.hard_step import HardStep
from uniloss.relaxations.sigmoid import Sigmoid

__all__ = ["HardStep", "Relaxation", "Sigmoid"]
