"""The options of multi-process and fault-tolerant training: ``nproc``, ``threads`` and ``skip_nonfinite``."""

import pytest
import torch

from uniloss_lab.train import TrainConfig, loop, train

ERROR_CASES = [
    ({"nproc": 0}, ValueError, r"`nproc` must be a positive int, but got 0"),
    ({"nproc": 2.0}, TypeError, r"`nproc` must be a positive int, but got float 2\.0"),
    ({"threads": 0}, ValueError, r"`threads` must be a positive int, but got 0"),
    ({"threads": "4"}, TypeError, r"`threads` must be a positive int, but got str '4'"),
    ({"skip_nonfinite": 1}, TypeError, r"`skip_nonfinite` must be a bool, but got 1"),
    (
        {"nproc": 4, "batch_size": 7},
        ValueError,
        r"`batch_size` must be at least 2 x `nproc` = 8 \(each process needs two examples\), but got 7",
    ),
]


@pytest.mark.parametrize(("overrides", "error", "match"), ERROR_CASES, ids=[case[2][:30] for case in ERROR_CASES])
def test_invalid_process_options_raise_naming_the_field(overrides, error, match):
    with pytest.raises(error, match=match):
        TrainConfig(**overrides)


def test_process_options_round_trip_through_a_dict():
    config = TrainConfig(nproc=2, threads=3, skip_nonfinite=True, batch_size=8)
    assert TrainConfig.from_dict(config.to_dict()) == config


def test_threads_apply_to_the_run_and_are_restored_after_it(monkeypatch):
    before = torch.get_num_threads()
    seen = []
    original = loop._train_process

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(loop, "_train_process", spy)
    train(TrainConfig(hidden=(8,), limit_train=32, limit_test=32, epochs=1, device="cpu", threads=1), progress=False)
    assert seen == [1]
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(
    ("device", "count", "match"),
    [
        ("cuda:1", 4, r"`device` must be 'cuda' or 'auto' when `nproc` > 1 .*, but got 'cuda:1'"),
        ("cuda", 1, r"`nproc` must be at most the number of CUDA devices \(1\) with nccl, but got 2"),
    ],
)
def test_several_cuda_processes_need_one_device_each(monkeypatch, device, count, match):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    with pytest.raises(ValueError, match=match):
        train(TrainConfig(nproc=2, device=device), progress=False)
