"""Voice conversion of the training speech that keeps its length and phone timing exactly.

The default corpus is spoken by one synthesiser (eSpeak NG); a model trained on it alone
learns that synthesiser's voices. Two cheap levers make the voices diverse without moving a
single phone boundary:

* :func:`change_voice`: Praat's *Change gender* command (Boersma & Weenink, Praat manual,
  "Sound: Change gender...") through praat-parselmouth. Praat measures the pitch, resamples
  the sound by the formant shift ratio (a uniform scaling of the spectral envelope, i.e. of
  the vocal tract length; Kuwabara & Sagisaka 1995, "Acoustic characteristics of speaker
  individuality") and restores the duration with PSOLA (pitch-synchronous overlap-add,
  Moulines & Charpentier 1990), which at the same time sets the new pitch median and scales
  the pitch range. With a duration factor of exactly 1.0 every pitch period stays where it
  was, so the timing is unchanged; the result is trimmed or padded to the input length.
* :func:`voice_quality`: a breathy or pressed phonation, approximated by a zero-phase spectral
  tilt (breathy voice has a steeper glottal source roll-off, pressed voice a flatter one;
  Klatt & Klatt 1990, "Analysis, synthesis, and perception of voice quality variations")
  plus, for breathy voice, aspiration noise above 1.5 kHz that follows the speech envelope.

:func:`draw_voice` draws a target voice: low male, high male, female or child-like.
parselmouth is imported lazily; without it :func:`change_voice` returns the input and says so.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import signal

if TYPE_CHECKING:
    import parselmouth

# (median F0 range in Hz, formant shift ratio range) per kind of voice. The ratio is
# relative to the source voice (eSpeak's voices are adult, mostly male-like).
VOICE_KINDS: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "low-male": ((80.0, 100.0), (0.85, 0.95)),
    "high-male": ((110.0, 150.0), (0.95, 1.05)),
    "female": ((180.0, 230.0), (1.10, 1.20)),
    "child": ((250.0, 320.0), (1.20, 1.30)),
}
PITCH_RANGE_FACTORS = (0.6, 1.6)
PITCH_FLOOR, PITCH_CEILING = 60.0, 500.0  # Praat's pitch analysis range for the source


@dataclass(frozen=True)
class VoiceTarget:
    """A target voice for :func:`change_voice`."""

    kind: str
    pitch_median: float  # Hz
    formant_ratio: float  # > 1 shortens the vocal tract (higher formants)
    pitch_range: float  # factor on the excursions around the median
    seed: int = 0  # for Praat's random numbers (PSOLA jitters its voiceless stretches)

    def describe(self) -> str:
        return (f"voice {self.kind} f0={self.pitch_median:.0f}Hz "
                f"formants x{self.formant_ratio:.2f} range x{self.pitch_range:.2f}")


def draw_voice(rng: np.random.Generator) -> VoiceTarget:
    """A target voice, uniformly one of :data:`VOICE_KINDS`, its parameters uniform within
    that kind's ranges and the pitch range factor uniform in :data:`PITCH_RANGE_FACTORS`."""
    kinds = sorted(VOICE_KINDS)
    kind = kinds[int(rng.integers(len(kinds)))]
    (f0_lo, f0_hi), (fr_lo, fr_hi) = VOICE_KINDS[kind]
    return VoiceTarget(kind, float(rng.uniform(f0_lo, f0_hi)), float(rng.uniform(fr_lo, fr_hi)),
                       float(rng.uniform(*PITCH_RANGE_FACTORS)), int(rng.integers(1, 2 ** 31)))


def fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """Trim or zero-pad at the end to ``n`` samples (the start is never moved)."""
    if len(x) >= n:
        return x[:n]
    return np.concatenate([x, np.zeros(n - len(x), dtype=x.dtype)])


def change_voice(audio: np.ndarray, sample_rate: int,
                 target: VoiceTarget) -> tuple[np.ndarray, str]:
    """Convert ``audio`` to ``target`` with Praat's Change gender (duration factor 1.0).

    Praat's random generator (process-wide) is seeded with ``target.seed`` first, so the same
    target gives the same samples. Returns float32 audio of the same length and RMS level,
    and a short description. When
    Praat cannot analyse the sound (too short for the pitch floor, no voiced frames) or
    parselmouth is missing, the input comes back unchanged and the description says so."""
    x = np.asarray(audio, dtype=np.float64)
    try:
        import parselmouth
    except ImportError:
        return x.astype(np.float32), "voice unchanged (parselmouth missing)"
    if len(x) == 0 or not np.any(x):
        return x.astype(np.float32), "voice unchanged (silent)"
    try:
        with warnings.catch_warnings():  # "no voiced segments" and the like
            warnings.simplefilter("ignore", parselmouth.PraatWarning)
            converted = _praat_change_gender(x, sample_rate, target)
    except parselmouth.PraatError as error:
        reason = str(error).strip().splitlines()[0][:60] if str(error).strip() else "error"
        return x.astype(np.float32), f"voice unchanged (Praat: {reason})"
    if converted is None:
        return x.astype(np.float32), "voice unchanged (no voiced frames)"
    y = np.asarray(converted.values, dtype=np.float64).reshape(-1)
    if converted.sampling_frequency != sample_rate:  # Praat keeps the rate; be safe anyway
        g = int(np.gcd(int(round(converted.sampling_frequency)), sample_rate))
        y = signal.resample_poly(y, sample_rate // g, int(round(converted.sampling_frequency)) // g)
    y = np.nan_to_num(fit_length(y, len(x)), nan=0.0, posinf=0.0, neginf=0.0)
    rms_in, rms_out = float(np.sqrt(np.mean(x ** 2))), float(np.sqrt(np.mean(y ** 2)))
    if rms_out > 1e-9:
        y *= rms_in / rms_out
    return y.astype(np.float32), target.describe()


def _praat_change_gender(x: np.ndarray, sample_rate: int,
                         target: VoiceTarget) -> parselmouth.Sound | None:
    """The Praat calls of :func:`change_voice`; ``None`` when no frame is voiced."""
    import parselmouth
    from parselmouth.praat import call, run

    run(f"random_initializeWithSeedUnsafelyButPredictably ({int(target.seed)})")
    sound = parselmouth.Sound(x, float(sample_rate))
    pitch = call(sound, "To Pitch", 0.0, PITCH_FLOOR, PITCH_CEILING)
    if call(pitch, "Count voiced frames") == 0:
        return None
    return call(sound, "Change gender", PITCH_FLOOR, PITCH_CEILING,
                target.formant_ratio, target.pitch_median, target.pitch_range, 1.0)


def tilt(audio: np.ndarray, sample_rate: int, db_per_octave: float,
         pivot: float = 500.0) -> np.ndarray:
    """Zero-phase spectral tilt of ``db_per_octave`` about ``pivot`` Hz (frequency-domain gain
    ``(f / pivot) ** (db_per_octave / 6.02)``, held flat below 100 Hz, limited to +-15 dB)."""
    x = np.asarray(audio, dtype=np.float64)
    if len(x) == 0 or db_per_octave == 0.0:
        return x.copy()
    f = np.fft.rfftfreq(len(x), 1.0 / sample_rate)
    gain_db = db_per_octave * np.log2(np.maximum(f, 100.0) / pivot)
    gain = 10 ** (np.clip(gain_db, -15.0, 15.0) / 20)
    return np.fft.irfft(np.fft.rfft(x) * gain, len(x))


def envelope(audio: np.ndarray, sample_rate: int, smoothing: float = 0.01) -> np.ndarray:
    """Zero-phase amplitude envelope: |x| low-passed at ``1 / smoothing`` Hz."""
    sos = signal.butter(2, min(1.0 / smoothing, 0.45 * sample_rate), fs=sample_rate,
                        output="sos")
    x = np.abs(np.asarray(audio, dtype=np.float64))
    if len(x) < 16:
        return x
    return np.maximum(signal.sosfiltfilt(sos, x), 0.0)


def voice_quality(audio: np.ndarray, sample_rate: int, rng: np.random.Generator,
                  db_per_octave: float, breath: float) -> np.ndarray:
    """Breathy (``db_per_octave`` < 0, ``breath`` > 0) or pressed (``db_per_octave`` > 0)
    phonation: :func:`tilt`, then aspiration noise (white, high-passed at 1.5 kHz, modulated
    by the speech :func:`envelope`) at ``breath`` times the speech RMS. Same length, no
    shift: both operations are zero-phase."""
    x = tilt(audio, sample_rate, db_per_octave)
    if breath > 0.0 and len(x) >= 16:
        sos = signal.butter(2, min(1500.0, 0.4 * sample_rate), btype="highpass",
                            fs=sample_rate, output="sos")
        noise = signal.sosfiltfilt(sos, rng.standard_normal(len(x))) * envelope(x, sample_rate)
        speech_rms = float(np.sqrt(np.mean(x ** 2)))
        noise_rms = float(np.sqrt(np.mean(noise ** 2))) + 1e-12
        x = x + noise * (breath * speech_rms / noise_rms)
    return x
