"""The distribution: every import declared, a plain install that generates, extras named.

``pip install diffusiontalker`` (no extras) must run ``diffusiontalker generate`` on the light
path (ONNX Runtime + the shipped ONNX export); a command that needs torch says in one line
which extra to install.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from diffusiontalker.cli import main

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "core"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# import name -> distribution name, where they differ beyond case and '_' vs '-'
DISTRIBUTION_OF: dict[str, str] = {"parselmouth": "praat-parselmouth"}  # import name -> distribution


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def third_party_imports(source: str) -> set[str]:
    """Top-level names of the absolute imports in ``source`` that are not the standard
    library nor this package."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m != "diffusiontalker"}


def declared_distributions(project: dict) -> dict[str, set[str]]:
    """``{"": base requirements, extra: its requirements}`` as normalised distribution names."""
    def names(requirements: list[str]) -> set[str]:
        return {_normalise(re.match(r"[A-Za-z0-9._-]+", r).group()) for r in requirements}

    groups = {"": names(project.get("dependencies", []))}
    for extra, requirements in project.get("optional-dependencies", {}).items():
        groups[extra] = names(requirements)
    return groups


def undeclared(imports: set[str], groups: dict[str, set[str]]) -> set[str]:
    declared = set().union(*groups.values())
    return {m for m in imports if _normalise(DISTRIBUTION_OF.get(m, m)) not in declared}


def test_the_import_check_flags_an_undeclared_module():
    imports = third_party_imports("import os\nimport numpy as np\nfrom scipy import signal\n"
                                  "from .x import y\nfrom diffusiontalker import api\n")
    assert imports == {"numpy", "scipy"}
    assert undeclared(imports, {"": {"numpy"}}) == {"scipy"}
    assert undeclared(imports, {"": {"numpy"}, "synth": {"scipy"}}) == set()


def test_every_third_party_import_in_the_core_is_declared():
    imports: dict[str, list[str]] = {}
    for path in sorted(CORE.rglob("*.py")):
        for module in third_party_imports(path.read_text()):
            imports.setdefault(module, []).append(str(path.relative_to(ROOT)))
    assert {"numpy", "torch", "onnxruntime", "scipy"} <= set(imports)  # the scan sees them
    missing = undeclared(set(imports), declared_distributions(PYPROJECT))
    assert not missing, {m: imports[m] for m in missing}


def test_a_plain_install_has_what_generate_needs_and_no_torch():
    groups = declared_distributions(PYPROJECT)
    assert {"numpy", "onnxruntime", "soundfile"} <= groups[""]  # load_audio reads files with soundfile
    assert "torch" not in groups[""] and "torch" in groups["torch"]


def test_the_licence_is_an_spdx_string():
    # the { text = ... } table is deprecated in setuptools (PEP 639)
    assert PYPROJECT["license"] == "GPL-3.0-or-later"


TORCH_COMMANDS = [
    ["train", "data", "-o", "t.safetensors"],
    ["distill", "t.safetensors", "-o", "s.safetensors", "--data", "data"],
    ["distill-audio", "data", "-o", "a.safetensors", "--teacher", "t.safetensors"],
    ["evaluate", "t.safetensors", "--data", "data"],
    ["export-onnx", "t.safetensors", "-o", "t.onnx"],
    ["check-speech", "clips.json"],
]


@pytest.mark.parametrize("argv", TORCH_COMMANDS, ids=lambda a: a[0])
def test_a_torch_command_without_torch_names_the_extra(argv, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now fails, as uninstalled
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"`diffusiontalker {argv[0]}` needs torch" in err
    assert "pip install 'diffusiontalker[torch]'" in err


def test_synth_without_its_extra_names_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "scipy", None)
    assert main(["synth", "out"]) == 2
    assert "needs scipy" in capsys.readouterr().err.strip()


def test_identities_lists_the_default_model_without_torch(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)
    assert main(["identities"]) == 0
    names = capsys.readouterr().out.split()
    assert "ada" in names and len(names) >= 2


def _run(cmd: list, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                           text=True, timeout=timeout)


@pytest.mark.needs_in_ci
def test_the_wheel_installed_alone_generates(tmp_path):
    """``pip wheel --no-deps .``, installed into a fresh venv with only its base requirements
    (from PyPI or pip's cache; ~30 s), runs ``diffusiontalker generate`` on the bundled
    speech with the shipped ONNX export, and says which extra ``train`` needs."""
    import build

    wheel = build.build_core_wheel(tmp_path / "w")  # from a copy: no shared build/ folder
    venv = tmp_path / "venv"
    made = _run([sys.executable, "-m", "venv", venv], tmp_path)
    assert made.returncode == 0, made.stderr[-3000:]
    installed = _run([venv / "bin" / "python", "-m", "pip", "install", "-q", wheel], tmp_path)
    if installed.returncode != 0 and re.search(r"(?i)connection|resolve|network|no matching",
                                               installed.stderr):
        pytest.skip(f"PyPI is not reachable: {installed.stderr.strip().splitlines()[-1]}")
    assert installed.returncode == 0, installed.stderr[-3000:]
    has_torch = _run([venv / "bin" / "python", "-c", "import importlib.util as u;"
                      "print(u.find_spec('torch') is None)"], tmp_path)
    assert has_torch.stdout.strip() == "True", has_torch.stderr  # the light path, really
    speech = next(venv.glob("lib/python*/site-packages/diffusiontalker/data/demo_speech.wav"))
    done = _run([venv / "bin" / "diffusiontalker", "generate", speech, "-o", "x.npz"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    with np.load(tmp_path / "x.npz") as motion:
        weights = motion["weights"]  # a channel model: (frames, channels)
    assert weights.shape[0] > 30 and np.isfinite(weights).all() and weights.std() > 0
    refused = _run([venv / "bin" / "diffusiontalker", "train", "data", "-o", "t.safetensors"],
                   tmp_path)
    assert refused.returncode == 2
    assert "pip install 'diffusiontalker[torch]'" in refused.stderr


def test_build_py_from_a_python_without_bpy_reruns_with_the_venv():
    """``python build.py`` as the README once wrote it: a Python lacking bpy (here the one the
    venv was made from) hands over to .venv's Python instead of failing."""
    python = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    if not python.is_file() or _run([python, "-c", "import bpy"], ROOT).returncode == 0:
        pytest.skip(f"needs a Python without bpy ({python})")
    if Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
        pytest.skip("the tests do not run in the checkout's .venv")
    done = _run([python, ROOT / "build.py", "--help"], ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "lacks the bpy module; running with" in done.stderr and "--no-light" in done.stdout


def test_build_py_without_a_venv_says_what_to_run(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT))
    try:
        import build
    finally:
        sys.path.remove(str(ROOT))
    monkeypatch.setattr(build, "ROOT", tmp_path)  # a checkout without .venv
    monkeypatch.setattr(build, "_lacks_build_tools", lambda: "the bpy module")
    with pytest.raises(SystemExit, match=r"needs the bpy module: run ./dev.sh python build.py"):
        build.use_project_python([])
    monkeypatch.setattr(build, "_lacks_build_tools", lambda: None)
    build.use_project_python([])  # everything there: nothing happens
