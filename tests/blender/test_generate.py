"""Generate in real Blender (bpy module): timing, speech vs silence, non-destructive writes,
errors and cancel leave the scene unchanged."""

from __future__ import annotations

import math

import bpy
import numpy as np
import pytest
from fakes import BlockingTalker, VertexTalker
from scene_utils import (
    SPEECH_S,
    TAIL_S,
    add_strip,
    make_channel_head,
    ours_fcurve,
    snapshot,
    write_speech_wav,
)


def _keys(fc) -> np.ndarray:
    co = np.empty(len(fc.keyframe_points) * 2, np.float32)
    fc.keyframe_points.foreach_get("co", co)
    return co.reshape(-1, 2)


@pytest.mark.parametrize("fps,fps_base", [(24, 1.0), (30, 1.0), (30, 1.001)])
def test_keys_start_at_trimmed_strip_and_follow_speech(fresh, tmp_path, fps, fps_base):
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = fps, fps_base
    rate = fps / fps_base
    head = make_channel_head()
    strip = add_strip(write_speech_wav(tmp_path / "s.wav"), frame=10, trim=5)
    assert bpy.ops.diffusiontalker.generate(blocking=True) == {"FINISHED"}
    keys = _keys(ours_fcurve(head, "jawOpen"))
    assert keys[0, 0] == 15  # content starts at 10, 5 frames trimmed
    audible = strip.frame_final_end - strip.frame_final_start
    assert len(keys) == audible == round(TAIL_S[1] * rate) - 5
    assert scene.render.fps == fps and math.isclose(scene.render.fps_base, fps_base, rel_tol=1e-6)  # never changed
    t = (keys[:, 0] - 10) / rate  # seconds into the file
    speech = (t > SPEECH_S[0] + 0.1) & (t < SPEECH_S[1] - 0.1)
    silence = (t < SPEECH_S[0] - 0.1) | (t > SPEECH_S[1] + 0.1)
    assert keys[speech, 1].mean() > 0.3 and keys[speech, 1].std() > 0.02  # mouth moves
    assert np.abs(keys[silence, 1]).max() < 0.02  # and rests in silence
    # The value Blender plays back is ours, at a frame in the middle of the speech.
    mid = int(10 + (SPEECH_S[0] + SPEECH_S[1]) / 2 * rate)
    scene.frame_set(mid)
    assert math.isclose(head.data.shape_keys.key_blocks["jawOpen"].value,
                        float(np.interp(mid, keys[:, 0], keys[:, 1])), abs_tol=1e-4)


def test_user_shape_key_and_animation_untouched_and_one_set_after_regenerate(fresh, tmp_path):
    head = make_channel_head()
    smile = head.shape_key_add(name="MySmile", from_mix=False)
    smile.value = 0.25
    smile.keyframe_insert("value", frame=1)
    smile.value = 0.75
    smile.keyframe_insert("value", frame=40)
    user_action = head.data.shape_keys.animation_data.action
    before = [tuple(k.co) for k in user_action.fcurves[0].keyframe_points] if hasattr(
        user_action, "fcurves") else None
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    for _ in range(2):
        assert bpy.ops.diffusiontalker.generate(blocking=True, seed=3) == {"FINISHED"}
    anim = head.data.shape_keys.animation_data
    assert anim.action == user_action and not user_action.get("diffusiontalker")
    ours = [a for a in bpy.data.actions if a.get("diffusiontalker")]
    assert len(ours) == 1 and [t.name for t in anim.nla_tracks] == ["DiffusionTalker"]
    from bpy_extras.anim_utils import action_get_channelbag_for_slot

    bag = action_get_channelbag_for_slot(user_action, anim.action_slot)
    assert [tuple(k.co) for k in bag.fcurves[0].keyframe_points] == [(1.0, 0.25), (40.0, 0.75)]
    assert before is None or before == [(1.0, 0.25), (40.0, 0.75)]
    bpy.context.scene.frame_set(40)
    assert math.isclose(head.data.shape_keys.key_blocks["MySmile"].value, 0.75, abs_tol=1e-5)
    bpy.context.scene.frame_set(int(10 + 1.1 * 30))
    assert head.data.shape_keys.key_blocks["jawOpen"].value > 0.2  # ours plays through NLA
    bpy.ops.diffusiontalker.remove_generated()
    assert not [a for a in bpy.data.actions if a.get("diffusiontalker")]
    assert "MySmile" in head.data.shape_keys.key_blocks and not anim.nla_tracks


def test_non_blocking_job_is_applied_by_drain(fresh, tmp_path):
    from diffusiontalker_blender import generate, jobs

    head = make_channel_head()
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    prep = generate.prepare(bpy.context.scene, generate.GenerateOptions("Head", "speech"))
    job = jobs.start(generate.make_job(prep))
    assert job.wait(10)
    assert jobs.drain() is job and job.state == "applied" and job.progress == 1.0
    assert ours_fcurve(head, "jawOpen") is not None
    assert jobs.drain() is None and jobs.current() is None


def test_cancelled_job_leaves_scene_unchanged(fresh, tmp_path):
    from diffusiontalker_blender import generate, jobs, model_cache

    talker = BlockingTalker()
    model_cache.use_talker(talker)
    head = make_channel_head()
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    before = snapshot(head)
    prep = generate.prepare(bpy.context.scene, generate.GenerateOptions("Head", "speech"))
    job = jobs.start(generate.make_job(prep))
    assert talker.entered.wait(5)
    assert bpy.ops.diffusiontalker.generate.poll() is False  # one job at a time
    bpy.ops.diffusiontalker.cancel()
    assert job.wait(5)
    assert jobs.drain() is job and job.state == "cancelled"
    assert "nothing was changed" in job.message
    assert snapshot(head) == before


def _expect_error(head, match: str, **kw):
    before = snapshot(head)
    with pytest.raises(RuntimeError, match=match):
        bpy.ops.diffusiontalker.generate(blocking=True, **kw)
    assert snapshot(head) == before
    assert match.split(".")[0] in bpy.context.scene.diffusiontalker.error


def test_wrong_topology_is_a_clear_error(fresh, tmp_path):
    from diffusiontalker_blender import model_cache

    model_cache.use_talker(VertexTalker(5023))
    head = make_channel_head()
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    _expect_error(head, "heads of 5023 vertices.*'Head' has 49")


def test_missing_strip_file_is_a_clear_error(fresh, tmp_path):
    head = make_channel_head()
    path = write_speech_wav(tmp_path / "gone.wav")
    add_strip(path)
    (tmp_path / "gone.wav").unlink()
    _expect_error(head, "sound file was not found")


def test_unreadable_audio_is_a_clear_error(fresh, tmp_path):
    head = make_channel_head()
    strip = add_strip(write_speech_wav(tmp_path / "s.wav"))
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"this is not audio" * 100)
    strip.sound.filepath = str(bad)
    _expect_error(head, "could not decode the sound file")


def test_no_strip_and_unknown_strip(fresh, tmp_path):
    head = make_channel_head()
    with pytest.raises(RuntimeError, match="Add a sound strip first"):
        bpy.ops.diffusiontalker.generate(blocking=True)
    assert bpy.ops.diffusiontalker.remove_generated.poll() is False  # nothing to remove yet
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    _expect_error(head, "no sound strip called 'nope' .the scene has 'speech'.", strip="nope")
    bpy.context.scene.diffusiontalker.strip = ""  # empty: the only sound strip is used
    assert bpy.ops.diffusiontalker.generate(blocking=True) == {"FINISHED"}


def test_identity_choices_reach_the_model(fresh, tmp_path):
    from diffusiontalker_blender import model_cache

    head = make_channel_head()
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    talker = model_cache.loaded_talker()
    bpy.ops.diffusiontalker.generate(blocking=True, identity_mode="BLEND",
                                     identity_blend="ada=0.7,bo=0.3", steps=4, seed=9)
    bpy.ops.diffusiontalker.generate(blocking=True, identity_mode="SINGLE", identity="cy")
    bpy.ops.diffusiontalker.generate(blocking=True, identity_mode="MATCH")
    assert [c["identity"] for c in talker.calls] == [{"ada": 0.7, "bo": 0.3}, "cy", "match"]
    assert talker.calls[0]["steps"] == 4 and talker.calls[0]["seed"] == 9
    bpy.ops.diffusiontalker.match_identity(blocking=True)
    matches = bpy.context.scene.diffusiontalker.matches
    assert [(m.name, round(m.score, 2)) for m in matches] == [("bo", 0.9), ("ada", 0.5), ("cy", 0.1)]
    assert [w.name for w in bpy.context.scene.diffusiontalker.blend] == ["ada", "bo", "cy"]
    assert head.name == "Head"


def test_head_without_channel_keys_gets_them_from_the_rig(fresh, tmp_path):
    from diffusiontalker_blender.head_object import create_head_object

    from diffusiontalker.channels import CHANNELS
    from diffusiontalker.head import build_demo_head

    obj = create_head_object(bpy.context, build_demo_head(), None, name="Bare")
    bpy.context.view_layer.objects.active = obj
    assert obj.data.shape_keys is None
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    assert bpy.ops.diffusiontalker.generate(blocking=True, target="Bare") == {"FINISHED"}
    names = [b.name for b in obj.data.shape_keys.key_blocks]
    assert set(CHANNELS) <= set(names)
    jaw = obj.data.shape_keys.key_blocks["jawOpen"]
    co = np.empty(len(jaw.data) * 3, np.float32)
    jaw.data.foreach_get("co", co)
    from diffusiontalker_blender.writers import basis_coords

    assert np.abs(co.reshape(-1, 3) - basis_coords(obj)).max() > 1e-3  # a real jaw shape
    assert bpy.ops.diffusiontalker.generate(blocking=True, target="Bare") == {"FINISHED"}
    assert [b.name for b in obj.data.shape_keys.key_blocks] == names  # built once
    bpy.ops.diffusiontalker.remove_generated()
    assert obj.data.shape_keys is None  # everything we built is gone


def test_head_without_keys_or_landmarks_is_a_clear_error(fresh, tmp_path):
    mesh = bpy.data.meshes.new("Blob")
    mesh.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)], [], [(0, 1, 2), (0, 1, 3)])
    blob = bpy.data.objects.new("Blob", mesh)
    bpy.context.scene.collection.objects.link(blob)
    bpy.context.view_layer.objects.active = blob
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    with pytest.raises(RuntimeError, match="'Blob' has no shape keys named after the model's "
                       "channels .e.g. jawOpen. and they could not be built with the rig"):
        bpy.ops.diffusiontalker.generate(blocking=True)
    assert blob.data.shape_keys is None and not bpy.data.actions


def test_a_job_shows_the_stage_its_work_reports(fresh):
    from diffusiontalker_blender import jobs

    def work(progress, cancelled):
        progress(0.25)
        progress(None, "sampling window 1/2")
        return "ok"

    job = jobs.Job("Generate", work, lambda result: result).start()
    job._thread.join(10)
    assert job.state == "done" and job.progress == 0.25 and job.stage == "sampling window 1/2"


def test_generate_says_which_device_ran_when_the_chosen_one_was_missing(fresh, tmp_path, capfd):
    from diffusiontalker_blender import model_cache

    model_cache.loaded_talker().device_report = (
        "cuda was requested but CUDA is not available; using the CPU instead")
    make_channel_head()
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    capfd.readouterr()
    assert bpy.ops.diffusiontalker.generate(blocking=True) == {"FINISHED"}
    out = capfd.readouterr().out  # Blender prints operator reports in background mode
    assert "Warning:" in out and "using the CPU instead" in out
