"""Audio input: any file or array -> 16 kHz mono float32, with one clear error per bad input.

Everything downstream (frontends, the identity matcher, the Blender add-on) works on the
waveform this module returns: ``(N,)`` float32 at :data:`SAMPLE_RATE`. Files are decoded by
soundfile (wav, flac, ogg, mp3 with libsndfile >= 1.1) and, failing that, by librosa's
audioread path (anything ffmpeg reads). librosa is imported lazily because it is slow to
import; resampling uses soxr when present, else an FFT resampler in plain numpy.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import AudioError

SAMPLE_RATE = 16000
MAX_CHANNELS = 8
MAX_PEAK = 1000.0  # a larger peak is scaled down to full scale (1.0); see the module docstring

AudioSource = str | os.PathLike | np.ndarray


def load_audio(source: AudioSource, sample_rate: int | None = None) -> np.ndarray:
    """Return ``source`` as a ``(N,)`` float32 mono waveform at 16 kHz.

    ``source`` is a path to an audio file, or an array of samples shaped ``(N,)``, ``(N, C)``
    or ``(C, N)`` with ``C <= 8`` channels (integer PCM is scaled to [-1, 1)); an array needs
    its ``sample_rate``. For a file the rate in its header is used and ``sample_rate`` is
    ignored. Channels are averaged.

    Raises :class:`AudioError` for a missing file, bytes that are not audio, an empty clip
    and NaN/inf samples; audio peaking above :data:`MAX_PEAK` is peak-normalised to 1.0.
    """
    if isinstance(source, np.ndarray):
        if sample_rate is None:
            raise AudioError("an audio array needs its sample rate (sample_rate=...)")
        wave, rate = _array_to_mono(source), int(sample_rate)
        name = "the audio array"
    else:
        wave, rate = _read_file(Path(source))
        name = f"audio file {os.fspath(source)!r}"
    if rate <= 0:
        raise AudioError(f"{name} has an invalid sample rate {rate}")
    if wave.size == 0:
        raise AudioError(f"{name} is empty (zero samples)")
    return resample(finite_level(wave, name), rate, SAMPLE_RATE)


def finite_level(wave: np.ndarray, name: str = "the audio") -> np.ndarray:
    """``wave`` as float32, peak-normalised to 1.0 when its peak exceeds :data:`MAX_PEAK`
    (scaled in float64, so even levels beyond float32's range stay finite); AudioError when
    any sample is NaN or infinite."""
    wave = np.asarray(wave)
    # max and min propagate NaN and inf: they find any non-finite sample with no temporary
    high, low = (float(wave.max()), float(wave.min())) if wave.size else (0.0, 0.0)
    if not (np.isfinite(high) and np.isfinite(low)):
        bad = int(np.count_nonzero(~np.isfinite(wave)))
        raise AudioError(f"{name} contains {bad} NaN or infinite sample{'s' if bad != 1 else ''} "
                         f"of {wave.size}; it is damaged or not audio: export it again")
    peak = max(high, -low)
    if peak > MAX_PEAK:
        wave = wave.astype(np.float64) / peak
    return np.asarray(wave, np.float32)


def audio_duration(source: AudioSource, sample_rate: int | None = None) -> float:
    """Seconds of audio in a file (from its header when possible) or an array."""
    if isinstance(source, np.ndarray):
        if sample_rate is None:
            raise AudioError("an audio array needs its sample rate (sample_rate=...)")
        return _array_to_mono(source).shape[0] / float(sample_rate)
    path = Path(source)
    _check_exists(path)
    try:
        import soundfile

        info = soundfile.info(str(path))
        return info.frames / float(info.samplerate)
    except Exception:
        return load_audio(path).shape[0] / SAMPLE_RATE


SILENCE_DBFS = -60.0  # RMS below this (dB re full scale) counts as silence


def rms_dbfs(wave: np.ndarray) -> float:
    """Root-mean-square level of a float wave in dB relative to full scale (-inf for zeros)."""
    rms = float(np.sqrt(np.mean(np.square(np.asarray(wave, np.float64))))) if wave.size else 0.0
    return 20.0 * np.log10(rms) if rms > 0 else float("-inf")


def require_sound(wave: np.ndarray, name: str = "the audio",
                  threshold_dbfs: float = SILENCE_DBFS) -> np.ndarray:
    """Return ``wave`` unchanged, or raise AudioError when it is silent (e.g. before matching
    an identity from a voice, which silence cannot carry)."""
    level = rms_dbfs(wave)
    if level < threshold_dbfs:
        shown = "digital silence" if level == float("-inf") else f"{level:.1f} dBFS"
        raise AudioError(f"{name} is silent ({shown}; speech needs more than "
                         f"{threshold_dbfs:g} dBFS)")
    return wave


def resample(wave: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Resample a mono float waveform from ``rate`` to ``target`` Hz.

    Uses soxr (high quality, what librosa uses) when installed; otherwise a band-limited FFT
    resampler in numpy, so this works inside Blender without extra packages.
    """
    wave = np.asarray(wave, dtype=np.float32)
    if rate == target:
        return np.ascontiguousarray(wave)
    try:
        import soxr
    except ImportError:
        return _fft_resample(wave, rate, target)
    return np.ascontiguousarray(soxr.resample(wave, rate, target, quality="HQ"), np.float32)


def _fft_resample(wave: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Resample by truncating / zero-padding the spectrum (ideal low-pass at the lower Nyquist)."""
    n_out = max(1, int(round(wave.shape[0] * target / rate)))
    spectrum = np.fft.rfft(wave.astype(np.float64))
    bins = n_out // 2 + 1
    if spectrum.shape[0] >= bins:
        spectrum = spectrum[:bins]
    else:
        spectrum = np.concatenate([spectrum, np.zeros(bins - spectrum.shape[0], spectrum.dtype)])
    out = np.fft.irfft(spectrum, n=n_out) * (n_out / wave.shape[0])
    return out.astype(np.float32)


def _array_to_mono(samples: np.ndarray) -> np.ndarray:
    """Accept ``(N,)``, ``(N, C)`` or ``(C, N)`` (C <= 8) samples; average the channels."""
    arr = np.asarray(samples)
    if arr.dtype.kind == "i":  # signed integer PCM: scale to [-1, 1)
        arr = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max + 1)
    elif arr.dtype.kind == "u":  # unsigned PCM (e.g. 8-bit wav) is offset by half the range
        half = float(np.iinfo(arr.dtype).max + 1) / 2.0
        arr = (arr.astype(np.float32) - half) / half
    elif arr.dtype.kind != "f":
        raise AudioError(f"audio samples must be numbers, got dtype {arr.dtype}")
    if arr.ndim == 1:
        return arr
    if arr.ndim != 2:
        raise AudioError(f"audio array must be (N,), (N, C) or (C, N), got shape {arr.shape}")
    if arr.size == 0:
        return arr.reshape(-1)
    rows, cols = arr.shape
    if cols <= MAX_CHANNELS and (rows > cols or rows > MAX_CHANNELS):
        return arr.mean(axis=1)
    if rows <= MAX_CHANNELS:
        return arr.mean(axis=0)
    raise AudioError(
        f"audio array of shape {arr.shape} has more than {MAX_CHANNELS} channels on both axes"
    )


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise AudioError(f"audio file not found: {os.fspath(path)!r}")
    if path.is_dir():
        raise AudioError(f"expected an audio file but {os.fspath(path)!r} is a directory")


def _read_file(path: Path) -> tuple[np.ndarray, int]:
    """Decode a file with soundfile, then librosa/audioread; AudioError if neither can."""
    _check_exists(path)
    if path.stat().st_size == 0:
        raise AudioError(f"audio file {os.fspath(path)!r} is empty (0 bytes)")
    errors: list[str] = []
    try:
        import soundfile

        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        return data.mean(axis=1), int(rate)
    except ImportError:
        pass
    except Exception as error:  # noqa: BLE001 - any decoder failure falls through to librosa
        errors.append(f"soundfile: {error}")
    try:
        import warnings

        import librosa

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data, rate = librosa.load(str(path), sr=None, mono=True, dtype=np.float32)
        return np.asarray(data, np.float32).reshape(-1), int(rate)
    except Exception as error:  # noqa: BLE001
        errors.append(f"librosa: {type(error).__name__}: {error}".rstrip(": "))
    raise AudioError(
        f"could not decode {os.fspath(path)!r}: it is not an audio file this installation can "
        f"read ({'; '.join(errors)})"
    )
