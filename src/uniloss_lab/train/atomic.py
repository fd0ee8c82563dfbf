"""The one atomic file write of uniloss: checkpoints, ``history.json`` and benchmark ``results.json``."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

__all__ = ["write_atomic", "write_json"]


def write_atomic(path: str | Path, data: bytes | Callable[[IO[bytes]], Any]) -> Path:
    """Write ``path`` through a temporary file in the same folder and ``os.replace``: never a half-written file.

    Formally the bytes go to ``.<name>.tmp`` beside ``path``, which is flushed and synced, renamed over ``path``,
    and then the folder is synced. A process killed at any moment leaves either the old file or the new one (and
    perhaps a stale temporary file, overwritten by the next write); a power cut does too.

    Args:
        path: the file to write (its folder must exist).
        data: the bytes, or a function that writes them to the open binary file it is given (e.g. ``torch.save``).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Example:
        >>> import tempfile
        >>> target = write_atomic(Path(tempfile.mkdtemp()) / "a.txt", b"hello")
        >>> target.read_bytes(), sorted(path.name for path in target.parent.iterdir())
        (b'hello', ['a.txt'])
    """
    target = Path(path)
    temporary = target.with_name(f".{target.name}.tmp")
    with open(temporary, "wb") as handle:
        if isinstance(data, bytes):
            handle.write(data)
        else:
            data(handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    _fsync_folder(target.parent)
    return target


def write_json(path: str | Path, payload: Any) -> Path:
    """Write ``payload`` as indented JSON (NaN allowed) with :func:`write_atomic`.

    Example:
        >>> import tempfile
        >>> import json
        >>> json.loads(write_json(Path(tempfile.mkdtemp()) / "h.json", {"loss": [float("nan")]}).read_text())
        {'loss': [nan]}
    """
    return write_atomic(path, json.dumps(payload, indent=1, allow_nan=True).encode())


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
