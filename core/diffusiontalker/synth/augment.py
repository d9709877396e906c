"""Audio augmentation so that a model learns speech, not the synthesiser.

Every transform keeps the number of samples and the timing of the speech, so the phoneme
alignments and the motion stay exact: filters are zero-phase, reverberation keeps the direct
sound at its place, the voice conversion of :mod:`.voice` keeps every pitch period where it
was, and the codec round trips (:func:`codec_round_trip`) remove the encoder's priming delay,
measured once per codec and bit rate by cross-correlation. Channels: MP3 (LAME) and Opus
at low bit rates through PyAV (FFmpeg), a telephone line (8 kHz, 300-3400 Hz, G.711 mu-law
8-bit), a trip through a lower sampling rate; plus noise, rooms and level with soft clipping.
PyAV and parselmouth are optional: without them the codec and voice steps are skipped and
named as skipped. A fraction of the clips is left clean (level only).
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import signal

from .voice import change_voice, draw_voice, fit_length, voice_quality

# codec name -> (PyAV encoder, its sample format, decoders to try, bit rates in kbit/s)
CODECS: dict[str, tuple[str, str, tuple[str, ...], tuple[int, ...]]] = {
    # MPEG-2 Layer III bit rates (a 16 kHz input is coded as MPEG-2)
    "mp3": ("libmp3lame", "fltp", ("mp3float", "mp3"), (24, 32, 40, 48, 56, 64)),
    "opus": ("libopus", "flt", ("opus", "libopus"), (8, 12, 16, 20, 24)),
}


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


def _resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Polyphase resampling (linear-phase FIR, centred: no delay)."""
    if rate_in == rate_out:
        return x
    g = int(np.gcd(rate_in, rate_out))
    return signal.resample_poly(x, rate_out // g, rate_in // g)


def mu_law(audio: np.ndarray, bits: int = 8, mu: float = 255.0) -> np.ndarray:
    """G.711-style mu-law companding and quantisation to ``bits`` bits (input clipped to
    +-1, as a telephone line would)."""
    x = np.clip(audio, -1.0, 1.0)
    y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    levels = 2 ** (bits - 1) - 1
    y = np.round(y * levels) / levels
    return np.sign(y) * np.expm1(np.abs(y) * np.log1p(mu)) / mu


def telephone(audio: np.ndarray, sample_rate: int, low: float = 300.0,
              high: float = 3400.0) -> np.ndarray:
    """A narrow-band phone line: down to 8 kHz, zero-phase :func:`band_limit` to
    ``low``-``high`` Hz, :func:`mu_law` 8-bit, back to ``sample_rate``; same length."""
    narrow = band_limit(_resample(np.asarray(audio, np.float64), sample_rate, 8000), 8000,
                        low, high)
    return fit_length(_resample(mu_law(narrow), 8000, sample_rate), len(audio))


def set_level(audio: np.ndarray, peak_db: float, drive_db: float = 0.0) -> np.ndarray:
    """Scale to a peak of ``peak_db`` dBFS; with ``drive_db`` > 0 first overdrive by that much
    into a tanh soft clipper (an overloaded microphone preamplifier)."""
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    if peak <= 1e-12:
        return np.asarray(audio, np.float64).copy()
    x = np.asarray(audio, np.float64) / peak
    if drive_db > 0.0:
        x = np.tanh(x * 10 ** (drive_db / 20))
        x /= float(np.max(np.abs(x)))
    return x * 10 ** (peak_db / 20)


def codec_missing(codec: str) -> str | None:
    """Why ``codec`` (a key of :data:`CODECS`) cannot be used here, or ``None`` if it can."""
    try:
        import av
    except ImportError:
        return "PyAV missing"
    encoder, _, decoders, _ = CODECS[codec]
    if encoder not in av.codecs_available:
        return f"{encoder} missing"
    if not any(d in av.codecs_available for d in decoders):
        return f"{codec} decoder missing"
    return None


def _encode_decode(audio: np.ndarray, sample_rate: int, codec: str,
                   kbps: int) -> tuple[np.ndarray, int]:
    """Encode and decode with PyAV's codec contexts (no container); returns the raw decoded
    samples (priming delay included) and their sampling rate (Opus decodes at 48 kHz)."""
    import av

    encoder_name, sample_format, decoders, _ = CODECS[codec]
    encoder = av.CodecContext.create(encoder_name, "w")
    encoder.sample_rate, encoder.layout, encoder.format = sample_rate, "mono", sample_format
    encoder.bit_rate = kbps * 1000
    encoder.open()
    size = encoder.frame_size or 1024
    decoder = av.CodecContext.create(next(d for d in decoders if d in av.codecs_available), "r")
    decoder.sample_rate, decoder.layout = sample_rate, "mono"
    if encoder.extradata:
        decoder.extradata = encoder.extradata
    # a few frames of silence behind the clip flush the encoder's look-ahead
    x = np.concatenate([audio, np.zeros((-len(audio)) % size + 4 * size)]).astype(np.float32)
    out: list[np.ndarray] = []
    rate = sample_rate

    def decode(packets: list) -> None:
        nonlocal rate
        for packet in packets:
            for frame in decoder.decode(packet):
                rate = frame.sample_rate
                samples = frame.to_ndarray().reshape(-1)
                if samples.dtype.kind in "iu":
                    samples = samples / float(np.iinfo(samples.dtype).max + 1)
                out.append(samples.astype(np.float64))

    for i in range(0, len(x), size):
        frame = av.AudioFrame.from_ndarray(x[None, i:i + size], format=sample_format,
                                           layout="mono")
        frame.sample_rate, frame.pts = sample_rate, i
        decode(encoder.encode(frame))
    decode(encoder.encode(None))
    decode([None])
    return (np.concatenate(out) if out else np.zeros(0)), rate


@functools.lru_cache(maxsize=64)
def codec_lag(codec: str, sample_rate: int, kbps: int) -> int:
    """The delay of :func:`_encode_decode` in samples at the decoded rate, by cross-correlation
    of a fixed syllable-modulated noise probe (1 s) with its round trip. The delay is a
    property of the codec, its mode and bit rate, not of the signal; cached."""
    rng = np.random.default_rng(1234)
    t = np.arange(sample_rate) / sample_rate
    probe = rng.standard_normal(sample_rate) * 0.1 * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
    probe = band_limit(probe, sample_rate, 100.0, 3400.0)
    decoded, rate = _encode_decode(probe, sample_rate, codec, kbps)
    reference = _resample(probe, sample_rate, rate)
    corr = signal.correlate(decoded, reference, mode="full", method="fft")
    return int(np.argmax(corr)) - (len(reference) - 1)


def codec_round_trip(audio: np.ndarray, sample_rate: int, codec: str, kbps: int) -> np.ndarray:
    """``audio`` through ``codec`` (``"mp3"`` or ``"opus"``) at ``kbps`` kbit/s and back,
    aligned sample-exactly with the input (the :func:`codec_lag` is removed at the decoded
    rate, before resampling back) and of the same length. Needs PyAV (see
    :func:`codec_missing`)."""
    x = np.asarray(audio, np.float64)
    if len(x) == 0:
        return x.copy()
    decoded, rate = _encode_decode(x, sample_rate, codec, kbps)
    lag = codec_lag(codec, sample_rate, kbps)
    decoded = decoded[lag:] if lag >= 0 else np.concatenate([np.zeros(-lag), decoded])
    return fit_length(_resample(decoded, rate, sample_rate), len(x))


def augment(audio: np.ndarray, sample_rate: int, rng: np.random.Generator,
            clean_fraction: float = 0.15,
            voice_fraction: float = 0.6) -> tuple[np.ndarray, list[str]]:
    """A random chain: voice conversion (``voice_fraction`` of all clips), voice quality,
    room, noise, level with occasional soft clipping, one channel (MP3, Opus, telephone, lower
    rate or none). ``clean_fraction`` of the clips (and any under 0.1 s) get the level only. Returns the audio (same
    length, float32, finite, peak at most 0.99) and one short string per step applied. All
    random draws happen whether or not PyAV / parselmouth are installed, so a seed gives the
    same chain either way (a missing step is named "... skipped (why)")."""
    x = np.asarray(audio, dtype=np.float64)
    applied: list[str] = []
    # clips under 0.1 s are too short for the filters: level only
    clean = rng.random() < clean_fraction or len(x) < sample_rate // 10
    if not clean:
        if rng.random() < voice_fraction / max(1.0 - clean_fraction, 1e-9):
            x, description = change_voice(x, sample_rate, draw_voice(rng))
            x = x.astype(np.float64)
            applied.append(description)
        if rng.random() < 0.25:
            breathy = rng.random() < 0.6
            slope = rng.uniform(-4.0, -1.0) if breathy else rng.uniform(1.0, 3.0)
            breath = rng.uniform(0.05, 0.3) if breathy else 0.0
            x = voice_quality(x, sample_rate, rng, slope, breath)
            applied.append(f"{'breathy' if breathy else 'pressed'} tilt={slope:+.1f}dB/oct"
                           + (f" breath={breath:.2f}" if breathy else ""))
        if rng.random() < 0.35:
            rt60, wet = rng.uniform(0.15, 0.8), rng.uniform(0.2, 0.7)
            x = reverberate(x, sample_rate, rng, rt60, wet)
            applied.append(f"reverb rt60={rt60:.2f} wet={wet:.2f}")
        if rng.random() < 0.5:
            kind = str(rng.choice(["white", "pink", "babble"]))
            snr = rng.uniform(5.0, 30.0)
            x = add_noise(x, rng, snr, kind)
            applied.append(f"{kind} noise snr={snr:.1f}dB")
    drive = float(rng.uniform(3.0, 15.0)) if not clean and rng.random() < 0.1 else 0.0
    level = float(rng.uniform(-30.0, 0.0))
    x = set_level(x, level, drive)
    applied.append(f"level {level:.1f}dBFS" + (f" softclip +{drive:.0f}dB" if drive else ""))
    if not clean:
        r = rng.random()
        if r < 0.35:
            codec = "mp3" if r < 0.2 else "opus"
            kbps = int(rng.choice(CODECS[codec][3]))
            missing = codec_missing(codec)
            if missing is None:
                try:
                    x = codec_round_trip(x, sample_rate, codec, kbps)
                except Exception as error:  # an FFmpeg build that refuses: skip, say so
                    missing = type(error).__name__
            applied.append(f"{codec} {kbps}kbps" + (f" skipped ({missing})" if missing else ""))
        elif r < 0.47:
            x = telephone(x, sample_rate)
            applied.append("telephone 8kHz 300-3400Hz mu-law")
        elif r < 0.57:
            low_rate = int(rng.choice([8000, 11025, 12000]))
            x = through_lower_rate(x, sample_rate, low_rate)
            applied.append(f"resampled via {low_rate}Hz")
    x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak > 0.99:
        x *= 0.99 / peak
    return x.astype(np.float32), applied
