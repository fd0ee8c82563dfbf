"""Shared fixtures: the device under test (``--device`` or ``UNILOSS_TEST_DEVICE``) and dtypes."""

from __future__ import annotations

import os

import pytest
import torch


def pytest_addoption(parser):
    parser.addoption(
        "--device",
        default=os.environ.get("UNILOSS_TEST_DEVICE", "cpu"),
        help="device the core tests run on (cpu, cuda); also UNILOSS_TEST_DEVICE",
    )


@pytest.fixture(scope="session")
def device(request) -> torch.device:
    name = request.config.getoption("--device")
    if name.startswith("cuda") and not torch.cuda.is_available():
        pytest.skip("CUDA requested but not available")
    return torch.device(name)


@pytest.fixture(params=[torch.float32, torch.float64], ids=["f32", "f64"])
def dtype(request) -> torch.dtype:
    return request.param
