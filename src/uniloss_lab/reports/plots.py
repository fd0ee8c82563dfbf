"""PNG plots of benchmark results: the validation (else test) metric per epoch, every loss row of a setting."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uniloss_lab.reports.table import check_results, loss_curves
from uniloss_lab.train.config import METRIC_LABELS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_setting", "write_plots"]

_COLOURS = {"uniloss": "#1f77b4", "baseline": "#ff7f0e"}
_OTHER_COLOURS = ("#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
_LEGEND_COLUMNS = 1  # legend entries per line when a chart has more than three rows (labels are long)


def plot_setting(setting: Mapping[str, Any], path: str | Path) -> Path:
    """Draw one setting's validation metric per epoch (test without one), every loss on one chart; save a PNG.

    Formally, for each loss, the mean over seeds of the test metric at each epoch (a line) and the range
    over seeds (a shaded band); epochs that not every seed reached are left out. The legend sits below the
    axes, off the data. Uses matplotlib's Agg canvas directly, so the global backend is not touched.

    Args:
        setting: one entry of ``results["settings"]`` from :func:`uniloss_lab.train.run_comparison`.
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

    by_loss = {  # a row without a curve (the tuned threshold's, read on the test split once) is not drawn
        loss: row
        for loss, row in loss_curves(setting).items()
        if all(value is not None for _, metrics, _, _ in row["runs"] for value in metrics)
    }
    columns_of_legend = len(by_loss) if len(by_loss) <= 3 else _LEGEND_COLUMNS
    legend_lines = -(-len(by_loss) // max(columns_of_legend, 1))
    figure = Figure(figsize=(6.4, 4.0 + 0.25 * legend_lines), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    others = iter(_OTHER_COLOURS)
    for loss, row in by_loss.items():
        curves = [[float(value) for value in metrics] for _, metrics, _, _ in row["runs"]]
        length = min(len(curve) for curve in curves)
        epochs = list(range(1, length + 1))
        columns = [[curve[index] for curve in curves] for index in range(length)]
        mean = [sum(column) / len(column) for column in columns]
        colour: Any = _COLOURS.get(loss) or next(others, None)  # a colour of its own for every row
        label = f"{row['label']} ({len(curves)} seed{'s' if len(curves) > 1 else ''})"
        (line,) = axes.plot(epochs, mean, marker="o", markersize=3, color=colour, label=label)
        colour = line.get_color()
        if len(curves) > 1:
            axes.fill_between(
                epochs,
                [min(column) for column in columns],
                [max(column) for column in columns],
                color=colour,
                alpha=0.2,
            )
    metric = METRIC_LABELS.get(setting.get("metric") or "", setting.get("metric") or "metric")
    splits = {row["split"] for row in by_loss.values()}
    split = "validation" if splits == {"validation"} else "/".join(sorted(splits)) or "test"
    axes.set_xlabel("epoch")
    axes.set_ylabel(f"{split} {metric}")
    axes.set_title(f"{setting['name']}: {split} {metric} per epoch ({setting.get('model', '?')})")
    axes.grid(alpha=0.3)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if by_loss:  # below the axes, where it cannot cover a line
        axes.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.16),
            ncol=columns_of_legend,
            title="mean; band: range over seeds",
            title_fontsize="small",
            fontsize="small",
            frameon=False,
        )
    return figure


def write_plots(results: Mapping[str, Any], out: str | Path) -> dict[str, Path]:
    """Write ``<setting>.png`` for every setting of ``results`` into ``out``.

    Args:
        results: the output of :func:`uniloss_lab.train.run_comparison`.
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
