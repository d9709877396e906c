"""SMPTE-style timecodes of capture rows, and laying rows on a regular frame grid.

Live Link Face stamps every CSV row with ``HH:MM:SS:FF.sss``: ``FF`` counts frames at the
timecode rate (60 on an iPhone; the camera really delivers ~59.94 frames a second) and the part
after the dot is a *sub-frame*, a fraction of one frame. Because the capture clock is not locked
to the timecode rate the sub-frames drift from row to row, and rows can repeat a frame or skip
one. A ``;`` before the frames marks drop-frame timecode (29.97 / 59.94 DF), whose labels skip
frames 0-1 (0-3 at 59.94) at each minute not divisible by ten.

:func:`timecode_seconds` turns timecodes into seconds, :func:`estimate_fps` finds the capture
rate from them, and :func:`frame_grid` places each row on frame ``round((t - t0) * fps)``:
duplicates are dropped, missing frames listed (:func:`fill_gaps` interpolates them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import CaptureError

# Timecode rates (the FF field counts 0 .. rate - 1) and frame rates a capture may run at.
TIMECODE_RATES = (24, 25, 30, 48, 50, 60, 100, 120)
DEFAULT_TIMECODE_RATE = 60  # Live Link Face on an iPhone
FRAME_RATES = (24000 / 1001, 24.0, 25.0, 30000 / 1001, 30.0, 48.0, 50.0, 60000 / 1001, 60.0,
               100.0, 120000 / 1001, 120.0)
SNAP_TOLERANCE = 3e-4  # an estimated rate this close (relative) to a standard one becomes it
SUBFRAME_DIGITS = 3
_PATTERN = re.compile(r"^\s*(\d{1,2}):(\d{1,2}):(\d{1,2})([:;])(\d{1,3})(?:\.(\d+))?\s*$")
DAY = 86400.0


@dataclass(frozen=True)
class Timecode:
    """One ``HH:MM:SS:FF[.sss]`` label; ``subframe`` is the fraction of a frame (0 <= x < 1)."""

    hours: int
    minutes: int
    seconds: int
    frames: int
    subframe: float = 0.0
    drop_frame: bool = False


def parse_timecode(text: str, where: str = "timecode") -> Timecode:
    """Read ``HH:MM:SS:FF``, ``HH:MM:SS:FF.sss`` or drop-frame ``HH:MM:SS;FF[.sss]``; anything
    else is a :class:`CaptureError` naming ``where`` (e.g. the file and line)."""
    match = _PATTERN.match(str(text))
    if match is None:
        raise CaptureError(f"{where}: unreadable timecode {str(text)!r}; Live Link Face writes "
                           "HH:MM:SS:FF.sss (hours, minutes, seconds, frame, sub-frame)")
    hours, minutes, seconds, separator, frames, sub = match.groups()
    if int(minutes) > 59 or int(seconds) > 59:
        raise CaptureError(f"{where}: timecode {text!r} has minutes or seconds above 59")
    subframe = int(sub) / 10 ** len(sub) if sub else 0.0
    return Timecode(int(hours), int(minutes), int(seconds), int(frames), subframe,
                    separator == ";")


def infer_timecode_rate(codes: Sequence[Timecode]) -> int:
    """The timecode rate the ``FF`` fields count in: the smallest standard rate above the
    largest ``FF`` once the take spans a whole second, else Live Link Face's 60."""
    top = max(code.frames for code in codes)
    whole_second = len({(c.hours, c.minutes, c.seconds) for c in codes}) >= 3
    if not whole_second and top < DEFAULT_TIMECODE_RATE:
        return DEFAULT_TIMECODE_RATE
    for rate in TIMECODE_RATES:
        if rate > top:
            return rate
    raise CaptureError(f"timecode frame field {top} is above every standard timecode rate "
                       f"({TIMECODE_RATES[-1]} at most); give the rate explicitly")


def timecode_seconds(codes: Sequence[Timecode], rate: int, where: str = "timecodes"
                     ) -> np.ndarray:
    """Seconds of each timecode at timecode ``rate``, float64; a take running past midnight
    keeps counting up. Non-drop-frame labels are clock time: ``SS + (FF + sub) / rate``."""
    if not codes:
        return np.zeros(0, np.float64)
    drop = [code.drop_frame for code in codes]
    if any(drop) and not all(drop):
        raise CaptureError(f"{where}: drop-frame (;) and non-drop-frame (:) timecodes are mixed")
    if drop[0] and rate not in (30, 60):
        raise CaptureError(f"{where}: drop-frame timecode needs a rate of 30 or 60, not {rate}")
    bad = next((c for c in codes if c.frames >= rate), None)
    if bad is not None:
        raise CaptureError(f"{where}: frame field {bad.frames} is not below the timecode rate "
                           f"{rate}")
    h = np.array([c.hours for c in codes], np.float64)
    m = np.array([c.minutes for c in codes], np.float64)
    s = np.array([c.seconds for c in codes], np.float64)
    f = np.array([c.frames + c.subframe for c in codes], np.float64)
    if drop[0]:
        minutes = 60 * h + m
        frames = rate * (3600 * h + 60 * m + s) + f - (rate // 15) * (minutes - minutes // 10)
        seconds = frames * 1.001 / rate
    else:
        seconds = 3600 * h + 60 * m + s + f / rate
    wraps = np.concatenate([[0.0], np.cumsum(np.diff(seconds) < -DAY / 2)])
    return seconds + wraps * DAY


def format_timecode(seconds: float, rate: int = DEFAULT_TIMECODE_RATE,
                    digits: int = SUBFRAME_DIGITS) -> str:
    """``seconds`` (of the day) as non-drop-frame ``HH:MM:SS:FF.sss`` at timecode ``rate``:
    the frame and its sub-frame fraction rounded to ``digits`` decimals (hours wrap at 24)."""
    scale = 10 ** digits
    units = int(round(float(seconds) * rate * scale))
    sub, frames_total = units % scale, units // scale
    frame, whole = frames_total % rate, frames_total // rate
    hours, minutes, secs = (whole // 3600) % 24, (whole // 60) % 60, whole % 60
    return f"{hours:02d}:{minutes:02d}:{secs:02d}:{frame:02d}.{sub:0{digits}d}"


def estimate_fps(times: np.ndarray, where: str = "the take") -> float:
    """The capture rate of rows stamped ``times`` (seconds): the frame intervals they span
    (each step counted in typical steps, so skipped frames count and repeats do not) over
    the time spanned; snapped to a standard rate (59.94 = 60000/1001, ...) when within
    :data:`SNAP_TOLERANCE`."""
    steps = np.diff(np.asarray(times, np.float64))
    forward = steps[steps > 0]
    if forward.size == 0:
        raise CaptureError(f"{where}: every row carries the same timecode, so the frame rate "
                           "cannot be told; give it explicitly")
    intervals = float(np.rint(forward / np.median(forward)).sum())
    fps = intervals / float(times[-1] - times[0])
    for rate in FRAME_RATES:
        if abs(fps - rate) <= SNAP_TOLERANCE * rate:
            return rate
    return fps


@dataclass(frozen=True)
class FrameGrid:
    """Where the kept rows sit on a regular grid of frames, and what was repaired."""

    rows: np.ndarray  # (R,) indices of the rows kept (first of each duplicated frame)
    frames: np.ndarray  # (R,) their frame numbers, strictly increasing, starting at 0
    duplicates: int  # rows dropped because an earlier row had the same frame
    gaps: tuple[tuple[int, int], ...]  # (first missing frame, how many) for each gap

    @property
    def num_frames(self) -> int:
        return int(self.frames[-1]) + 1

    @property
    def missing(self) -> int:
        return sum(count for _, count in self.gaps)


def check_order(times: np.ndarray, lines: Sequence[int] | None = None,
                where: str = "the take") -> None:
    """CaptureError naming the line (``lines``: each row's 1-based line) where time first
    runs backwards."""
    back = np.flatnonzero(np.diff(np.asarray(times, np.float64)) < -1e-9)
    if back.size:
        row = int(back[0]) + 1
        line = lines[row] if lines is not None else row + 1
        raise CaptureError(f"{where} line {line}: the timecode goes backwards; rows must be in "
                           "time order")


def frame_grid(times: np.ndarray, fps: float, lines: Sequence[int] | None = None,
               where: str = "the take") -> FrameGrid:
    """Put rows stamped ``times`` on frames ``round((t - t0) * fps)``. A row whose frame was
    already taken is a duplicate (dropped); a frame no row reaches is a gap. Time running
    backwards is a :class:`CaptureError` (:func:`check_order`)."""
    check_order(times, lines, where)
    times = np.asarray(times, np.float64)
    frames = np.rint((times - times[0]) * fps).astype(np.int64)
    keep = np.ones(frames.size, bool)
    keep[1:] = frames[1:] != frames[:-1]
    rows = np.flatnonzero(keep)
    kept = frames[rows]
    jumps = np.flatnonzero(np.diff(kept) > 1)
    gaps = tuple((int(kept[j]) + 1, int(kept[j + 1] - kept[j]) - 1) for j in jumps)
    return FrameGrid(rows, kept, int(frames.size - rows.size), gaps)


def fill_gaps(values: np.ndarray, frames: np.ndarray, num_frames: int) -> np.ndarray:
    """``(R, C)`` values at increasing ``frames`` -> ``(num_frames, C)`` float32, the frames in
    between linearly interpolated from their neighbours."""
    values = np.asarray(values, np.float64)
    grid = np.arange(num_frames, dtype=np.float64)
    out = np.empty((num_frames, values.shape[1]), np.float32)
    for column in range(values.shape[1]):
        out[:, column] = np.interp(grid, frames, values[:, column])
    return out
