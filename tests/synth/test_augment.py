"""Augmentations keep the length and timing of the speech."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from scipy import signal

from diffusiontalker.synth import augment as aug

from .test_voice import envelope_lag, speech_like

SR = 16000


def _click_train():
    x = np.zeros(SR * 2)
    x[[4000, 12000, 20000]] = 1.0  # clicks at known times
    return x


@pytest.mark.parametrize("transform", [
    lambda x, r: aug.add_noise(x, r, 10.0, "white"),
    lambda x, r: aug.add_noise(x, r, 10.0, "pink"),
    lambda x, r: aug.add_noise(x, r, 10.0, "babble"),
    lambda x, r: aug.reverberate(x, SR, r, 0.5, 0.5),
    lambda x, r: aug.band_limit(x, SR, 300.0, 3400.0),
    lambda x, r: aug.through_lower_rate(x, SR, 8000),
    lambda x, r: aug.telephone(x, SR),
    lambda x, r: aug.set_level(x, -20.0, 12.0),
])
def test_each_transform_keeps_length_and_timing(transform):
    x = _click_train()
    y = transform(x, np.random.default_rng(0))
    assert len(y) == len(x)
    if not np.allclose(y, x):
        # the first click is still where it was (no shift of the timeline)
        window = np.abs(y[3900:4100])
        assert abs(int(np.argmax(window)) - 100) <= 3


def test_noise_snr_is_as_asked():
    rng = np.random.default_rng(0)
    x = np.sin(np.arange(SR) * 0.05)
    y = aug.add_noise(x, rng, 10.0, "white")
    snr = 10 * np.log10(np.mean(x ** 2) / np.mean((y - x) ** 2))
    assert snr == pytest.approx(10.0, abs=0.01)


def sample_lag(y: np.ndarray, x: np.ndarray) -> int:
    """Lag in samples of the cross-correlation peak of y against x."""
    return int(np.argmax(signal.correlate(y, x, mode="full", method="fft"))) - (len(x) - 1)


@pytest.mark.parametrize("codec, kbps", [
    ("mp3", 24), ("mp3", 40), ("mp3", 64), ("opus", 8), ("opus", 16), ("opus", 24)])
def test_codec_round_trip_is_sample_aligned(codec, kbps):
    if aug.codec_missing(codec):
        pytest.skip(f"{codec}: {aug.codec_missing(codec)}")
    x = speech_like(1.5, seed=1)
    y = aug.codec_round_trip(x, SR, codec, kbps)
    assert len(y) == len(x) and np.all(np.isfinite(y))
    assert sample_lag(y, x) == 0
    # aligned to the sample, the coding error is well below the signal
    snr = 10 * np.log10(np.sum(x ** 2) / np.sum((y - x) ** 2))
    assert snr > 5.0
    assert not np.allclose(y, x, atol=1e-3)  # and it did change the sound


def test_telephone_is_aligned_narrowband_and_quantised():
    x = speech_like(1.0, seed=2) + 0.05 * np.random.default_rng(0).standard_normal(SR)
    y = aug.telephone(x, SR)
    assert len(y) == len(x) and sample_lag(y, x) == 0
    f = np.fft.rfftfreq(len(y), 1 / SR)
    spectrum = np.abs(np.fft.rfft(y)) ** 2
    assert spectrum[f > 4200].sum() < 1e-3 * spectrum.sum()
    assert spectrum[f < 150].sum() < 1e-2 * spectrum.sum()


def test_mu_law_has_256_levels_and_small_relative_error():
    x = np.linspace(-1.2, 1.2, 10001)
    y = aug.mu_law(x)
    assert len(np.unique(y)) <= 256 and np.max(np.abs(y)) <= 1.0 + 1e-12
    inside = (np.abs(x) > 0.01) & (np.abs(x) <= 1.0)
    assert np.max(np.abs(y[inside] - x[inside]) / np.abs(x[inside])) < 0.1


def test_set_level_sets_the_peak_and_soft_clips():
    x = speech_like(1.0)
    y = aug.set_level(x, -12.0)
    assert np.max(np.abs(y)) == pytest.approx(10 ** (-12 / 20))
    clipped = aug.set_level(x, -6.0, drive_db=12.0)
    assert np.max(np.abs(clipped)) == pytest.approx(10 ** (-6 / 20))
    crest = np.max(np.abs(x)) / np.sqrt(np.mean(x ** 2))
    crest_clipped = np.max(np.abs(clipped)) / np.sqrt(np.mean(clipped ** 2))
    assert crest_clipped < 0.8 * crest


def test_augment_chain_is_seeded_and_keeps_some_clips_clean():
    x = speech_like(1.0).astype(np.float32)
    for seed in range(6):  # chains with voices, codecs, noise and rooms
        a, desc_a = aug.augment(x, SR, np.random.default_rng(seed))
        b, desc_b = aug.augment(x, SR, np.random.default_rng(seed))
        np.testing.assert_array_equal(a, b)
        assert desc_a == desc_b
    chains = [aug.augment(x, SR, np.random.default_rng(s)) for s in range(80)]
    for y, applied in chains:
        assert len(y) == len(x) and y.dtype == np.float32 and np.all(np.isfinite(y))
        assert np.abs(y).max() <= 0.99 + 1e-6
        assert all(len(step) <= 60 for step in applied)
        assert sum(step.startswith("level") for step in applied) == 1
        assert abs(envelope_lag(y, x)) <= 1  # no step moves the speech
    kinds = [" | ".join(applied) for _, applied in chains]
    clean = sum(len(applied) == 1 for _, applied in chains)  # only the level
    assert 4 <= clean <= 25
    voiced = sum("voice " in k and "unchanged" not in k for k in kinds)
    assert 35 <= voiced <= 62  # about 60 %
    for name in ("reverb", "noise", "telephone", "mp3", "opus", "softclip", "tilt"):
        assert any(name in k for k in kinds), name


@pytest.mark.parametrize("n", [0, 1, 10, 1000, 2000])
def test_augment_survives_tiny_and_silent_clips(n):
    for seed in range(30):
        for x in (np.zeros(n, np.float32), np.random.default_rng(seed).standard_normal(n) * 0.1):
            y, applied = aug.augment(x, SR, np.random.default_rng(seed))
            assert len(y) == n and y.dtype == np.float32 and np.all(np.isfinite(y)) and applied


def test_augment_without_pyav_and_parselmouth(monkeypatch):
    x = speech_like(1.0).astype(np.float32)
    seeds = range(40)
    with_all = [aug.augment(x, SR, np.random.default_rng(s))[1] for s in seeds]
    monkeypatch.setitem(sys.modules, "av", None)  # import raises ImportError
    monkeypatch.setitem(sys.modules, "parselmouth", None)
    assert aug.codec_missing("mp3") == "PyAV missing"
    without = [aug.augment(x, SR, np.random.default_rng(s)) for s in seeds]
    skipped = " | ".join(" | ".join(applied) for _, applied in without)
    assert "skipped (PyAV missing)" in skipped and "voice unchanged (parselmouth missing)" in skipped
    for (y, applied), full in zip(without, with_all, strict=True):
        assert len(y) == len(x) and np.all(np.isfinite(y))
        # the same draws: the chain is the same, the optional steps are named as skipped
        assert len(applied) == len(full)
        for step, full_step in zip(applied, full, strict=True):
            if not step.startswith(("voice", "mp3", "opus")):
                assert step == full_step
