"""Bakes that scale: no NaN ever reaches the scene (bad motion or a failed basis bake leave it
as it was), long takes in costly outputs are reported as warnings, and AUTO's choice."""

from __future__ import annotations

import bpy
import numpy as np
import pytest
from fakes import VertexTalker
from scene_utils import add_strip, evaluated_coords, make_channel_head, snapshot, write_speech_wav

from diffusiontalker.bake import shapes
from diffusiontalker.motion import Motion


class NaNVertexTalker(VertexTalker):
    """A vertex model whose output breaks down at model frame 20."""

    def generate(self, audio, sample_rate=None, **kw):
        motion = super().generate(audio, sample_rate, **kw)
        motion.data[20, 3, 1] = np.nan
        return motion


def _vertex_scene(tmp_path, talker):
    from diffusiontalker_blender import model_cache

    head = make_channel_head()  # 49 vertices
    model_cache.use_talker(talker)
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))  # caches go beside it
    return head


def _refused(head, match: str, mode: str) -> None:
    snapshot(head)  # at frame 20: animated key values read at the frame the snapshot shows
    before = snapshot(head)
    with pytest.raises(RuntimeError, match=match):
        bpy.ops.diffusiontalker.generate(blocking=True, output_mode=mode)
    assert snapshot(head) == before  # the earlier take, untouched


@pytest.mark.parametrize("mode", ["BASIS", "PER_FRAME", "POINT_CACHE"])
def test_nan_motion_is_refused_and_changes_nothing(fresh, tmp_path, mode):
    from diffusiontalker_blender import model_cache

    head = _vertex_scene(tmp_path, VertexTalker(49))
    assert bpy.ops.diffusiontalker.generate(blocking=True, output_mode=mode) == {"FINISHED"}
    model_cache.use_talker(NaNVertexTalker(49))
    _refused(head, "NaN or infinite values", mode)
    assert "nothing was written" in bpy.context.scene.diffusiontalker.error


def test_a_failed_basis_bake_is_refused_and_changes_nothing(fresh, tmp_path, monkeypatch):
    head = _vertex_scene(tmp_path, VertexTalker(49))
    assert bpy.ops.diffusiontalker.generate(blocking=True, output_mode="BASIS") == {"FINISHED"}

    def fails(*args, **kwargs):
        raise np.linalg.LinAlgError("SVD did not converge")

    monkeypatch.setattr(np.linalg, "svd", fails)
    _refused(head, "basis bake .* failed numerically", "BASIS")

    def nan_svd(a, full_matrices=True):
        k = min(a.shape)
        return np.full((a.shape[0], k), np.nan), np.full(k, np.nan), np.full((k, a.shape[1]), np.nan)

    monkeypatch.setattr(np.linalg, "svd", nan_svd)
    _refused(head, "non-finite values", "AUTO")  # AUTO bakes basis shapes for vertex motion
    keys = head.data.shape_keys.key_blocks
    co = np.empty(len(keys[0].data) * 3, np.float32)
    for block in keys:
        block.data.foreach_get("co", co)
        assert np.isfinite(co).all(), block.name


def _write(head, mode: str, frames: int, notes: list[str]) -> str:
    from diffusiontalker_blender.generate import GenerateOptions, write_motion

    values = VertexTalker(49).offsets(frames)
    options = GenerateOptions(target=head.name, strip="", output_mode=mode,
                              cache_dir=bpy.app.tempdir)
    return write_motion(head, Motion(30.0, "vertices", values), np.arange(1, frames + 1),
                        values, {}, options, notes)


def test_long_takes_in_costly_outputs_come_with_their_cost(fresh, monkeypatch):
    head = make_channel_head()
    monkeypatch.setattr(shapes, "PER_FRAME_KEYS_WARN_FRAMES", 40)
    monkeypatch.setattr(shapes, "POINT_CACHE_WARN_BYTES", shapes.pc2_bytes(40, 49))
    for mode in ("PER_FRAME", "POINT_CACHE", "BASIS"):
        short: list[str] = []
        assert _write(head, mode, 40, short) == mode and short == []
    notes: list[str] = []
    _write(head, "PER_FRAME", 41, notes)
    assert len(notes) == 1 and "41 per-frame shape keys" in notes[0] and "Basis" in notes[0]
    notes.clear()
    _write(head, "POINT_CACHE", 41, notes)
    assert len(notes) == 1 and "41 frames x 49 vertices" in notes[0] and "MB on disk" in notes[0]
    notes.clear()
    assert _write(head, "AUTO", 41, notes) == "BASIS" and notes == []


@pytest.mark.parametrize(("mode", "limit", "said"), [
    ("PER_FRAME", "PER_FRAME_KEYS_WARN_FRAMES", "67 per-frame shape keys"),
    ("POINT_CACHE", "POINT_CACHE_WARN_BYTES", "MB on disk"),
])
def test_long_takes_warn_in_the_operator_report(fresh, tmp_path, monkeypatch, capfd, mode,
                                                limit, said):
    make_channel_head()
    add_strip(write_speech_wav(tmp_path / "s.wav"))  # a take of 67 frames
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    monkeypatch.setattr(shapes, limit, 20)
    capfd.readouterr()
    assert bpy.ops.diffusiontalker.generate(blocking=True, output_mode=mode) == {"FINISHED"}
    out = capfd.readouterr().out  # Blender prints operator reports in background mode
    assert "Warning:" in out and said in out
    monkeypatch.undo()
    capfd.readouterr()
    assert bpy.ops.diffusiontalker.generate(blocking=True, output_mode=mode) == {"FINISHED"}
    assert said not in capfd.readouterr().out  # a short take: no warning


def test_auto_picks_by_space_length_and_memory():
    from diffusiontalker_blender.generate import BASIS_MEMORY_BUDGET, resolve_mode

    assert resolve_mode("channels", "AUTO", 10**7, 5023) == "CHANNEL_KEYS"
    assert resolve_mode("vertices", "AUTO", 300, 5023) == "BASIS"
    assert resolve_mode("vertices", "AUTO", 18000, 5023) == "BASIS"  # 10 min at 30 fps
    hours = 30 * 3600 * 4
    assert shapes.basis_bake_bytes(hours, 5023) > BASIS_MEMORY_BUDGET
    assert resolve_mode("vertices", "AUTO", hours, 5023) == "POINT_CACHE"
    assert resolve_mode("vertices", "PER_FRAME", 18000, 5023) == "PER_FRAME"  # asked for


def test_channel_basis_bake_of_rig_built_keys_matches_channel_keys(fresh, tmp_path):
    from diffusiontalker_blender.head_object import create_head_object

    from diffusiontalker.head import build_demo_head

    obj = create_head_object(bpy.context, build_demo_head(), None, name="Bare")
    bpy.context.view_layer.objects.active = obj
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    assert bpy.ops.diffusiontalker.generate(blocking=True, target="Bare",
                                            output_mode="CHANNEL_KEYS") == {"FINISHED"}
    reference = np.stack([evaluated_coords(obj, f) for f in (20, 30, 45)])
    bpy.ops.diffusiontalker.remove_generated()
    assert obj.data.shape_keys is None  # the channel keys must be built again, then baked
    assert bpy.ops.diffusiontalker.generate(blocking=True, target="Bare",
                                            output_mode="BASIS") == {"FINISHED"}
    baked = np.stack([evaluated_coords(obj, f) for f in (20, 30, 45)])
    np.testing.assert_allclose(baked, reference, atol=2e-4)
