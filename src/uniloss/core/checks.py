"""Validators that build uniloss's error messages: the argument, what was expected, what was received."""

from __future__ import annotations

import math
import types
from collections.abc import Sequence

import torch

__all__ = [
    "check_arity",
    "check_at_most",
    "check_bool",
    "check_choice",
    "check_device",
    "check_finite",
    "check_finite_and_range",
    "check_float32_normal",
    "check_floating",
    "check_has_values",
    "check_image_batch",
    "check_instance",
    "check_integer_range",
    "check_nonempty",
    "check_nonnegative",
    "check_nonnegative_int",
    "check_positive",
    "check_positive_int",
    "check_positive_int_sequence",
    "check_same_device",
    "check_shape",
    "check_tensor",
]


def check_arity(metric: object, targets: Sequence[object], *signatures: tuple[str, ...], first: str = "scores") -> None:
    """Raise ``TypeError`` unless ``targets`` has the length of one of ``signatures`` (the names after ``first``).

    Example:
        >>> check_arity(object(), (1, 2), ("targets",))
        Traceback (most recent call last):
        ...
        TypeError: object takes (scores, targets), but got 3 tensors.
    """
    if any(len(targets) == len(names) for names in signatures):
        return
    forms = " or ".join("(" + ", ".join((first, *names)) + ")" for names in signatures)
    raise TypeError(f"{type(metric).__name__} takes {forms}, but got {1 + len(targets)} tensors.")


def check_positive(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a positive finite number, else raise.

    Raises:
        TypeError: if ``value`` is not a real number.
        ValueError: if it is not positive and finite.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"`{name}` must be a positive float, but got {type(value).__name__} {value!r}.")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"`{name}` must be a positive float, but got {value!r}.")
    return float(value)


def check_float32_normal(name: str, value: object, use: str) -> float:
    """Return ``value`` as a float if it is a positive float32 normal number (``use``: why float32), else raise.

    Raises:
        TypeError: if ``value`` is not a real number.
        ValueError: if it is not in ``[tiny, max]`` of float32 (about ``[1.18e-38, 3.4e38]``).

    Example:
        >>> check_float32_normal("temperature", 1e-39, "float32")
        Traceback (most recent call last):
        ...
        ValueError: `temperature` must be a positive float in [1.18e-38, 3.4e+38] (float32), but got 1e-39.
    """
    number = check_positive(name, value)
    low, high = torch.finfo(torch.float32).tiny, torch.finfo(torch.float32).max
    if not low <= number <= high:
        raise ValueError(f"`{name}` must be a positive float in [{low:.3g}, {high:.3g}] ({use}), but got {value!r}.")
    return number


def check_nonnegative_int(name: str, value: object) -> int:
    """Return ``value`` if it is an int ``>= 0``, else raise ``TypeError`` or ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"`{name}` must be a non-negative int, but got {type(value).__name__} {value!r}.")
    if value < 0:
        raise ValueError(f"`{name}` must be a non-negative int, but got {value}.")
    return value


def check_positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is an int ``>= 1``, else raise ``TypeError`` or ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"`{name}` must be a positive int, but got {type(value).__name__} {value!r}.")
    if value < 1:
        raise ValueError(f"`{name}` must be a positive int, but got {value}.")
    return value


def check_tensor(name: str, value: object) -> torch.Tensor:
    """Return ``value`` if it is a tensor, else raise ``TypeError``."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, but got {type(value).__name__}.")
    return value


def _format_shape(shape: Sequence[int | str]) -> str:
    inner = ", ".join(str(s) for s in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def check_shape(name: str, value: torch.Tensor, expected: Sequence[int | str], sizes: dict[str, int]) -> None:
    """Check ``value.shape`` against symbolic ``expected`` dimensions, binding new symbols in ``sizes``.

    A symbol already in ``sizes`` must match; a new one is bound to the size received. An int must match
    exactly.

    Raises:
        ValueError: naming the argument, the expected symbolic shape and the received shape.

    Example:
        >>> sizes = {}
        >>> check_shape("scores", torch.zeros(4, 3), ("N", "C"), sizes)
        >>> sizes
        {'N': 4, 'C': 3}
    """
    shape = tuple(value.shape)
    bound = dict(sizes)
    ok = len(shape) == len(expected)
    if ok:
        for dim, want in zip(shape, expected, strict=False):
            if isinstance(want, int):
                ok = ok and dim == want
            elif want in bound:
                ok = ok and dim == bound[want]
            else:
                bound[want] = dim
    if not ok:
        known = ", ".join(f"{k}={v}" for k, v in sizes.items())
        where = f" with {known}" if known else ""
        raise ValueError(f"`{name}` must have shape {_format_shape(expected)}{where}, but got {_format_shape(shape)}.")
    sizes.update(bound)


def check_nonempty(name: str, value: torch.Tensor) -> None:
    """Raise ``ValueError`` if ``value`` has no example (a zero-sized first dimension)."""
    if value.ndim == 0 or value.shape[0] == 0:
        raise ValueError(f"`{name}` must hold at least one example, but got shape {_format_shape(tuple(value.shape))}.")


def check_has_values(name: str, value: torch.Tensor) -> None:
    """Raise ``ValueError`` if ``value`` is on the ``meta`` device, which holds shapes but no values.

    Example:
        >>> check_has_values("scores", torch.empty(3))
    """
    if value.device.type == "meta":
        shape = _format_shape(tuple(value.shape))
        raise ValueError(
            f"`{name}` must hold values, but got a tensor on the meta device (shape {shape}); the loss depends on "
            "the values (its anchors and exact metric), so compute it on a real device such as 'cpu' or 'cuda'."
        )


def check_floating(name: str, value: torch.Tensor) -> None:
    """Raise ``TypeError`` unless ``value`` has a floating-point dtype."""
    if not value.is_floating_point():
        raise TypeError(f"`{name}` must have a floating-point dtype, but got {value.dtype}.")


def check_finite(name: str, value: torch.Tensor) -> None:
    """Raise ``ValueError`` if ``value`` holds a NaN or an infinity (one host-device sync)."""
    if not bool(torch.isfinite(value).all()):
        bad = "NaN" if bool(torch.isnan(value).any()) else "infinite"
        raise ValueError(f"`{name}` must be finite, but got {bad} values.")


def check_finite_and_range(
    scores: torch.Tensor,
    targets: torch.Tensor,
    low: int,
    high: int,
    allow_bool: bool = True,
    names: tuple[str, str] = ("scores", "targets"),
) -> None:
    """:func:`check_finite` of ``scores`` and :func:`check_integer_range` of ``targets`` in one host-device sync.

    The extremes of both are read back together (NaN and infinities show in those of ``scores``); where one is
    out of bounds, the two checks run again for their messages. ``targets`` are compared as floats of the
    scores' precision (at least float32): exact below ``2^24``.

    Raises:
        TypeError: as :func:`check_integer_range`.
        ValueError: as either check.

    Example:
        >>> check_finite_and_range(torch.tensor([0.5, -1.0]), torch.tensor([0, 2]), 0, 1)
        Traceback (most recent call last):
        ...
        ValueError: `targets` must have values in [0, 1], but got values in [0, 2].
    """
    _check_integer_dtype(names[1], targets, allow_bool)
    scored = scores.numel() > 0
    extremes: list[torch.Tensor] = list(torch.aminmax(scores.detach())) if scored else []
    if scores.dtype not in (torch.float32, torch.float64):
        extremes = [value.float() for value in extremes]
    ranged = targets.numel() > 0 and targets.dtype != torch.bool
    if ranged:
        extremes += torch.aminmax(targets)
    if not extremes:
        return
    values = torch.stack(extremes).tolist()
    if scored and not (math.isfinite(values[0]) and math.isfinite(values[1])):
        check_finite(names[0], scores)
    if ranged and (values[-2] < low or values[-1] > high):
        check_integer_range(names[1], targets, low, high, allow_bool)


def _check_integer_dtype(name: str, value: torch.Tensor, allow_bool: bool) -> None:
    kinds = "an integer or bool" if allow_bool else "an integer"
    if value.is_floating_point() or value.is_complex() or (value.dtype == torch.bool and not allow_bool):
        raise TypeError(f"`{name}` must be {kinds} tensor, but got {value.dtype}.")


def check_integer_range(name: str, value: torch.Tensor, low: int, high: int, allow_bool: bool = True) -> None:
    """Raise unless ``value`` is an integer (or bool) tensor with every entry in ``[low, high]`` (one sync).

    Raises:
        TypeError: for a floating-point or complex dtype, or bool when ``allow_bool`` is false.
        ValueError: for an entry out of range, naming the smallest and largest received.
    """
    _check_integer_dtype(name, value, allow_bool)
    if value.numel() == 0 or value.dtype == torch.bool:
        return
    low_high = torch.aminmax(value)
    lo, hi = int(low_high.min), int(low_high.max)
    if lo < low or hi > high:
        raise ValueError(f"`{name}` must have values in [{low}, {high}], but got values in [{lo}, {hi}].")


def check_same_device(reference_name: str, reference: torch.Tensor, **others: torch.Tensor) -> None:
    """Raise ``ValueError`` if a tensor in ``others`` is on another device than ``reference``."""
    for name, value in others.items():
        if value.device != reference.device:
            raise ValueError(
                f"`{name}` must be on the device of `{reference_name}` ({reference.device}), but got {value.device}."
            )


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` if it is a bool, else raise ``TypeError`` (an int or a string is not taken for one)."""
    if not isinstance(value, bool):
        raise TypeError(f"`{name}` must be a bool, but got {type(value).__name__} {value!r}.")
    return value


def check_instance(name: str, value: object, kind: type, expected: str) -> None:
    """Raise ``TypeError`` naming ``expected`` unless ``value`` is an instance of ``kind`` (abstract classes too).

    Example:
        >>> check_instance("generator", "seed", torch.Generator, "a torch.Generator")
        Traceback (most recent call last):
        ...
        TypeError: `generator` must be a torch.Generator, but got str 'seed'.
    """
    if isinstance(value, type) and issubclass(value, kind):
        raise TypeError(
            f"`{name}` must be {expected}, but got the class {value.__name__}; pass an instance: {value.__name__}()."
        )
    if not isinstance(value, kind):
        raise TypeError(f"`{name}` must be {expected}, but got {type(value).__name__} {_short_repr(value)}.")


def check_at_most(name: str, value: int, bound_name: str, bound: int) -> int:
    """Return ``value`` if it is at most ``bound`` (the value of argument ``bound_name``), else raise ``ValueError``."""
    if value > bound:
        raise ValueError(f"`{name}` must be at most `{bound_name}` ({bound}), but got {value}.")
    return value


def _short_repr(value: object, limit: int = 60) -> str:
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
        return value.__qualname__  # not "<function f at 0x...>"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# Primitive validators of plain (non-tensor) arguments, moved here from ``train/config.py`` and ``models/_checks.py``.


def check_choice(name: str, value: object, choices: Sequence[object]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``, listing them.

    Example:
        >>> check_choice("optimizer", "sgd", ("sgd", "adam"))
        >>> check_choice("optimizer", "lbfgs", ("sgd", "adam"))
        Traceback (most recent call last):
        ...
        ValueError: `optimizer` must be one of ['sgd', 'adam'], but got 'lbfgs'.
    """
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {list(choices)}, but got {value!r}.")


def check_nonnegative(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite number ``>= 0``, else raise.

    Raises:
        TypeError: if ``value`` is not a real number.
        ValueError: if it is negative or not finite.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"`{name}` must be a non-negative float, but got {type(value).__name__} {value!r}.")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"`{name}` must be a non-negative float, but got {value!r}.")
    return float(value)


def check_positive_int_sequence(name: str, value: object) -> tuple[int, ...]:
    """Return ``value`` as a tuple if it is a sequence of positive ints (it may be empty), else raise.

    Raises:
        TypeError: if ``value`` is not a sequence (a string is not one), or an item is not an int.
        ValueError: if an item is below 1, naming it as ``name[index]``.

    Example:
        >>> check_positive_int_sequence("hidden", [500, 300])
        (500, 300)
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"`{name}` must be a sequence of positive ints, but got {type(value).__name__} {value!r}.")
    for index, item in enumerate(value):
        check_positive_int(f"{name}[{index}]", item)
    return tuple(value)


def check_device(name: str, value: object) -> None:
    """Raise unless ``value`` is ``"auto"`` or a device name ``torch.device`` accepts (``"cpu"``, ``"cuda:1"``).

    Raises:
        TypeError: if ``value`` is not a str.
        ValueError: if ``torch.device`` rejects it.
    """
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a str, but got {type(value).__name__} {value!r}.")
    if value == "auto":
        return
    try:
        torch.device(value)
    except RuntimeError:
        raise ValueError(f"`{name}` must be 'auto', 'cpu', 'cuda' or 'cuda:N', but got {value!r}.") from None


def check_image_batch(name: str, value: torch.Tensor, channels: int) -> None:
    """Raise ``ValueError`` unless ``value`` has shape ``(B, channels, H, W)``.

    Example:
        >>> check_image_batch("inputs", torch.zeros(2, 1, 8, 8), channels=3)
        Traceback (most recent call last):
        ...
        ValueError: `inputs` must have shape (B, 3, H, W), but got (2, 1, 8, 8).
    """
    if value.ndim != 4 or value.shape[1] != channels:
        raise ValueError(f"`{name}` must have shape (B, {channels}, H, W), but got {tuple(value.shape)}.")
