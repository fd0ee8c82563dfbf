"""Output folders and files: no command replaces a finished run, a benchmark or a report unless asked to.

A folder holds a run of a kind when it holds one of that kind's files (:data:`OUTPUT_FILES`). Writing into it
needs ``resume`` (continue what is there; kinds in :data:`RESUME_FILES` only) or ``overwrite`` (replace it); a
``resume`` with nothing to continue is an error naming the folder. Also the label that progress lines give a
run (:func:`run_label`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["OUTPUT_FILES", "RESUME_FILES", "check_file", "check_output", "run_label"]

OUTPUT_FILES: dict[str, tuple[str, ...]] = {
    "train": ("checkpoint.pt", "history.json"),
    "compare": ("results.json", "*/*/checkpoint.pt", "*/*/history.json"),
    "diagnose": ("diagnostic.json", "diagnostic.png"),
    "report": ("results.md",),
}
"""Per kind of output, the files (glob patterns relative to the folder) that show that a folder holds one."""

RESUME_FILES: dict[str, tuple[str, ...]] = {
    "train": ("checkpoint.pt",),
    "compare": ("results.json", "*/*/checkpoint.pt"),
}
"""Per resumable kind, the files of which one must exist to continue."""

_NAMES = {
    "train": "a training run",
    "compare": "a comparison",
    "diagnose": "a diagnostic",
    "report": "a report",
}


def _found(folder: Path, patterns: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for pattern in patterns:
        found.extend(str(path.relative_to(folder)) for path in sorted(folder.glob(pattern)) if path.is_file())
    return found


def check_output(
    folder: str | Path | None, resume: bool = False, overwrite: bool = False, what: str = "train", clear: bool = False
) -> bool:
    """Refuse to write ``what`` into a folder that already holds one, unless asked to continue or replace it.

    Formally, with ``found`` the files of :data:`OUTPUT_FILES` ``[what]`` in ``folder``: ``resume`` needs one of
    :data:`RESUME_FILES` ``[what]``; otherwise ``found`` must be empty unless ``overwrite``. With ``overwrite``
    and ``clear`` the files of ``what`` named without a wildcard are deleted, so that an interrupted
    replacement never leaves the old output behind to be continued by mistake (only the caller that writes,
    process 0 of a distributed run, passes ``clear``). Nothing is created.

    Args:
        folder: the output folder; ``None`` when nothing is written (then ``resume`` and ``overwrite`` must be
            False).
        resume: continue the output in ``folder``.
        overwrite: replace the output in ``folder``.
        what: the kind of output, a key of :data:`OUTPUT_FILES`.
        clear: with ``overwrite``, delete the old output's files now.

    Returns:
        Whether there is something to continue (``resume`` and a file of :data:`RESUME_FILES` found).

    Raises:
        TypeError: if ``resume``, ``overwrite`` or ``clear`` is not a bool.
        ValueError: for an unknown ``what``, ``resume`` and ``overwrite`` both set, either set without a folder
            or ``resume`` for a kind that cannot be continued, ``resume`` with nothing to continue, or a folder
            that already holds ``what`` without either.

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> check_output(folder)  # empty: a new run may start
        False
        >>> _ = (folder / "checkpoint.pt").write_bytes(b"")
        >>> check_output(folder)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: `out` '...' already holds a training run (checkpoint.pt); set `resume` to continue it or ...
        >>> check_output(folder, resume=True), check_output(folder, overwrite=True)
        (True, False)
    """
    for name, value in (("resume", resume), ("overwrite", overwrite), ("clear", clear)):
        if not isinstance(value, bool):
            raise TypeError(f"`{name}` must be a bool, but got {type(value).__name__} {value!r}.")
    if what not in OUTPUT_FILES:
        raise ValueError(f"`what` must be one of {sorted(OUTPUT_FILES)}, but got {what!r}.")
    if resume and overwrite:
        raise ValueError("`resume` (continue) and `overwrite` (replace) exclude each other, but got both.")
    if resume and what not in RESUME_FILES:
        raise ValueError(f"`resume` is not possible for {_NAMES[what]} (it cannot be continued), but got True.")
    if folder is None:
        if resume or overwrite:
            option = "resume" if resume else "overwrite"
            raise ValueError(f"`{option}` needs an `out` folder, but `out` is None.")
        return False
    path = Path(folder)
    if resume:
        if not _found(path, RESUME_FILES[what]):
            wanted = " or ".join(str(path / pattern) for pattern in RESUME_FILES[what])
            raise ValueError(
                f"`resume` found nothing to continue in `out` {str(path)!r} (no {wanted}); check the folder, "
                "or drop `resume` to start a new run."
            )
        return True
    found = _found(path, OUTPUT_FILES[what])
    if found and not overwrite:
        shown = ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
        advice = "set `resume` to continue it or `overwrite`" if what in RESUME_FILES else "set `overwrite`"
        raise ValueError(f"`out` {str(path)!r} already holds {_NAMES[what]} ({shown}); {advice} to replace it.")
    if overwrite and clear:
        for name in OUTPUT_FILES[what]:
            if "*" not in name:
                (path / name).unlink(missing_ok=True)
    return False


def check_file(path: str | Path | None, overwrite: bool = False, name: str = "markdown") -> None:
    """Refuse to replace an existing file ``path`` (argument ``name``) unless ``overwrite``.

    Raises:
        ValueError: if ``path`` exists, is not a file, or is a file and ``overwrite`` is False.

    Example:
        >>> import tempfile, pathlib
        >>> file = pathlib.Path(tempfile.mkdtemp()) / "results.md"
        >>> check_file(file)  # new: may be written
        >>> _ = file.write_text("mine")
        >>> check_file(file)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: `markdown` '...' already exists; set `overwrite` to replace it.
    """
    if path is None:
        return
    target = Path(path)
    if target.exists() and not target.is_file():
        raise ValueError(f"`{name}` must be a file, but {str(target)!r} is a folder or another kind of file.")
    if target.exists() and not overwrite:
        raise ValueError(f"`{name}` {str(target)!r} already exists; set `overwrite` to replace it.")


def run_label(config: Any, loss_name: str | None = None) -> str:
    """How progress lines name a run: setting, loss, seed and learning rate.

    Args:
        config: the run's :class:`~uniloss_lab.train.config.TrainConfig`.
        loss_name: the name of the loss trained, or ``None`` for that of ``config.loss`` (``UniLoss``, the
            task's baseline or the peer's name); a run with its own ``criterion`` passes the criterion's name.

    Example:
        >>> from uniloss_lab.train.config import TrainConfig
        >>> run_label(TrainConfig(positive_class=8, loss="baseline", seed=2))
        'ap-digits-class8 binary cross-entropy seed 2 lr 0.001'
    """
    name = f"{config.task}-{config.dataset_name}"
    if config.task in ("ap", "f1"):
        name += f"-class{config.positive_class}"
    if config.memory:
        name += f"-memory{config.memory}"
    if loss_name is None:
        names = {"uniloss": "UniLoss", "baseline": config.baseline_name}
        loss_name = names.get(config.loss, config.loss)  # a peer by its name
    return f"{name} {loss_name} seed {config.seed} lr {config.lr:g}"
