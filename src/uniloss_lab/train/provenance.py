"""Where a result came from: the commit of the checkout that made it, read from ``.git`` without running git."""

from __future__ import annotations

from pathlib import Path

__all__ = ["source_commit"]


def source_commit(start: str | Path | None = None) -> str | None:
    """The commit checked out in the git repository holding ``start`` (default: this package), read from ``.git``.

    Reads ``HEAD`` and the ref it names (loose or packed) without running git; ``None`` outside a repository.
    """
    folder = Path(start if start is not None else __file__).resolve()
    for candidate in (folder, *folder.parents):
        git = candidate / ".git"
        if git.is_file():  # a worktree or submodule: "gitdir: PATH"
            text = git.read_text().strip()
            if text.startswith("gitdir:"):
                git = (candidate / text.split(":", 1)[1].strip()).resolve()
        if not git.is_dir():
            continue
        try:
            head = (git / "HEAD").read_text().strip()
            if not head.startswith("ref:"):
                return head or None
            ref = head.split(":", 1)[1].strip()
            common = git
            if (git / "commondir").is_file():
                common = (git / (git / "commondir").read_text().strip()).resolve()
            for base in (git, common):
                if (base / ref).is_file():
                    return (base / ref).read_text().strip()
                packed = base / "packed-refs"
                if packed.is_file():
                    for line in packed.read_text().splitlines():
                        if line.endswith(" " + ref):
                            return line.split()[0]
        except OSError:
            return None
        return None
    return None
