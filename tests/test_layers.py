"""The layers of ``src/uniloss`` only point down, and no module imports a private module or name of another package.

The check is ``benchmarks/import_graph.py`` (``python -m benchmarks.import_graph`` prints the graph by layer).
"""

from __future__ import annotations

import importlib.util
import re
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

KNOWN_VIOLATIONS = {
    # train lane (issue 12, upper half): diagnose() reuses the loop's private optimizer factory.
    "reports/diagnostic.py: private _make_optimizer of another package (uniloss.train.loop)",
    # train lane: the loop and the bench reach the public API through the package root, the top layer.
    "train/loop.py: upward import of uniloss (train -> __init__)",
    "train/bench.py: upward import of uniloss (train -> __init__)",
    # cli lane: the command line does the same.
    "cli/app.py: upward import of uniloss (cli -> __init__)",
}
"""Violations that other lanes are removing; the coordinator deletes each entry when its fix is merged."""


def _without_line(problem: str) -> str:
    return re.sub(r"^([^:]+):\d+: ", r"\1: ", problem)


def test_no_upward_or_private_cross_package_import_but_the_known_ones():
    _edges, problems = import_graph.collect()
    found = {_without_line(problem) for problem in problems}
    new = sorted(found - KNOWN_VIOLATIONS)
    assert not new, "imports that break the layers:\n" + "\n".join(new)
    fixed = sorted(KNOWN_VIOLATIONS - found)
    assert not fixed, "fixed, remove from KNOWN_VIOLATIONS:\n" + "\n".join(fixed)


def test_every_package_has_a_layer_and_the_graph_prints_them_all():
    edges, _problems = import_graph.collect()
    text = import_graph.render(edges)
    for package in import_graph.LAYER:
        assert re.search(rf"^  {re.escape(package)} +-> ", text, re.MULTILINE), package
    assert "  engine        -> core, anchors, interpolators, relaxations, metrics, distributed" in text


@pytest.mark.parametrize("shim", sorted(import_graph.DEPRECATED_SHIMS))
def test_each_skipped_shim_exists_and_loads_its_moved_objects_by_name(shim):
    path = import_graph.SRC / shim
    assert path.is_file()
    modules = {import_graph.module_name(file) for file in import_graph.SRC.rglob("*.py")}
    targets = {edge.target for edge in import_graph.imports_of(path, modules)}
    assert targets, f"{shim} loads nothing by name: drop it from DEPRECATED_SHIMS"


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "uniloss"
    for name, text in {"__init__.py": "", "core/__init__.py": "", "metrics/__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


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


KNOWN_LONG = {"train/loop.py", "train/config.py"}
"""Files over the limit that the train lane is splitting; the coordinator deletes each entry when merged."""


def test_no_source_file_is_over_500_lines():
    lengths = {
        str(path.relative_to(import_graph.SRC)): len(path.read_text().splitlines())
        for path in import_graph.SRC.rglob("*.py")
    }
    long = {name for name, count in lengths.items() if count > 500}
    assert not long - KNOWN_LONG, {name: lengths[name] for name in sorted(long - KNOWN_LONG)}
    assert not KNOWN_LONG - long, f"now short, remove from KNOWN_LONG: {sorted(KNOWN_LONG - long)}"
