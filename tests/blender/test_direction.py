"""Directing the take in Blender (``bpy`` module, the real one generate loop on a tiny ONNX
model): keep my keys round trip, re-take range exact outside, takes swapped in one step,
everything removed by Remove Generated."""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np
import pytest
from scene_utils import add_strip, make_channel_head, ours_fcurve, write_speech_wav

from diffusiontalker.runtime.loader import load_talker

TINY = Path(__file__).resolve().parents[1] / "runtime" / "data" / "tiny_channels.safetensors"


@pytest.fixture
def tiny(fresh):
    from diffusiontalker_blender import model_cache

    model_cache.use_talker(load_talker(TINY, "cpu", "onnx"))
    return fresh


def _keys(fc) -> np.ndarray:
    co = np.empty(2 * len(fc.keyframe_points), np.float32)
    fc.keyframe_points.foreach_get("co", co)
    return co.reshape(-1, 2)


def _types(fc) -> list[str]:
    return [k.type for k in fc.keyframe_points]


def _generate(**options):
    assert bpy.ops.diffusiontalker.generate(blocking=True, steps=3, **options) == {"FINISHED"}


def test_keep_my_keys_round_trip(tiny, tmp_path):
    head = make_channel_head()
    add_strip(write_speech_wav(tmp_path / "s.wav"), frame=10, trim=5)
    _generate(seed=0)
    fc = ours_fcurve(head, "jawOpen")
    assert set(_types(fc)) == {"GENERATED"}
    block = head.data.shape_keys.key_blocks["jawOpen"]
    block.value = 0.9  # the animator keys a pose into the playing take
    block.keyframe_insert("value", frame=40)
    block.value = 0.0
    block.keyframe_insert("value", frame=60)
    _generate(seed=1, keep_keys=True)
    fc = ours_fcurve(head, "jawOpen")
    keys = _keys(fc)
    at = {int(f): v for f, v in keys}
    assert abs(at[40] - 0.9) <= 0.03 and abs(at[60]) <= 0.03
    types = dict(zip(keys[:, 0].astype(int).tolist(), _types(fc), strict=True))
    assert types[40] == types[60] == "KEYFRAME"
    assert sum(t == "KEYFRAME" for t in types.values()) == 2
    _generate(seed=2)  # without Keep My Keys: the take is free again
    free = {int(f): v for f, v in _keys(ours_fcurve(head, "jawOpen"))}
    assert abs(free[40] - 0.9) > 0.1


def test_keep_my_keys_reads_the_users_own_action(tiny, tmp_path):
    head = make_channel_head()
    add_strip(write_speech_wav(tmp_path / "s.wav"), frame=10, trim=5)
    block = head.data.shape_keys.key_blocks["mouthSmileLeft"]
    block.value = 0.7
    block.keyframe_insert("value", frame=30)
    user = head.data.shape_keys.animation_data.action
    _generate(seed=0, keep_keys=True)
    at = {int(f): v for f, v in _keys(ours_fcurve(head, "mouthSmileLeft"))}
    assert abs(at[30] - 0.7) <= 0.03
    assert user.name in bpy.data.actions  # theirs is untouched, moved under ours


def test_retake_range_changes_only_the_range_and_does_not_pop(tiny, tmp_path):
    head = make_channel_head()
    add_strip(write_speech_wav(tmp_path / "s.wav"), frame=10, trim=5)
    _generate(seed=0)
    scene = bpy.context.scene
    before = {c: _keys(ours_fcurve(head, c)).copy() for c in ("jawOpen", "mouthFunnel")}
    scene.use_preview_range = True
    scene.frame_preview_start, scene.frame_preview_end = 30, 50
    _generate(seed=7, retake=True)
    for channel, old in before.items():
        new = _keys(ours_fcurve(head, channel))
        outside = (old[:, 0] < 30) | (old[:, 0] > 50)
        assert np.array_equal(new[outside], old[outside])
        assert np.array_equal(new[:, 0], old[:, 0])
    old, new = before["jawOpen"], _keys(ours_fcurve(head, "jawOpen"))
    inside = (old[:, 0] >= 36) & (old[:, 0] <= 44)
    assert np.abs(new[inside, 1] - old[inside, 1]).max() > 1e-3
    seams = (old[:, 0] >= 28) & (old[:, 0] <= 33) | (old[:, 0] >= 47) & (old[:, 0] <= 52)
    assert np.abs(np.diff(new[seams, 1])).max() <= np.abs(np.diff(old[:, 1])).max() + 1e-6


def test_retake_needs_a_range_and_a_take(tiny, tmp_path):
    make_channel_head()
    add_strip(write_speech_wav(tmp_path / "s.wav"), frame=10, trim=5)
    assert not bpy.ops.diffusiontalker.retake_range.poll()
    with pytest.raises(RuntimeError, match="no generated take"):
        bpy.context.scene.use_preview_range = True
        bpy.ops.diffusiontalker.generate(blocking=True, retake=True)
    _generate(seed=0)
    bpy.context.scene.use_preview_range = False
    with pytest.raises(RuntimeError, match="preview range"):
        bpy.ops.diffusiontalker.generate(blocking=True, retake=True)


def test_takes_are_listed_swapped_in_one_step_and_removed_together(tiny, tmp_path):
    from diffusiontalker_blender import takes
    from diffusiontalker_blender.operators import DT_OT_use_take

    head = make_channel_head()
    add_strip(write_speech_wav(tmp_path / "s.wav"), frame=10, trim=5)
    _generate(seed=4, takes=3)
    key = head.data.shape_keys
    listed = takes.takes(key)
    assert [seed for _, seed in listed] == [4, 5, 6] and takes.active_take(key) == 0
    first = _keys(ours_fcurve(head, "jawOpen")).copy()
    assert "UNDO" in DT_OT_use_take.bl_options
    assert bpy.ops.diffusiontalker.use_take(index=2) == {"FINISHED"}
    assert takes.active_take(key) == 2
    third = _keys(ours_fcurve(head, "jawOpen"))
    assert np.abs(third[:, 1] - first[:, 1]).max() > 1e-3
    bpy.context.scene.frame_set(40)
    assert abs(key.key_blocks["jawOpen"].value - third[third[:, 0] == 40, 1][0]) < 1e-5
    # the third take is what the same seed gives alone
    _generate(seed=6)
    alone = _keys(ours_fcurve(head, "jawOpen"))
    assert np.abs(alone[:, 1] - third[:, 1]).max() <= 1e-4
    assert takes.takes(key) == []  # a new Generate replaced the takes
    _generate(seed=0, takes=2)
    assert len(takes.takes(key)) == 2
    assert bpy.ops.diffusiontalker.remove_generated() == {"FINISHED"}
    assert not [a for a in bpy.data.actions if a.get("diffusiontalker")]
    assert takes.takes(key) == []


def test_a_dialog_that_cannot_be_used_is_reported_and_the_take_made_without_it(tiny, tmp_path):
    pytest.importorskip("pocketsphinx")
    from diffusiontalker_blender.props import dialog_text

    head = make_channel_head()
    add_strip(write_speech_wav(tmp_path / "s.wav"), frame=10, trim=5)
    _generate(seed=0)
    free = _keys(ours_fcurve(head, "jawOpen")).copy()
    _generate(seed=0, transcript="a tone is not speech")
    settings = bpy.context.scene.diffusiontalker
    assert "transcript not used" in settings.warning
    assert np.abs(_keys(ours_fcurve(head, "jawOpen")) - free).max() <= 1e-5
    text = bpy.data.texts.new("dialog")
    text.write("Hello there.")
    settings.transcript = "ignored"
    settings.transcript_text = text
    assert dialog_text(settings).strip() == "Hello there."
