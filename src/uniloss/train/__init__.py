"""Training: one configurable loop for every task and loss, paper presets, and side-by-side benchmarks.

The loop (:func:`train`) takes callbacks (:class:`Callback`), a criterion and an epoch order, so that diagnostics
and studies run through it rather than beside it.
"""

from uniloss.train.batching import EpochOrder
from uniloss.train.bench import bench_settings, run_bench
from uniloss.train.builders import build_model_for, load_data, make_optimizer, make_scheduler, resolve_device
from uniloss.train.callbacks import Callback, RunInfo, StepInfo
from uniloss.train.checkpoints import CHECKPOINT_NAME, load_checkpoint
from uniloss.train.config import METRIC_LABELS, TrainConfig, make_config
from uniloss.train.history import HISTORY_NAME
from uniloss.train.loop import NonFiniteLossError, evaluate, train
from uniloss.train.presets import PRESETS
from uniloss.train.suites import BENCH_LR_GRIDS, BENCH_SUITES
from uniloss.train.tasks import Criterion, Task, build_task

__all__ = [
    "BENCH_LR_GRIDS",
    "BENCH_SUITES",
    "CHECKPOINT_NAME",
    "HISTORY_NAME",
    "METRIC_LABELS",
    "PRESETS",
    "Callback",
    "Criterion",
    "EpochOrder",
    "NonFiniteLossError",
    "RunInfo",
    "StepInfo",
    "Task",
    "TrainConfig",
    "bench_settings",
    "build_model_for",
    "build_task",
    "evaluate",
    "load_checkpoint",
    "load_data",
    "make_config",
    "make_optimizer",
    "make_scheduler",
    "resolve_device",
    "run_bench",
    "train",
]
