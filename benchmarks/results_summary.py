"""docs/results.md: the at-a-glance table of every comparison page, one row per setting, with each page's command.

    python benchmarks/results_summary.py            # rewrite docs/results.md from the pages of PAGES
    python benchmarks/results_summary.py --check    # exit 1 if docs/results.md is not what the pages give

Each page is a report of ``uniloss compare`` (``uniloss report RUN_DIR --markdown docs/results-NAME.md``); its
first table is the one-row-per-setting table this page gathers, and its "Made by" line the command and commit.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES: tuple[tuple[str, str, bool], ...] = (
    ("results-objective-digits.md", "Where the metric is not the task loss's objective: digits", True),
    ("results-objective-fashion-mnist.md", "Where the metric is not the task loss's objective: Fashion-MNIST", True),
    ("results-retrieval-fashion-mnist.md", "Retrieval on embeddings: Fashion-MNIST", True),
    ("results-pckh-budget.md", "PCKh at a budget where heatmap MSE levels off", True),
    ("results-quality-digits.md", "Where the task loss fits the metric: digits", False),
    ("results-quality-fashion-ap.md", "Where the task loss fits the metric: Fashion-MNIST AP", False),
    (
        "results-quality-fashion-f1-accuracy.md",
        "Where the task loss fits the metric: Fashion-MNIST F1 and accuracy",
        False,
    ),
    ("results-quality-dense.md", "Where the task loss fits the metric: segmentation and PCKh", False),
)
"""The pages gathered, in order, with their headings and whether their settings are ones where the metric is not
the task loss's objective (their target: UniLoss at least 1 point above the task loss, a column added here); a page
not written yet is skipped."""
MARGIN = 1.0
"""Points UniLoss with its defaults must lead the task loss by, where the metric is not the task loss's objective."""
_GAP = re.compile(r"\(([+-]\d+\.\d+); ")
_MADE_BY = re.compile(r"^Made by `(?P<command>[^`]+)` at commit `(?P<commit>[0-9a-f]{7,40})`")
_HEADER = """# Results

One row per setting of every comparison page below: the test metric after the last epoch, mean ± sample standard
deviation over seeds 0, 1 and 2, each loss at the learning rate with the best mean validation metric (a fifth of
the training split, held out); in brackets UniLoss with its defaults minus that row in points (positive: UniLoss
ahead) and the median training seconds per epoch. Each page has every row, the validation curves, the learning-rate
search and what the run shows; [When to use it](when_to_use.md) reads the tables. Made by
`python benchmarks/results_summary.py` from those pages.
"""


def page_summary(text: str) -> tuple[str, str, list[str]]:
    """The command, the commit and the at-a-glance table (its lines) of one comparison page.

    Raises:
        ValueError: if the page has no "Made by" line or no table.
    """
    lines = text.splitlines()
    made = next((match for line in lines if (match := _MADE_BY.match(line))), None)
    start = next((index for index, line in enumerate(lines) if line.startswith("| setting |")), None)
    if made is None or start is None:
        raise ValueError("a comparison page needs its 'Made by `COMMAND` at commit `SHA`' line and a settings table.")
    end = next((index for index in range(start, len(lines)) if not lines[index].startswith("|")), len(lines))
    return made["command"], made["commit"], lines[start:end]


def with_margin_column(table: list[str]) -> list[str]:
    """``table`` with a last column: UniLoss (defaults) at least :data:`MARGIN` points above the task loss at its best.

    The gaps are read from the task-loss cell (the third), where each row gives UniLoss minus it in points.

    Example:
        >>> header = ["| setting | metric | task loss | UniLoss |", "|---|---|---|---|"]
        >>> with_margin_column([*header, "| a | AP | BCE: 0.7 ± 0.0 (+5.37; 0.01 s) | 0.75 ± 0.0 (0.01 s) |"])[2]
        '| a | AP | BCE: 0.7 ± 0.0 (+5.37; 0.01 s) | 0.75 ± 0.0 (0.01 s) | yes |'
    """
    head, rule, *rows = table
    lines = [f"{head} UniLoss ≥ task loss + {MARGIN:g} |", f"{rule}---|"]
    for row in rows:
        gaps = [float(gap) for gap in _GAP.findall(row.split(" | ")[2])]
        verdict = "—" if not gaps else ("yes" if min(gaps) >= MARGIN else "**no**")
        lines.append(f"{row} {verdict} |")
    return lines


def summary(docs: Path = DOCS) -> str:
    """The text of docs/results.md from the pages of :data:`PAGES` under ``docs``."""
    parts = [_HEADER.rstrip()]
    for name, heading, objective in PAGES:
        page = docs / name
        if not page.is_file():
            continue
        command, commit, table = page_summary(page.read_text())
        table = with_margin_column(table) if objective else table
        source = f"[The page]({name}); `{command}` at commit `{commit[:7]}`."
        parts.append(f"## {heading}\n\n{source}\n\n" + "\n".join(table))
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write docs/results.md, or with ``--check`` report whether it is up to date."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/results.md is not up to date")
    args = parser.parse_args(argv)
    target, text = DOCS / "results.md", summary()
    if args.check:
        current = target.read_text() if target.is_file() else ""
        if current != text:
            print(f"{target} is not what the pages give; run: python benchmarks/results_summary.py", file=sys.stderr)
            return 1
        return 0
    target.write_text(text)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
