"""The pages under ``docs/`` run: every ``python`` block on its own, in a fresh namespace or interpreter."""

from __future__ import annotations

import pytest

from tests._helpers.markdown import ROOT, failed_blocks, printed_by, python_blocks, report, run_block, run_each_block

DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
BLOCKS = [(page, index) for page in PAGES for index in range(len(python_blocks(page)))]


def test_docs_have_pages_with_code():
    assert DOCS / "custom_metric.md" in PAGES
    assert all(python_blocks(page) for page in PAGES)


def test_every_block_of_every_page_runs_on_its_own(tmp_path):
    # One interpreter (one import of torch) for all pages; each block gets a fresh namespace.
    result = run_each_block(PAGES, tmp_path)
    assert failed_blocks(result) == [], report(result)
    assert result.returncode == 0, report(result)
    for page in PAGES:
        printed = printed_by(result, page)
        assert sorted(printed) == list(range(1, len(python_blocks(page)) + 1)), report(result)
        assert any(printed.values()), f"the code of {page.name} prints nothing"


@pytest.mark.slow
@pytest.mark.parametrize(("page", "index"), BLOCKS, ids=[f"{page.stem}-{index + 1}" for page, index in BLOCKS])
def test_each_block_runs_in_a_fresh_interpreter(page, index, tmp_path):
    result = run_block(python_blocks(page)[index], tmp_path)
    assert result.returncode == 0, report(result)
