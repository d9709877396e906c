"""Partial re-take: frames [a, b) sampled again, the rest of the take kept bit for bit, seams
as smooth as the take itself, the same in every runtime, and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from diffusiontalker.cli import main
from diffusiontalker.errors import ConfigError, MotionError
from diffusiontalker.motion import Motion
from diffusiontalker.runtime.loader import load_talker
from diffusiontalker.runtime.retake import retake, retake_mask

DATA = Path(__file__).resolve().parent / "data"


def _wave(seconds: float = 4.0) -> np.ndarray:
    t = np.arange(int(16000 * seconds)) / 16000
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    noise = np.random.default_rng(5).standard_normal(t.size)
    return (0.1 * envelope * noise).astype(np.float32)


def _largest_step(data: np.ndarray) -> float:
    return float(np.abs(np.diff(data.reshape(data.shape[0], -1), axis=0)).max())


@pytest.mark.parametrize("model", ["tiny_channels", "tiny_vertices"])
def test_only_the_range_changes_and_the_seams_do_not_pop(model):
    talker = load_talker(DATA / f"{model}.safetensors", "cpu", "onnx")
    wave = _wave()
    take = talker.generate(wave, 16000, seed=1, steps=4)
    again = retake(talker, take, wave, 16000, frames=(40, 80), seed=7, steps=4)
    assert np.array_equal(again.data[:40], take.data[:40])
    assert np.array_equal(again.data[80:], take.data[80:])
    assert np.abs(again.data[50:70] - take.data[50:70]).max() > 1e-3  # really sampled anew
    seams = max(_largest_step(again.data[38:43]), _largest_step(again.data[77:82]))
    assert seams <= _largest_step(take.data)


def test_a_retake_is_the_same_in_torch_onnx_and_worker_runtime():
    wave = _wave()
    results = []
    for runtime in ("torch", "onnx", "worker"):
        talker = load_talker(DATA / "tiny_channels.safetensors", "cpu", runtime)
        try:
            take = talker.generate(wave, 16000, seed=1, steps=3)
            results.append(retake(talker, take, wave, 16000, frames=(10, 70), seed=2,
                                  steps=3).data)
        finally:
            getattr(talker, "close", lambda: None)()
    assert np.abs(results[0] - results[1]).max() <= 1e-4
    assert np.abs(results[0] - results[2]).max() <= 1e-4


def test_the_mask_holds_outside_and_eases_in():
    mask = retake_mask(20, 5, 15, 3)
    assert mask[:5].min() == 1 and mask[15:].min() == 1 and mask[8:12].max() == 0
    assert 1 > mask[5] > mask[6] > mask[7] > 0 and 0 < mask[12] < mask[13] < mask[14] < 1
    assert retake_mask(20, 0, 20, 3).max() == 0  # the whole take: nothing held


def test_bad_retakes_are_clear_errors():
    talker = load_talker(DATA / "tiny_channels.safetensors", "cpu", "onnx")
    wave = _wave(2.0)
    take = talker.generate(wave, 16000, seed=1, steps=2)
    with pytest.raises(ConfigError, match="0 <= A < B"):
        retake(talker, take, wave, 16000, frames=(30, 10), seed=2)
    with pytest.raises(MotionError, match="audio the take was made from"):
        retake(talker, take, _wave(3.0), 16000, frames=(0, 10), seed=2)
    other = Motion(25.0, "channels", take.data, take.channels)
    with pytest.raises(MotionError, match="not made by this model"):
        retake(talker, other, wave, 16000, frames=(0, 10), seed=2)


def test_cli_retake_keeps_the_rest_of_the_file_bit_for_bit(tmp_path):
    import soundfile

    audio = tmp_path / "speech.wav"
    soundfile.write(audio, _wave(), 16000)
    ckpt = str(DATA / "tiny_channels.safetensors")
    assert main(["generate", str(audio), "-o", str(tmp_path / "take.npz"), "--checkpoint", ckpt,
                 "--seed", "1"]) == 0
    assert main(["generate", str(audio), "-o", str(tmp_path / "again.npz"), "--checkpoint", ckpt,
                 "--retake", str(tmp_path / "take.npz"), "--frames", "30:60", "--seed", "9"]) == 0
    with np.load(tmp_path / "take.npz") as a, np.load(tmp_path / "again.npz") as b:
        assert np.array_equal(a["weights"][:30], b["weights"][:30])
        assert np.array_equal(a["weights"][60:], b["weights"][60:])
        assert not np.array_equal(a["weights"][30:60], b["weights"][30:60])
    assert main(["generate", str(audio), "-o", str(tmp_path / "x.npz"), "--frames", "1:2"]) == 2
