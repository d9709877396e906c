"""Generate with the real core model (tiny random-weight checkpoints from the core's API)."""

from __future__ import annotations

import bpy
import numpy as np
from scene_utils import (
    add_strip,
    evaluated_coords,
    make_channel_head,
    ours_fcurve,
    write_speech_wav,
)


def _real(model_cache):
    model_cache.use_talker(None)
    model_cache.forget()


def test_real_channel_model_on_the_demo_head(fresh, tmp_path, tiny_checkpoints):
    from diffusiontalker_blender import model_cache

    _real(model_cache)
    assert bpy.ops.diffusiontalker.add_demo_head() == {"FINISHED"}
    head = bpy.context.active_object
    strip = add_strip(write_speech_wav(tmp_path / "s.wav"), frame=10, trim=5)
    ckpt = tiny_checkpoints["channels"]
    assert bpy.ops.diffusiontalker.generate(blocking=True, checkpoint=ckpt, identity_mode="BLEND",
                                            identity_blend="ada=0.6,bo=0.4") == {"FINISHED"}
    talker = model_cache.loaded_talker()
    assert talker is not None and talker.space == "channels"
    keys = ours_fcurve(head, "jawOpen").keyframe_points
    assert keys[0].co[0] == 15 and len(keys) == strip.frame_final_end - strip.frame_final_start
    values = np.array([k.co[1] for k in keys])
    assert np.isfinite(values).all() and values.std() > 0  # the random model moves
    bpy.ops.diffusiontalker.match_identity(blocking=True, checkpoint=ckpt)
    matches = bpy.context.scene.diffusiontalker.matches
    assert len(matches) == 3 and {m.name for m in matches} == {"ada", "bo", "cy"}


def test_real_vertex_model_offsets_match_its_generate(fresh, tmp_path, tiny_checkpoints):
    from diffusiontalker_blender import model_cache

    _real(model_cache)
    head = make_channel_head()  # 49 vertices: the tiny vertex model's topology
    add_strip(write_speech_wav(tmp_path / "s.wav"), frame=1, trim=0)
    ckpt = tiny_checkpoints["vertices"]
    assert bpy.ops.diffusiontalker.generate(blocking=True, checkpoint=ckpt, seed=5,
                                            output_mode="BASIS") == {"FINISHED"}
    from diffusiontalker_blender.audio import strip_audio

    talker = model_cache.loaded_talker()
    strip = bpy.context.scene.sequence_editor.strips[0]
    motion = talker.generate(strip_audio(strip), 16000, seed=5)  # default: the model's steps
    from diffusiontalker_blender.writers import basis_coords

    rest = basis_coords(head)
    for i in (0, 10, 40, 71):
        got = evaluated_coords(head, 1 + i) - rest
        np.testing.assert_allclose(got, motion.data[i], atol=1e-5, err_msg=f"frame {i}")


def test_real_model_wrong_topology_message(fresh, tmp_path, tiny_checkpoints):
    from diffusiontalker_blender import model_cache

    _real(model_cache)
    assert bpy.ops.diffusiontalker.add_demo_head() == {"FINISHED"}
    head = bpy.context.active_object
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    before = len(head.data.shape_keys.key_blocks)
    try:
        bpy.ops.diffusiontalker.generate(blocking=True, checkpoint=tiny_checkpoints["vertices"])
    except RuntimeError as exc:
        assert "the model animates heads of 49 vertices" in str(exc)
    else:
        raise AssertionError("a 49-vertex model must refuse the demo head")
    assert len(head.data.shape_keys.key_blocks) == before and not [
        a for a in bpy.data.actions if a.get("diffusiontalker")]
