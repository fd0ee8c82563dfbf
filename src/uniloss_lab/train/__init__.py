"""Training: one configurable loop for every task and loss, paper recipes, and side-by-side benchmarks.

The loop (:func:`train`) takes callbacks (:class:`Callback`), a criterion and an epoch order, so that diagnostics
and studies run through it rather than beside it.
"""

from uniloss_lab.train.batching import EpochOrder
from uniloss_lab.train.builders import build_model_for, load_data, make_optimizer, make_scheduler, resolve_device
from uniloss_lab.train.callbacks import Callback, RunInfo, StepInfo
from uniloss_lab.train.checkpoints import CHECKPOINT_NAME, load_checkpoint
from uniloss_lab.train.compare import run_comparison, suite_settings
from uniloss_lab.train.config import METRIC_LABELS, TrainConfig, make_config
from uniloss_lab.train.history import HISTORY_NAME
from uniloss_lab.train.loop import NonFiniteLossError, evaluate, train
from uniloss_lab.train.recipes import RECIPES
from uniloss_lab.train.suites import LR_GRIDS, SUITES
from uniloss_lab.train.tasks import Criterion, Task, build_task

__all__ = [
    "CHECKPOINT_NAME",
    "HISTORY_NAME",
    "LR_GRIDS",
    "METRIC_LABELS",
    "RECIPES",
    "SUITES",
    "Callback",
    "Criterion",
    "EpochOrder",
    "NonFiniteLossError",
    "RunInfo",
    "StepInfo",
    "Task",
    "TrainConfig",
    "build_model_for",
    "build_task",
    "evaluate",
    "load_checkpoint",
    "load_data",
    "make_config",
    "make_optimizer",
    "make_scheduler",
    "resolve_device",
    "run_comparison",
    "suite_settings",
    "train",
]
