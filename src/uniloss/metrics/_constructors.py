"""Constructors inherited from a shared base, given the subclass's name so that their errors name it."""

from __future__ import annotations

import functools
import inspect
from typing import Any

__all__ = ["name_inherited_constructor"]


def name_inherited_constructor(cls: type) -> None:
    """Give ``cls`` its own ``__init__`` if it inherits one, so a wrong argument's ``TypeError`` names ``cls``.

    Python names the function that received the call (``CutoffMetric.__init__() got an unexpected keyword argument
    'k'``), which is an internal base of ``RecallAtK``; the wrapper checks the arguments against the same signature
    first and names the class and its real parameters.

    Example:
        >>> class Base:
        ...     def __init__(self, top_k: int) -> None:
        ...         self.top_k = top_k
        >>> class RecallAtTen(Base):
        ...     pass
        >>> name_inherited_constructor(RecallAtTen)
        >>> RecallAtTen(k=10)
        Traceback (most recent call last):
        ...
        TypeError: RecallAtTen() got an unexpected keyword argument 'k'; its parameters are (top_k).
    """
    if "__init__" in vars(cls):
        return
    inherited = cls.__init__  # type: ignore[misc]  # (read, not assigned: mypy's unsound-init check)
    signature = inspect.signature(inherited)
    parameters = list(signature.parameters.values())[1:]  # after self
    shown = ", ".join(p.name if p.default is p.empty else f"{p.name}={p.default!r}" for p in parameters)

    @functools.wraps(inherited)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        unknown = [name for name in kwargs if name not in signature.parameters]
        problem = f"got an unexpected keyword argument {unknown[0]!r}" if unknown else None  # (before a missing one)
        if problem is None:
            try:
                signature.bind(self, *args, **kwargs)
            except TypeError as error:
                problem = str(error)
        if problem is not None:
            raise TypeError(f"{cls.__name__}() {problem}; its parameters are ({shown}).")
        inherited(self, *args, **kwargs)

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = __init__  # type: ignore[misc]
