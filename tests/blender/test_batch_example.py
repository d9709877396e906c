"""examples/batch_bake.py bakes every strip onto every head and saves one .blend per pair."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import bpy
from scene_utils import add_strip, make_channel_head, write_speech_wav

ROOT = Path(__file__).resolve().parents[2]


def test_batch_bake_two_heads_two_strips(fresh, tmp_path, tiny_checkpoints):
    make_channel_head("HeadA")
    make_channel_head("HeadB")
    make_channel_head("Prop")  # not matched by the pattern
    add_strip(write_speech_wav(tmp_path / "one.wav"), frame=1, trim=0)
    from diffusiontalker_blender import compat

    compat.new_sound_strip(bpy.context.scene, "two", write_speech_wav(tmp_path / "two.wav"), 2, 100)
    scene_file = tmp_path / "scene.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(scene_file))
    out = tmp_path / "bakes"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "batch_bake.py"), "--blend", str(scene_file),
         "--out", str(out), "--heads", "Head*", "--checkpoint", tiny_checkpoints["channels"]],
        capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert sorted(p.name for p in out.glob("*.blend")) == [
        "HeadA__speech.blend", "HeadA__two.blend", "HeadB__speech.blend", "HeadB__two.blend"]
    bpy.ops.wm.open_mainfile(filepath=str(out / "HeadB__two.blend"))
    key = bpy.data.objects["HeadB"].data.shape_keys
    action = key.animation_data.action
    assert action.get("diffusiontalker") and action.frame_range[0] == 100
