"""Which sound strip Generate uses (issue 17, item 3): the selected one or the only one when
the field is empty, a clear question otherwise; a choice that survives renaming the strip; a
muted strip refused unless asked for; a picker of the scene's sound strips in the panel."""

from __future__ import annotations

import bpy
import pytest
from scene_utils import make_channel_head, ours_fcurve, snapshot, write_speech_wav


def _new_strip(path, name: str, frame: int, channel: int):
    from diffusiontalker_blender import compat

    return compat.new_sound_strip(bpy.context.scene, name, path, channel, frame)


def _first_key_frame(head) -> float:
    return ours_fcurve(head, "jawOpen").keyframe_points[0].co[0]


def test_empty_field_uses_the_only_sound_strip(fresh, tmp_path):
    head = make_channel_head()
    strip = _new_strip(write_speech_wav(tmp_path / "s.wav"), "speech", 12, 1)
    strip.select = False
    assert bpy.context.scene.diffusiontalker.strip == ""
    assert bpy.ops.diffusiontalker.generate(blocking=True) == {"FINISHED"}
    assert _first_key_frame(head) == 12


def test_empty_field_uses_the_selected_strip_of_two(fresh, tmp_path):
    head = make_channel_head()
    path = write_speech_wav(tmp_path / "s.wav")
    first = _new_strip(path, "first", 10, 1)
    second = _new_strip(path, "second", 40, 2)
    first.select, second.select = False, True
    assert bpy.ops.diffusiontalker.generate(blocking=True) == {"FINISHED"}
    assert _first_key_frame(head) == 40


def test_two_strips_and_no_choice_lists_the_candidates(fresh, tmp_path):
    head = make_channel_head()
    path = write_speech_wav(tmp_path / "s.wav")
    for strip in (_new_strip(path, "first", 10, 1), _new_strip(path, "second", 40, 2)):
        strip.select = False
    before = snapshot(head)
    with pytest.raises(RuntimeError, match="several sound strips.*'first'.*'second'"):
        bpy.ops.diffusiontalker.generate(blocking=True)
    assert snapshot(head) == before
    assert "'second'" in bpy.context.scene.diffusiontalker.error


def test_choice_survives_renaming_the_strip(fresh, tmp_path):
    head = make_channel_head()
    path = write_speech_wav(tmp_path / "s.wav")
    _new_strip(path, "other", 70, 2).select = False
    chosen = _new_strip(path, "speech", 20, 1)
    chosen.select = False
    s = bpy.context.scene.diffusiontalker
    s.strip = "speech"
    chosen.name = "Take 2"
    assert s.strip == "Take 2"  # the field follows the strip
    assert bpy.ops.diffusiontalker.generate(blocking=True) == {"FINISHED"}
    assert _first_key_frame(head) == 20
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "r.blend"))
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "r.blend"))
    from diffusiontalker_blender import compat

    compat.find_strip(bpy.context.scene, "Take 2").name = "Final"
    assert bpy.context.scene.diffusiontalker.strip == "Final"


def test_muted_strip_is_refused_unless_asked_for(fresh, tmp_path):
    head = make_channel_head()
    strip = _new_strip(write_speech_wav(tmp_path / "s.wav"), "speech", 10, 1)
    bpy.context.scene.diffusiontalker.strip = "speech"
    strip.mute = True
    before = snapshot(head)
    with pytest.raises(RuntimeError, match="'speech' is muted.*unmute.*use_muted"):
        bpy.ops.diffusiontalker.generate(blocking=True)
    assert snapshot(head) == before
    assert bpy.ops.diffusiontalker.generate(blocking=True, use_muted=True) == {"FINISHED"}
    assert _first_key_frame(head) == 10


def test_panel_picker_lists_only_sound_strips(fresh, tmp_path):
    from diffusiontalker_blender import compat, props
    from diffusiontalker_blender.panel import DT_PT_talker
    from test_ui import _draw

    make_channel_head()
    path = write_speech_wav(tmp_path / "s.wav")
    _new_strip(path, "a", 10, 1)
    _new_strip(path, "b", 40, 2)
    scene = bpy.context.scene
    compat.strips_of(scene).new_effect("fx", "COLOR", 3, frame_start=1, length=10)
    assert len(compat.strips_of(scene)) == 3  # a colour strip: not a sound strip
    s = scene.diffusiontalker
    names = [item[0] for item in props.strip_picker_items(s, bpy.context)]
    assert names[1:] == ["a", "b"] and names[0] == props.AUTO_STRIP
    s.strip_picker = "b"
    assert s.strip == "b"
    log = _draw(DT_PT_talker, bpy.context)
    assert ("prop", "strip_picker") in log
