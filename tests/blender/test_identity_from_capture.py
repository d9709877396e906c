"""Learn Identity from Capture in Blender: a tiny random checkpoint and a tiny synthetic Live
Link Face take; the job writes the personal checkpoint (where chosen, or beside the .blend),
the scene remembers it, and the new identity is in the library dropdown and blend sliders."""

from __future__ import annotations

import sys
from pathlib import Path

import bpy
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))

from personal_takes import NAMES, save_identity_model, write_take  # noqa: E402


@pytest.fixture
def setup(fresh, tmp_path):
    """The scene set to a tiny base checkpoint, a 3 s take, and the real model loader."""
    from diffusiontalker_blender import model_cache, operators_identity

    base = save_identity_model(tmp_path / "base.safetensors")
    bpy.context.scene[operators_identity.SCENE_CHECKPOINT] = str(base)
    csv = write_take(tmp_path / "take", "take", seconds=3.0)
    model_cache.use_talker(None)
    model_cache.forget()
    yield {"base": base, "csv": str(csv), "folder": tmp_path}
    model_cache.forget()


def _learn(csv: str, **options):
    return bpy.ops.diffusiontalker.learn_identity(filepath=csv, steps=10, blocking=True,
                                                  **options)


def test_the_new_identity_reaches_the_library_and_the_scene_keeps_the_checkpoint(setup):
    from diffusiontalker_blender import model_cache, operators_identity, props

    out = setup["folder"] / "mine" / "personal.safetensors"
    out.parent.mkdir()
    assert _learn(setup["csv"], identity_name="mia", output=str(out)) == {"FINISHED"}
    assert out.is_file()
    scene = bpy.context.scene
    assert operators_identity.scene_checkpoint(scene) == str(out)
    assert model_cache.loaded_talker().identities == [*NAMES, "mia"]
    settings = scene.diffusiontalker
    assert [w.name for w in settings.blend] == [*NAMES, "mia"]
    assert "mia" in [item[0] for item in props.identity_items(settings, bpy.context)]
    settings.identity_mode, settings.identity = "SINGLE", "mia"  # choosable in the dropdown


def test_a_second_identity_builds_on_the_scene_checkpoint(setup):
    from diffusiontalker_blender import model_cache

    out = setup["folder"] / "personal.safetensors"
    _learn(setup["csv"], identity_name="mia", output=str(out))
    _learn(setup["csv"], identity_name="noa", output=str(out))
    assert model_cache.loaded_talker().identities == [*NAMES, "mia", "noa"]


def test_by_default_the_checkpoint_is_saved_beside_the_blend(setup):
    from diffusiontalker_blender import operators_identity

    blend = setup["folder"] / "shot.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    assert _learn(setup["csv"], identity_name="mia") == {"FINISHED"}
    assert (setup["folder"] / "mia.safetensors").is_file()
    scene = bpy.context.scene
    assert scene[operators_identity.SCENE_CHECKPOINT] == "//mia.safetensors"
    assert operators_identity.scene_checkpoint(scene) == str(setup["folder"] / "mia.safetensors")


def test_the_audio_can_come_from_the_sound_strip(setup):
    from diffusiontalker_blender import compat, model_cache

    wav = Path(setup["csv"]).with_suffix(".wav")
    moved = wav.rename(setup["folder"] / "voice.wav")  # not beside the CSV any more
    compat.new_sound_strip(bpy.context.scene, "voice", str(moved), 1, 1)
    out = setup["folder"] / "personal.safetensors"
    assert _learn(setup["csv"], identity_name="mia", output=str(out),
                  use_strip=True) == {"FINISHED"}
    assert "mia" in model_cache.loaded_talker().identities


def test_errors_are_reported_and_nothing_is_written(setup):
    out = setup["folder"] / "personal.safetensors"
    with pytest.raises(RuntimeError, match="already has an identity called 'ada'"):
        _learn(setup["csv"], identity_name="ada", output=str(out))
    with pytest.raises(RuntimeError, match="cannot name an identity"):
        _learn(setup["csv"], identity_name="a=b", output=str(out))
    with pytest.raises(RuntimeError, match="choose the take's CSV"):
        _learn(str(setup["folder"] / "none.csv"), identity_name="mia", output=str(out))
    assert not out.exists()


def test_cancel_leaves_the_scene_and_the_files_as_they_were(setup, monkeypatch):
    from diffusiontalker_blender import jobs, operators_identity

    start = jobs.Job.start

    def cancelled_start(job):
        job.cancel()  # as if Cancel were pressed at once
        return start(job)

    monkeypatch.setattr(jobs.Job, "start", cancelled_start)
    out = setup["folder"] / "personal.safetensors"
    assert _learn(setup["csv"], identity_name="mia", output=str(out)) == {"FINISHED"}
    assert not out.exists()
    assert operators_identity.scene_checkpoint(bpy.context.scene) == str(setup["base"])


def test_generate_animates_with_the_learnt_identity(setup):
    from scene_utils import add_strip, make_channel_head, ours_fcurve, write_speech_wav

    out = setup["folder"] / "personal.safetensors"
    _learn(setup["csv"], identity_name="mia", output=str(out))
    head = make_channel_head()
    add_strip(write_speech_wav(setup["folder"] / "line.wav"))
    settings = bpy.context.scene.diffusiontalker
    settings.identity_mode, settings.identity = "SINGLE", "mia"
    assert bpy.ops.diffusiontalker.generate(blocking=True, checkpoint=str(out)) == {"FINISHED"}
    assert len(ours_fcurve(head, "jawOpen").keyframe_points) > 10


def test_without_torch_the_button_says_why_and_nothing_runs(monkeypatch, fresh):
    import importlib.util

    from diffusiontalker_blender import operators_identity

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch" else real(name, *a))
    assert not bpy.ops.diffusiontalker.learn_identity.poll()
    assert "needs torch" in operators_identity.NEEDS_TORCH
