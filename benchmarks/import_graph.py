"""The import graph of ``src/uniloss`` by layer; fails on an upward import or a private cross-package import.

Run ``python -m benchmarks.import_graph`` or ``python benchmarks/import_graph.py`` from the repository root. It
reads every module with ``ast`` (nothing is imported), prints each layer's packages with the packages they
import, then every violation, and exits with status 1 if there is one. ``tests/test_layers.py`` runs the same
check.

Rules (DESIGN.md section 4): a module imports only its own package or packages of its layer or below, and never
a private (``_name``) module or name of another package. Packages of one layer may import each other's public
API (the four parts). Imports inside functions count, and so does a string constant that is the dotted name of a
uniloss module (what ``importlib.import_module`` would load); the deprecated shims, which load the moved objects
that way, are listed in ``DEPRECATED_SHIMS`` and skipped.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
"""The folder holding both top-level packages: the library ``uniloss`` and its lab ``uniloss_lab``."""

ROOTS = ("uniloss", "uniloss_lab")
"""The top-level packages; a package of the lab is named ``lab.NAME`` in the layers."""

LAYERS: tuple[tuple[str, ...], ...] = (
    ("core", "version"),
    ("relaxations", "anchors", "interpolators"),
    ("metrics",),
    ("traced",),
    ("engine", "distributed"),
    ("verify", "presets", "exact", "monitor"),
    ("__init__",),
    ("lab.data", "lab.models"),
    ("lab.train",),
    ("lab.reports",),
    ("lab.cli",),
    ("lab.__init__",),
)
"""Packages from the lowest layer to the highest: the library's, then the lab's (which sits above all of them)."""

LAYER = {package: level for level, packages in enumerate(LAYERS) for package in packages}


@dataclass(frozen=True)
class Import:
    """One import of a uniloss module (or of a name from one) by a module under ``src``."""

    source: str
    """The importing file, relative to ``src`` (``uniloss/engine/loss.py``)."""
    line: int
    target: str
    """The imported module, dotted (``uniloss.metrics.base``)."""
    names: tuple[str, ...] = ()
    """The names imported from it (``from target import names``)."""


def module_name(path: Path, root: Path = SRC) -> str:
    """``uniloss.engine.loss`` for ``uniloss/engine/loss.py`` (a package's ``__init__.py`` gives the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(module: str) -> str:
    """``engine`` for ``uniloss.engine.loss``, ``__init__`` for ``uniloss``, ``lab.train`` for ``uniloss_lab.train``."""
    parts = module.split(".")
    package = parts[1] if len(parts) > 1 else "__init__"
    return package if parts[0] == "uniloss" else f"lab.{package}"


def _docstrings(tree: ast.Module) -> set[int]:
    """``id`` of every docstring node (module, class, function)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _names_a_module(node: ast.AST, modules: set[str], docstrings: set[int]) -> bool:
    """Whether ``node`` is a string constant (not a docstring) that is the dotted name of a uniloss module."""
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and "." in node.value
        and node.value in modules
        and id(node) not in docstrings
    )


def imports_of(path: Path, modules: set[str], root: Path = SRC) -> Iterator[Import]:
    """Every import of a uniloss module in the file ``path`` (``modules``: the names of all uniloss modules)."""
    source = str(path.relative_to(root))
    tree = ast.parse(path.read_text(), filename=str(path))
    this = module_name(path, root)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    docstrings = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in ROOTS:
                    yield Import(source, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x, from ..core import y
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base.split(".")[0] not in ROOTS:
                continue
            submodules = [alias.name for alias in node.names if f"{base}.{alias.name}" in modules]
            for name in submodules:  # from uniloss import engine: the module uniloss.engine
                yield Import(source, node.lineno, f"{base}.{name}")
            names = tuple(alias.name for alias in node.names if alias.name not in submodules)
            if names:
                yield Import(source, node.lineno, base, names)
        elif _names_a_module(node, modules, docstrings) and node.value != this:  # a module loaded by name
            yield Import(source, node.lineno, node.value)


def _private(parts: Iterable[str]) -> list[str]:
    return [part for part in parts if part.startswith("_") and not (part.startswith("__") and part.endswith("__"))]


def violations_of(edge: Import, root: Path = SRC) -> list[str]:
    """Why ``edge`` breaks the layering (empty if it does not)."""
    source_package = package_of(module_name(root / edge.source, root))
    target_package = package_of(edge.target)
    if source_package == target_package:
        return []
    where = f"{edge.source}:{edge.line}"
    found = []
    if LAYER[target_package] > LAYER[source_package]:
        found.append(f"{where}: upward import of {edge.target} ({source_package} -> {target_package})")
    private = _private(edge.target.split(".")[1:]) + _private(edge.names)
    if private:
        found.append(f"{where}: private {', '.join(private)} of another package ({edge.target})")
    return found


def collect(root: Path = SRC) -> tuple[list[Import], list[str]]:
    """Every import between the modules of both packages, and every violation (``file:line: why``)."""
    files = sorted(path for top in ROOTS for path in (root / top).rglob("*.py"))
    modules = {module_name(path, root) for path in files}
    unknown = sorted({package_of(name) for name in modules} - set(LAYER))
    if unknown:
        raise SystemExit(f"packages without a layer in LAYERS: {unknown}")
    edges, problems = [], []
    for path in files:
        for edge in imports_of(path, modules, root):
            edges.append(edge)
            problems.extend(violations_of(edge, root))
    return edges, problems


def render(edges: list[Import]) -> str:
    """The packages of each layer, highest first, with the packages each imports."""
    uses: dict[str, set[str]] = {}
    for edge in edges:
        source, target = package_of(module_name(SRC / edge.source)), package_of(edge.target)
        uses.setdefault(source, set())
        if target != source:
            uses[source].add(target)
    lines = []
    for level in reversed(range(len(LAYERS))):
        lines.append(f"layer {level}")
        for package in LAYERS[level]:
            targets = sorted(uses.get(package, ()), key=lambda name: (LAYER[name], name))
            lines.append(f"  {package:<15} -> {', '.join(targets) if targets else '(nothing of uniloss)'}")
    return "\n".join(lines)


def main() -> int:
    edges, problems = collect()
    print(render(edges))
    print(f"\n{len(edges)} imports, {len(problems)} violations")
    for problem in problems:
        print(f"  {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
