"""Audio augmentation so that a model learns speech, not the synthesiser.

Every transform keeps the number of samples and the timing of the speech (no tempo or pitch
change; filters are zero-phase; reverberation keeps the direct sound at its place), so the
phoneme alignments and the motion stay exact. A fraction of the clips is left clean.
"""

from __future__ import annotations

import numpy as np
from scipy import signal


def add_noise(audio: np.ndarray, rng: np.random.Generator, snr_db: float, kind: str) -> np.ndarray:
    """Additive noise at ``snr_db`` relative to the speech power: ``white``, ``pink`` (1/f)
    or ``babble`` (several time-shifted, partly reversed copies of the speech itself)."""
    n = len(audio)
    if kind == "white":
        noise = rng.standard_normal(n)
    elif kind == "pink":
        spectrum = np.fft.rfft(rng.standard_normal(n))
        f = np.arange(len(spectrum), dtype=np.float64)
        f[0] = 1.0
        noise = np.fft.irfft(spectrum / np.sqrt(f), n)
    elif kind == "babble":
        noise = np.zeros(n)
        for _ in range(int(rng.integers(3, 7))):
            copy = audio[::-1] if rng.random() < 0.5 else audio
            noise += np.roll(copy, int(rng.integers(n))) * rng.uniform(0.5, 1.0)
    else:
        raise ValueError(f"unknown noise kind {kind!r}")
    speech_power = float(np.mean(audio ** 2)) + 1e-12
    noise_power = float(np.mean(noise ** 2)) + 1e-12
    return audio + noise * np.sqrt(speech_power / noise_power / 10 ** (snr_db / 10))


def room_impulse(sample_rate: int, rng: np.random.Generator, rt60: float) -> np.ndarray:
    """A synthetic room response: the direct sound at sample 0, a few early reflections and a
    late tail of noise decaying by 60 dB in ``rt60`` seconds."""
    length = int(rt60 * sample_rate)
    t = np.arange(length) / sample_rate
    tail = rng.standard_normal(length) * np.exp(-6.9 * t / rt60)
    tail[: int(0.005 * sample_rate)] = 0.0  # the tail starts after the first reflections
    ir = 0.3 * tail / (np.sqrt(np.sum(tail ** 2)) + 1e-12)
    for _ in range(int(rng.integers(2, 6))):
        ir[int(rng.uniform(0.002, 0.02) * sample_rate)] += rng.uniform(0.1, 0.5)
    ir[0] = 1.0
    return ir


def reverberate(audio: np.ndarray, sample_rate: int, rng: np.random.Generator,
                rt60: float, wet: float) -> np.ndarray:
    """Convolve with :func:`room_impulse`, mix ``wet`` of it with the dry sound, same length."""
    wet_sound = signal.fftconvolve(audio, room_impulse(sample_rate, rng, rt60))[: len(audio)]
    return (1.0 - wet) * audio + wet * wet_sound


def band_limit(audio: np.ndarray, sample_rate: int, low: float, high: float) -> np.ndarray:
    """Zero-phase band-pass (telephone-like when 300-3400 Hz)."""
    high = min(high, 0.45 * sample_rate)
    sos = signal.butter(4, [low, high], btype="bandpass", fs=sample_rate, output="sos")
    return signal.sosfiltfilt(sos, audio)


def through_lower_rate(audio: np.ndarray, sample_rate: int, low_rate: int) -> np.ndarray:
    """Down-sample to ``low_rate`` and back (loses the band above low_rate / 2)."""
    g = np.gcd(sample_rate, low_rate)
    down = signal.resample_poly(audio, low_rate // g, sample_rate // g)
    up = signal.resample_poly(down, sample_rate // g, low_rate // g)
    out = np.zeros(len(audio))
    out[: min(len(up), len(audio))] = up[: len(audio)]
    return out


def augment(audio: np.ndarray, sample_rate: int, rng: np.random.Generator,
            clean_fraction: float = 0.25) -> tuple[np.ndarray, list[str]]:
    """A random chain of the transforms above; returns the audio (same length, float32, peak
    at most 0.99) and a description of what was applied."""
    x = audio.astype(np.float64)
    applied: list[str] = []
    if rng.random() >= clean_fraction:
        if rng.random() < 0.4:
            rt60, wet = rng.uniform(0.15, 0.8), rng.uniform(0.2, 0.7)
            x = reverberate(x, sample_rate, rng, rt60, wet)
            applied.append(f"reverb rt60={rt60:.2f} wet={wet:.2f}")
        r = rng.random()
        if r < 0.15:
            x = band_limit(x, sample_rate, 300.0, 3400.0)
            applied.append("telephone 300-3400Hz")
        elif r < 0.35:
            low_rate = int(rng.choice([8000, 11025, 12000]))
            x = through_lower_rate(x, sample_rate, low_rate)
            applied.append(f"resampled via {low_rate}Hz")
        if rng.random() < 0.6:
            kind = str(rng.choice(["white", "pink", "babble"]))
            snr = rng.uniform(5.0, 30.0)
            x = add_noise(x, rng, snr, kind)
            applied.append(f"{kind} noise snr={snr:.1f}dB")
    gain_db = rng.uniform(-18.0, 3.0)
    x = x * 10 ** (gain_db / 20)
    applied.append(f"gain {gain_db:.1f}dB")
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak > 0.99:
        x *= 0.99 / peak
    return x.astype(np.float32), applied
