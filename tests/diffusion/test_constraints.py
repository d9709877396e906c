"""Replacement in x̂ and the rest pose on digital silence (diffusion/constraints.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from diffusiontalker.diffusion.constraints import (
    REST_RAMP_FRAMES,
    replace_in_x_hat,
    silence_rest_mask,
)
from diffusiontalker.diffusion.samplers import sample_ddim
from diffusiontalker.runtime.loader import load_talker

DATA = Path(__file__).resolve().parents[1] / "runtime" / "data"


def _speech(seconds: float, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(16000 * seconds))).astype(np.float32)


def test_the_mask_holds_long_silence_and_ramps_into_sound():
    wave = np.concatenate([_speech(1.0), np.zeros(16000, np.float32), _speech(1.0)])
    mask = silence_rest_mask(wave, 90, 30.0)
    assert mask[:30].max() == 0 and mask[60:].max() == 0  # speech frames are free
    assert mask[30 + REST_RAMP_FRAMES: 60 - REST_RAMP_FRAMES].min() == 1.0
    ramp = mask[30:30 + REST_RAMP_FRAMES]
    assert 0 < ramp[0] < ramp[-1] < 1  # eases in: no pop at the edge


def test_short_gaps_and_quiet_room_tone_are_left_to_the_model():
    gap = np.concatenate([_speech(1.0), np.zeros(3200, np.float32), _speech(1.0)])  # 0.2 s
    assert silence_rest_mask(gap, 66, 30.0).max() == 0
    room = 10 ** (-55 / 20) * np.random.default_rng(1).standard_normal(32000).astype(np.float32)
    assert silence_rest_mask(room, 60, 30.0).max() == 0
    assert silence_rest_mask(np.zeros(32000, np.float32), 60, 30.0).min() == 1.0


def test_replacement_in_x_hat_ends_on_the_target_where_the_mask_is_one():
    rng = np.random.default_rng(0)
    mask = np.zeros((1, 8, 1), np.float32)
    mask[0, 3:6] = 1.0
    target = np.full((1, 1, 2), 0.5, np.float32)
    denoise = replace_in_x_hat(lambda z, u, c: np.tanh(z), mask, target)
    x = sample_ddim(denoise, (1, 8, 2), 4, noise=rng.standard_normal((1, 8, 2)).astype(np.float32))
    np.testing.assert_allclose(x[0, 3:6], 0.5, atol=1e-6)
    assert np.abs(x[0, :3] - 0.5).max() > 0.05


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_digital_silence_rests_exactly_in_every_runtime(runtime):
    talker = load_talker(DATA / "tiny_channels.safetensors", "cpu", runtime)
    silent = talker.generate(np.zeros(16000 * 3, np.float32), 16000, seed=0, steps=3)
    assert np.abs(silent.data).max() < 1e-5  # the rest pose: every weight 0
    wave = np.concatenate([_speech(2.0), np.zeros(16000 * 2, np.float32)])
    motion = talker.generate(wave, 16000, seed=0, steps=3)
    assert np.abs(motion.data[:50]).max() > 0.05  # speech still moves the face
    assert np.abs(motion.data[60 + REST_RAMP_FRAMES:]).max() < 1e-5


def test_frame_levels_do_not_depend_on_the_block_size():
    from diffusiontalker.diffusion.constraints import frame_levels_dbfs

    wave = _speech(30.0)
    wave[16000 * 5:16000 * 8] = 0
    whole, blocks = frame_levels_dbfs(wave, 900, 30.0), frame_levels_dbfs(wave, 900, 30.0, 7)
    assert np.array_equal(np.isinf(whole), np.isinf(blocks)) and np.isinf(whole).sum() == 90
    finite = np.isfinite(whole)
    np.testing.assert_allclose(blocks[finite], whole[finite], atol=1e-9)
