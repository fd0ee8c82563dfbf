"""Output folders: no run, benchmark, diagnostic or report is replaced unless asked; --resume needs something."""

import json

import pytest

from uniloss_lab.train import TrainConfig
from uniloss_lab.train.compare import RESULTS_NAME, run_comparison, suite_settings
from uniloss_lab.train.outputs import check_file, check_output, run_label


def holding(folder, *names):
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    return folder


# Every raise of uniloss_lab.train.outputs, with the arguments that trip it.
ERRORS = [
    ({"resume": 1}, (), TypeError, r"`resume` must be a bool, but got int 1"),
    ({"overwrite": "yes"}, (), TypeError, r"`overwrite` must be a bool, but got str 'yes'"),
    ({"clear": None}, (), TypeError, r"`clear` must be a bool, but got NoneType None"),
    (
        {"what": "plots"},
        (),
        ValueError,
        r"`what` must be one of \['compare', 'diagnose', 'report', 'train'\], but got 'plots'",
    ),
    ({"resume": True, "overwrite": True}, (), ValueError, r"`resume` \(continue\) and `overwrite` \(replace\) exclude"),
    ({"resume": True, "what": "diagnose"}, (), ValueError, r"`resume` is not possible for a diagnostic"),
    ({"resume": True, "what": "report"}, (), ValueError, r"`resume` is not possible for a report"),
    ({"resume": True, "folder": None}, (), ValueError, r"`resume` needs an `out` folder, but `out` is None"),
    ({"overwrite": True, "folder": None}, (), ValueError, r"`overwrite` needs an `out` folder, but `out` is None"),
    ({"resume": True}, (), ValueError, r"`resume` found nothing to continue in `out` '.*' \(no .*checkpoint\.pt\)"),
    ({"resume": True}, ("history.json",), ValueError, r"`resume` found nothing to continue"),
    ({"resume": True, "what": "compare"}, (), ValueError, r"\(no .*results\.json or .*\*/\*/checkpoint\.pt\)"),
    ({}, ("checkpoint.pt",), ValueError, r"already holds a training run \(checkpoint\.pt\); set `resume` to continue"),
    ({}, ("history.json",), ValueError, r"already holds a training run \(history\.json\)"),
    ({"what": "compare"}, ("results.json",), ValueError, r"already holds a comparison \(results\.json\); set `resume`"),
    ({"what": "compare"}, ("ap-digits/uniloss-seed0/checkpoint.pt",), ValueError, r"holds a comparison \(ap-digits/"),
    ({"what": "diagnose"}, ("diagnostic.png",), ValueError, r"holds a diagnostic \(diagnostic\.png\); set `overwrite`"),
    ({"what": "report"}, ("results.md",), ValueError, r"already holds a report \(results\.md\); set `overwrite` to"),
]


@pytest.mark.parametrize(("arguments", "files", "error", "match"), ERRORS)
def test_check_output_errors(arguments, files, error, match, tmp_path):
    arguments = {"folder": holding(tmp_path, *files), **arguments}
    with pytest.raises(error, match=match):
        check_output(**arguments)


def test_check_output_lists_at_most_three_files(tmp_path):
    names = [f"s{index}/uniloss-seed0/checkpoint.pt" for index in range(5)]
    with pytest.raises(ValueError, match=r"\(s0/uniloss-seed0/checkpoint\.pt, .*s2/.* and 2 more\)"):
        check_output(holding(tmp_path, *names), what="compare")


def test_check_output_allows_new_folders_and_unrelated_files(tmp_path):
    assert check_output(tmp_path / "new") is False
    assert not (tmp_path / "new").exists()  # nothing is created
    holding(tmp_path, "notes.txt", "diagnostic.json")  # a diagnostic does not stop a training run
    assert check_output(tmp_path) is False
    assert check_output(None) is False


def test_check_output_resume_and_overwrite(tmp_path):
    holding(tmp_path, "checkpoint.pt", "history.json", "notes.txt")
    assert check_output(tmp_path, resume=True) is True
    assert check_output(tmp_path, overwrite=True) is False
    assert (tmp_path / "checkpoint.pt").exists()  # only `clear` deletes
    check_output(tmp_path, overwrite=True, clear=True)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]


def test_check_output_clear_of_a_benchmark_deletes_only_its_results(tmp_path):
    holding(tmp_path, "results.json", "ap-digits/uniloss-seed0/checkpoint.pt")
    check_output(tmp_path, overwrite=True, what="compare", clear=True)
    assert not (tmp_path / "results.json").exists()
    assert (tmp_path / "ap-digits/uniloss-seed0/checkpoint.pt").exists()  # each run is replaced by its own run


@pytest.mark.parametrize(
    ("existing", "overwrite", "error", "match"),
    [
        ("file", False, ValueError, r"`markdown` '.*results\.md' already exists; set `overwrite` to replace it"),
        ("folder", True, ValueError, r"`markdown` must be a file, but '.*results\.md' is a folder"),
    ],
)
def test_check_file_errors(existing, overwrite, error, match, tmp_path):
    path = tmp_path / "results.md"
    path.mkdir() if existing == "folder" else path.write_text("mine")
    with pytest.raises(error, match=match):
        check_file(path, overwrite=overwrite)


def test_check_file_allows_new_files_and_overwrite(tmp_path):
    check_file(tmp_path / "new.md")
    check_file(None)
    (tmp_path / "old.md").write_text("mine")
    check_file(tmp_path / "old.md", overwrite=True)
    assert (tmp_path / "old.md").read_text() == "mine"  # checked, not touched


def test_run_label_names_setting_loss_seed_and_rate():
    assert run_label(TrainConfig()) == "ap-digits-class0 UniLoss seed 0 lr 0.001"
    assert run_label(TrainConfig(memory=64, positive_class=6, dataset="fashion-mnist")).startswith(
        "ap-fashion-mnist-class6-memory64 UniLoss"
    )
    assert run_label(TrainConfig(task="pck", loss="baseline", seed=3, lr=0.01)) == (
        "pck-keypoints heatmap MSE seed 3 lr 0.01"
    )


TINY_BENCH = {"task": "ap", "epochs": 1, "limit_train": 64, "limit_test": 64, "hidden": (8,), "device": "cpu"}


def test_run_bench_refuses_a_finished_benchmark_and_replaces_it_with_overwrite(tmp_path):
    settings = suite_settings(None, **TINY_BENCH)
    run_comparison(settings, [0], tmp_path, progress=False)
    finished = (tmp_path / RESULTS_NAME).read_text()
    with pytest.raises(ValueError, match=r"already holds a comparison \(results\.json, ap-digits/baseline-seed0/"):
        run_comparison(settings, [0], tmp_path, progress=False)
    assert (tmp_path / RESULTS_NAME).read_text() == finished
    replaced = run_comparison(suite_settings(None, **{**TINY_BENCH, "epochs": 2}), [0], tmp_path, progress=False,
                         overwrite=True)  # fmt: skip
    assert [len(run["history"]["epoch"]) for run in replaced["settings"][0]["runs"]] == [2, 2]
    assert json.loads((tmp_path / RESULTS_NAME).read_text())["settings"][0]["runs"][0]["history"]["epoch"] == [1, 2]


def test_run_bench_resume_of_nothing_is_an_error_naming_the_folder(tmp_path):
    with pytest.raises(ValueError, match=r"`resume` found nothing to continue in `out` '.*typo'"):
        run_comparison(suite_settings(None, **TINY_BENCH), [0], tmp_path / "typo", progress=False, resume=True)
    assert not (tmp_path / "typo").exists()


def test_run_bench_resume_trains_the_runs_it_had_not_started(tmp_path):
    settings = suite_settings(None, **TINY_BENCH)
    run_comparison(settings, [0], tmp_path, progress=False)
    results = run_comparison(settings, [0, 1], tmp_path, progress=False, resume=True)  # seed 1 is new: trained
    assert [(run["loss"], run["seed"]) for run in results["settings"][0]["runs"]] == [
        ("uniloss", 0), ("baseline", 0), ("uniloss", 1), ("baseline", 1)
    ]  # fmt: skip


def test_run_bench_progress_names_each_run(tmp_path, capsys):
    run_comparison(suite_settings(None, **TINY_BENCH), [5], tmp_path, progress=True)
    out = capsys.readouterr().out
    assert "run 1/2: ap-digits-class0 UniLoss seed 5 lr 0.001" in out
    assert "run 2/2: ap-digits-class0 binary cross-entropy seed 5 lr 0.001" in out


def test_run_bench_with_jobs_says_which_run_finished(tmp_path, capsys):
    run_comparison(suite_settings(None, **TINY_BENCH), [0], tmp_path, progress=True, jobs=2)
    lines = capsys.readouterr().out.splitlines()
    assert sorted(line.split(", final test ")[0] for line in lines if line.startswith("run ")) == [
        "run 1/2 done: ap-digits-class0 UniLoss seed 0 lr 0.001",
        "run 2/2 done: ap-digits-class0 binary cross-entropy seed 0 lr 0.001",
    ]
