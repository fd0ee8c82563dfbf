"""The surrogate-vs-exact diagnostic: exact batch metric, correlation, PNG."""

from __future__ import annotations

import pytest


def test_diagnose_writes_png_and_json(tmp_path: pytest.TempPathFactory) -> None:
    from uniloss_lab.reports.diagnostic import diagnose
    from uniloss_lab.train import TrainConfig

    config = TrainConfig(task="ap", epochs=1, limit_train=256, device="cpu", out=str(tmp_path))
    summary, png = diagnose(config, steps=4, progress=False)
    assert png.exists()
    assert (png.parent / "diagnostic.json").exists()
    assert len(summary["exact"]) == 4


def test_diagnose_labels_its_lines_and_replaces_a_diagnostic_only_with_overwrite(
    tmp_path: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    from uniloss_lab.reports.diagnostic import diagnose
    from uniloss_lab.train import TrainConfig

    config = TrainConfig(task="ap", epochs=1, limit_train=128, limit_test=64, device="cpu", out=str(tmp_path))
    diagnose(config, steps=2, progress=True)
    assert "ap-digits-class0 UniLoss seed 0 lr 0.001 step 2/2: surrogate " in capsys.readouterr().out
    with pytest.raises(ValueError, match=r"already holds a diagnostic \(diagnostic\.json, diagnostic\.png\)"):
        diagnose(config, steps=2, progress=False)
    with pytest.raises(ValueError, match="`resume` is not possible for a diagnostic"):
        diagnose(config.replace(resume=True), steps=2, progress=False)
    summary, _ = diagnose(config.replace(overwrite=True), steps=3, progress=False)  # train() itself writes nothing
    assert len(summary["exact"]) == 3
