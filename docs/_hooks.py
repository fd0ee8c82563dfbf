"""MkDocs hook: the site's home page is the README, read at build time (no copy to keep in sync)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import griffe
from mkdocs.structure.files import File, Files

README = Path(__file__).resolve().parents[1] / "README.md"


def home_page(readme: str) -> str:
    """The README with its links into ``docs/`` made relative to the docs folder, where the page lives."""
    return re.sub(r"\]\(docs/", "](", readme)


def on_files(files: Files, config: Any) -> Files:
    """Add the README as ``index.md``."""
    files.append(File.generated(config, "index.md", content=home_page(README.read_text())))
    return files


class ExampleSections(griffe.Extension):
    """Griffe extension: read the house style's ``Example:`` heading as the Google ``Examples`` section.

    Griffe reads ``Examples:`` as doctests (rendered as code) but ``Example:`` as a note of plain Markdown,
    where a doctest's output such as ``['ap', 'pck']`` reads as a broken link.
    """

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rename the heading before the docstring is parsed."""
        if obj.docstring is not None:
            obj.docstring.value = re.sub(r"^(\s*)Example:$", r"\1Examples:", obj.docstring.value, flags=re.M)
