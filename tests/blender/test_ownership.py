"""Ownership by identity (issue 17, item 1): Generate and Remove Generated touch only what a
Generate made -- a user's own ``DT ...`` shape key, a user key named exactly like one of ours,
a user NLA track called ``DiffusionTalker`` and a user Mesh Cache modifier named like ours all
stay exactly as they were."""

from __future__ import annotations

import os

import bpy
import numpy as np
from scene_utils import add_strip, make_channel_head, snapshot, write_speech_wav


def _add_user_key(obj, name: str, lift: float = 0.3, value: float = 0.4):
    """A user's shape key with its own shape and value; returns its coordinates."""
    block = obj.shape_key_add(name=name, from_mix=False)
    co = np.empty(len(block.data) * 3, np.float32)
    block.data.foreach_get("co", co)
    co[2::3] += lift
    block.data.foreach_set("co", co)
    block.value = value
    return co.copy()


def _coords(block) -> np.ndarray:
    co = np.empty(len(block.data) * 3, np.float32)
    block.data.foreach_get("co", co)
    return co


def _our_paths(obj) -> set[str]:
    """The data paths our action keys (wherever it sits)."""
    from diffusiontalker_blender import compat, ownership

    key = obj.data.shape_keys
    paths = set()
    for action, slot in ownership.owned_actions_with_slots(key):
        paths |= {fc.data_path for fc in compat.action_fcurves(action, slot)}
    return paths


def test_user_dt_key_survives_generate_and_remove(fresh, tmp_path):
    head = make_channel_head()
    notes = _add_user_key(head, "DT notes")
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    before = snapshot(head)
    for mode in ("CHANNEL_KEYS", "BASIS", "PER_FRAME"):
        assert bpy.ops.diffusiontalker.generate(blocking=True, output_mode=mode) == {"FINISHED"}
        block = head.data.shape_keys.key_blocks.get("DT notes")
        assert block is not None, mode
        np.testing.assert_array_equal(_coords(block), notes)
        assert block.value == np.float32(0.4)
    assert bpy.ops.diffusiontalker.remove_generated() == {"FINISHED"}
    assert snapshot(head) == before  # exactly what Generate made is gone, nothing else
    assert not bpy.ops.diffusiontalker.remove_generated.poll()


def test_user_key_with_our_name_before_generate_is_never_keyed_or_removed(fresh, tmp_path):
    head = make_channel_head()
    mine = _add_user_key(head, "DT basis 00")
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    assert bpy.ops.diffusiontalker.generate(blocking=True, output_mode="BASIS") == {"FINISHED"}
    assert 'key_blocks["DT basis 00"].value' not in _our_paths(head)
    assert 'key_blocks["DT basis 00.001"].value' in _our_paths(head)  # ours got a free name
    bpy.ops.diffusiontalker.remove_generated()
    blocks = head.data.shape_keys.key_blocks
    np.testing.assert_array_equal(_coords(blocks["DT basis 00"]), mine)
    assert not [b.name for b in blocks if b.name.startswith("DT basis 00.")]


def test_user_key_named_like_ours_after_generate_survives_remove(fresh, tmp_path):
    head = make_channel_head()
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    assert bpy.ops.diffusiontalker.generate(blocking=True, output_mode="PER_FRAME") == {"FINISHED"}
    blocks = head.data.shape_keys.key_blocks
    ours = [b.name for b in blocks if b.name.startswith("DT frame")]
    assert len(ours) >= 2
    head.shape_key_remove(blocks[ours[0]])  # the user deletes one of ours ...
    mine = _add_user_key(head, ours[0])  # ... and makes a key of their own with its name
    assert bpy.ops.diffusiontalker.remove_generated() == {"FINISHED"}
    names = [b.name for b in head.data.shape_keys.key_blocks]
    assert ours[0] in names and not set(ours[1:]) & set(names)
    np.testing.assert_array_equal(_coords(head.data.shape_keys.key_blocks[ours[0]]), mine)


def test_user_track_and_modifier_named_like_ours_survive(fresh, tmp_path):
    head = make_channel_head()
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    key = head.data.shape_keys
    user_action = bpy.data.actions.new("UserPose")
    track = key.animation_data_create().nla_tracks.new()
    track.name = "DiffusionTalker"
    track.strips.new("UserPose", 1, user_action)
    mod = head.modifiers.new("DiffusionTalker cache", "MESH_CACHE")
    mod.filepath = "/somewhere/user.pc2"
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    head = bpy.data.objects["Head"]
    before = snapshot(head)
    assert not bpy.ops.diffusiontalker.remove_generated.poll()  # nothing of ours yet
    for mode in ("CHANNEL_KEYS", "POINT_CACHE"):
        assert bpy.ops.diffusiontalker.generate(blocking=True, output_mode=mode) == {"FINISHED"}
    assert len([m for m in head.modifiers if m.type == "MESH_CACHE"]) == 2
    assert bpy.ops.diffusiontalker.remove_generated() == {"FINISHED"}
    assert snapshot(head) == before
    user_mod = head.modifiers["DiffusionTalker cache"]
    assert os.path.normpath(bpy.path.abspath(user_mod.filepath)) == "/somewhere/user.pc2"
    tracks = head.data.shape_keys.animation_data.nla_tracks
    assert [t.name for t in tracks] == ["DiffusionTalker"]
    assert tracks[0].strips[0].action == bpy.data.actions["UserPose"]
    assert not (tmp_path / "DT_Head.pc2").exists()


def test_generated_actions_carry_the_generation_tag(fresh, tmp_path):
    head = make_channel_head()
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    bpy.ops.diffusiontalker.generate(blocking=True, output_mode="BASIS")
    key = head.data.shape_keys
    ours = [a for a in bpy.data.actions if a.get("diffusiontalker")]
    assert len(ours) == 1
    tag = ours[0]["diffusiontalker_generation"]
    assert isinstance(tag, str) and len(tag) >= 16
    our_name = ours[0].name
    copy = ours[0].copy()  # a user's duplicate of our action is theirs
    key.animation_data.action = None
    key.animation_data.action = copy
    bpy.ops.diffusiontalker.remove_generated()
    assert copy.name in bpy.data.actions and our_name not in bpy.data.actions
