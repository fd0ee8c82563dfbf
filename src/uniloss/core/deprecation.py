"""Module aliases kept for one release after a move: the one ``__getattr__`` every deprecated shim uses."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["moved_names"]


def moved_names(module: str, moved: Mapping[str, tuple[str, str]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) that returns each moved name from its new home with a ``DeprecationWarning``.

    The new module is imported only when an old name is read, so a shim adds no import edge to the layers.

    Args:
        module: the old module's name (``__name__`` of the shim).
        moved: old name -> ``(new module, new name)``.

    Returns:
        The function to assign to the shim's ``__getattr__``.

    Example:
        >>> getattr_ = moved_names("old", {"sqrt": ("math", "sqrt")})
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     getattr_("sqrt")(4.0)
        2.0
        >>> str(caught[0].message)
        '`old.sqrt` is deprecated: use `math.sqrt`; the old path is removed in the next release.'
    """

    def __getattr__(name: str) -> Any:
        if name not in moved:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        new_module, new_name = moved[name]
        warnings.warn(
            f"`{module}.{name}` is deprecated: use `{new_module}.{new_name}`; the old path is removed in the next "
            "release.",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(new_module), new_name)

    return __getattr__
