"""The train options of process count, threads and non-finite handling, parsed into the run's config."""

import pytest

from uniloss_lab.cli import main


def test_train_passes_nproc_threads_and_skip_nonfinite_to_the_config(tmp_path, captured_config):
    seen = captured_config
    argv = ["train", "--nproc", "2", "--threads", "3", "--skip-nonfinite", "--out", str(tmp_path)]
    assert main(argv) == 0
    config = seen["config"]
    assert (config.nproc, config.threads, config.skip_nonfinite) == (2, 3, True)


def test_train_defaults_to_one_process_that_stops_on_a_non_finite_loss(tmp_path, captured_config):
    seen = captured_config
    assert main(["train", "--out", str(tmp_path)]) == 0
    config = seen["config"]
    assert (config.nproc, config.threads, config.skip_nonfinite) == (1, None, False)


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["train", "--nproc", "0"], "--nproc must be a positive int, but got 0"),
        (["train", "--threads", "-1"], "--threads must be a positive int, but got -1"),
        (["train", "--nproc", "3", "--batch-size", "4"], "--batch-size must be at least 2 x --nproc = 6"),
        (["compare", "--quick", "--nproc", "2"], "unrecognized arguments: --nproc 2"),
    ],
)
def test_bad_process_options_exit_with_status_2_naming_the_option(argv, match, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert match in capsys.readouterr().err
