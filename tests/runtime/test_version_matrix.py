"""The Blender version matrix beyond the suite's own bpy 5.0 (.venv) and the light-install test's
bpy 5.2 (.venv313): Blender 4.2 LTS, 4.5 LTS (Python 3.11) and 5.3 (Python 3.13), each the
PyPI ``bpy`` module in an environment ./dev.sh test sets up (requirements/bpy42.txt,
bpy45.txt, bpy53.txt; $DT_BPY42_VENV ...). In each, the light extension zip for that Blender
range is installed as Blender installs it, and Generate (blocking) writes keys for a trimmed
sound strip with a tiny model's ONNX export, torch absent.

The PyPI bpy 4.2 has no audio (no ``aud``; ``new_sound`` fails): its scene with a sound strip
is saved by bpy 4.5 and opened in 4.2, and the add-on reads the WAV with Python's ``wave``.
Without an environment the test skips; under CI=true it fails (marker ``needs_in_ci``).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "version_matrix_script.py"
CHECKPOINT = HERE / "data" / "tiny_channels.safetensors"  # its ONNX export sits beside it
# Blender release: (environment variable, default folder, requirements, light zip's Python)
MATRIX = {
    "4.2": ("DT_BPY42_VENV", ".venv-bpy42", "bpy42.txt", "cp311"),
    "4.5": ("DT_BPY45_VENV", ".venv-bpy45", "bpy45.txt", "cp311"),
    "5.3": ("DT_BPY53_VENV", ".venv-bpy53", "bpy53.txt", "cp313"),
}


def python_of(release: str) -> Path:
    """The environment's Python for ``release``; skips (fails under CI=true) when absent."""
    variable, folder, requirements, _ = MATRIX[release]
    python = Path(os.environ.get(variable) or ROOT / folder) / "bin" / "python"
    if not python.is_file():
        pytest.skip(f"no bpy {release} environment at {python.parent.parent} (${variable}; "
                    f"./dev.sh test sets it up from requirements/{requirements})")
    return python


@pytest.fixture(scope="module")
def light_zips(tmp_path_factory) -> dict[str, Path]:
    """The linux-x64 light zips by Python version: {"cp311": ..., "cp313": ...}."""
    if not (sys.platform == "linux" and platform.machine() in ("x86_64", "AMD64")):
        pytest.skip("the version matrix runs on linux-x64")
    pytest.importorskip("bpy")  # build.py uses Blender's extension tool from the bpy wheel
    sys.path.insert(0, str(ROOT))
    import build

    try:  # the one step that needs PyPI; the wheels are cached in build/wheels-cache
        build.light_wheels(ROOT / "build" / "wheels-cache", ["linux-x64"])
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"cannot download the onnxruntime wheels: {exc}")
    made = build.build(tmp_path_factory.mktemp("light"), light=True, platforms=["linux-x64"])
    return dict(zip(("cp311", "cp313"), made, strict=True))


def _run(python: Path, *args: str, user: Path | None = None) -> dict:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if user is not None:
        env["BLENDER_USER_RESOURCES"] = str(user)
    proc = subprocess.run([str(python), str(SCRIPT), *args], env=env, capture_output=True,
                          text=True, timeout=300)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(lines[0][len("RESULT "):])


@pytest.mark.needs_in_ci
@pytest.mark.parametrize("release", list(MATRIX))
def test_extension_installs_and_generates(release, light_zips, tmp_path):
    python = python_of(release)
    blend = ""
    if release == "4.2":  # no audio in this bpy: the sound strip comes from a 4.5 file
        saved = _run(python_of("4.5"), "scene", str(tmp_path / "scene.blend"),
                     str(tmp_path / "speech.wav"))
        blend = saved["saved"]
    zip_path = light_zips[MATRIX[release][3]]
    out = _run(python, "generate", str(zip_path), str(tmp_path / "work"), str(CHECKPOINT), blend,
               user=tmp_path / "user")
    assert out["bpy"].startswith(release)
    assert out["python"].startswith("3.11" if MATRIX[release][3] == "cp311" else "3.13")
    assert out["aud"] is (release != "4.2")
    assert out["install"] == ["FINISHED"] and out["demo_head"] == ["FINISHED"]
    assert out["generate"] == ["FINISHED"]
    assert out["core_from"].startswith(str(tmp_path / "user"))  # the zip's core, not the checkout
    assert out["torch_loaded"] is False
    assert out["basis_keys"] >= 1 and out["curves"] == out["basis_keys"]
    # keys start at the strip's left handle (content at 10, 5 frames trimmed) and run to its end
    assert out["left_handle"] == out["first_frame"] == 15
    assert 50 <= out["last_frame"] <= 56
