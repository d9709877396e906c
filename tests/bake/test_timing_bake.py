"""Timing (model frames -> scene frames) and bake maths (basis SVD, PC2), without Blender."""

from __future__ import annotations

import numpy as np
import pytest

from diffusiontalker.bake.shapes import compact_basis, offsets_from_channels, read_pc2, write_pc2
from diffusiontalker.bake.timing import (
    StripTiming,
    audible_frames,
    audible_window,
    cut_audio,
    motion_on_strip,
    resample_motion,
    scene_fps,
)
from diffusiontalker.errors import AudioError, ConfigError, MotionError


def test_scene_fps_uses_fps_base():
    assert scene_fps(30, 1.001) == pytest.approx(29.97002997)
    assert scene_fps(24) == 24.0
    with pytest.raises(ConfigError, match="Frame Rate"):
        scene_fps(0)


@pytest.mark.parametrize("fps", [24.0, 30.0, 30 / 1.001])
def test_trimmed_strip_maps_audible_part_only(fps):
    # 2 s of audio placed at frame 10, the first 5 frames trimmed away.
    length = 2.0 * fps
    timing = StripTiming(content_start=10, left_handle=15, right_handle=10 + round(length))
    frames = audible_frames(timing)
    assert frames[0] == 15 and frames[-1] == 10 + round(length) - 1
    start, end = audible_window(timing, fps, audio_seconds=2.0)
    assert start == pytest.approx(5 / fps)
    assert end == pytest.approx(min(2.0, round(length) / fps))
    # A ramp in model time (value = seconds since the window start) at 30 model fps.
    model_fps = 30.0
    n = int((end - start) * model_fps) + 1
    ramp = (np.arange(n, dtype=np.float32) / model_fps)[:, None]
    out_frames, values = motion_on_strip(ramp, model_fps, start, timing, fps)
    assert np.array_equal(out_frames, frames)
    expected = np.clip((frames - 10) / fps - start, 0, (n - 1) / model_fps)
    np.testing.assert_allclose(values[:, 0], expected, atol=1e-5)


def test_sound_offset_shifts_audio_time():
    timing = StripTiming(content_start=0, left_handle=0, right_handle=24, sound_offset=0.5)
    assert audible_window(timing, 24.0, 3.0) == pytest.approx((0.5, 1.5))


def test_empty_window_is_a_clear_error():
    timing = StripTiming(content_start=0, left_handle=100, right_handle=120)
    with pytest.raises(AudioError, match="audible part is empty"):
        audible_window(timing, 24.0, audio_seconds=1.0)


def test_cut_audio_and_resample_shapes():
    wave = np.arange(16000, dtype=np.float32)
    assert cut_audio(wave, 16000, 0.25, 0.5).shape == (4000,)
    offsets = np.random.default_rng(0).normal(size=(10, 4, 3)).astype(np.float32)
    out = resample_motion(offsets, 10.0, np.array([0.0, 0.05, 5.0]))
    np.testing.assert_allclose(out[0], offsets[0])
    np.testing.assert_allclose(out[1], (offsets[0] + offsets[1]) / 2, atol=1e-6)
    np.testing.assert_allclose(out[2], offsets[-1])


def test_compact_basis_reconstructs_low_rank_motion():
    rng = np.random.default_rng(1)
    bases = rng.normal(size=(3, 50, 3)).astype(np.float32)
    weights = rng.normal(size=(40, 3)).astype(np.float32)
    offsets = offsets_from_channels(weights, bases)
    bake = compact_basis(offsets)
    assert bake.bases.shape[0] == 3
    assert np.abs(bake.weights).max() <= 1.0 + 1e-6
    np.testing.assert_allclose(bake.reconstruct(), offsets, atol=1e-4)
    capped = compact_basis(offsets, max_shapes=2)
    assert capped.bases.shape[0] == 2


def test_compact_basis_long_clip_on_tiny_mesh():
    rng = np.random.default_rng(3)
    offsets = offsets_from_channels(rng.normal(size=(200, 2)), rng.normal(size=(2, 4, 3)))
    bake = compact_basis(offsets)  # 200 frames > 12 coordinates: the other branch
    assert bake.bases.shape[0] == 2
    np.testing.assert_allclose(bake.reconstruct(), offsets, atol=1e-4)


def test_compact_basis_of_rest_is_rest():
    bake = compact_basis(np.zeros((5, 7, 3), np.float32))
    assert np.all(bake.reconstruct() == 0)


def test_pc2_round_trip(tmp_path):
    pos = np.random.default_rng(2).normal(size=(6, 9, 3)).astype(np.float32)
    path = tmp_path / "a.pc2"
    write_pc2(path, pos, start=3.0, rate=1.0)
    raw = path.read_bytes()
    assert raw[:12] == b"POINTCACHE2\0" and len(raw) == 32 + pos.size * 4
    back, start, rate = read_pc2(path)
    np.testing.assert_array_equal(back, pos)
    assert (start, rate) == (3.0, 1.0)


def test_bad_motion_and_point_caches_are_clear_errors(tmp_path):
    with pytest.raises(MotionError, match="0 frames"):
        resample_motion(np.zeros((0, 4), np.float32), 30.0, np.array([0.0]))
    with pytest.raises(MotionError, match=r"\(T, V, 3\)"):
        compact_basis(np.zeros((4, 6), np.float32))
    with pytest.raises(MotionError, match=r"\(T, V, 3\)"):
        write_pc2(tmp_path / "x.pc2", np.zeros((4, 6), np.float32))
    (tmp_path / "junk.pc2").write_bytes(b"not a point cache at all, but long enough")
    with pytest.raises(MotionError, match="is not a PC2 point cache"):
        read_pc2(tmp_path / "junk.pc2")
    (tmp_path / "short.pc2").write_bytes(b"POINT")
    with pytest.raises(MotionError, match="is not a PC2 point cache"):
        read_pc2(tmp_path / "short.pc2")
    write_pc2(tmp_path / "cut.pc2", np.ones((6, 9, 3), np.float32))
    (tmp_path / "cut.pc2").write_bytes((tmp_path / "cut.pc2").read_bytes()[:-8])
    with pytest.raises(MotionError, match="truncated"):
        read_pc2(tmp_path / "cut.pc2")
