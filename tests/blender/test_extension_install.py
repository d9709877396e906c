"""Build the extension zip and use it as a user would: install into a fresh headless Blender
(own BLENDER_USER_RESOURCES), then Generate through the installed add-on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("bpy")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory) -> Path:
    sys.path.insert(0, str(ROOT))
    import build

    (zip_path,) = build.build(tmp_path_factory.mktemp("dist"))
    return zip_path


def test_zip_layout_never_bundles_numpy(built_zip):
    names = zipfile.ZipFile(built_zip).namelist()
    assert "blender_manifest.toml" in names and "__init__.py" in names
    wheels = [n for n in names if n.startswith("wheels/")]
    assert wheels == ["wheels/diffusiontalker-0.1.0-py3-none-any.whl"]
    assert not any("numpy" in n or "torch" in n for n in names)
    manifest = zipfile.ZipFile(built_zip).read("blender_manifest.toml").decode()
    assert 'wheels = ["./wheels/diffusiontalker-0.1.0-py3-none-any.whl"]' in manifest


def test_installed_extension_generates_with_correct_timing(built_zip, tmp_path, tiny_checkpoints):
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "user"))
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("installed_extension_script.py")),
         str(built_zip), str(tmp_path), tiny_checkpoints["channels"]], env=env, capture_output=True, text=True, timeout=180)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = json.loads(lines[0][7:])
    assert out["install"] == ["FINISHED"]
    assert out["torch_loaded_at_register"] is False
    assert out["core_from"].startswith(str(tmp_path / "user"))  # the bundled wheel
    assert {"generate", "cancel", "remove_generated", "add_audio_strip"} <= set(out["operators"])
    assert out["prefs_registered"]
    assert out["torch_loaded_before_generate"] is False
    assert out["real_model"]["result"] == ["FINISHED"]
    assert out["real_model"]["api_from"].startswith(str(tmp_path / "user"))
    assert out["real_model"]["basis_keys"] >= 1
    # 2.4 s of audio: 57.6 -> 58 frames at 24 fps, 72 at 30 and at 29.97 fps; 5 trimmed
    expected_audible = {"24/1.0": 58 - 5, "30/1.0": 72 - 5, "30/1.001": 72 - 5}
    for key, run in out["runs"].items():
        assert run["result"] == ["FINISHED"], key
        assert run["demo_head"] and run["head_vertices"] > 1000, key
        assert run["our_actions"] == 1, key
        assert run["speech_mean"] > 0.3 and run["silence_max"] < 0.02, key  # talks, then rests
        assert run["user_action_kept"] == "TalkerHeadAction", key  # the user's own
        assert run["first"] == 15, key
        assert run["count"] == run["audible"] == expected_audible[key], key
        assert run["cache_dir"].startswith(str(tmp_path / "user")), key


def test_extra_wheels_hook_refuses_numpy(tmp_path):
    sys.path.insert(0, str(ROOT))
    import build

    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.whl").write_bytes(b"PK")
    with pytest.raises(SystemExit, match="refusing to bundle numpy"):
        build.build(tmp_path / "dist", extra_wheels=extra)
