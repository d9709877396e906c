"""Real-speech checks of generated lip motion, without ground-truth motion.

A model trained on synthetic speech is judged on real voices it has never heard. With no
captured motion for those voices, three properties are checked against the audio itself:

1. **Envelope correlation:** the Pearson correlation between the mouth opening and the speech
   loudness envelope (both at the motion frame rate), at zero lag and at the best lag within
   ±100 ms (lip motion commonly leads the sound by a few tens of milliseconds).
2. **Closure at bilabials:** for each /p b m/ found by a phone-level forced alignment
   (``audio.alignment``: PocketSphinx, given the transcript), whether the lips close — the
   lip aperture falls below a threshold somewhere in the phone's interval (±1 frame).
3. **Rest in silence:** in the aligned silences longer than 0.3 s (away from their edges), the
   mouth is closed: the median aperture is below the threshold.

The lip aperture comes from a callable (``aperture(motion) -> (T,)``), so the check works for
either motion space; for channel models the demo head's rig gives a geometric aperture.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from ..audio.alignment import Phone, align_phones  # noqa: F401  (the alignment lives there)

BILABIALS = frozenset({"P", "B", "M"})


@dataclass
class SpeechCheck:
    """What :func:`check_motion` measured."""

    envelope_corr: float
    envelope_corr_best_lag: float
    best_lag_ms: float
    bilabials: int
    bilabials_closed: int
    silence_frames: int
    silence_median_aperture: float
    speech_median_aperture: float
    closed_threshold: float
    details: list[dict] = field(default_factory=list)

    @property
    def closure_rate(self) -> float:
        return self.bilabials_closed / self.bilabials if self.bilabials else float("nan")

    @property
    def rests_closed_in_silence(self) -> bool:
        return self.silence_frames > 0 and self.silence_median_aperture <= self.closed_threshold

    def to_dict(self) -> dict:
        out = asdict(self)
        out["closure_rate"] = self.closure_rate
        out["rests_closed_in_silence"] = self.rests_closed_in_silence
        return out


def loudness_envelope(wave: np.ndarray, sample_rate: int, fps: float, num_frames: int) -> np.ndarray:
    """RMS loudness in dB per motion frame (frame i centred at i / fps), floored at -60 dB."""
    wave = np.asarray(wave, dtype=np.float64)
    half = int(round(sample_rate / fps))  # a window of two frame periods
    centres = np.round(np.arange(num_frames) / fps * sample_rate).astype(int)
    padded = np.pad(wave, half)
    csum = np.concatenate([[0.0], np.cumsum(padded**2)])
    lo, hi = centres, centres + 2 * half
    rms = np.sqrt((csum[hi] - csum[lo]) / (2 * half))
    peak = max(rms.max(), 1e-9)
    return np.maximum(20 * np.log10(np.maximum(rms, 1e-12) / peak), -60.0)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else 0.0


def lagged_correlation(opening: np.ndarray, envelope: np.ndarray, max_lag: int) -> tuple[float, int]:
    """Best Pearson correlation over lags in [-max_lag, max_lag] (positive: motion leads)."""
    best, best_lag = -2.0, 0
    n = len(opening)
    for lag in range(-max_lag, max_lag + 1):
        if lag >= 0:
            a, b = opening[: n - lag], envelope[lag:]
        else:
            a, b = opening[-lag:], envelope[: n + lag]
        c = _corr(a, b)
        if c > best:
            best, best_lag = c, lag
    return best, best_lag


def check_motion(
    wave: np.ndarray,
    sample_rate: int,
    fps: float,
    aperture: np.ndarray,
    phones: list[Phone],
    closed_threshold: float,
    max_lag_ms: float = 100.0,
) -> SpeechCheck:
    """Measure envelope correlation, bilabial closure and rest in silence (module docstring).

    ``aperture`` is the per-frame lip opening ``(T,)`` in the same unit as ``closed_threshold``.
    """
    aperture = np.asarray(aperture, dtype=np.float64)
    t = len(aperture)
    env = loudness_envelope(wave, sample_rate, fps, t)
    corr0 = _corr(aperture, env)
    max_lag = int(round(max_lag_ms / 1000 * fps))
    corr_best, lag = lagged_correlation(aperture, env, max_lag)

    details = []
    closed = 0
    bilabials = [p for p in phones if p.name in BILABIALS]
    for p in bilabials:
        lo = max(int(np.floor(p.start * fps)) - 1, 0)
        hi = min(int(np.ceil(p.end * fps)) + 1, t - 1)
        low = float(aperture[lo : hi + 1].min()) if hi >= lo else float("nan")
        ok = low <= closed_threshold
        closed += ok
        details.append({"phone": p.name, "start": p.start, "end": p.end,
                        "min_aperture": low, "closed": bool(ok)})

    silent = np.zeros(t, bool)
    for p in phones:
        if p.name == "SIL" and p.end - p.start >= 0.3:
            lo = int(np.ceil((p.start + 0.1) * fps))
            hi = int(np.floor((p.end - 0.1) * fps))
            silent[max(lo, 0) : min(hi, t - 1) + 1] = True
    speech = np.zeros(t, bool)
    for p in phones:
        if p.name != "SIL":
            speech[int(p.start * fps) : min(int(np.ceil(p.end * fps)), t)] = True
    return SpeechCheck(
        envelope_corr=corr0,
        envelope_corr_best_lag=corr_best,
        best_lag_ms=lag / fps * 1000.0,
        bilabials=len(bilabials),
        bilabials_closed=int(closed),
        silence_frames=int(silent.sum()),
        silence_median_aperture=float(np.median(aperture[silent])) if silent.any() else float("nan"),
        speech_median_aperture=float(np.median(aperture[speech])) if speech.any() else float("nan"),
        closed_threshold=closed_threshold,
        details=details,
    )


ApertureFn = Callable[[np.ndarray], np.ndarray]


def demo_head_aperture(channels: list[str] | tuple[str, ...]) -> ApertureFn:
    """Lip aperture in metres for channel weights, measured on the demo head's rig.

    The aperture is the vertical gap between the inner upper- and lower-lip midpoints after the
    rig deforms the head (negative gaps, lips pressed into each other, count as closed: 0).
    """
    from ..head import build_demo_head, build_rig

    head = build_demo_head()
    rig = build_rig(head.vertices, head.faces, head.landmarks, channels=tuple(channels))
    up, lo = head.landmarks["upper_lip_inner"], head.landmarks["lower_lip_inner"]
    rest_gap = float(head.vertices[up, 2] - head.vertices[lo, 2])
    # Only the two lip vertices matter: apply the rig to their bases alone.
    bases = rig.bases[:, [up, lo], 2]  # (K, 2) vertical offsets

    def aperture(weights: np.ndarray) -> np.ndarray:
        dz = np.asarray(weights, np.float64) @ bases  # (T, 2)
        return np.maximum(rest_gap + dz[:, 0] - dz[:, 1], 0.0)

    return aperture
