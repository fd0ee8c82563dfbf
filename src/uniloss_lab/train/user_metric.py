"""``TrainConfig(metric="FILE:FUNC")`` (``--metric``): a metric function from the user's file, via from_function."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from uniloss.metrics.base import MetricRefactoring
from uniloss.traced import from_function

__all__ = ["load_metric"]


def load_metric(spec: str) -> MetricRefactoring:
    """The metric named by ``FILE:FUNC``: the function ``FUNC`` of the Python file ``FILE``, through from_function.

    A ``FUNC`` that already is a :class:`~uniloss.metrics.MetricRefactoring` (``@uniloss.from_function`` or a
    hand-written one) is used as it is.

    Args:
        spec: ``path/to/file.py:function``.

    Returns:
        The metric.

    Raises:
        ValueError: for a spec without ``:``, a missing file, or a name the file does not define as a callable.
    """
    path, colon, name = spec.rpartition(":")
    if not colon or not path or not name:
        raise ValueError(f"`--metric` must be FILE:FUNC (e.g. my_metrics.py:hit_rate), but got {spec!r}.")
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"`--metric` names the file {str(file)!r}, which does not exist.")
    module_spec = importlib.util.spec_from_file_location(f"uniloss_user_metric_{file.stem}", file)
    if module_spec is None or module_spec.loader is None:
        raise ValueError(f"`--metric` cannot import {str(file)!r} as a Python file.")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    found = getattr(module, name, None)
    if isinstance(found, MetricRefactoring):
        return found
    if not callable(found):
        raise ValueError(f"`--metric` names {name!r}, which {str(file)!r} does not define as a function.")
    return from_function(found)
