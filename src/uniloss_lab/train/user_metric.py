"""A metric of the user's own, named on the command line as ``FILE.py:NAME`` (``uniloss train --metric``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import uniloss
from uniloss.metrics import MetricRefactoring

__all__ = ["load_metric"]


def load_metric(spec: str) -> MetricRefactoring:
    """The metric ``NAME`` of the Python file ``FILE``, from ``"FILE:NAME"``.

    ``NAME`` may be a :class:`~uniloss.metrics.MetricRefactoring` instance, a subclass built without arguments, or
    a plain function of ``(scores, *targets)`` that returns the metric, which becomes a refactoring by
    :func:`uniloss.from_function`. The file runs as a module named after it (once per call).

    Args:
        spec: ``"path/to/file.py:name"``.

    Returns:
        The metric refactoring.

    Raises:
        ValueError: if ``spec`` is not ``FILE:NAME``, the file does not exist, or it has no ``NAME``.
        TypeError: if ``NAME`` is neither a metric refactoring nor a function.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "mine.py").write_text("from uniloss.metrics import AUROC; auroc = AUROC()")
        >>> load_metric(f"{folder / 'mine.py'}:auroc")
        AUROC()
    """
    if not isinstance(spec, str) or spec.count(":") < 1:
        raise ValueError(f"`metric` must be FILE.py:NAME, but got {spec!r}.")
    file, _, name = spec.rpartition(":")
    path = Path(file)
    if not file or not name.isidentifier():
        raise ValueError(f"`metric` must be FILE.py:NAME with NAME a Python name, but got {spec!r}.")
    if not path.is_file():
        raise ValueError(f"`metric` names the file {file!r}, which does not exist.")
    module_name = f"uniloss_user_metric_{path.stem}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise ValueError(f"`metric` names {file!r}, which Python cannot load as a module.")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module  # dataclasses and pickling look a module up by name
    module_spec.loader.exec_module(module)
    if not hasattr(module, name):
        raise ValueError(f"`metric`: {file!r} has no {name!r}.")
    value = getattr(module, name)
    if isinstance(value, type) and issubclass(value, MetricRefactoring):
        value = value()
    if isinstance(value, MetricRefactoring):
        return value
    if callable(value) and not isinstance(value, type):
        return uniloss.from_function(value)  # type: ignore[attr-defined]  # lands with issue 21
    raise TypeError(
        f"`metric` {name!r} of {file!r} must be a MetricRefactoring (instance or class) or a function, "
        f"but got {type(value).__name__}."
    )
