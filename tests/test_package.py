"""The package imports without torch or bpy, and the CLI lists its commands."""

import subprocess
import sys

import numpy as np
import pytest

from diffusiontalker.channels import CHANNELS, upper_face_mask
from diffusiontalker.cli import main
from diffusiontalker.errors import MotionError, OutputError
from diffusiontalker.motion import Motion


def test_import_is_light():
    code = "import sys, diffusiontalker; print('torch' in sys.modules, 'bpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(__import__("conftest").ROOT / "core")})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


def test_channels_unique_and_upper_face_marked():
    assert len(set(CHANNELS)) == len(CHANNELS)
    mask = upper_face_mask()
    assert mask[CHANNELS.index("eyeBlinkLeft")] and not mask[CHANNELS.index("jawOpen")]


def test_motion_npz_round_trip(tmp_path):
    w = np.random.default_rng(0).random((5, len(CHANNELS)), dtype=np.float32)
    m = Motion(30.0, "channels", w, CHANNELS, identity={"ada": 0.5, "bo": 0.5})
    m.save_npz(tmp_path / "m.npz")
    back = Motion.load_npz(tmp_path / "m.npz")
    assert back.space == "channels" and back.fps == 30.0 and back.channels == CHANNELS
    np.testing.assert_array_equal(back.data, w)
    assert back.identity == {"ada": 0.5, "bo": 0.5}


def test_motion_rejects_bad_shapes(tmp_path):
    with pytest.raises(ValueError):  # MotionError is a ValueError too (old callers)
        Motion(30.0, "vertices", np.zeros((4, 10)))
    with pytest.raises(MotionError, match="3 columns, 2 names"):
        Motion(30.0, "channels", np.zeros((4, 3)), ("a", "b"))
    with pytest.raises(MotionError, match="use 'vertices' or 'channels'"):
        Motion(30.0, "blendshapes", np.zeros((4, 3)))
    with pytest.raises(MotionError, match="motion file not found"):
        Motion.load_npz(tmp_path / "none.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(MotionError, match="is not a motion .npz"):
        Motion.load_npz(tmp_path / "other.npz")
    with pytest.raises(OutputError, match="check that its folder exists"):
        Motion(30.0, "channels", np.zeros((4, 1)), ("a",)).save_npz(tmp_path / "no" / "m.npz")


def test_cli_help_runs(capsys):
    assert main([]) == 2
    assert "generate" in capsys.readouterr().out
