"""Name registry of metric refactorings, so tests and tools can walk every metric."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

__all__ = ["METRICS", "register"]

METRICS: dict[str, type] = {}
"""Registered metric classes by name."""

_T = TypeVar("_T", bound=type)


def register(name: str) -> Callable[[_T], _T]:
    """Class decorator that registers a metric refactoring under ``name``.

    Raises:
        ValueError: if ``name`` is already taken by another class.
    """

    def decorate(cls: _T) -> _T:
        if name in METRICS and METRICS[name] is not cls:
            raise ValueError(f"metric name {name!r} is already registered by {METRICS[name].__name__}.")
        METRICS[name] = cls
        return cls

    return decorate
