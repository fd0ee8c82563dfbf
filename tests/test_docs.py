"""The pages under ``docs/`` run: every ``python`` block on its own, in a fresh namespace or interpreter."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests._helpers.markdown import ROOT, failed_blocks, printed_by, python_blocks, report, run_block, run_each_block

DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))  # the API pages under docs/api/ hold no code
BLOCKS = [(page, index) for page in PAGES for index in range(len(python_blocks(page)))]


GUIDES = (
    "index.md",
    "usage.md",
    "custom_metric.md",
    "custom_relaxation.md",
    "custom_anchors.md",
    "custom_interpolator.md",
)
"""Pages whose code is their point, one guide per swappable part among them: each must have some."""


def test_docs_have_pages_with_code():
    assert DOCS / "custom_metric.md" in PAGES
    assert all(python_blocks(DOCS / page) for page in GUIDES)


def test_every_block_of_every_page_runs_on_its_own(tmp_path):
    # One interpreter (one import of torch) for all pages; each block gets a fresh namespace.
    result = run_each_block(PAGES, tmp_path)
    assert failed_blocks(result) == [], report(result)
    assert result.returncode == 0, report(result)
    for page in (page for page in PAGES if python_blocks(page)):
        printed = printed_by(result, page)
        assert sorted(printed) == list(range(1, len(python_blocks(page)) + 1)), report(result)
        assert any(printed.values()), f"the code of {page.name} prints nothing"


@pytest.mark.slow
@pytest.mark.parametrize(("page", "index"), BLOCKS, ids=[f"{page.stem}-{index + 1}" for page, index in BLOCKS])
def test_each_block_runs_in_a_fresh_interpreter(page, index, tmp_path):
    result = run_block(python_blocks(page)[index], tmp_path)
    assert result.returncode == 0, report(result)


def test_the_site_builds_without_warnings(tmp_path):
    # mkdocs.yml: the README as home page, the pages of docs/ and the API reference from the docstrings.
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    site = tmp_path / "site"
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml")]
    result = subprocess.run([*command, "--site-dir", str(site)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, report(result)
    home = (site / "index.html").read_text()
    assert "Turn the metric you report into the loss you train with" in home  # docs/index.md
    assert 'href="custom_metric/"' in home  # its links into docs/ resolved
    for page in (page for page in PAGES if page.name != "index.md"):
        assert (site / page.stem / "index.html").is_file()
    assert 'id="uniloss.UniLoss"' in (site / "api" / "uniloss" / "index.html").read_text()
    assert 'id="uniloss.metrics.AveragePrecision"' in (site / "api" / "metrics" / "index.html").read_text()
