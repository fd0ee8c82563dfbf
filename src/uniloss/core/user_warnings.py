"""Warnings that point at the user's line: the first frame outside uniloss, torch and Python's machinery."""

from __future__ import annotations

import os
import sys
import warnings

import torch

__all__ = ["warn_user"]

_INTERNAL = (
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,  # the uniloss package
    os.path.dirname(os.path.abspath(torch.__file__)) + os.sep,  # torch (nn.Module.__call__, torch.compiler)
)


def _internal(filename: str) -> bool:
    return (
        filename.startswith(_INTERNAL)
        or filename.startswith("<frozen ")  # abc (class creation), importlib
        or ("importlib" in filename and "_bootstrap" in filename)
    )


def warn_user(message: str, category: type[Warning] = UserWarning) -> None:
    """Issue ``warnings.warn(message, category)`` attributed to the first caller outside uniloss and torch.

    A fixed ``stacklevel`` points at the wrong line as soon as a call goes through another path (a module's
    ``__call__``, ``torch.compiler.disable``, class creation); walking the frames does not. The warning is then
    filtered and shown once per line like any other (the caller's module ``__warningregistry__``). Code without a
    source file (``python -c``, standard input, the interactive interpreter) has its line shown without source:
    its ``__main__`` module cannot give one, and asking its loader raises ``ImportError``.

    Args:
        message: the warning text.
        category: the warning class.

    Example:
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warn_user("careful")
        >>> caught[0].message.args[0], caught[0].filename == __file__ or caught[0].filename.startswith("<doctest")
        ('careful', True)
    """
    frame = sys._getframe(1)
    while frame.f_back is not None and _internal(frame.f_code.co_filename):
        frame = frame.f_back
    module_globals = frame.f_globals
    filename = frame.f_code.co_filename
    warnings.warn_explicit(
        message,
        category,
        filename,
        frame.f_lineno,
        module=module_globals.get("__name__", "<string>"),
        registry=module_globals.setdefault("__warningregistry__", {}),
        # a pseudo-file ("<string>", "<stdin>") has no source its module's loader could give
        module_globals=None if filename.startswith("<") else module_globals,
    )
