"""The light build: onnxruntime instead of torch, one zip per platform within 50 MB, and a
real install that generates with torch unavailable, in bpy 5.0 (Python 3.11) and, where
/work/venv313 (or $DT_PY313_VENV) exists, bpy 5.2 (Python 3.13)."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CHECKPOINT = HERE / "data" / "tiny_channels.safetensors"  # its ONNX export sits beside it
PY313 = Path(os.environ.get("DT_PY313_VENV", "/work/venv313")) / "bin" / "python"


def _name(requirement: str) -> str:
    return re.split(r"[ ;<>=!~\[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


@pytest.fixture(scope="module")
def light_zip(tmp_path_factory) -> Path:
    if not (sys.platform == "linux" and platform.machine() in ("x86_64", "AMD64")):
        pytest.skip("the light-install test runs on linux-x64")
    pytest.importorskip("bpy")  # build.py uses Blender's extension tool from the bpy wheel
    sys.path.insert(0, str(ROOT))
    import build

    try:  # the one step that needs PyPI; the wheels are cached in build/wheels-cache
        build.light_wheels(ROOT / "build" / "wheels-cache", ["linux-x64"])
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"cannot download the onnxruntime wheels: {exc}")
    (zip_path,) = build.build(tmp_path_factory.mktemp("light"), light=True, platforms=["linux-x64"])
    return zip_path


def test_light_zip_is_small_and_bundles_what_blender_lacks(light_zip):
    assert light_zip.stat().st_size <= 50 * 1000 * 1000
    names = zipfile.ZipFile(light_zip).namelist()
    wheels = sorted(n.split("/")[-1] for n in names if n.startswith("wheels/"))
    assert not any(w.startswith(("numpy", "torch")) for w in wheels)
    ort = [w for w in wheels if w.startswith("onnxruntime-")]
    assert sorted(w.split("-")[2] for w in ort) == ["cp311", "cp313"]
    assert all("manylinux" in w for w in ort)
    # every requirement of onnxruntime is bundled or ships with Blender (bpy's own
    # requirements are the modules Blender bundles), except numpy, which Blender always has
    with zipfile.ZipFile(light_zip) as z, zipfile.ZipFile(z.open(f"wheels/{ort[0]}")) as w:
        meta = next(n for n in w.namelist() if n.endswith(".dist-info/METADATA"))
        requires = [line.split(":", 1)[1] for line in w.read(meta).decode().splitlines()
                    if line.startswith("Requires-Dist:") and "extra ==" not in line]
    bundled = {_name(w.split("-")[0]) for w in wheels}
    blender_has = {_name(r) for r in metadata.requires("bpy") or []}
    missing = {_name(r) for r in requires} - bundled - blender_has - {"numpy"}
    assert not missing, f"onnxruntime needs {missing}, neither bundled nor shipped by Blender"
    manifest = zipfile.ZipFile(light_zip).read("blender_manifest.toml").decode()
    assert 'platforms = ["linux-x64"]' in manifest


def _install_and_generate(python: str, zip_path: Path, tmp_path: Path) -> dict:
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "user"))
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([python, str(HERE / "light_install_script.py"), str(zip_path),
                           str(tmp_path / "work"), str(CHECKPOINT)],
                          env=env, capture_output=True, text=True, timeout=300)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(lines[0][len("RESULT "):])


def _check(out: dict, tmp_path: Path) -> None:
    assert out["install"] == ["FINISHED"] and out["demo_head"] == ["FINISHED"]
    assert out["generate"] == ["FINISHED"]
    assert out["runtime"] == "onnx" and "CPUExecutionProvider" in out["device"]
    assert out["torch_loaded"] is False
    assert out["onnxruntime_from"].startswith(out["bundled_dir"])
    assert out["core_from"].startswith(str(tmp_path / "user"))
    assert out["basis_keys"] >= 1 and out["animated"]


def test_light_zip_generates_without_torch_in_bpy_50(light_zip, tmp_path):
    out = _install_and_generate(sys.executable, light_zip, tmp_path)
    _check(out, tmp_path)
    assert out["python"].startswith("3.11")


def test_light_zip_generates_without_torch_in_bpy_52_python_313(light_zip, tmp_path):
    if not PY313.is_file():
        pytest.skip(f"no Python 3.13 + bpy 5.2 environment at {PY313.parent.parent} "
                    "(set DT_PY313_VENV; see docs/runtime.md)")
    out = _install_and_generate(str(PY313), light_zip, tmp_path)
    _check(out, tmp_path)
    assert out["python"].startswith("3.13") and out["bpy"].startswith("5.2")
