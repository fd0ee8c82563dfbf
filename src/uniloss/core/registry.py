"""Name registry of metric refactorings, so tests and tools can walk every metric."""

from __future__ import annotations

from typing import TypeVar

__all__ = ["METRICS", "register"]

METRICS: dict[str, type] = {}
"""Registered metric classes by name."""

_T = TypeVar("_T", bound=type)


def register(cls: _T) -> _T:
    """Class decorator that registers a metric refactoring under its ``name`` attribute (its one source).

    Raises:
        TypeError: if ``cls`` is not a class (as in ``@register("x")``: the name comes from ``cls.name``).
        ValueError: if ``cls.name`` is empty or already taken by another class.
    """
    if not isinstance(cls, type):
        raise TypeError(f"register is used bare (`@register`) and reads the class's `name`, but got {cls!r}.")
    name = getattr(cls, "name", "")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{cls.__name__} needs a non-empty string `name` to be registered.")
    if name in METRICS and METRICS[name] is not cls:
        raise ValueError(f"metric name {name!r} is already registered by {METRICS[name].__name__}.")
    METRICS[name] = cls
    return cls
