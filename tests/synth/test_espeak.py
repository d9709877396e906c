"""eSpeak NG through ctypes: audio plus ordered phoneme and word events inside it."""

from __future__ import annotations

import numpy as np
import pytest

from diffusiontalker.synth.espeak import PAUSE, SynthError, synthesize


@pytest.mark.parametrize("voice", ["en-us", "en-gb-x-rp+f2", "en-gb-scotland+m3"])
def test_phoneme_events_are_ordered_and_inside_the_audio(voice):
    u = synthesize("Bob bought a map. Why did Fiona move the blue boat?", voice)
    assert u.sample_rate == 22050
    assert u.audio.dtype == np.float32 and 0.05 < np.abs(u.audio).max() <= 1.0
    assert 2.0 < u.duration < 8.0
    speech = [p for p in u.phones if p.phoneme != PAUSE]
    assert len(speech) > 25
    for a, b in zip(u.phones, u.phones[1:], strict=False):
        assert a.end == pytest.approx(b.start, abs=1e-3)  # contiguous, in order
    for p in u.phones:
        assert 0.0 <= p.start < p.end <= u.duration + 1e-6
    assert [p.phoneme.strip("ˈˌ") for p in speech[:3]] == ["b", "ɑː", "b"] or \
        speech[0].phoneme == "b"
    assert len(u.words) == 11
    assert all(a.start <= b.start for a, b in zip(u.words, u.words[1:], strict=False))


def test_pause_between_sentences_is_marked():
    u = synthesize("Hello there. Good morning.", "en-us")
    pauses = [p for p in u.phones if p.phoneme == PAUSE and p.end - p.start > 0.1]
    assert pauses, "the silence between the two sentences should be a pause phone"
    # the audio really is quiet in the pause
    p = pauses[0]
    quiet = u.audio[int((p.start + 0.02) * u.sample_rate): int((p.end - 0.02) * u.sample_rate)]
    assert np.sqrt(np.mean(quiet ** 2)) < 0.01 * np.abs(u.audio).max()


def test_prosody_changes_the_speech():
    slow = synthesize("The weather is lovely today.", "en-us", rate=120)
    fast = synthesize("The weather is lovely today.", "en-us", rate=260)
    assert slow.duration > 1.5 * fast.duration


def test_bad_voice_and_empty_text_are_clear_errors():
    with pytest.raises(SynthError, match="no voice 'xx-nowhere'"):
        synthesize("hello", "xx-nowhere")
    with pytest.raises(SynthError, match="empty text"):
        synthesize("   ", "en-us")
