"""Long audio is a stream of windows: tokens per window with context, progress from the first
window, cancel before any window, and the same take as whole-file tokens where the audio
encoder's receptive field lies inside the context (the log-mel + conv models)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from diffusiontalker.errors import CancelledError
from diffusiontalker.runtime.loader import load_talker

DATA = Path(__file__).resolve().parent / "data"


def _wave(seconds: float) -> np.ndarray:
    return (0.1 * np.random.default_rng(3).standard_normal(int(16000 * seconds))).astype(np.float32)


@pytest.fixture(scope="module")
def talker():
    return load_talker(DATA / "tiny_channels.safetensors", "cpu", "onnx")


def test_tokens_are_computed_per_window_not_for_the_whole_file(talker, monkeypatch):
    lengths = []
    plain = talker.audio_tokens
    monkeypatch.setattr(talker, "audio_tokens", lambda w: lengths.append(len(w)) or plain(w))
    talker.generate(_wave(45.0), 16000, steps=1)
    assert len(lengths) == len(talker.windows(1350)) == 5
    assert max(lengths) <= 16000 * 12  # one 10 s window and 1 s of context each side


def test_streamed_tokens_equal_whole_file_tokens_inside_the_context(talker):
    wave = _wave(25.0)
    whole = talker.audio_tokens(wave)
    for a, b in talker.windows(750):
        np.testing.assert_allclose(talker.window_tokens(wave, a, b), whole[:, a:b], atol=1e-5)


def test_progress_starts_at_once_and_reaches_one(talker):
    seen: list[float] = []
    talker.generate(_wave(25.0), 16000, steps=2, progress=seen.append)
    assert seen[0] == 0.0 and seen[-1] == pytest.approx(1.0)
    assert seen == sorted(seen) and len(seen) == 1 + 2 * 3


def test_cancel_stops_before_the_next_window(talker):
    calls = []
    plain = talker.audio_tokens

    def tokens(w):
        calls.append(1)
        return plain(w)

    talker.audio_tokens = tokens
    try:
        with pytest.raises(CancelledError):
            talker.generate(_wave(45.0), 16000, steps=2, cancel=lambda: len(calls) >= 2)
    finally:
        del talker.audio_tokens
    assert len(calls) == 2  # the third window's audio was never encoded


def test_status_names_each_stage(talker):
    said: list[str] = []
    talker.generate(_wave(25.0), 16000, steps=1, status=said.append)
    assert said == ["reading audio", "sampling window 1/3", "sampling window 2/3",
                    "sampling window 3/3", "decoding"]


def test_the_worker_forwards_the_stages():
    import sys

    said: list[str] = []
    remote = load_talker(DATA / "tiny_channels.safetensors", "cpu", "worker", python=sys.executable)
    try:
        remote.generate(_wave(12.0), 16000, steps=1, status=said.append)
    finally:
        remote.close()
    assert said == ["reading audio", "sampling window 1/2", "sampling window 2/2", "decoding"]


def test_status_is_offered_only_to_talkers_that_take_it():
    from diffusiontalker.runtime.talker import status_kwarg

    class Old:
        def generate(self, audio, sample_rate=None, *, progress=None, cancel=None):
            return None

    class New:
        def generate(self, audio, sample_rate=None, *, status=None):
            return None

    say = print
    assert status_kwarg(Old(), say) == {} and status_kwarg(New(), say) == {"status": say}
    assert status_kwarg(New(), None) == {}
