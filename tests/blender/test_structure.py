"""Import structure: the core never imports the add-on, and the add-on's modules import
each other without cycles (static checks of the sources: no bpy needed)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _relative_imports(path: Path) -> set[str]:
    """The sibling modules ``path`` imports relatively (at any depth: lazy imports count)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                out.add(node.module.split(".")[0])
            else:
                out.update(a.name for a in node.names)
    return out


def test_addon_modules_import_without_cycles():
    folder = ROOT / "blender_addon"
    modules = {p.stem: p for p in folder.glob("*.py") if p.stem != "__init__"}
    graph = {name: _relative_imports(path) & set(modules) for name, path in modules.items()}
    assert "prefs" not in graph["model_cache"]  # the cycle model_cache <-> prefs is gone

    def visit(name, stack):
        assert name not in stack, "import cycle: " + " -> ".join([*stack, name])
        for dep in sorted(graph[name]):
            visit(dep, [*stack, name])

    for name in sorted(graph):
        visit(name, [])


def test_core_never_imports_the_addon():
    """No module of the core imports ``blender_addon`` (or loads it under another name)."""
    core = ROOT / "core" / "diffusiontalker"
    assert not (core / "commands" / "_addon.py").exists()
    for path in core.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] in ("blender_addon", "diffusiontalker_blender")
                           for n in names), f"{path} imports the add-on"
        text = path.read_text()
        assert "import_addon" not in text and "diffusiontalker_blender" not in text, path
