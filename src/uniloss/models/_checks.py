"""Argument validators shared by the reference models; each message names the argument, expectation and value."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def _check_positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is a positive ``int``, else raise with a message naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"`{name}` must be a positive integer, but got {value!r} of type {type(value).__name__}.")
    if value < 1:
        raise ValueError(f"`{name}` must be a positive integer, but got {value}.")
    return value


def _check_positive_int_sequence(name: str, value: object) -> tuple[int, ...]:
    """Return ``value`` as a tuple if it is a sequence of positive ``int``; it may be empty."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(
            f"`{name}` must be a sequence of positive integers, but got {value!r} of type {type(value).__name__}."
        )
    for index, item in enumerate(value):
        _check_positive_int(f"{name}[{index}]", item)
    return tuple(value)


def _check_image_batch(name: str, inputs: torch.Tensor, channels: int) -> None:
    """Raise ``ValueError`` unless ``inputs`` has shape ``(B, channels, H, W)``."""
    if inputs.ndim != 4 or inputs.shape[1] != channels:
        raise ValueError(f"`{name}` must have shape (B, {channels}, H, W), but got {tuple(inputs.shape)}.")
