"""The project's import graph, read from the source (ast), every import counted: module-level
and deferred (inside functions) alike, since a deferred import still couples two modules."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "core"
ADDON = ROOT / "blender_addon"
ADDON_PACKAGE = "blender_addon"


def modules(package_dir: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of a package."""
    out = {}
    for path in sorted(package_dir.rglob("*.py")):
        rel = path.relative_to(package_dir).with_suffix("")
        parts = [package, *rel.parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path) -> Iterator[str]:
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                if not is_package:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target
            yield from (f"{target}.{a.name}" for a in node.names)


def graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (packages resolved to their ``__init__``)."""
    known = {**modules(CORE / "diffusiontalker", "diffusiontalker"), **modules(ADDON, ADDON_PACKAGE)}
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = set()
        for target in _imports(name, path):
            # a module's own packages are imported before it: not an edge of the graph
            if target in known and target != name and not name.startswith(target + "."):
                targets.add(target)
        edges[name] = targets
    return edges


def raw_imports(name: str, path: Path) -> set[str]:
    """Every absolute module name a file imports (project or not)."""
    return set(_imports(name, path))


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found
