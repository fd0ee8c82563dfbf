"""The fenced ``python`` blocks of the Markdown docs, and two ways of running them, each block on its own.

``run_each_block`` starts one interpreter for some files and runs each of their blocks in a fresh namespace
(the default test run: one import of torch for all); ``run_block`` starts a fresh interpreter for one block
(the ``slow`` tests). Both run in
``cwd``, so a block that writes a file writes it there.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FENCE = r"^```python\n(.*?)^```"

_DRIVER = f"""
import re, sys, traceback
from pathlib import Path

import uniloss

failed = []
for path in map(Path, sys.argv[1:]):
    blocks = re.findall({FENCE!r}, path.read_text(), flags=re.S | re.M)
    for index, block in enumerate(blocks, 1):
        registered = dict(uniloss.METRICS)
        print(f"--- {{path.name}} block {{index}}", flush=True)
        try:
            exec(compile(block, f"{{path.name}} (block {{index}})", "exec"), {{"__name__": "__main__"}})
        except BaseException:
            traceback.print_exc(file=sys.stdout)
            failed.append(f"{{path.name}} block {{index}}")
        finally:  # a block may register a metric of its own
            uniloss.METRICS.clear()
            uniloss.METRICS.update(registered)
        sys.stdout.flush()
print(f"--- failed: {{failed}}")
sys.exit(1 if failed else 0)
"""


def python_blocks(path: Path) -> list[str]:
    """The code of every fenced ``python`` block of a Markdown file, in order."""
    return re.findall(FENCE, path.read_text(), flags=re.S | re.M)


def run_each_block(paths: list[Path], cwd: Path) -> subprocess.CompletedProcess:
    """Run every block of ``paths`` in one new interpreter, each block in a fresh namespace, in order."""
    command = [sys.executable, "-c", _DRIVER, *map(str, paths)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)


def run_block(block: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run one block in a new interpreter, as ``python -c BLOCK``."""
    return subprocess.run([sys.executable, "-c", block], cwd=cwd, capture_output=True, text=True, timeout=600)


def printed_by(result: subprocess.CompletedProcess, path: Path) -> dict[int, str]:
    """What each block of ``path`` printed in a run of :func:`run_each_block`, by block number (from 1)."""
    outputs: dict[int, str] = {}
    current = None
    for line in result.stdout.splitlines(keepends=True):
        if line.startswith("--- "):
            name, _, number = line[4:].strip().rpartition(" block ")
            current = int(number) if name == path.name else None
            if current is not None:
                outputs[current] = ""
        elif current is not None:
            outputs[current] += line
    return outputs


def failed_blocks(result: subprocess.CompletedProcess) -> list[str] | None:
    """The blocks that raised in a run of :func:`run_each_block` (``None`` if the run did not finish)."""
    last = result.stdout.rstrip().rpartition("\n")[2]
    return ast.literal_eval(last.removeprefix("--- failed: ")) if last.startswith("--- failed: ") else None


def report(result: subprocess.CompletedProcess) -> str:
    """What a failed run printed, for the assertion message."""
    return f"exit status {result.returncode}\n{result.stdout}\n{result.stderr}"
