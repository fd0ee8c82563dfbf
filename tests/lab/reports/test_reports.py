import json

import pytest

from uniloss_lab.reports import (
    check_results,
    load_results,
    markdown_report,
    rebuild_report,
    summarize,
    write_plots,
    write_report,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(loss, seed, metrics, seconds=1.0):
    return {
        "loss": loss,
        "loss_name": "UniLoss" if loss == "uniloss" else "cross-entropy",
        "seed": seed,
        "history": {
            "test_metric": list(metrics),
            "epoch_time": [seconds] * len(metrics),
            "eval_time": [0.1] * len(metrics),
            "device": "cpu",
        },
    }


def make_results():
    return {
        "format": 1,
        "seeds": [0, 1, 2],
        "uniloss_version": "0.1.0",
        "torch_version": "2.x",
        "settings": [
            {
                "name": "accuracy-digits",
                "task": "accuracy",
                "dataset": "digits",
                "model": "small_cnn",
                "metric": "accuracy",
                "config": {"epochs": 2, "batch_size": 128, "optimizer": "adam", "lr": 0.001},
                "runs": [
                    run("uniloss", 0, [0.5, 0.90], seconds=2.0),
                    run("baseline", 0, [0.6, 0.80]),
                    run("uniloss", 1, [0.5, 0.92], seconds=2.0),
                    run("baseline", 1, [0.6, 0.84]),
                    run("uniloss", 2, [0.5, 0.94], seconds=2.0),
                    run("baseline", 2, [0.6, 0.82]),
                ],
            }
        ],
    }


def test_summarize_gives_mean_spread_and_time_per_loss():
    uniloss_row, baseline_row = summarize(make_results())
    assert uniloss_row["loss"] == "uniloss"
    assert uniloss_row["mean"] == pytest.approx(0.92)
    assert uniloss_row["std"] == pytest.approx(0.02)  # sample standard deviation
    assert (uniloss_row["min"], uniloss_row["max"]) == (0.90, 0.94)
    assert uniloss_row["train_seconds"] == pytest.approx(2.0)
    assert uniloss_row["delta"] == pytest.approx(0.92 - 0.82)
    assert uniloss_row["seeds"] == [0, 1, 2]
    assert baseline_row["delta"] is None
    assert baseline_row["best_epoch"] is None  # no validation split: no epoch is chosen on the test split


def test_summarize_of_one_seed_has_zero_spread_and_skips_unfinished_runs():
    results = make_results()
    results["settings"][0]["runs"] = [run("uniloss", 0, [0.7]), run("baseline", 0, [])]
    (row,) = summarize(results)
    assert (row["mean"], row["std"], row["delta"]) == (0.7, 0.0, None)


def test_markdown_report_has_a_row_per_loss_and_links_plots():
    text = markdown_report(make_results(), {"accuracy-digits": "accuracy-digits.png"})
    assert "| accuracy-digits | accuracy | UniLoss | 0.9200 ± 0.0200 | 0.9000 – 0.9400 |" in text
    assert "| accuracy-digits | accuracy | cross-entropy | 0.8200 ± 0.0200 |" in text
    assert "+0.1000" in text
    assert "![accuracy-digits](accuracy-digits.png)" in text
    assert "seeds 0, 1, 2" in text


def test_write_report_writes_markdown_and_png(tmp_path):
    files = write_report(make_results(), tmp_path / "out")
    assert [file.name for file in files] == ["results.md", "accuracy-digits.png"]
    assert files[1].read_bytes().startswith(PNG_MAGIC)
    assert "UniLoss" in files[0].read_text()


def test_plots_do_not_switch_the_global_matplotlib_backend(tmp_path):
    import matplotlib

    before = matplotlib.get_backend()
    write_plots(make_results(), tmp_path)
    assert matplotlib.get_backend() == before


def test_rebuild_report_reads_results_json(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps(make_results()))
    files = rebuild_report(tmp_path)
    assert {file.name for file in files} == {"results.md", "accuracy-digits.png"}
    assert all(file.parent == tmp_path for file in files)
    other = rebuild_report(tmp_path / "results.json", out=tmp_path / "elsewhere")
    assert all(file.parent == tmp_path / "elsewhere" for file in other)


@pytest.mark.parametrize(
    ("results", "match"),
    [
        ([], "must be a dict with a list under 'settings'"),
        ({"settings": [{"runs": []}]}, r"\['settings'\]\[0\]` must be a dict with 'name'"),
        ({"settings": [{"name": "x", "runs": [{"loss": "uniloss"}]}]}, r"\['runs'\]\[0\]` must have 'loss', 'seed'"),
    ],
)
def test_malformed_results_raise_value_error(results, match):
    with pytest.raises(ValueError, match=match):
        check_results(results)


def test_load_results_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no benchmark results at"):
        load_results(tmp_path)
    (tmp_path / "results.json").write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        load_results(tmp_path)


@pytest.mark.parametrize("seeds", [1, 3])
def test_plot_legend_stays_off_the_data(seeds):
    """The legend sits below the axes (it covered the heatmap-MSE line of the PCK plot at the last epochs)."""
    from uniloss_lab.reports.plots import _figure

    setting = make_results()["settings"][0]
    setting["runs"] = [run("uniloss", seed, [0.14, 0.42, 0.61, 0.72, 0.79]) for seed in range(seeds)] + [
        run("baseline", seed, [0.04, 0.11, 0.15, 0.19, 0.21]) for seed in range(seeds)
    ]
    figure = _figure(setting)
    figure.canvas.draw()
    (axes,) = figure.axes
    legend = axes.get_legend().get_window_extent()
    plot_area = axes.get_window_extent()
    assert legend.y1 <= plot_area.y0  # wholly below the axes
    assert legend.y0 >= 0  # and inside the image
    assert not axes.xaxis.label.get_window_extent().overlaps(legend)


def test_a_plot_of_many_rows_keeps_its_legend_in_the_image_and_gives_each_row_its_own_colour():
    from uniloss_lab.reports.plots import _figure

    setting = make_results()["settings"][0]
    names = ["uniloss", "baseline", "uniloss-memory512", "pairwise_logistic", "libauc_ap", "libauc_ap_recipe"]
    setting["runs"] = [
        {**run(name, seed, [0.1 * index, 0.2, 0.3]), "loss_name": f"a long label of row {name}"}
        for index, name in enumerate(names)
        for seed in range(2)
    ]
    figure = _figure(setting)
    figure.canvas.draw()
    (axes,) = figure.axes
    legend = axes.get_legend()
    box = legend.get_window_extent()
    width, _height = figure.canvas.get_width_height()
    assert len(legend.get_texts()) == len(names)
    assert box.x0 >= 0
    assert box.x1 <= width
    assert box.y0 >= 0
    assert box.y1 <= axes.get_window_extent().y0
    assert len({line.get_color() for line in axes.get_lines()}) == len(names)
