"""A face-capture take: per-frame channel weights at the capture rate, which channels were really
captured, head and eye rotations, and the take's speech aligned to frame 0.

Any capture reader (``live_link.read_live_link_csv`` for Live Link Face) produces a
:class:`Take`; from it come a take at another frame rate (:meth:`Take.resample`), the take
with its audio (:meth:`Take.with_audio`), the project's :class:`~diffusiontalker.motion.Motion`
(:meth:`Take.to_motion`) and a clip of the plain folder dataset (:meth:`Take.to_clip`, the dict
``datasets.write_folder_dataset`` writes), so every capture tool's export can become training
data.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from ..audio.loading import SAMPLE_RATE, load_audio
from ..bake.timing import resample_motion
from ..channels import ARKIT_CHANNELS, CHANNELS, HEAD_ROTATION_CHANNELS
from ..errors import CaptureError
from ..motion import Motion, require_finite
from .media import read_take_audio

AUDIO_SHORTFALL_S = 0.1  # audio may end this much before the motion (the motion is then cut)


@dataclass(frozen=True)
class CaptureReport:
    """What reading a take found and repaired, for the user to see."""

    source: str = ""
    variant: str = "unknown"  # "raw", "calibrated" (Live Link Face's _cal.csv) or "unknown"
    rows: int = 0
    duplicates: int = 0  # rows dropped: their frame had a row already
    gaps: tuple[tuple[int, int], ...] = ()  # (first missing frame, how many), interpolated
    absent: tuple[str, ...] = ()  # channels without a column in the file (masked)
    not_captured: tuple[str, ...] = ()  # columns the take's sidecar marks as not captured
    ignored_columns: tuple[str, ...] = ()  # columns this reader does not know
    out_of_range: int = 0  # channel values outside 0..1 (kept as they are)
    fps_estimated: bool = False
    alignment: str = ""

    def lines(self) -> list[str]:
        """The report as short sentences (empty when there is nothing to say)."""
        out = []
        if self.duplicates:
            out.append(f"{self.duplicates} repeated frame(s) dropped")
        if self.gaps:
            missing = sum(count for _, count in self.gaps)
            where = ", ".join(f"{first}" + (f"-{first + n - 1}" if n > 1 else "")
                              for first, n in self.gaps[:5])
            more = f" and {len(self.gaps) - 5} more gaps" if len(self.gaps) > 5 else ""
            out.append(f"{missing} skipped frame(s) interpolated (frames {where}{more})")
        if self.absent:
            out.append(f"{len(self.absent)} channel(s) not in the file: {_names(self.absent)}")
        if self.not_captured:
            out.append(f"{len(self.not_captured)} channel(s) not captured: "
                       f"{_names(self.not_captured)}")
        if self.ignored_columns:
            out.append(f"unknown columns ignored: {_names(self.ignored_columns)}")
        if self.out_of_range:
            out.append(f"{self.out_of_range} value(s) outside 0..1 kept as they are")
        if self.alignment:
            out.append(self.alignment)
        return out


def _names(names: tuple[str, ...], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


@dataclass(frozen=True, eq=False)
class Take:
    """A capture take. ``data`` ``(T, C)`` float32 holds the ``channels`` (ARKit's camelCase
    names) at ``fps``, frame i at ``i / fps`` seconds after ``start_seconds`` (the timecode of
    frame 0); ``present`` ``(C,)`` is False for channels that were not captured (their column
    is 0 and must not be used). ``head`` ``(T, 3)`` is yaw, pitch, roll and ``eyes`` ``(T, 6)``
    the left then right eye's yaw, pitch, roll, in radians, where the capture has them.
    ``audio`` is the 16 kHz mono speech with sample 0 at frame 0, once added."""

    fps: float
    data: np.ndarray
    present: np.ndarray
    channels: tuple[str, ...] = ARKIT_CHANNELS
    head: np.ndarray | None = None
    eyes: np.ndarray | None = None
    audio: np.ndarray | None = None
    start_seconds: float = 0.0
    speaker: str | None = None
    split: str | None = None
    text: str = ""
    report: CaptureReport = field(default_factory=CaptureReport)

    def __post_init__(self) -> None:
        data = np.asarray(self.data, np.float32)
        if data.ndim != 2 or data.shape[0] == 0:
            raise CaptureError(f"{self.report.source or 'the take'} has no frames")
        if data.shape[1] != len(self.channels):
            raise ValueError(f"take data has {data.shape[1]} columns for "
                             f"{len(self.channels)} channel names")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise CaptureError(f"a take needs a positive frame rate, got {self.fps!r}")
        require_finite(data, f"the take {self.report.source}".strip(), error=CaptureError)
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "channels", tuple(self.channels))
        object.__setattr__(self, "present", np.asarray(self.present, bool).reshape(-1))
        for name, width in (("head", 3), ("eyes", 6)):
            value = getattr(self, name)
            if value is not None:
                value = np.asarray(value, np.float32)
                if value.shape != (data.shape[0], width):
                    raise ValueError(f"take {name} must be ({data.shape[0]}, {width}), got "
                                     f"{value.shape}")
                object.__setattr__(self, name, value)

    @property
    def num_frames(self) -> int:
        return int(self.data.shape[0])

    @property
    def duration(self) -> float:
        """Seconds covered by the frames (frame i shows time i / fps)."""
        return self.num_frames / self.fps

    @property
    def captured(self) -> tuple[str, ...]:
        """The channels that were really captured, in column order."""
        return tuple(n for n, p in zip(self.channels, self.present, strict=True) if p)

    @property
    def missing(self) -> tuple[str, ...]:
        """The channels that were not captured (masked)."""
        return tuple(n for n, p in zip(self.channels, self.present, strict=True) if not p)

    def resample(self, fps: float) -> Take:
        """This take at ``fps`` (linear interpolation, frame i at i / fps; the frames cover
        ``round(duration * fps)`` frames, as the synthetic corpus does). The audio is kept."""
        if not (np.isfinite(fps) and fps > 0):
            raise CaptureError(f"the target frame rate must be positive, got {fps!r}")
        if fps == self.fps:
            return self
        count = max(1, int(round(self.duration * fps)))
        times = np.arange(count, dtype=np.float64) / fps

        def at_rate(values: np.ndarray | None) -> np.ndarray | None:
            return None if values is None else resample_motion(values, self.fps, times)

        return replace(self, fps=float(fps), data=at_rate(self.data), head=at_rate(self.head),
                       eyes=at_rate(self.eyes))

    def with_audio(self, audio: str | os.PathLike | np.ndarray, sample_rate: int | None = None,
                   offset: float = 0.0, cut_to_audio: bool = False) -> Take:
        """This take with its speech (a file, the take's video, or an array with its
        ``sample_rate``), aligned so that audio sample 0 is frame 0.

        Live Link Face's row 0 is the video's first frame, so the take's own audio starts at
        frame 0, or as much later as the video container says. ``offset`` is for audio that
        was trimmed: the audio starts ``offset`` seconds into the take (negative: it starts
        that long before frame 0). Frames before the audio are dropped, audio before frame 0
        or past the last frame is cut. Audio that ends more than ``AUDIO_SHORTFALL_S`` before
        the motion is a :class:`CaptureError`, unless ``cut_to_audio`` (the motion is cut)."""
        if isinstance(audio, np.ndarray):
            wave, lead = load_audio(audio, sample_rate), 0.0
        else:
            wave, lead = read_take_audio(audio)
        shift = float(offset) + lead  # the take's time at the audio's first sample
        take, skip_samples = self, 0
        if shift > 0:
            first = int(np.ceil(shift * self.fps - 1e-9))
            if first >= self.num_frames:
                raise CaptureError(f"the offset {offset:g} s leaves none of the take's "
                                   f"{self.duration:.2f} s of motion")
            take = take.frames(first, self.num_frames)
            skip_samples = int(round((first / self.fps - shift) * SAMPLE_RATE))
        elif shift < 0:
            skip_samples = int(round(-shift * SAMPLE_RATE))
        wave = wave[skip_samples:]
        audio_s, motion_s = wave.shape[0] / SAMPLE_RATE, take.duration
        if audio_s < motion_s - AUDIO_SHORTFALL_S and not cut_to_audio:
            raise CaptureError(
                f"the audio lasts {audio_s:.2f} s from frame 0 but the capture "
                f"{motion_s:.2f} s: use the take's own audio (its .mov), set --offset for "
                "trimmed audio, or --cut-to-audio to keep only the motion the audio covers")
        frames = min(take.num_frames, max(1, int(np.ceil(audio_s * take.fps - 1e-6))))
        take = take.frames(0, frames)
        wave = wave[:int(round(take.duration * SAMPLE_RATE))]
        if wave.shape[0] == 0:
            raise CaptureError("no audio is left at the take's frames")
        how = f"the audio starts {shift:.3f} s into the take" if shift > 0 else (
            f"the audio starts {-shift:.3f} s before the take" if shift < 0 else "")
        return replace(take, audio=np.ascontiguousarray(wave, np.float32),
                       report=replace(take.report, alignment=how))

    def frames(self, start: int, stop: int) -> Take:
        """Frames ``start`` to ``stop - 1`` (the audio, if any, is dropped)."""
        def cut(values: np.ndarray | None) -> np.ndarray | None:
            return None if values is None else values[start:stop]

        return replace(self, data=self.data[start:stop], head=cut(self.head),
                       eyes=cut(self.eyes), audio=None,
                       start_seconds=self.start_seconds + start / self.fps)

    def to_motion(self, channels: Iterable[str] = CHANNELS, fps: float | None = None
                  ) -> tuple[Motion, tuple[str, ...]]:
        """``(motion, lacking)``: a channel :class:`Motion` of the requested ``channels`` that
        were captured (in the requested order), at ``fps`` (default: the capture rate), and the
        requested channels the take lacks (not captured, or unknown to it). The head rotation
        the take carries is offered as ``headYaw``, ``headPitch`` and ``headRoll``."""
        take = self if fps is None else self.resample(fps)
        columns = take.data
        index = {n: i for i, n in enumerate(take.channels) if take.present[i]}
        if take.head is not None:  # headYaw/headPitch/headRoll: the model's head channels
            columns = np.concatenate([take.data, take.head], axis=1)
            index.update({n: take.data.shape[1] + k
                          for k, n in enumerate(HEAD_ROTATION_CHANNELS)})
        wanted = list(dict.fromkeys(channels))
        kept = [n for n in wanted if n in index]
        lacking = tuple(n for n in wanted if n not in index)
        if not kept:
            raise CaptureError(f"the take captured none of the requested channels "
                               f"({_names(tuple(wanted))})")
        data = columns[:, [index[n] for n in kept]]
        return Motion(take.fps, "channels", data, tuple(kept)), lacking

    def to_clip(self, clip_id: str, fps: float, channels: Iterable[str] = CHANNELS,
                speaker: str | None = None, split: str | None = None) -> dict:
        """One clip of the plain folder dataset (the dict ``datasets.write_folder_dataset``
        takes): the ``channels`` at ``fps`` and the aligned 16 kHz audio of equal duration.
        Every channel must have been captured (a CaptureError names the ones that were not)."""
        if self.audio is None:
            raise CaptureError(f"{self.report.source or 'the take'} has no audio; add it with "
                               "with_audio (the take's .mov or a .wav)")
        motion, lacking = self.to_motion(channels, fps)
        if lacking:
            raise CaptureError(f"{self.report.source or 'the take'} did not capture "
                               f"{_names(lacking)}; choose channels it has")
        seconds = motion.num_frames / motion.fps
        wave = self.audio[:int(round(seconds * SAMPLE_RATE))]
        if wave.shape[0] < int(round(seconds * SAMPLE_RATE)):
            wave = np.concatenate([wave, np.zeros(int(round(seconds * SAMPLE_RATE))
                                                  - wave.shape[0], np.float32)])
        return {"id": clip_id, "speaker": speaker or self.speaker or "performer",
                "split": split or self.split or "train", "text": self.text, "wave": wave,
                "sample_rate": SAMPLE_RATE, "motion": motion.data}
