"""Layering the user can see (issue 17, item 2): a user action on the shape keys that keys a
channel we write no longer hides the generated motion; the user's action survives untouched,
the operator report and the panel say what happened, and Remove Generated puts it back."""

from __future__ import annotations

import math

import bpy
import pytest
from scene_utils import add_strip, make_channel_head, ours_fcurve, write_speech_wav

MID_SPEECH = int(10 + 1.1 * 30)  # strip content at frame 10, speech 0.6 .. 1.6 s at 30 fps


def _user_jaw_action(head):
    """The user's own action: jawOpen held at 0.05 (frames 1..200) and a smile key."""
    key = head.data.shape_keys
    jaw = key.key_blocks["jawOpen"]
    for frame in (1, 200):
        jaw.value = 0.05
        jaw.keyframe_insert("value", frame=frame)
    smile = key.key_blocks["mouthSmileLeft"]
    smile.value = 0.3
    smile.keyframe_insert("value", frame=1)
    return key.animation_data.action


def _keys_of(action) -> dict:
    from diffusiontalker_blender import compat

    slot = action.slots[0] if hasattr(action, "slots") else None
    return {fc.data_path: [tuple(k.co) for k in fc.keyframe_points]
            for fc in compat.action_fcurves(action, slot)}


def _ours_at(head, frame: int) -> float:
    from diffusiontalker_blender import compat, ownership

    key = head.data.shape_keys
    (action, slot), = ownership.owned_actions_with_slots(key)
    fc = next(f for f in compat.action_fcurves(action, slot)
              if f.data_path == 'key_blocks["jawOpen"].value')
    return fc.evaluate(frame)


def _jaw(head, frame: int) -> float:
    bpy.context.scene.frame_set(frame)
    return head.data.shape_keys.key_blocks["jawOpen"].value


def test_ours_on_top_of_a_user_action_keying_our_channel(fresh, tmp_path, capfd):
    head = make_channel_head()
    user = _user_jaw_action(head)
    before = _keys_of(user)
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    capfd.readouterr()
    assert bpy.ops.diffusiontalker.generate(blocking=True) == {"FINISHED"}
    out = capfd.readouterr().out  # Blender prints operator reports in background mode
    assert "Warning:" in out and "'Key" in out and "jawOpen" in out and user.name in out
    s = bpy.context.scene.diffusiontalker
    assert "jawOpen" in s.warning and user.name in s.warning
    assert _ours_at(head, MID_SPEECH) > 0.2
    assert math.isclose(_jaw(head, MID_SPEECH), _ours_at(head, MID_SPEECH), abs_tol=1e-4)
    assert user.name in bpy.data.actions and _keys_of(user) == before  # untouched
    anim = head.data.shape_keys.animation_data
    tracks = list(anim.nla_tracks)
    assert [t.strips[0].action for t in tracks][0] == user  # yours below ...
    top = tracks[-1].strips[0]
    assert top.action.get("diffusiontalker") and top.blend_type == "REPLACE"  # ... ours on top
    assert math.isclose(top.influence, 1.0)
    bpy.context.scene.frame_set(1)
    assert math.isclose(head.data.shape_keys.key_blocks["mouthSmileLeft"].value, 0.3,
                        abs_tol=1e-5)  # the user's other channels still play
    assert bpy.ops.diffusiontalker.remove_generated() == {"FINISHED"}
    assert anim.action == user and not anim.nla_tracks  # as the user had it
    assert math.isclose(_jaw(head, MID_SPEECH), 0.05, abs_tol=1e-5)
    assert _keys_of(user) == before


def test_bake_into_a_new_action_leaves_the_users_in_the_nla_stack(fresh, tmp_path):
    head = make_channel_head()
    user = _user_jaw_action(head)
    before = _keys_of(user)
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    assert bpy.ops.diffusiontalker.generate(blocking=True, layering="BAKE") == {"FINISHED"}
    anim = head.data.shape_keys.animation_data
    baked = anim.action
    assert baked is not None and baked != user and baked.get("diffusiontalker")
    assert [s.action for t in anim.nla_tracks for s in t.strips] == [user]
    assert math.isclose(_jaw(head, MID_SPEECH), _ours_at(head, MID_SPEECH), abs_tol=1e-4)
    assert _ours_at(head, MID_SPEECH) > 0.2
    assert math.isclose(_jaw(head, 150), 0.05, abs_tol=1e-5)  # the user's keys outside speech
    bpy.context.scene.frame_set(1)
    assert math.isclose(head.data.shape_keys.key_blocks["mouthSmileLeft"].value, 0.3,
                        abs_tol=1e-5)
    assert _keys_of(user) == before
    bpy.ops.diffusiontalker.remove_generated()
    assert anim.action == user and not anim.nla_tracks
    assert not [a for a in bpy.data.actions if a.get("diffusiontalker")]


def test_no_warning_when_the_user_action_keys_other_channels(fresh, tmp_path):
    head = make_channel_head()
    smile = head.shape_key_add(name="MySmile", from_mix=False)
    smile.keyframe_insert("value", frame=1)
    user = head.data.shape_keys.animation_data.action
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    assert bpy.ops.diffusiontalker.generate(blocking=True) == {"FINISHED"}
    assert bpy.context.scene.diffusiontalker.warning == ""
    assert head.data.shape_keys.animation_data.action == user
    assert ours_fcurve(head, "jawOpen") is not None


@pytest.mark.parametrize("choice", ["ON_TOP", "BAKE"])
def test_panel_warns_before_generate(fresh, tmp_path, choice):
    from diffusiontalker_blender.panel import DT_PT_talker
    from test_ui import _draw

    head = make_channel_head()
    _user_jaw_action(head)
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    bpy.context.scene.diffusiontalker.layering = choice
    log = _draw(DT_PT_talker, bpy.context)
    assert ("prop", "layering") in log
    assert any(name == "label" and "jawOpen" in str(what) for name, what in log), log
