"""warn_user outside a script file: ``python -c``, standard input, the interactive interpreter, an IPython kernel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")

# Line 2 warns three times (once shown); line 3 warns from the loss (a batch without a positive).
CODE = """import torch, uniloss; from uniloss.core.user_warnings import warn_user
for _ in range(3): warn_user("careful")
uniloss.UniLoss(uniloss.metrics.AveragePrecision())(torch.randn(8), torch.zeros(8, dtype=torch.long))
print("done")
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _run(args: list[str], stdin: str | None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], input=stdin, capture_output=True, text=True, env=_env(), timeout=120, check=False
    )


@pytest.mark.parametrize(
    ("args", "stdin", "filename", "lines"),
    [
        (["-c", CODE], None, "<string>", (2, 3)),
        (["-"], CODE, "<stdin>", (2, 3)),
        (["-i"], CODE.replace('"careful")\n', '"careful")\n\n'), "<stdin>", (1, 1)),  # a blank line ends the loop
    ],
    ids=["python-c", "stdin", "interactive"],
)
def test_warnings_point_at_the_users_line_without_a_source_file(args, stdin, filename, lines):
    result = _run(args, stdin)
    assert "Traceback" not in result.stderr, result.stderr  # (the defect: ImportError from warn_explicit)
    assert "done" in result.stdout
    assert result.stderr.count("UserWarning: careful") == 1  # once per line
    assert f"{filename}:{lines[0]}: UserWarning: careful" in result.stderr
    assert f"{filename}:{lines[1]}: UserWarning: AveragePrecision" in result.stderr  # the user's line, not uniloss's


def test_warnings_show_in_an_ipython_kernel():
    manager_module = pytest.importorskip("jupyter_client.manager")
    pytest.importorskip("ipykernel")
    manager, client = manager_module.start_new_kernel(kernel_name="python3", env=_env())
    try:
        stderr, errors = [], []

        def collect(message):
            content = message["content"]
            if message["msg_type"] == "stream" and content["name"] == "stderr":
                stderr.append(content["text"])
            elif message["msg_type"] == "error":
                errors.append(content["ename"])

        client.execute_interactive(CODE, timeout=120, output_hook=collect)
        text = "".join(stderr)
        assert not errors, (errors, text)
        assert text.count("UserWarning: careful") == 1
        assert "UserWarning: AveragePrecision" in text
        assert "uniloss/" not in text  # attributed to the cell, not to uniloss
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
