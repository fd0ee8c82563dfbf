"""A `uniloss train` whose training is replaced: the config the command line built is kept, nothing trains."""

import pytest


@pytest.fixture
def captured_config(monkeypatch):
    """``seen``: after ``main(["train", ...])``, ``seen["config"]`` is the config the command built."""
    seen = {}

    def fake_train(config, progress=True):
        seen["config"] = config
        return {"metric": config.metric_name, "final_metric": 0.5, "loss_name": "UniLoss", "model": config.model_name,
                "dataset": config.dataset_name, "test_metric": [0.5], "epoch_time": [1.0]}  # fmt: skip

    monkeypatch.setattr("uniloss_lab.train.loop.train", fake_train)
    return seen
