"""The tutorials under ``docs/`` run: every ``python`` code block of a page, in order, in one namespace."""

from __future__ import annotations

import pathlib
import re

import pytest

import uniloss

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(DOCS.glob("*.md"))


def code_blocks(page: pathlib.Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", page.read_text(), flags=re.S | re.M)


def test_docs_have_pages_with_code():
    assert DOCS / "custom_metric.md" in PAGES
    assert all(code_blocks(page) for page in PAGES)


@pytest.mark.parametrize("page", PAGES, ids=[page.stem for page in PAGES])
def test_code_blocks_of_the_page_run_in_order(page, capsys):
    registered = set(uniloss.METRICS)
    namespace = {"__name__": f"docs_{page.stem}"}
    try:
        for index, block in enumerate(code_blocks(page)):
            exec(compile(block, f"{page.name} (block {index + 1})", "exec"), namespace)
    finally:
        for name in set(uniloss.METRICS) - registered:  # a page may register a metric of its own
            del uniloss.METRICS[name]
    assert capsys.readouterr().out, "the page's code prints nothing"
