"""PNG plots of benchmark results: the test metric per epoch, every loss row of a setting on one chart."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uniloss.reports.table import check_results, loss_curves
from uniloss.train.config import METRIC_LABELS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_setting", "write_plots"]

_COLOURS = {"uniloss": "#1f77b4", "baseline": "#ff7f0e"}


def plot_setting(setting: Mapping[str, Any], path: str | Path) -> Path:
    """Draw one setting's test metric per epoch, every loss on the same axes, and save it as a PNG.

    Formally, for each loss, the mean over seeds of the test metric at each epoch (a line) and the range
    over seeds (a shaded band); epochs that not every seed reached are left out. The legend sits below the
    axes, off the data. Uses matplotlib's Agg canvas directly, so the global backend is not touched.

    Args:
        setting: one entry of ``results["settings"]`` from :func:`uniloss.train.run_bench`.
        path: the PNG file to write.

    Returns:
        The path written.
    """
    target = Path(path)
    _figure(setting).savefig(target, format="png")
    return target


def _figure(setting: Mapping[str, Any]) -> Figure:
    """The figure of :func:`plot_setting`, on an Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(6.0, 4.4), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    by_loss = loss_curves(setting)
    for loss, row in by_loss.items():
        curves = [[float(value) for value in metrics] for _, metrics, _ in row["runs"]]
        length = min(len(curve) for curve in curves)
        epochs = list(range(1, length + 1))
        columns = [[curve[index] for curve in curves] for index in range(length)]
        mean = [sum(column) / len(column) for column in columns]
        colour: Any = _COLOURS.get(loss)
        label = f"{row['label']} ({len(curves)} seed{'s' if len(curves) > 1 else ''})"
        (line,) = axes.plot(epochs, mean, marker="o", markersize=3, color=colour, label=label)
        colour = line.get_color()  # the next colour of the cycle for rows without their own
        if len(curves) > 1:
            axes.fill_between(
                epochs,
                [min(column) for column in columns],
                [max(column) for column in columns],
                color=colour,
                alpha=0.2,
            )
    metric = METRIC_LABELS.get(setting.get("metric") or "", setting.get("metric") or "metric")
    axes.set_xlabel("epoch")
    axes.set_ylabel(f"test {metric}")
    axes.set_title(f"{setting['name']}: test {metric} per epoch ({setting.get('model', '?')})")
    axes.grid(alpha=0.3)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if by_loss:  # below the axes, where it cannot cover a line
        axes.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.16),
            ncol=len(by_loss),
            title="mean; band: range over seeds",
            title_fontsize="small",
            fontsize="small",
            frameon=False,
        )
    return figure


def write_plots(results: Mapping[str, Any], out: str | Path) -> dict[str, Path]:
    """Write ``<setting>.png`` for every setting of ``results`` into ``out``.

    Args:
        results: the output of :func:`uniloss.train.run_bench`.
        out: the folder (created if needed).

    Returns:
        Map from setting name to the PNG written.

    Raises:
        ValueError: if ``results`` is malformed.
    """
    check_results(results)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    return {
        setting["name"]: plot_setting(setting, folder / f"{setting['name']}.png") for setting in results["settings"]
    }
