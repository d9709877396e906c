"""Voice conversion and voice quality move the voice, never the timing."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from scipy import signal

from diffusiontalker.synth import voice

SR = 16000
parselmouth = pytest.importorskip("parselmouth")


def speech_like(seconds: float = 2.0, f0: float = 110.0, seed: int = 0) -> np.ndarray:
    """Vowel-like syllables (a glottal pulse train with a gliding F0 through three formant
    resonators) of 120-300 ms, separated by silent closures of 40-150 ms."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    pitch = f0 * (1.0 + 0.15 * np.sin(2 * np.pi * 0.7 * t))
    phase = np.cumsum(pitch) / SR
    pulses = np.diff(np.floor(phase), prepend=0.0)
    source = signal.lfilter([1.0], [1.0, -0.95], pulses)  # glottal roll-off
    x = np.zeros(n)
    for formant, bandwidth in ((700.0, 90.0), (1200.0, 110.0), (2600.0, 160.0)):
        r = np.exp(-np.pi * bandwidth / SR)
        x += signal.lfilter([1.0 - r], [1.0, -2 * r * np.cos(2 * np.pi * formant / SR), r * r],
                            source)
    gate = np.zeros(n)
    i = int(0.1 * SR)
    while i < n - int(0.1 * SR):
        length = min(int(rng.uniform(0.12, 0.3) * SR), n - i)
        gate[i:i + length] = np.hanning(length) ** 0.3
        i += length + int(rng.uniform(0.04, 0.15) * SR)
    x *= gate
    return 0.5 * x / np.max(np.abs(x))


def envelope_lag(a: np.ndarray, b: np.ndarray, hop: int = SR // 100) -> int:
    """Lag (in 10 ms frames) of the cross-correlation peak of the RMS envelopes."""
    def env(x: np.ndarray) -> np.ndarray:
        frames = len(x) // hop
        e = np.sqrt(np.mean(np.asarray(x[:frames * hop], np.float64).reshape(frames, hop) ** 2,
                            axis=1))
        return e - e.mean()
    ea, eb = env(a), env(b)
    return int(np.argmax(signal.correlate(ea, eb, mode="full"))) - (len(eb) - 1)


def test_envelope_lag_sees_a_shift():
    x = speech_like()
    assert envelope_lag(np.roll(x, 3 * SR // 100), x) == 3
    assert envelope_lag(x, x) == 0


def median_f0(x: np.ndarray) -> float:
    f = parselmouth.Sound(x, SR).to_pitch(pitch_floor=60.0, pitch_ceiling=500.0).selected_array["frequency"]
    return float(np.median(f[f > 0]))


@pytest.mark.parametrize("kind", sorted(voice.VOICE_KINDS))
def test_change_voice_keeps_timing_and_moves_f0(kind):
    x = speech_like()
    (f0_lo, f0_hi), (ratio_lo, ratio_hi) = voice.VOICE_KINDS[kind]
    target = voice.VoiceTarget(kind, (f0_lo + f0_hi) / 2, (ratio_lo + ratio_hi) / 2, 1.3)
    y, description = voice.change_voice(x, SR, target)
    assert description == target.describe() and description.startswith(f"voice {kind}")
    assert len(y) == len(x) and y.dtype == np.float32 and np.all(np.isfinite(y))
    assert abs(envelope_lag(y, x)) <= 1  # the syllables and closures stay in place
    source, converted = median_f0(x), median_f0(y)
    assert converted == pytest.approx(target.pitch_median, rel=0.1)
    assert abs(converted - source) > 0.1 * source
    assert np.sqrt(np.mean(y ** 2)) == pytest.approx(np.sqrt(np.mean(x ** 2)), rel=1e-3)
    np.testing.assert_array_equal(voice.change_voice(x, SR, target)[0], y)  # seeded


def test_change_voice_keeps_timing_on_espeak_speech():
    espeak = pytest.importorskip("diffusiontalker.synth.espeak")
    speech = espeak.synthesize("Peter picked a peck of pickled peppers.", "en-us")
    x = signal.resample_poly(speech.audio.astype(np.float64), SR * 2, speech.sample_rate * 2)
    target = voice.VoiceTarget("child", 300.0, 1.28, 1.5)
    y, _ = voice.change_voice(x, SR, target)
    assert len(y) == len(x) and abs(envelope_lag(y, x)) <= 1
    assert median_f0(y) == pytest.approx(300.0, rel=0.1)


@pytest.mark.parametrize("audio, reason", [
    (np.zeros(SR), "silent"),
    (np.zeros(0), "silent"),
    (np.random.default_rng(0).standard_normal(100) * 0.1, "Praat"),  # too short to analyse
])
def test_failures_return_the_input_and_say_so(audio, reason):
    y, description = voice.change_voice(audio, SR, voice.VoiceTarget("female", 200.0, 1.15, 1.0))
    assert description.startswith("voice unchanged") and reason in description
    np.testing.assert_array_equal(y, audio.astype(np.float32))


def test_without_parselmouth_the_input_comes_back(monkeypatch):
    monkeypatch.setitem(sys.modules, "parselmouth", None)  # import raises ImportError
    x = speech_like(0.5)
    y, description = voice.change_voice(x, SR, voice.VoiceTarget("child", 300.0, 1.25, 1.0))
    assert description == "voice unchanged (parselmouth missing)"
    np.testing.assert_array_equal(y, x.astype(np.float32))


def test_draw_voice_covers_every_kind_within_its_ranges():
    rng = np.random.default_rng(0)
    targets = [voice.draw_voice(rng) for _ in range(200)]
    assert {t.kind for t in targets} == set(voice.VOICE_KINDS)
    for t in targets:
        (f0_lo, f0_hi), (ratio_lo, ratio_hi) = voice.VOICE_KINDS[t.kind]
        assert f0_lo <= t.pitch_median <= f0_hi and ratio_lo <= t.formant_ratio <= ratio_hi
        assert voice.PITCH_RANGE_FACTORS[0] <= t.pitch_range <= voice.PITCH_RANGE_FACTORS[1]
    again = [voice.draw_voice(np.random.default_rng(0)) for _ in range(1)]
    assert again[0] == targets[0]


def _band_energy(x: np.ndarray, low: float, high: float) -> float:
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return float(np.sum(spectrum[(f >= low) & (f < high)]))


@pytest.mark.parametrize("slope, breath", [(-4.0, 0.3), (3.0, 0.0)])
def test_voice_quality_tilts_without_moving_anything(slope, breath):
    x = speech_like(1.0)
    y = voice.voice_quality(x, SR, np.random.default_rng(0), slope, breath)
    assert len(y) == len(x) and np.all(np.isfinite(y))
    assert abs(envelope_lag(y, x)) <= 1
    ratio_in = _band_energy(x, 2000, 8000) / _band_energy(x, 0, 1000)
    ratio_out = _band_energy(y, 2000, 8000) / _band_energy(y, 0, 1000)
    if breath == 0.0:
        assert ratio_out > 2 * ratio_in  # pressed: flatter spectrum
    # zero-phase: a click stays on its sample
    click = np.zeros(SR)
    click[8000] = 1.0
    assert int(np.argmax(np.abs(voice.tilt(click, SR, slope)))) == 8000
    # breathy: steeper tilt, and the aspiration noise lives in the syllables
    if breath > 0.0:
        quiet = np.abs(x) < 1e-9
        assert np.sqrt(np.mean(y[quiet] ** 2)) < 0.05 * np.sqrt(np.mean(y ** 2))
        assert np.sqrt(np.mean((y - voice.tilt(x, SR, slope))[~quiet] ** 2)) > 0
