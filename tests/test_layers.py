"""The layers of ``src/uniloss`` only point down, and no module imports a private module or name of another package.

The check is ``benchmarks/import_graph.py`` (``python -m benchmarks.import_graph`` prints the graph by layer).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "import_graph.py"
_SPEC = importlib.util.spec_from_file_location("import_graph", _PATH)
assert _SPEC is not None
assert _SPEC.loader is not None
import_graph = importlib.util.module_from_spec(_SPEC)
sys.modules["import_graph"] = import_graph  # dataclasses look their module up
_SPEC.loader.exec_module(import_graph)


def _without_line(problem: str) -> str:
    return re.sub(r"^([^:]+):\d+: ", r"\1: ", problem)


def test_no_upward_or_private_cross_package_import():
    _edges, problems = import_graph.collect()
    found = {_without_line(problem) for problem in problems}
    assert not found, "imports that break the layers:\n" + "\n".join(sorted(found))


def test_every_package_has_a_layer_and_the_graph_prints_them_all():
    edges, _problems = import_graph.collect()
    text = import_graph.render(edges)
    for package in import_graph.LAYER:
        assert re.search(rf"^  {re.escape(package)} +-> ", text, re.MULTILINE), package
    assert "  engine          -> core, anchors, interpolators, relaxations, metrics, distributed" in text


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    base = {"__init__.py": "", "core/__init__.py": "", "metrics/__init__.py": ""}
    for name, text in {**{f"uniloss/{key}": value for key, value in base.items()}, **files}.items():
        path = tmp_path / (name if name.startswith("uniloss") else f"uniloss/{name}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"core/checks.py": "from uniloss.metrics import base\n", "metrics/base.py": ""}, "upward import"),
        ({"core/checks.py": "def f():\n    import uniloss.metrics.base\n", "metrics/base.py": ""}, "upward import"),
        ({"core/checks.py": "X = 'uniloss.metrics.base'\n", "metrics/base.py": ""}, "upward import"),
        ({"metrics/ap.py": "from uniloss.core._private import x\n", "core/_private.py": ""}, "private _private"),
        ({"metrics/ap.py": "from uniloss.core.checks import _helper\n", "core/checks.py": ""}, "private _helper"),
        ({"metrics/ap.py": "from ..core.checks import _helper\n", "core/checks.py": ""}, "private _helper"),
    ],
    ids=["upward", "upward-in-function", "upward-by-name", "private-module", "private-name", "relative"],
)
def test_the_check_catches(tmp_path, files, expected):
    _edges, problems = import_graph.collect(_tree(tmp_path, files))
    assert any(expected in problem for problem in problems), problems


_LAB = {"uniloss_lab/__init__.py": "", "uniloss_lab/train/__init__.py": ""}


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({**_LAB, "metrics/ap.py": "import uniloss_lab.train\n"}, "upward import of uniloss_lab.train"),
        ({**_LAB, "engine/loss.py": "from uniloss_lab import train\n"}, "upward import of uniloss_lab.train"),
        (
            {
                **_LAB,
                "uniloss_lab/train/loop.py": "from uniloss.metrics._ranking import x\n",
                "metrics/_ranking.py": "",
            },
            "private _ranking",
        ),
    ],
    ids=["library-imports-lab", "library-imports-lab-from", "lab-imports-library-private"],
)
def test_the_lab_boundary(tmp_path, files, expected):
    _edges, problems = import_graph.collect(_tree(tmp_path, files))
    assert any(expected in problem for problem in problems), problems


def test_the_library_imports_and_trains_with_torch_alone(tmp_path):
    """``import uniloss`` and a loss step work with the lab's dependencies (and the lab) made unimportable."""
    code = (
        "import sys\n"
        "sys.modules.update(dict.fromkeys(['numpy', 'sklearn', 'matplotlib', 'PIL', 'tqdm', 'uniloss_lab']))\n"
        "import torch, uniloss\n"
        "scores = torch.randn(16, requires_grad=True)\n"
        "uniloss.UniLoss(uniloss.metrics.AveragePrecision())(scores, torch.arange(16) % 2).backward()\n"
        "loaded = [m for m, module in sys.modules.items() if module and m.split('.')[0] in {'numpy', 'uniloss_lab'}]\n"
        "print(sorted(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_check_accepts_own_package_private_and_downward_public_imports(tmp_path):
    files = {
        "metrics/_ranking.py": "from uniloss.core.checks import check\n",
        "metrics/ap.py": "'uniloss.metrics._ranking'\nfrom uniloss.metrics._ranking import _helper\n",
        "core/checks.py": "",
    }
    edges, problems = import_graph.collect(_tree(tmp_path, files))
    assert problems == []
    assert len(edges) == 2  # the docstring is not an import


def test_a_package_without_a_layer_is_refused(tmp_path):
    with pytest.raises(SystemExit, match=r"packages without a layer in LAYERS: \['plugins'\]"):
        import_graph.collect(_tree(tmp_path, {"plugins/x.py": ""}))


def test_no_source_file_is_over_500_lines():
    lengths = {
        str(path.relative_to(import_graph.SRC)): len(path.read_text().splitlines())
        for top in import_graph.ROOTS
        for path in (import_graph.SRC / top).rglob("*.py")
    }
    long = {name for name, count in lengths.items() if count > 500}
    assert not long, {name: lengths[name] for name in sorted(long)}
