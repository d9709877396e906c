"""Timing helpers: median wall-clock time of ``Talker.generate`` at given step counts."""

from __future__ import annotations

import statistics
import time

import numpy as np

from ..audio.loading import SAMPLE_RATE


def test_speech(seconds: float, seed: int = 0) -> np.ndarray:
    """A deterministic voiced, syllable-modulated buzz of ``seconds`` (no file needed)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    envelope = np.clip(np.sin(2 * np.pi * 3.5 * t), 0, None)
    buzz = sum(np.sin(2 * np.pi * 140.0 * k * t) / k for k in range(1, 6))
    return (0.25 * envelope * buzz + 0.002 * rng.standard_normal(t.size)).astype(np.float32)


def time_generate(talker, wave: np.ndarray, steps: int, name: str, repeats: int = 3,
                  warmup: int = 1) -> dict:
    """``{"name", "steps", "median_s", "min_s", "repeats", "realtime_factor"}`` for one setting."""
    for _ in range(warmup):
        talker.generate(wave, SAMPLE_RATE, steps=steps)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        talker.generate(wave, SAMPLE_RATE, steps=steps)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {"name": name, "steps": int(steps), "median_s": round(median, 4),
            "min_s": round(min(times), 4), "repeats": repeats,
            "realtime_factor": round(wave.shape[0] / SAMPLE_RATE / median, 2)}


def model_role(talker) -> str:
    """``student`` for a distilled checkpoint, ``teacher`` for a trained teacher, else ``model``."""
    kind = talker.config.provenance.get("kind")
    if talker.config.diffusion.distilled_from or kind == "student":
        return "student"
    return "teacher" if kind == "teacher" else "model"
