"""The light build: onnxruntime instead of torch, one zip per platform and Blender range
(4.2-5.0: Python 3.11, 5.1+: Python 3.13) within 50 MB, a core wheel without the torch-only
weights, and a real install that generates with torch unavailable, in bpy 5.0 (Python 3.11)
and bpy 5.2 (Python 3.13) from $DT_PY313_VENV (default: the checkout's .venv313, which
./dev.sh test sets up from requirements/py313.txt). Without it the Python 3.13 runs skip; under
CI=true they fail (marker `needs_in_ci`), as does any skip of the light-zip tests."""

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
# ./dev.sh exports DT_PY313_VENV; without it, the checkout's own .venv313
PY313 = Path(os.environ.get("DT_PY313_VENV") or ROOT / ".venv313") / "bin" / "python"
PY313_MISSING = (f"no Python 3.13 + bpy 5.2 environment at {PY313.parent.parent} "
                 "($DT_PY313_VENV; ./dev.sh test sets it up from requirements/py313.txt)")
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")  # as conftest
DEFAULT_EXPORT = ROOT / "core" / "diffusiontalker" / "weights" / "default.onnx"


def _name(requirement: str) -> str:
    return re.split(r"[ ;<>=!~\[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


@pytest.fixture(scope="module")
def light_zips(tmp_path_factory) -> dict[str, Path]:
    """The linux-x64 light zips by Python version: {"cp311": ..., "cp313": ...}."""
    if not (sys.platform == "linux" and platform.machine() in ("x86_64", "AMD64")):
        pytest.skip("the light-install test runs on linux-x64")
    pytest.importorskip("bpy")  # build.py uses Blender's extension tool from the bpy wheel
    sys.path.insert(0, str(ROOT))
    import build

    try:  # the one step that needs PyPI; the wheels are cached in build/wheels-cache
        build.light_wheels(ROOT / "build" / "wheels-cache", ["linux-x64"])
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"cannot download the onnxruntime wheels: {exc}")
    made = build.build(tmp_path_factory.mktemp("light"), light=True, platforms=["linux-x64"])
    assert [z.name.rsplit("-", 2)[-2:] for z in made] == [["blender4.2", "5.0.zip"],
                                                          ["blender5.1", "latest.zip"]]
    return dict(zip(("cp311", "cp313"), made, strict=True))


@pytest.fixture(params=["cp311", "cp313"])
def light_zip(request, light_zips) -> Path:
    return light_zips[request.param]


@pytest.mark.needs_in_ci
def test_light_zip_is_small_and_bundles_what_blender_lacks(light_zip):
    assert light_zip.stat().st_size <= 50 * 1000 * 1000
    names = zipfile.ZipFile(light_zip).namelist()
    wheels = sorted(n.split("/")[-1] for n in names if n.startswith("wheels/"))
    assert not any(w.startswith(("numpy", "torch")) for w in wheels)
    ort = [w for w in wheels if w.startswith("onnxruntime-")]
    python = "cp311" if "blender4.2-5.0" in light_zip.name else "cp313"
    assert [w.split("-")[2] for w in ort] == [python]
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
    if python == "cp311":
        assert 'blender_version_min = "4.2.0"' in manifest
        assert 'blender_version_max = "5.1.0"' in manifest
    else:
        assert 'blender_version_min = "5.1.0"' in manifest and "blender_version_max" not in manifest
    core = next(w for w in wheels if w.startswith("diffusiontalker-"))
    with zipfile.ZipFile(light_zip) as z, zipfile.ZipFile(z.open(f"wheels/{core}")) as w:
        inside = w.namelist()
        record = w.read(next(n for n in inside if n.endswith(".dist-info/RECORD"))).decode()
    listed = [line.split(",")[0] for line in record.splitlines()]
    for names in (inside, listed):
        assert not [n for n in names if n.startswith("diffusiontalker/weights/")
                    and n.endswith(".safetensors")]
    assert "diffusiontalker/runtime/onnx_talker.py" in inside


def test_light_core_wheel_drops_torch_weights_and_keeps_onnx_exports(tmp_path):
    sys.path.insert(0, str(ROOT))
    import build

    wheel = tmp_path / "diffusiontalker-0.1.0-py3-none-any.whl"
    files = {"diffusiontalker/__init__.py": b"x = 1\n",
             "diffusiontalker/weights/default.safetensors": b"torch checkpoint",
             "diffusiontalker/weights/enc.safetensors": b"whisper",
             "diffusiontalker/weights/default.onnx/frontend.onnx": b"graph",
             "diffusiontalker/weights/default.onnx/arrays.npz": b"arrays"}
    record = "".join(f"{n},sha256=x,{len(d)}\n" for n, d in files.items())
    with zipfile.ZipFile(wheel, "w") as z:
        for n, d in files.items():
            z.writestr(n, d)
        z.writestr("diffusiontalker-0.1.0.dist-info/RECORD",
                   record + "diffusiontalker-0.1.0.dist-info/RECORD,,\n")
    dropped = build.light_core_wheel(wheel)
    assert dropped == ["diffusiontalker/weights/default.safetensors",
                       "diffusiontalker/weights/enc.safetensors"]
    with zipfile.ZipFile(wheel) as z:
        assert sorted(z.namelist()) == sorted(
            [n for n in files if not n.endswith(".safetensors")]
            + ["diffusiontalker-0.1.0.dist-info/RECORD"])
        lines = z.read("diffusiontalker-0.1.0.dist-info/RECORD").decode().splitlines()
        assert z.read("diffusiontalker/weights/default.onnx/frontend.onnx") == b"graph"
    assert [line.split(",")[0] for line in lines] == [
        "diffusiontalker/__init__.py", "diffusiontalker/weights/default.onnx/frontend.onnx",
        "diffusiontalker/weights/default.onnx/arrays.npz", "diffusiontalker-0.1.0.dist-info/RECORD"]
    assert build.light_core_wheel(wheel) == []  # nothing left to drop


def _install_and_generate(python: str, zip_path: Path, tmp_path: Path,
                          checkpoint: str = str(CHECKPOINT)) -> dict:
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "user"))
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([python, str(HERE / "light_install_script.py"), str(zip_path),
                           str(tmp_path / "work"), checkpoint],
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


@pytest.mark.needs_in_ci
def test_light_zip_generates_without_torch_in_bpy_50(light_zips, tmp_path):
    out = _install_and_generate(sys.executable, light_zips["cp311"], tmp_path)
    _check(out, tmp_path)
    assert out["python"].startswith("3.11")


@pytest.mark.needs_in_ci
def test_light_zip_generates_without_torch_in_bpy_52_python_313(light_zips, tmp_path):
    if not PY313.is_file():
        pytest.skip(PY313_MISSING)
    out = _install_and_generate(str(PY313), light_zips["cp313"], tmp_path)
    _check(out, tmp_path)
    assert out["python"].startswith("3.13") and out["bpy"].startswith("5.2")


def test_the_shipped_default_model_generates_without_torch(light_zips, tmp_path):
    """The zip's own default model (``weights/default.onnx``, e.g. a Whisper frontend) runs in
    bpy 5.0 (Python 3.11) and, where available, bpy 5.2 (Python 3.13) with torch blocked
    (always both under CI=true)."""
    manifest = DEFAULT_EXPORT / "onnx_model.json"
    if not manifest.is_file():
        pytest.skip(f"no shipped default model export at {DEFAULT_EXPORT} yet")
    kind = json.loads(manifest.read_text())["frontend"]["kind"]
    runs = [(sys.executable, "cp311")] + ([(str(PY313), "cp313")] if PY313.is_file() else [])
    if not PY313.is_file() and IN_CI:
        pytest.fail(f"CI=true must run the Python 3.13 install too: {PY313_MISSING}")
    for python, tag in runs:
        folder = tmp_path / tag
        out = _install_and_generate(python, light_zips[tag], folder, checkpoint="")
        _check(out, folder)
        assert out["frontend"] == kind
        assert out["model_dir"].startswith(str(folder / "user"))  # the zip's copy
