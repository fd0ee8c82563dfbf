"""The repr of uniloss's parts: the constructor call that rebuilds them, read from ``__init__``'s signature."""

from __future__ import annotations

import inspect

__all__ = ["constructor_repr"]

_SKIPPED = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def constructor_repr(obj: object) -> str:
    """``Name(arg=value, ...)`` for every ``__init__`` argument of ``obj`` that it keeps as an attribute.

    Formally, for each named parameter ``p`` of ``type(obj).__init__`` (``*args`` and ``**kwargs`` left out), in
    signature order, ``p=repr(obj.p)``, or ``p=repr(obj._p)`` when only the private attribute exists; a parameter
    kept under neither name is left out. Every argument is shown, defaults included, so the repr reads as the
    full configuration and, for plain values, evaluates back to an equal object.

    Args:
        obj: any object; typically a metric, an anchor sampler, an interpolator or a relaxation.

    Returns:
        The repr string.

    Example:
        >>> class HitRate:
        ...     def __init__(self, k: int = 1, *, name: str = "hits") -> None:
        ...         self.k, self.name = k, name
        >>> constructor_repr(HitRate(k=3))
        "HitRate(k=3, name='hits')"
    """
    cls = type(obj)
    try:
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]  # without self
    except (TypeError, ValueError):  # a builtin __init__ without a signature
        parameters = []
    shown = []
    for parameter in parameters:
        if parameter.kind in _SKIPPED:
            continue
        for attribute in (parameter.name, f"_{parameter.name}"):
            if hasattr(obj, attribute):
                shown.append(f"{parameter.name}={getattr(obj, attribute)!r}")
                break
    return f"{cls.__name__}({', '.join(shown)})"
