"""Reports: turn benchmark results (``results.json``) into a Markdown table and PNG plots."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from uniloss_lab.reports.plots import plot_setting, write_plots
from uniloss_lab.reports.table import check_results, markdown_report, setting_summary, summarize

__all__ = [
    "REPORT_NAME",
    "RESULTS_NAME",
    "check_results",
    "load_results",
    "markdown_report",
    "plot_setting",
    "rebuild_report",
    "setting_summary",
    "summarize",
    "write_plots",
    "write_report",
]

RESULTS_NAME = "results.json"
REPORT_NAME = "results.md"


def load_results(path: str | Path) -> dict[str, Any]:
    """Read benchmark results from ``results.json`` or from the folder holding it.

    Args:
        path: the JSON file or its folder.

    Returns:
        The results dict.

    Raises:
        FileNotFoundError: if there is no such file.
        ValueError: if the file is not valid JSON or not benchmark results.
    """
    file = Path(path)
    if file.is_dir():
        file = file / RESULTS_NAME
    if not file.is_file():
        raise FileNotFoundError(f"no benchmark results at {file} (run `uniloss compare --out DIR` first).")
    try:
        results = json.loads(file.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{file} is not valid JSON: {error}.") from None
    return check_results(results)


def write_report(results: Mapping[str, Any], out: str | Path) -> list[Path]:
    """Write ``results.md`` and one ``<setting>.png`` per setting into ``out``.

    Args:
        results: the output of :func:`uniloss_lab.train.run_comparison`.
        out: the folder (created if needed).

    Returns:
        The files written: the Markdown report first, then the plots.

    Raises:
        ValueError: if ``results`` is malformed.

    Example:
        >>> import tempfile
        >>> def run(loss, metric):
        ...     return {"loss": loss, "seed": 0, "history": {"test_metric": [metric], "epoch_time": [1.0]}}
        >>> results = {"settings": [{"name": "ap-digits", "runs": [run("uniloss", 0.9), run("baseline", 0.8)]}]}
        >>> [path.name for path in write_report(results, tempfile.mkdtemp())]
        ['results.md', 'ap-digits.png']
    """
    folder = Path(out)
    plots = write_plots(results, folder)
    report = folder / REPORT_NAME
    report.write_text(markdown_report(results, {name: path.name for name, path in plots.items()}))
    return [report, *plots.values()]


def rebuild_report(run_dir: str | Path, out: str | Path | None = None) -> list[Path]:
    """Rebuild the table and plots of a benchmark folder from its saved ``results.json``.

    Args:
        run_dir: the benchmark folder (or its ``results.json``).
        out: where to write; ``None`` for the folder of ``results.json``.

    Returns:
        The files written.

    Raises:
        FileNotFoundError: if ``results.json`` is missing.
        ValueError: if it is malformed.
    """
    source = Path(run_dir)
    folder = source if source.is_dir() else source.parent
    return write_report(load_results(source), folder if out is None else out)
