"""One generate loop for every runtime: the same seed gives the same take in torch, ONNX
Runtime and the worker process (issue: one pipeline), checked against golden values."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from diffusiontalker.cli import main
from diffusiontalker.runtime.loader import load_talker
from diffusiontalker.runtime.talker import start_noise

DATA = Path(__file__).resolve().parent / "data"
RUNTIMES = ("torch", "onnx", "worker")
# 10.5 s of seeded noise, identity "ada", seed 7, 3 steps; frames 0, 150 and 314, first three
# values of each (channel weights / vertex offsets in metres), recorded from this release.
GOLDEN = {
    "tiny_channels": [-0.5801639, -1.629218, -2.255108, 0.2076765, -0.3529425, -0.7666891,
                      0.5447156, 0.7616927, 0.7957915],
    "tiny_vertices": [0.03181252, -0.0020552, 0.01492736, 0.02379567, -0.0007068605,
                      0.008259497, -0.002402725, -0.00400973, 0.01971198],
}


def _wave() -> np.ndarray:
    return (0.1 * np.random.default_rng(11).standard_normal(int(16000 * 10.5))).astype(np.float32)


def _golden_cells(data: np.ndarray) -> np.ndarray:
    return data.reshape(data.shape[0], -1)[[0, 150, 314], :3].ravel()


@pytest.fixture(scope="module")
def takes():
    """Each runtime's take of the same audio, seed and identity, per model."""
    wave, out = _wave(), {}
    for name in GOLDEN:
        for runtime in RUNTIMES:
            talker = load_talker(DATA / f"{name}.safetensors", "cpu", runtime, python=sys.executable)
            try:
                assert talker.runtime == runtime
                out[name, runtime] = talker.generate(wave, 16000, identity="ada", seed=7, steps=3)
            finally:
                if hasattr(talker, "close"):
                    talker.close()
    return out


@pytest.mark.parametrize("name", sorted(GOLDEN))
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_every_runtime_reproduces_the_golden_take(takes, name, runtime):
    motion = takes[name, runtime]
    assert motion.num_frames == 315 and motion.identity == {"ada": 1.0}
    np.testing.assert_allclose(_golden_cells(motion.data), GOLDEN[name], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_the_same_seed_gives_the_same_take_in_every_runtime(takes, name):
    ref = takes[name, "torch"]
    for runtime in ("onnx", "worker"):
        other = takes[name, runtime]
        assert (other.space, other.fps, other.channels, other.data.shape) == (
            ref.space, ref.fps, ref.channels, ref.data.shape)
        assert np.abs(other.data - ref.data).max() <= 1e-4
    assert np.abs(ref.data).max() > 100 * 1e-4 or name == "tiny_vertices"  # not a match of zeros


def test_another_seed_gives_another_take():
    talker = load_talker(DATA / "tiny_channels.safetensors", "cpu", "onnx")
    wave = _wave()[:32000]
    a = talker.generate(wave, 16000, seed=7, steps=2).data
    b = talker.generate(wave, 16000, seed=8, steps=2).data
    assert np.abs(a - b).max() > 0.1


def test_start_noise_is_shared_by_overlapping_windows_and_fixed_by_the_seed():
    whole = start_noise(3, 0, 100, 4, fps=30.0)
    np.testing.assert_array_equal(start_noise(3, 40, 95, 4, fps=30.0), whole[40:95])
    assert whole.dtype == np.float32 and whole.shape == (100, 4)
    assert not np.array_equal(start_noise(4, 0, 100, 4, fps=30.0), whole)
    assert abs(float(whole.std()) - 1.0) < 0.2


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_cli_generate_selects_the_runtime_and_writes_the_same_take(tmp_path, runtime):
    import soundfile

    audio = tmp_path / "speech.wav"
    soundfile.write(audio, _wave()[:48000], 16000)
    out = tmp_path / f"{runtime}.npz"
    code = main(["generate", str(audio), "-o", str(out), "--checkpoint",
                 str(DATA / "tiny_channels.safetensors"), "--runtime", runtime, "--seed", "7",
                 "--identity", "bo", "--steps", "2"])
    assert code == 0
    reference = load_talker(DATA / "tiny_channels.safetensors", "cpu", "torch").generate(
        str(audio), identity="bo", seed=7, steps=2)
    with np.load(out) as npz:
        assert np.abs(npz["weights"] - reference.data).max() <= 1e-4
