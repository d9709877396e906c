"""The audio of a capture take: a ``.wav`` (or any file ``load_audio`` reads) or the take's
video (``.mov`` / ``.mp4``), as a 16 kHz mono float32 wave.

Live Link Face records the iPhone microphone into the take's ``.mov`` (AAC or PCM at 44.1 or
48 kHz) next to the CSV. Videos are decoded with PyAV (``pip install "diffusiontalker[capture]"``),
which bundles FFmpeg's libraries: no ``ffmpeg`` program is needed. The audio stream's start
relative to the video's first frame is kept, because CSV row 0 is that first video frame.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..audio.loading import SAMPLE_RATE, load_audio
from ..errors import AudioError, CaptureError

VIDEO_SUFFIXES = (".mov", ".mp4", ".m4v")
INSTALL_HINT = 'pip install "diffusiontalker[capture]"'


def read_take_audio(path: str | os.PathLike) -> tuple[np.ndarray, float]:
    """``(wave, start)``: the 16 kHz mono wave of ``path`` and the seconds its first sample
    lies after the video's first frame (0 for audio files). A video without an audio track,
    or one that cannot be decoded, is a :class:`CaptureError`; missing PyAV says how to
    install it."""
    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        return load_audio(path), 0.0
    if not path.is_file():
        raise AudioError(f"audio file not found: {os.fspath(path)!r}")
    try:
        import av
    except ImportError:
        raise CaptureError(f"reading the audio of {path.name} needs PyAV: {INSTALL_HINT}, or "
                           "export the take's audio as .wav") from None
    try:
        with av.open(str(path)) as container:
            return _decode(container, path)
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise CaptureError(f"cannot read the video {path}: {exc}") from None


def _decode(container, path: Path) -> tuple[np.ndarray, float]:
    if not container.streams.audio:
        raise CaptureError(f"the video {path} has no audio track; export the take's audio as "
                           ".wav and pass it with --audio")
    import av

    stream = container.streams.audio[0]
    rate = int(stream.rate or stream.codec_context.sample_rate)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    chunks = []
    for frame in container.decode(stream):
        for mono in resampler.resample(frame):
            chunks.append(mono.to_ndarray().reshape(-1))
    chunks += [mono.to_ndarray().reshape(-1) for mono in resampler.resample(None)]
    if not chunks or sum(chunk.size for chunk in chunks) == 0:
        raise CaptureError(f"the audio track of {path} holds no samples")
    wave = load_audio(np.concatenate(chunks).astype(np.float32), rate)
    return wave, _audio_lead(container, stream)


def _audio_lead(container, audio_stream) -> float:
    """Seconds from the first video frame to the first audio sample (0 without video)."""
    def start(stream) -> float:
        if stream.start_time is None or stream.time_base is None:
            return 0.0
        return float(stream.start_time * stream.time_base)

    if not container.streams.video:
        return 0.0
    return start(audio_stream) - start(container.streams.video[0])


def wave_seconds(wave: np.ndarray) -> float:
    """Duration of a 16 kHz wave from :func:`read_take_audio`."""
    return wave.shape[0] / SAMPLE_RATE
