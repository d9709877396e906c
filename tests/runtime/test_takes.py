"""Takes: one per seed, sampled together; each equals the single generate of its seed, in
every runtime, with keys too."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from diffusiontalker.errors import ConfigError
from diffusiontalker.runtime.loader import load_talker

DATA = Path(__file__).resolve().parent / "data"


def _wave(seconds: float) -> np.ndarray:
    t = np.arange(int(16000 * seconds)) / 16000
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    return (0.1 * envelope * np.random.default_rng(2).standard_normal(t.size)).astype(np.float32)


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
@pytest.mark.parametrize("model, seconds", [("tiny_channels", 3.0), ("tiny_vertices", 12.5)])
def test_each_take_is_the_generate_of_its_seed(runtime, model, seconds):
    talker = load_talker(DATA / f"{model}.safetensors", "cpu", runtime)
    wave = _wave(seconds)
    takes = talker.generate_takes(wave, 16000, seeds=[4, 9, 4], steps=3, identity="match")
    assert len(takes) == 3
    for seed, take in zip([4, 9, 4], takes, strict=True):
        single = talker.generate(wave, 16000, seed=seed, steps=3, identity="match")
        assert np.abs(take.data - single.data).max() <= 1e-5
        assert take.identity == single.identity
    assert np.abs(takes[0].data - takes[1].data).max() > 1e-3
    assert np.array_equal(takes[0].data, takes[2].data)


def test_takes_honour_keys_and_need_a_seed():
    talker = load_talker(DATA / "tiny_channels.safetensors", "cpu", "onnx")
    name = talker.channels[0]
    keys = [{"frame": 20, "channels": {name: 0.5}}]
    takes = talker.generate_takes(_wave(2.0), 16000, seeds=[0, 1], steps=3, keys=keys)
    assert all(abs(t.data[20, 0] - 0.5) <= 0.03 for t in takes)
    with pytest.raises(ConfigError, match="at least one seed"):
        talker.generate_takes(_wave(1.0), 16000, seeds=[], steps=2)


def test_the_worker_runs_takes_and_keys_like_this_process():
    here = load_talker(DATA / "tiny_channels.safetensors", "cpu", "onnx")
    worker = load_talker(DATA / "tiny_channels.safetensors", "cpu", "worker")
    try:
        wave = _wave(2.0)
        keys = [{"start": 10, "end": 14, "channels": {here.channels[1]: 0.3}, "weight": 0.8}]
        ours = here.generate_takes(wave, 16000, seeds=[1, 2], steps=3, keys=keys)
        theirs = worker.generate_takes(wave, 16000, seeds=[1, 2], steps=3, keys=keys)
        single = worker.generate(wave, 16000, seed=2, steps=3, keys=keys)
    finally:
        worker.close()
    assert len(theirs) == 2
    for a, b in zip(ours, theirs, strict=True):
        assert np.abs(a.data - b.data).max() <= 1e-4
    assert np.abs(single.data - ours[1].data).max() <= 1e-4
