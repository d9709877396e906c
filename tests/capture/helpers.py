"""Small takes for the capture tests: Live Link Face CSVs written by hand or by our writer,
and audio files (a .wav with soundfile, a .mov/.mp4 with PyAV)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

from diffusiontalker.capture.live_link import HEADER

SAMPLE_RATE = 16000


def csv_text(rows: list[list[str]], header: tuple[str, ...] | list[str] = HEADER) -> str:
    return ",".join(header) + "\n" + "".join(",".join(row) + "\n" for row in rows)


def row(timecode: str, values: dict[str, float] | None = None,
        header: tuple[str, ...] | list[str] = HEADER) -> list[str]:
    """A row of ``header``: the timecode, 61, and 0 except the named columns."""
    values = values or {}
    return [timecode, "61"] + [str(values.get(name, 0.0)) for name in header[2:]]


def write_wave(path: Path, wave: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
    soundfile.write(path, wave, rate)
    return path


def click_wave(seconds: float, click_at: float, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Silence with one full-scale sample at ``click_at`` seconds (easy to find again)."""
    wave = np.zeros(int(round(seconds * rate)), np.float32)
    wave[int(round(click_at * rate))] = 0.9
    return wave


def write_video(path: Path, fmt: str, audio_codec: str | None, seconds: float = 1.0,
                click_at: float = 0.5, rate: int = 48000, video: bool = False) -> Path:
    """A small .mov/.mp4 written with PyAV: stereo audio (a click at ``click_at``) in
    ``audio_codec`` (None: no audio track) and, with ``video``, a 16x16 picture at 30 fps."""
    import av

    with av.open(str(path), "w", format=fmt) as container:
        picture = container.add_stream("mpeg4", rate=30) if video else None
        sound = (container.add_stream(audio_codec, rate=rate, layout="stereo")
                 if audio_codec is not None else None)
        if picture is not None:
            picture.width, picture.height, picture.pix_fmt = 16, 16, "yuv420p"
            for i in range(int(seconds * 30)):
                frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
                frame.pts = i
                for packet in picture.encode(frame):
                    container.mux(packet)
            for packet in picture.encode(None):
                container.mux(packet)
        if sound is not None:
            samples = np.zeros((2, int(seconds * rate)), np.float32)
            samples[:, int(click_at * rate)] = 0.9
            kind = sound.codec_context.format.name
            data = samples if kind.endswith("p") else samples.T.reshape(1, -1).copy()
            if kind.startswith("s16"):
                data = (data * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(data, format=kind, layout="stereo")
            frame.sample_rate, frame.pts = rate, 0
            for packet in sound.encode(frame):
                container.mux(packet)
            for packet in sound.encode(None):
                container.mux(packet)
    return path
