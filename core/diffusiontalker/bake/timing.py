"""Map generated motion (model frames at the model's fps) onto scene frames (bpy-free).

A sound strip plays audio time ``t`` (seconds into its file) at scene frame
``content_start + (t - sound_offset) * fps`` where ``fps = render.fps / render.fps_base``; only
the frames between its handles ``[left_handle, right_handle)`` are heard. We generate motion
for the audible part only, then resample it to one value per audible scene frame. The scene's
frame rate is read, never changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import AudioError, ConfigError, MotionError
from .shapes import frame_blocks


@dataclass(frozen=True)
class StripTiming:
    """A sound strip's placement, in scene frames (names follow Blender 5.1+).

    ``content_start``: frame where the file's start would play (trims do not move it);
    ``left_handle`` / ``right_handle``: first audible frame / first frame after the audible
    part; ``sound_offset``: seconds of the file skipped at the content start.
    """

    content_start: float
    left_handle: float
    right_handle: float
    sound_offset: float = 0.0


def scene_fps(fps: int | float, fps_base: float = 1.0) -> float:
    """The effective frame rate ``render.fps / render.fps_base`` (29.97 is 30 / 1.001)."""
    if fps <= 0 or fps_base <= 0:
        raise ConfigError(f"invalid frame rate {fps} / {fps_base}: both must be positive; set "
                          "the scene's Frame Rate (Output Properties > Format)")
    return float(fps) / float(fps_base)


def audible_frames(timing: StripTiming) -> np.ndarray:
    """The integer scene frames that hear the strip: ``ceil(left) .. ceil(right) - 1``."""
    first = int(np.ceil(timing.left_handle - 1e-6))
    end = int(np.ceil(timing.right_handle - 1e-6))
    return np.arange(first, max(first, end), dtype=np.int64)


def frame_audio_times(frames: np.ndarray, timing: StripTiming, fps: float) -> np.ndarray:
    """Seconds into the sound file heard at each scene frame."""
    return (np.asarray(frames, np.float64) - timing.content_start) / fps + timing.sound_offset


def audible_window(timing: StripTiming, fps: float, audio_seconds: float) -> tuple[float, float]:
    """The ``(start, end)`` seconds of the file that the strip's handles let through."""
    start = (timing.left_handle - timing.content_start) / fps + timing.sound_offset
    end = (timing.right_handle - timing.content_start) / fps + timing.sound_offset
    start, end = max(0.0, start), min(float(audio_seconds), end)
    if end - start <= 0:
        raise AudioError("the strip's audible part is empty (check its trims and sound offset)")
    return start, end


def cut_audio(wave: np.ndarray, sample_rate: int, start_s: float, end_s: float) -> np.ndarray:
    """The samples of ``wave`` between ``start_s`` and ``end_s`` seconds."""
    a = int(round(start_s * sample_rate))
    b = int(round(end_s * sample_rate))
    return np.asarray(wave[a:b], dtype=np.float32)


def resample_motion(data: np.ndarray, fps: float, times: np.ndarray) -> np.ndarray:
    """Linearly interpolate per-frame ``data`` (frame i at ``i / fps``) at ``times`` (s).

    Times outside the motion hold its first or last frame. Works for ``(T, K)`` weights and
    ``(T, V, 3)`` offsets alike. Fills one float32 output a block of frames at a time, so a
    long vertex take needs no temporary copies of its size.
    """
    data = np.asarray(data, np.float32)
    if data.shape[0] == 0:
        raise MotionError("cannot resample empty motion (0 frames); generate from longer audio")
    pos = np.clip(np.asarray(times, np.float64) * fps, 0.0, data.shape[0] - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, data.shape[0] - 1)
    frac = (pos - lo).astype(np.float32).reshape((-1,) + (1,) * (data.ndim - 1))
    out = np.empty((pos.size,) + data.shape[1:], np.float32)
    for rows in frame_blocks(pos.size, int(np.prod(data.shape[1:], dtype=np.int64))):
        out[rows] = data[lo[rows]]
        out[rows] += frac[rows] * (data[hi[rows]] - out[rows])
    return out


def motion_on_strip(
    data: np.ndarray, motion_fps: float, motion_start_s: float, timing: StripTiming, fps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Resample motion generated for audio starting at ``motion_start_s`` onto the strip.

    Returns ``(frames, values)``: the audible integer scene frames and one row of motion each.
    """
    frames = audible_frames(timing)
    times = frame_audio_times(frames, timing, fps) - motion_start_s
    return frames, resample_motion(data, motion_fps, times)


def motion_frames_of(frames: np.ndarray, timing: StripTiming, fps: float, motion_start_s: float,
                     motion_fps: float) -> np.ndarray:
    """The (fractional) model frame heard at each scene frame: the inverse of
    :func:`scene_frames_of` (keys the animator set in the scene, as model frames)."""
    return (frame_audio_times(frames, timing, fps) - motion_start_s) * motion_fps


def scene_frames_of(motion_frames: np.ndarray, timing: StripTiming, fps: float,
                    motion_start_s: float, motion_fps: float) -> np.ndarray:
    """The (fractional) scene frame at which model frame ``i`` (audio time ``motion_start_s +
    i / motion_fps``) plays: ``content_start + (t - sound_offset) * fps``."""
    times = motion_start_s + np.asarray(motion_frames, np.float64) / motion_fps
    return timing.content_start + (times - timing.sound_offset) * fps
