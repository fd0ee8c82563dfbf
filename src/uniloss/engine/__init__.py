"""The engine: the loss module that composes a metric with a relaxation, anchors and an interpolator.

Import :class:`UniLoss` and :func:`uniloss` from :mod:`uniloss`; :class:`ExampleMemory` is the cross-batch memory
of ``UniLoss(memory=M)``, and :mod:`uniloss.engine.reference` a dense oracle for tests.
"""

from uniloss.engine.loss import UniLoss, anchor_values, uniloss
from uniloss.engine.memory import ExampleMemory, pool_examples

__all__ = ["ExampleMemory", "UniLoss", "anchor_values", "pool_examples", "uniloss"]
