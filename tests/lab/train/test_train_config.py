import dataclasses

import pytest

from uniloss_lab.train import RECIPES, SUITES, TrainConfig, make_config
from uniloss_lab.train.compare import setting_names, suite_settings

# (overrides, exception, message pattern): every raise of TrainConfig.validate and make_config.
ERROR_CASES = [
    ({"batch_size": 0}, ValueError, r"`batch_size` must be a positive int, but got 0"),
    ({"epochs": -1}, ValueError, r"`epochs` must be a positive int, but got -1"),
    ({"eval_batch_size": 0}, ValueError, r"`eval_batch_size`"),
    ({"stacks": 0}, ValueError, r"`stacks`"),
    ({"depth": 0}, ValueError, r"`depth`"),
    ({"width": 0}, ValueError, r"`width`"),
    ({"limit_train": 0}, ValueError, r"`limit_train` must be a positive int"),
    ({"limit_test": -3}, ValueError, r"`limit_test`"),
    ({"stop_after": 0}, ValueError, r"`stop_after`"),
    ({"seed": -1}, ValueError, r"`seed` must be a non-negative int, but got -1"),
    ({"num_workers": -1}, ValueError, r"`num_workers`"),
    ({"positive_class": -1}, ValueError, r"`positive_class` must be a non-negative int"),
    ({"positive_class": 10}, ValueError, r"`positive_class` must be in 0\.\.9 for 'digits', but got 10"),
    ({"lr": 0.0}, ValueError, r"`lr` must be a positive float, but got 0\.0"),
    ({"lr": float("nan")}, ValueError, r"`lr` must be a positive float, but got nan"),
    ({"temperature": 0.0}, ValueError, r"`temperature` must be a positive float"),
    ({"power": -1.0}, ValueError, r"`power` must be a positive float"),
    ({"threshold": 0.0}, ValueError, r"`threshold`"),
    ({"momentum": -0.1}, ValueError, r"`momentum` must be a non-negative float"),
    ({"weight_decay": float("inf")}, ValueError, r"`weight_decay` must be a non-negative float"),
    ({"grad_clip": 0.0}, ValueError, r"`grad_clip` must be a positive float"),
    ({"gamma": 0.0}, ValueError, r"`gamma` must be a positive float"),
    ({"gamma": 1.5}, ValueError, r"`gamma` must be in \(0, 1\], but got 1\.5"),
    (
        {"task": "top5"},
        ValueError,
        r"`task` must be one of \['ap', 'accuracy', 'pck', 'f1', 'segmentation', 'fbeta', 'topk', 'precision_at_k', "
        r"'recall_at_k', 'ndcg'\], but got 'top5'",
    ),
    ({"loss": "hinge"}, ValueError, r"`loss` must be one of \['uniloss', 'baseline', 'pairwise_logistic', .*'hinge'"),
    (
        {"task": "f1", "loss": "kornia_dice"},
        ValueError,
        r"`loss` must be 'uniloss', 'baseline' or a peer of task 'f1' \['sigmoid_f1', 'bce_weighted', 'focal', "
        r"'anyloss'\], but got the 'segmentation' peer 'kornia_dice'\.",
    ),
    (
        {"task": "accuracy", "loss": "pairwise_logistic"},
        ValueError,
        r"a peer of task 'accuracy' \[\], but got the 'ap'",
    ),
    ({"task": "segmentation", "dataset": "digits"}, ValueError, r"`dataset` must be one of \['shapes'\] for task"),
    ({"task": "f1", "dataset": "shapes"}, ValueError, r"`dataset` must be one of \['digits'.* for task 'f1'"),
    (
        {"task": "segmentation", "model": "mlp"},
        ValueError,
        r"`model` must be one of \['unet'\] for task 'segmentation'",
    ),
    ({"task": "ap", "model": "unet"}, ValueError, r"`model` must be one of \['mlp', 'small_cnn', 'resnet20'\]"),
    ({"task": "segmentation", "augment": True}, ValueError, r"`augment` must be False for task 'segmentation'"),
    ({"task": "f1", "positive_class": 10}, ValueError, r"`positive_class` must be in 0\.\.9 for 'digits', but got 10"),
    ({"optimizer": "lbfgs"}, ValueError, r"`optimizer` must be one of .*'lbfgs'"),
    ({"scheduler": "step"}, ValueError, r"`scheduler` must be one of .*'step'"),
    ({"ap_mode": "smooth"}, ValueError, r"`ap_mode` must be one of"),
    ({"dataset": "imagenet"}, ValueError, r"`dataset` must be one of .*'imagenet'"),
    ({"model": "vgg"}, ValueError, r"`model` must be one of .*'vgg'"),
    ({"milestones": (5, 3)}, ValueError, r"`milestones` must be strictly increasing, but got \[5, 3\]"),
    ({"milestones": (0,)}, ValueError, r"`milestones\[0\]` must be a positive int"),
    ({"scheduler": "multistep"}, ValueError, r"`milestones` must list at least one epoch"),
    ({"hidden": (64, 0)}, ValueError, r"`hidden\[1\]` must be a positive int"),
    ({"candidates": 1}, ValueError, r"`candidates` must be at least 2"),
    ({"device": "tpu-9"}, ValueError, r"`device` must be 'auto', 'cpu', 'cuda' or 'cuda:N', but got 'tpu-9'"),
    ({"task": "pck", "dataset": "digits"}, ValueError, r"`dataset` must be one of \['keypoints', 'mpii'\]"),
    ({"task": "ap", "dataset": "keypoints"}, ValueError, r"`dataset` must be one of \['digits'"),
    ({"task": "ap", "model": "hourglass"}, ValueError, r"`model` must be one of \['mlp', 'small_cnn', 'resnet20'\]"),
    ({"task": "pck", "model": "mlp"}, ValueError, r"`model` must be one of \['hourglass'\] for task 'pck'"),
    ({"task": "pck", "augment": True}, ValueError, r"`augment` must be False for task 'pck'"),
    (
        {"task": "accuracy", "memory": 64},
        ValueError,
        r"`memory` pools batches for the batch-level AP and F1; it must be 0 for ",
    ),
    ({"memory": -1}, ValueError, r"`memory` must be a non-negative int, but got -1"),
    ({"epochs": 2, "stop_after": 3}, ValueError, r"`stop_after` must be at most `epochs` \(2\), but got 3"),
    ({"batch_size": "8"}, TypeError, r"`batch_size` must be a positive int, but got str '8'"),
    ({"lr": "fast"}, TypeError, r"`lr` must be a positive float, but got str"),
    ({"resume": 1}, TypeError, r"`resume` must be a bool"),
    ({"augment": "yes"}, TypeError, r"`augment` must be a bool"),
    ({"out": 3}, TypeError, r"`out` must be a str or None"),
    ({"device": 0}, TypeError, r"`device` must be a str"),
    ({"milestones": 3}, TypeError, r"`milestones` must be a tuple of ints"),
    ({"hidden": 64}, TypeError, r"`hidden` must be a tuple of ints"),
]


@pytest.mark.parametrize(("overrides", "error", "match"), ERROR_CASES)
def test_bad_config_values_raise_naming_the_option(overrides, error, match):
    with pytest.raises(error, match=match):
        TrainConfig(**overrides)


def test_make_config_rejects_unknown_presets_and_options():
    with pytest.raises(ValueError, match=r"`recipe` must be one of .*'paper-imagenet'"):
        make_config("paper-imagenet")
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['bach_size'\]"):
        make_config(bach_size=3)
    with pytest.raises(ValueError, match=r"unknown option"):
        TrainConfig().replace(colour="red")


def test_replace_validates_the_new_values():
    with pytest.raises(ValueError, match="`epochs`"):
        TrainConfig().replace(epochs=0)


def test_task_defaults_fill_dataset_and_model():
    assert (TrainConfig(task="ap").dataset_name, TrainConfig(task="ap").model_name) == ("digits", "mlp")
    assert TrainConfig(task="accuracy").model_name == "small_cnn"
    pose = TrainConfig(task="pck")
    assert (pose.dataset_name, pose.model_name, pose.metric_name) == ("keypoints", "hourglass", "pck")
    # None stays None, so switching the task keeps the new task's defaults
    assert TrainConfig(task="ap").replace(task="pck").dataset_name == "keypoints"


def test_lists_become_tuples_and_dicts_round_trip():
    config = TrainConfig(milestones=[2, 4], hidden=[32], scheduler="multistep")
    assert config.milestones == (2, 4)
    assert config.hidden == (32,)
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown option"):
        TrainConfig.from_dict({**config.to_dict(), "extra": 1})


def test_every_preset_is_valid_and_overrides_win():
    for name in RECIPES:
        config = make_config(name)
        assert config.recipe == name
        for key, value in RECIPES[name].items():
            assert getattr(config, key) == value, (name, key)
    assert make_config("paper-cifar10", epochs=3).epochs == 3


@pytest.mark.parametrize(
    ("recipe", "expected"),
    [
        (
            "paper-mnist-ap",
            {
                "model": "mlp",
                "hidden": (500, 300),
                "positive_class": 0,
                "batch_size": 16,
                "optimizer": "sgd",
                "lr": 0.01,
            },
        ),
        (
            "paper-cifar10",
            {
                "model": "resnet20",
                "batch_size": 128,
                "optimizer": "sgd",
                "lr": 0.1,
                "momentum": 0.9,
                "weight_decay": 1e-4,
                "scheduler": "multistep",
                "candidates": None,
            },
        ),
        ("paper-cifar100", {"model": "resnet20", "candidates": 21, "scheduler": "multistep", "dataset": "cifar100"}),
        ("paper-mpii", {"model": "hourglass", "optimizer": "rmsprop", "lr": 2.5e-4, "dataset": "mpii"}),
    ],
)
def test_presets_hold_the_papers_settings(recipe, expected):
    config = make_config(recipe)
    assert {key: getattr(config, key) for key in expected} == expected


def test_every_bench_suite_builds_valid_settings():
    for suite, settings in SUITES.items():
        configs = suite_settings(suite)
        assert len(configs) == len(settings), suite
        assert len(set(setting_names(configs))) == len(configs), suite


def test_bench_settings_filters_by_task_and_refuses_a_loss():
    assert [config.task for config in suite_settings("quick", task="accuracy")] == ["accuracy"]
    assert suite_settings("quick", epochs=1)[2].epochs == 1
    with pytest.raises(ValueError, match="`loss` cannot be set"):
        suite_settings("quick", loss="uniloss")
    with pytest.raises(ValueError, match=r"`task` must be one of \['pck'\] for suite 'keypoints'"):
        suite_settings("keypoints", task="ap")
    with pytest.raises(ValueError, match="`suite` must be one of"):
        suite_settings("huge")
    assert suite_settings(None, task="pck")[0].dataset_name == "keypoints"


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrainConfig().epochs = 3  # type: ignore[misc]
