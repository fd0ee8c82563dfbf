"""mkdocstrings extension: the house docstrings (Google style with Sphinx roles) as griffe reads them."""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|func|meth|data|attr|mod|exc|obj):`(~?)([^`]+)`")


def markdown_docstring(text: str) -> str:
    """The house style's docstring as griffe reads Google docstrings in Markdown.

    ``Example:`` becomes ``Examples:``: griffe reads the plural as doctests (rendered as code) but the
    singular as a note of plain Markdown, where a doctest's output such as ``['ap', 'pck']`` reads as a broken
    link. A Sphinx role such as ``:class:`~uniloss.metrics.PCK``` becomes inline code, ``PCK`` (the full
    name without ``~``).
    """
    text = re.sub(r"^(\s*)Example:$", r"\1Examples:", text, flags=re.M)
    return ROLE.sub(lambda match: f"`{match[2].rpartition('.')[2] if match[1] else match[2]}`", text)


class HouseDocstrings(griffe.Extension):
    """Griffe extension: rewrite each docstring with ``markdown_docstring`` before it is parsed."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the docstring of ``obj``."""
        if obj.docstring is not None:
            obj.docstring.value = markdown_docstring(obj.docstring.value)
