"""The model's checkpoint is the one source of the default step count, and identity blends are
written ``name=weight`` (the core's syntax; the old ``name:weight`` still works, with a
warning that says what to write)."""

from __future__ import annotations

import bpy
import pytest
from scene_utils import add_strip, make_channel_head, write_speech_wav


def _count_sampler_steps(talker) -> list[float]:
    """Record the diffusion time of every denoiser call of ``talker``'s torch model."""
    seen: list[float] = []
    model = talker.model
    denoise = model.denoise

    def counting(z, u, cond, *a, **kw):
        seen.append(round(float(u.reshape(-1)[0]), 6))
        return denoise(z, u, cond, *a, **kw)

    model.denoise = counting  # an instance attribute: the class method stays as it is
    return seen


@pytest.fixture
def three_step_checkpoint(tmp_path_factory) -> str:
    from diffusiontalker.network.checkpoint import save_model
    from diffusiontalker.network.factory import random_model

    path = tmp_path_factory.mktemp("steps") / "three_steps.safetensors"
    save_model(random_model("channels", default_steps=3), path)
    return str(path)


def test_generate_runs_the_checkpoints_default_steps(fresh, tmp_path, three_step_checkpoint):
    """A model whose checkpoint asks for 3 steps runs 3 sampler steps from Generate (not the 8
    the add-on used to pass); an explicit steps=N from a script still wins."""
    from diffusiontalker_blender import model_cache

    model_cache.use_talker(None)
    model_cache.forget()
    make_channel_head()
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    try:
        assert bpy.ops.diffusiontalker.load_model(
            blocking=True, checkpoint=three_step_checkpoint) == {"FINISHED"}
        talker = model_cache.loaded_talker()
        assert talker.default_steps == 3
        seen = _count_sampler_steps(talker)
        assert bpy.ops.diffusiontalker.generate(
            blocking=True, checkpoint=three_step_checkpoint) == {"FINISHED"}
        assert model_cache.loaded_talker() is talker  # the same model, not reloaded
        assert seen and len(seen) % 3 == 0 and len(set(seen)) == 3  # 3 steps per window
        assert "3 steps" in bpy.context.scene.diffusiontalker.status
        seen.clear()
        assert bpy.ops.diffusiontalker.generate(
            blocking=True, checkpoint=three_step_checkpoint, steps=5) == {"FINISHED"}
        assert len(seen) % 5 == 0 and len(set(seen)) == 5  # the script's count wins
        assert "5 steps" in bpy.context.scene.diffusiontalker.status
    finally:
        model_cache.forget()


def test_operator_and_panel_settings_choose_the_steps(fresh, tmp_path):
    """steps=None reaches the model for "model default" (the operator's and the scene's
    default); the explicit count when that is off; a script's steps=N wins over the scene."""
    from diffusiontalker_blender import model_cache

    make_channel_head()
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    talker = model_cache.loaded_talker()
    s = bpy.context.scene.diffusiontalker
    assert s.use_model_steps is True  # the default: the model's own count
    bpy.ops.diffusiontalker.generate(blocking=True)
    bpy.ops.diffusiontalker.generate(blocking=True, steps=4)
    bpy.ops.diffusiontalker.generate(blocking=True, use_model_steps=False, steps=6)
    bpy.ops.diffusiontalker.generate(blocking=True, use_model_steps=True, steps=6)
    assert [c["steps"] for c in talker.calls] == [None, 4, 6, None]
    talker.calls.clear()


class _InvokedGenerate:
    """Stands in for the operator in its ``invoke`` (the sidebar button), which the bpy module
    cannot call (no window): records which properties are set, as Blender does."""

    def __init__(self, **given):
        from diffusiontalker_blender.operators import DT_OT_generate

        cls = vars(DT_OT_generate)
        for name in ("invoke", "_explicit_steps", "steps_choice"):
            object.__setattr__(self, name, cls[name].__get__(self))
        set_names = set()
        props = type("Props", (), {"is_property_set": lambda _s, n: n in set_names})()
        object.__setattr__(self, "properties", props)
        object.__setattr__(self, "_set", set_names)
        object.__setattr__(self, "use_model_steps", True)
        object.__setattr__(self, "steps", 8)
        for k, v in given.items():
            setattr(self, k, v)

    def __setattr__(self, name, value):
        self._set.add(name)
        object.__setattr__(self, name, value)

    def execute(self, _context):
        return self.steps_choice()


def test_sidebar_invoke_takes_the_scenes_step_choice(fresh):
    s = bpy.context.scene.diffusiontalker
    assert _InvokedGenerate().invoke(bpy.context, None) is None  # model default
    s.use_model_steps, s.steps = False, 7
    assert _InvokedGenerate().invoke(bpy.context, None) == 7
    s.use_model_steps = True
    assert _InvokedGenerate(steps=2).invoke(bpy.context, None) == 2  # the caller's count wins
    assert _InvokedGenerate(steps=2, use_model_steps=True).invoke(bpy.context, None) is None


def test_panel_shows_the_models_step_count(fresh):
    from diffusiontalker_blender import model_cache
    from diffusiontalker_blender.panel import DT_PT_talker
    from test_ui import _draw

    def labels():
        return [str(w) for n, w in _draw(DT_PT_talker, bpy.context) if n == "label"]

    make_channel_head()
    talker = model_cache.loaded_talker()
    talker.config.diffusion.default_steps = 5  # the checkpoint is the source of the number
    assert "Steps: model default (5)" in labels()
    model_cache.use_talker(None)
    model_cache.forget()
    assert "Steps: model default (read when the model loads)" in labels()
    s = bpy.context.scene.diffusiontalker
    s.use_model_steps = False
    log = _draw(DT_PT_talker, bpy.context)
    assert ("prop", "steps") in log and not any("model default" in str(w) for _, w in log)


def test_blend_uses_the_cores_syntax(fresh, tmp_path, capfd):
    from diffusiontalker_blender import model_cache
    from diffusiontalker_blender.props import blend_string, sync_library

    make_channel_head()
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    talker = model_cache.loaded_talker()
    capfd.readouterr()
    assert bpy.ops.diffusiontalker.generate(
        blocking=True, identity_mode="BLEND", identity_blend="ada=0.7,bo=0.3") == {"FINISHED"}
    assert talker.calls[-1]["identity"] == {"ada": 0.7, "bo": 0.3}
    assert "deprecated" not in capfd.readouterr().out
    # The sliders are written in the same syntax (what invoke hands to the operator).
    s = bpy.context.scene.diffusiontalker
    sync_library(s, talker)
    s.blend["ada"].weight, s.blend["cy"].weight = 0.25, 0.5
    assert blend_string(s) == "ada=0.25,cy=0.5"
    bpy.ops.diffusiontalker.generate(blocking=True, identity_mode="BLEND",
                                     identity_blend=blend_string(s))
    assert talker.calls[-1]["identity"] == {"ada": 0.25, "cy": 0.5}
    assert "deprecated" not in capfd.readouterr().out


def test_old_blend_syntax_still_works_with_a_warning(fresh, tmp_path, capfd):
    from diffusiontalker_blender import model_cache, operators

    weights, notes = operators.parse_blend_text("ada:0.7, bo:0.3")
    assert weights == {"ada": 0.7, "bo": 0.3}
    assert len(notes) == 1 and "deprecated" in notes[0] and "'ada=0.7,bo=0.3'" in notes[0]
    assert operators.parse_blend_text("ada=0.7,bo=0.3") == ({"ada": 0.7, "bo": 0.3}, [])
    make_channel_head()
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    talker = model_cache.loaded_talker()
    capfd.readouterr()
    assert bpy.ops.diffusiontalker.generate(
        blocking=True, identity_mode="BLEND", identity_blend="ada:0.7,bo:0.3") == {"FINISHED"}
    assert talker.calls[-1]["identity"] == {"ada": 0.7, "bo": 0.3}
    out = capfd.readouterr().out  # Blender prints operator reports in background mode
    assert "Warning:" in out and "deprecated" in out and "ada=0.7,bo=0.3" in out


def test_bad_or_empty_blend_is_a_clear_error(fresh, tmp_path):
    make_channel_head()
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    with pytest.raises(RuntimeError, match="bad blend weight in 'ada=x'"):
        bpy.ops.diffusiontalker.generate(blocking=True, identity_mode="BLEND",
                                         identity_blend="ada=x")
    with pytest.raises(RuntimeError, match="blend weight above zero"):
        bpy.ops.diffusiontalker.generate(blocking=True, identity_mode="BLEND",
                                         identity_blend="")
    with pytest.raises(RuntimeError, match="blend weight above zero"):
        bpy.ops.diffusiontalker.generate(blocking=True, identity_mode="BLEND",
                                         identity_blend="ada=0")
