"""benchmarks/results_summary.py: docs/results.md gathers each comparison page's table, and is up to date."""

import pytest

from benchmarks import results_summary

PAGE = """# uniloss benchmark

Made by `uniloss compare --suite quick --out /tmp/q` at commit `0123456789abcdef0123456789abcdef01234567`.

Each setting at a glance: ...

| setting | metric | task loss |
|---|---|---|
| ap-digits | AP | 0.9 |

Every row in full:

| setting | metric | loss |
|---|---|---|
| ap-digits | AP | UniLoss |
"""


def test_a_page_gives_its_command_commit_and_first_table():
    command, commit, table = results_summary.page_summary(PAGE)
    assert command == "uniloss compare --suite quick --out /tmp/q"
    assert commit.startswith("0123456")
    assert table == ["| setting | metric | task loss |", "|---|---|---|", "| ap-digits | AP | 0.9 |"]


def test_a_page_without_its_made_by_line_is_refused():
    with pytest.raises(ValueError, match="Made by"):
        results_summary.page_summary(PAGE.replace("Made by", "Run by"))


def test_the_summary_has_a_section_per_written_page_in_order(tmp_path, monkeypatch):
    pages = (("b.md", "Second", False), ("missing.md", "Skipped", False), ("a.md", "First", False))
    monkeypatch.setattr(results_summary, "PAGES", pages)
    (tmp_path / "a.md").write_text(PAGE)
    (tmp_path / "b.md").write_text(PAGE.replace("ap-digits", "f1-digits"))
    text = results_summary.summary(tmp_path)
    assert text.index("## Second") < text.index("## First")
    assert "Skipped" not in text
    assert "[The page](a.md); `uniloss compare --suite quick --out /tmp/q` at commit `0123456`." in text
    assert "| f1-digits | AP | 0.9 |" in text


def test_docs_results_md_is_what_the_pages_give():
    assert results_summary.main(["--check"]) == 0, "run: python benchmarks/results_summary.py"


def test_the_margin_column_reads_uniloss_against_the_best_task_loss_row():
    header = ["| setting | metric | task loss | UniLoss |", "|---|---|---|---|"]
    rows = [
        "| a | F1 | BCE: 0.5 ± 0.1 (+2.00; 1 s)<br>BCE, tuned: 0.6 ± 0.1 (-8.00; 1 s) | 0.52 ± 0.1 (1 s) |",
        "| b | AP | BCE: 0.5 ± 0.1 (+1.00; 1 s) | 0.51 ± 0.1 (1 s) |",
        "| c | AP | BCE: 0.5 ± 0.1 (+0.99; 1 s) | 0.5099 ± 0.1 (1 s) |",
        "| d | AP | — | 0.5 ± 0.1 (1 s) |",
    ]
    table = results_summary.with_margin_column([*header, *rows])
    assert table[0].endswith("| UniLoss ≥ task loss + 1 |")
    assert [line.rsplit("|", 2)[1].strip() for line in table[2:]] == ["**no**", "yes", "**no**", "—"]
