"""Log-mel spectrogram in plain numpy (no torch, librosa or scipy: it runs inside Blender).

The compact audio encoder of DiffusionTalker 2025 (arXiv 2503.18159) reads log-mel features;
this module computes them identically in training (torch) and in the torch-free ONNX path.
The filterbank is the Slaney-style one (mel scale linear below 1 kHz and logarithmic above,
each triangle scaled to unit area), which is also librosa's default, so the result matches
``librosa.feature.melspectrogram(center=True, pad_mode="constant")`` up to float rounding.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

LOG_FLOOR = 1e-6  # added before the log: silence maps to log(1e-6) ~= -13.8, not -inf
_FRAMES_PER_CHUNK = 2048  # bounds memory for long audio (10 min = 60k frames)

_F_SP = 200.0 / 3.0  # Slaney mel scale: Hz per mel in the linear part
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOG_STEP = np.log(6.4) / 27.0


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """Slaney's mel scale (Auditory Toolbox): linear to 1 kHz, then logarithmic."""
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / _F_SP
    log_part = _MIN_LOG_MEL + np.log(np.maximum(hz, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOG_STEP
    return np.where(hz >= _MIN_LOG_HZ, log_part, mel)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    mel = np.asarray(mel, dtype=np.float64)
    hz = mel * _F_SP
    log_part = _MIN_LOG_HZ * np.exp(_LOG_STEP * (np.maximum(mel, _MIN_LOG_MEL) - _MIN_LOG_MEL))
    return np.where(mel >= _MIN_LOG_MEL, log_part, hz)


@lru_cache(maxsize=8)
def mel_filterbank(sample_rate: int = 16000, n_fft: int = 512, n_mels: int = 80,
                   fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """``(n_mels, n_fft // 2 + 1)`` triangular filters, equally spaced in mel, unit area."""
    fmax = sample_rate / 2.0 if fmax is None else fmax
    bin_hz = np.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)
    edges_hz = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    lower, centre, upper = edges_hz[:-2, None], edges_hz[1:-1, None], edges_hz[2:, None]
    rising = (bin_hz[None, :] - lower) / (centre - lower)
    falling = (upper - bin_hz[None, :]) / (upper - centre)
    triangles = np.maximum(0.0, np.minimum(rising, falling))
    triangles *= 2.0 / (upper - lower)  # Slaney normalisation: each filter has unit area
    triangles.setflags(write=False)
    return triangles


@lru_cache(maxsize=8)
def padded_hann(win: int, n_fft: int) -> np.ndarray:
    """Periodic Hann window of length ``win``, zero-padded to ``n_fft`` around the centre."""
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(win) / win)
    left = (n_fft - win) // 2
    padded = np.zeros(n_fft)
    padded[left:left + win] = window
    padded.setflags(write=False)
    return padded


def mel_power(wave: np.ndarray, sample_rate: int = 16000, n_mels: int = 80, hop: int = 160,
              win: int = 400, n_fft: int = 512, pad_mode: str = "constant") -> np.ndarray:
    """``(F, n_mels)`` mel power spectrogram, ``F = 1 + len(wave) // hop``.

    Frames are centred: frame ``j`` is centred on sample ``j * hop`` (the signal is padded by
    ``n_fft // 2`` on both sides, with zeros or, ``pad_mode="reflect"``, its mirror image), so
    frame ``j`` describes time ``j * hop / rate``.
    """
    wave = np.asarray(wave, dtype=np.float64).reshape(-1)
    if win > n_fft:
        raise ValueError(f"window {win} is longer than the FFT size {n_fft}")
    padded = np.pad(wave, n_fft // 2, mode=pad_mode)
    num_frames = 1 + (padded.shape[0] - n_fft) // hop
    window = padded_hann(win, n_fft)
    bank = mel_filterbank(sample_rate, n_fft, n_mels)
    out = np.empty((num_frames, n_mels), dtype=np.float64)
    for start in range(0, num_frames, _FRAMES_PER_CHUNK):
        stop = min(num_frames, start + _FRAMES_PER_CHUNK)
        segment = padded[start * hop:(stop - 1) * hop + n_fft]
        frames = np.lib.stride_tricks.sliding_window_view(segment, n_fft)[::hop]
        spectrum = np.fft.rfft(frames * window, axis=-1)
        power = spectrum.real ** 2 + spectrum.imag ** 2
        out[start:stop] = power @ bank.T
    return out


def log_mel(wave16k: np.ndarray, n_mels: int = 80, hop: int = 160, win: int = 400,
            n_fft: int = 512, sample_rate: int = 16000) -> np.ndarray:
    """``(F, n_mels)`` float32 natural-log mel power, ``log(mel + 1e-6)``; 100 frames/s at 16 kHz.

    A fixed floor (not a per-clip maximum) keeps the features of a window equal to the
    same frames computed on the whole clip, which the overlapping-window inference relies on.
    """
    return np.log(mel_power(wave16k, sample_rate, n_mels, hop, win, n_fft) + LOG_FLOOR).astype(
        np.float32)


def fit_length(features: np.ndarray, length: int) -> np.ndarray:
    """Cut ``(F, C)`` to ``length`` rows or pad it by repeating the last row."""
    if features.shape[0] >= length:
        return features[:length]
    pad = np.repeat(features[-1:], length - features.shape[0], axis=0)
    return np.concatenate([features, pad], axis=0)


def normalize_level(wave16k: np.ndarray, target_rms: float) -> np.ndarray:
    """The wave scaled so that its speech level is ``target_rms`` (float32, same length).

    The level is the RMS of the loudest 30 % of 20 ms frames (so leading silence or pauses do
    not count); digital silence (level under 1e-6) is returned unscaled. A log-mel with a
    fixed floor is not gain-invariant (quiet speech sinks towards the floor), so a frontend
    reading it can equalise the recording level first, as Whisper's per-window maximum does.
    """
    wave = np.asarray(wave16k, np.float32).reshape(-1)
    frames = wave[: wave.shape[0] // 320 * 320].reshape(-1, 320) if wave.shape[0] >= 320 else wave[None]
    energy = np.mean(frames.astype(np.float64) ** 2, axis=1)
    loud = np.sort(energy)[int(0.7 * energy.shape[0]):]
    level = float(np.sqrt(np.mean(loud))) if loud.size else 0.0
    if level < 1e-6:
        return wave
    return (wave * (target_rms / level)).astype(np.float32)


WHISPER_WINDOW_SAMPLES = 30 * 16000  # Whisper's encoder input: 30 s at 16 kHz, 3000 frames
WHISPER_LOG_FLOOR = 1e-10
_WHISPER_HOP, _WHISPER_N_FFT = 160, 400  # Whisper's frame step and window (25 ms)


def whisper_log_mel(wave16k: np.ndarray, n_mels: int = 80, frames: int | None = None) -> np.ndarray:
    """``(3000, n_mels)`` float32 log-mel input of Whisper's encoder for one 30 s window, or
    its first ``frames`` rows.

    Whisper's recipe (Radford et al. 2022, arXiv 2212.04356, section 2.2; as
    ``transformers.WhisperFeatureExtractor`` computes it): the clip is cut or zero-padded to
    30 s, framed with a 400-sample periodic Hann window every 160 samples (centred frames,
    reflect padding at the ends, the last frame dropped), power spectrum through a Slaney mel
    filterbank up to 8 kHz, ``log10(max(power, 1e-10))`` clamped from below at the window's
    maximum minus 8, then ``(x + 4) / 4``. The maximum is taken over the whole padded 30 s
    window, as the encoder sees it when the input is padded.

    ``frames``: only the first ``frames`` rows are wanted (the trimmed encoder input), so only
    the frames that reach the audio are transformed: every later frame of the padded window
    holds zeros only, at the floor ``log10(1e-10) = -10``, which no frame lies below, so it
    cannot change the maximum. The rows equal those of the whole window bit for bit (10 s of
    speech: a third of the work).
    """
    wave = np.asarray(wave16k, dtype=np.float32).reshape(-1)[:WHISPER_WINDOW_SAMPLES]
    total = WHISPER_WINDOW_SAMPLES // _WHISPER_HOP
    # frames j whose window [160 j - 200, 160 j + 200) reaches a sample of the audio
    reaching = -(-(wave.shape[0] + _WHISPER_N_FFT // 2) // _WHISPER_HOP)
    wanted = total if frames is None else max(0, min(int(frames), total))
    computed = min(total, max(wanted, reaching))
    if computed < total:
        # zeros beyond the last computed frame, so the right-hand reflection reads zeros too
        length = (computed - 1) * _WHISPER_HOP + _WHISPER_N_FFT + 1
        wave = np.pad(wave, (0, max(0, length - wave.shape[0])))
    else:
        wave = np.pad(wave, (0, WHISPER_WINDOW_SAMPLES - wave.shape[0]))
    power = mel_power(wave, 16000, n_mels, hop=_WHISPER_HOP, win=_WHISPER_N_FFT,
                      n_fft=_WHISPER_N_FFT, pad_mode="reflect")[:computed]
    log_spec = np.log10(np.maximum(power, WHISPER_LOG_FLOOR))
    # every frame left out holds zeros only, at the floor (-10), so it cannot raise the maximum
    peak = log_spec.max() if log_spec.size else np.log10(WHISPER_LOG_FLOOR)
    log_spec = np.maximum(log_spec[:wanted], peak - 8.0)
    return ((log_spec + 4.0) / 4.0).astype(np.float32)


def cmvn(features: np.ndarray) -> np.ndarray:
    """Per-clip mean and variance normalisation of each feature column (Viikki & Laurila 1998)."""
    return ((features - features.mean(0)) / (features.std(0) + 1e-3)).astype(np.float32)
