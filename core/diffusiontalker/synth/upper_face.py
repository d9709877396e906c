"""The stochastic upper face: blinks, brow raises on stressed syllables, small drifts, and the
cheek puff of bilabial plosives.

These are the parts of a face that speech only loosely determines: the same sentence gets
different blinks and brow raises on every take. That one-to-many relation is what a diffusion
model of facial motion exists to capture (DiffusionTalker, arXiv 2311.16565 Sec. 1), so each
call draws them afresh from the random generator it is given.
"""

from __future__ import annotations

import numpy as np

from .espeak import Phone
from .styles import MotionStyle
from .visemes import VISEMES, parse_phoneme

BLINK_CLOSE = (0.04, 0.06)  # s: lids closing
BLINK_HOLD = (0.01, 0.03)  # s: shut
BLINK_OPEN = (0.06, 0.09)  # s: opening (slower than closing)
MIN_BLINK_GAP = 0.7  # s


def blink_times(duration: float, rate_per_minute: float, rng: np.random.Generator,
                pauses: list[float]) -> list[float]:
    """Blink onsets: a Poisson process at the style's rate with a refractory gap, plus a
    chance of a blink at the start of each pause (people blink at phrase boundaries)."""
    mean_gap = 60.0 / max(rate_per_minute, 1e-3)
    times, t = [], -rng.uniform(0.0, mean_gap)
    while True:
        t += MIN_BLINK_GAP + rng.exponential(max(mean_gap - MIN_BLINK_GAP, 0.2))
        if t >= duration:
            break
        times.append(t)
    for p in pauses:
        if rng.random() < 0.35 and all(abs(p - b) > MIN_BLINK_GAP for b in times):
            times.append(p + rng.uniform(0.0, 0.1))
    return sorted(t for t in times if 0.0 <= t < duration)


def blink_curve(times: np.ndarray, onsets: list[float], rng: np.random.Generator,
                eye_offset: float = 0.0) -> np.ndarray:
    """Lid closure in [0, 1] at ``times``: a fast close, a short hold, a slower opening."""
    out = np.zeros(len(times))
    for onset in onsets:
        close, hold, opening = (rng.uniform(*BLINK_CLOSE), rng.uniform(*BLINK_HOLD),
                                rng.uniform(*BLINK_OPEN))
        depth = rng.uniform(0.85, 1.0)
        t = times - onset - eye_offset
        rise = np.clip(t / close, 0.0, 1.0)
        fall = np.clip(1.0 - (t - close - hold) / opening, 0.0, 1.0)
        shape = np.where(t < close, np.sin(0.5 * np.pi * rise) ** 2, np.sin(0.5 * np.pi * fall) ** 2)
        shape[(t < 0) | (t > close + hold + opening)] = 0.0
        out = np.maximum(out, depth * shape)
    return out


def _bump(times: np.ndarray, onset: float, attack: float, release: float) -> np.ndarray:
    """A smooth rise over ``attack`` seconds then an exponential-like fall over ``release``."""
    t = times - onset
    up = np.clip(t / attack, 0.0, 1.0)
    down = np.exp(-np.clip(t - attack, 0.0, None) / release)
    return np.where(t < 0, 0.0, np.sin(0.5 * np.pi * up) ** 2 * down)


def drift(num_frames: int, fps: float, rng: np.random.Generator, scale: float,
          cutoff_s: float = 0.8) -> np.ndarray:
    """Slow zero-mean noise: white noise smoothed over ``cutoff_s`` seconds."""
    sigma = cutoff_s * fps / 2.0
    radius = max(1, int(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    noise = np.convolve(rng.standard_normal(num_frames + 2 * radius), k / np.sqrt((k ** 2).sum()),
                        mode="valid")
    return scale * noise[:num_frames]


def upper_face(phones: list[Phone], num_frames: int, style: MotionStyle,
               rng: np.random.Generator, fps: float = 30.0,
               question: bool = False) -> dict[str, np.ndarray]:
    """Curves of the upper-face channels and ``cheekPuff`` for one utterance."""
    times = np.arange(num_frames) / fps
    duration = num_frames / fps
    pauses = [p.start for p in phones if p.phoneme == "_" and p.end - p.start > 0.15]
    onsets = blink_times(duration, style.blink_rate, rng, pauses)
    left = blink_curve(times, onsets, np.random.default_rng(rng.integers(1 << 32)))
    lag = rng.uniform(-0.008, 0.008)
    right = blink_curve(times, onsets, np.random.default_rng(rng.integers(1 << 32)), lag)

    inner, outer_l, outer_r = np.zeros(num_frames), np.zeros(num_frames), np.zeros(num_frames)
    down = np.zeros(num_frames)
    first = True
    for phone in phones:
        segs = parse_phoneme(phone.phoneme)
        stress = max(s.stress for s in segs)
        if stress < 1.0 or not any(VISEMES[s.viseme].vowel for s in segs):
            continue
        boost = 1.4 if first else 1.0  # the first accent of an utterance is the strongest
        first = False
        if rng.random() < style.brow_rate * boost:
            amp = style.brow_gain * rng.uniform(0.25, 0.7) * boost
            bump = _bump(times, phone.start - rng.uniform(0.05, 0.15), rng.uniform(0.08, 0.15),
                         rng.uniform(0.25, 0.5))
            inner += amp * rng.uniform(0.6, 1.0) * bump
            tilt = rng.uniform(-0.15, 0.15)
            outer_l += amp * (1.0 + tilt) * bump
            outer_r += amp * (1.0 - tilt) * bump
        if rng.random() < style.frown * 0.5:
            down += style.frown * rng.uniform(0.2, 0.5) * _bump(
                times, phone.start - 0.1, 0.12, rng.uniform(0.3, 0.6))
    if question and phones:
        end = max(p.end for p in phones if p.phoneme != "_") if any(
            p.phoneme != "_" for p in phones) else duration
        rise = style.brow_gain * rng.uniform(0.3, 0.6) * _bump(times, end - 0.5, 0.3, 0.6)
        inner, outer_l, outer_r = inner + rise, outer_l + rise, outer_r + rise
    n = style.jitter
    puff = np.zeros(num_frames)
    for phone in phones:
        if phone.phoneme.strip("ˈˌ") in ("p", "b"):
            puff += style.cheek_puff * rng.uniform(0.1, 0.3) * _bump(times, phone.start, 0.04, 0.06)
    return {
        "browInnerUp": inner + drift(num_frames, fps, rng, n) + 0.5 * n,
        "browOuterUpLeft": outer_l + drift(num_frames, fps, rng, n) + 0.5 * n,
        "browOuterUpRight": outer_r + drift(num_frames, fps, rng, n) + 0.5 * n,
        "browDownLeft": down + drift(num_frames, fps, rng, 0.5 * n) + 0.5 * n,
        "browDownRight": down + drift(num_frames, fps, rng, 0.5 * n) + 0.5 * n,
        "eyeBlinkLeft": left,
        "eyeBlinkRight": right,
        "cheekPuff": puff,
    }
