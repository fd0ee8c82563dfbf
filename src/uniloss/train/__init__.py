"""Training: one configurable loop for every task and loss, paper presets, and side-by-side benchmarks."""

from uniloss.train.bench import bench_settings, run_bench
from uniloss.train.config import BENCH_SUITES, PRESETS, TrainConfig, make_config
from uniloss.train.loop import NonFiniteLossError, Task, build_model_for, build_task, evaluate, load_checkpoint, train

__all__ = [
    "BENCH_SUITES",
    "PRESETS",
    "NonFiniteLossError",
    "Task",
    "TrainConfig",
    "bench_settings",
    "build_model_for",
    "build_task",
    "evaluate",
    "load_checkpoint",
    "make_config",
    "run_bench",
    "train",
]
