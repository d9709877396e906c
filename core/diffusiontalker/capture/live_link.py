"""Live Link Face CSVs (Epic Games' free iPhone app; Apple ARKit face tracking): read and write.

The format, as the app writes it:

* a header ``Timecode,BlendshapeCount,`` then the 52 ARKit blendshapes in PascalCase
  (``EyeBlinkLeft, EyeLookDownLeft, ..., JawOpen, MouthClose, ..., TongueOut``; ARKit's
  documented order except that ``JawRight`` comes before ``JawLeft`` and ``MouthRight`` before
  ``MouthLeft``), then ``HeadYaw, HeadPitch, HeadRoll, LeftEyeYaw, LeftEyePitch, LeftEyeRoll,
  RightEyeYaw, RightEyePitch, RightEyeRoll`` (radians). Recent versions spell the second
  column ``BlendshapeCount``, older ones ``BlendShapeCount``: any capitalisation is read.
* one row per captured frame: its timecode ``HH:MM:SS:FF.sss`` (``capture.timecode``: FF at
  the timecode rate, 60 on an iPhone, the camera running at ~59.94 fps; ``.sss`` a sub-frame),
  ``61`` (the number of values that follow), and the 61 values. Blendshapes are 0..1.
* a take folder ``YYYYMMDD_<Slate>_<Take>/`` holds ``<Slate>_<Take>_iPhone.mov`` (video and
  the microphone's audio), ``..._iPhone_raw.csv`` (ARKit's values as tracked) and
  ``..._iPhone_cal.csv`` (the same rows and columns with the app's neutral-pose calibration
  applied, values relative to the performer's recorded neutral face); versions before the
  calibration feature wrote a single ``<Slate>_<Take>_iPhone.csv`` of raw values. Both CSVs
  read the same way; :class:`CaptureReport.variant` says which one a take came from.

Columns are matched by name, case-insensitively, so other tools' exports in this layout read
too; channels without a column are masked and reported, never invented.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..channels import ARKIT_CHANNELS, camel_case, pascal_case
from ..errors import CaptureError
from ..motion import write_atomically
from .take import CaptureReport, Take
from .timecode import (
    DEFAULT_TIMECODE_RATE,
    check_order,
    estimate_fps,
    fill_gaps,
    format_timecode,
    frame_grid,
    infer_timecode_rate,
    parse_timecode,
    timecode_seconds,
)

LIVE_LINK_FPS = 60000 / 1001  # an iPhone's face capture rate (~59.94 fps)
TIMECODE_COLUMN = "Timecode"
COUNT_COLUMN = "BlendshapeCount"
HEAD_COLUMNS = ("HeadYaw", "HeadPitch", "HeadRoll")
EYE_COLUMNS = ("LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
               "RightEyeYaw", "RightEyePitch", "RightEyeRoll")
_SWAPPED = {"jawLeft": "jawRight", "jawRight": "jawLeft",
            "mouthLeft": "mouthRight", "mouthRight": "mouthLeft"}


def live_link_channel_order() -> tuple[str, ...]:
    """The 52 ARKit channels (camelCase) in the order of Live Link Face's columns: ARKit's
    documented order with the jaw and mouth Left/Right pairs swapped."""
    return tuple(_SWAPPED.get(name, name) for name in ARKIT_CHANNELS)


VALUE_COLUMNS = (*map(pascal_case, live_link_channel_order()), *HEAD_COLUMNS, *EYE_COLUMNS)
HEADER = (TIMECODE_COLUMN, COUNT_COLUMN, *VALUE_COLUMNS)  # BlendshapeCount is len(VALUE_COLUMNS)


def csv_variant(path: str | os.PathLike) -> str:
    """``calibrated`` for the app's ``*_cal.csv``, ``raw`` for ``*_raw.csv``, else
    ``unknown`` (older app versions' single CSV holds raw values)."""
    stem = Path(path).stem.lower()
    return "calibrated" if stem.endswith("_cal") else "raw" if stem.endswith("_raw") else "unknown"


def _column_roles(header: list[str], where: str) -> tuple[dict[str, int], dict[str, int],
                                                            list[str]]:
    """``(channels, rotations, unknown)``: column index of each ARKit channel and of each
    head/eye column found in ``header``, and the names this reader does not know."""
    if not header or header[0].strip().lower() != TIMECODE_COLUMN.lower():
        shown = ",".join(header[:3]) if header else "nothing"
        raise CaptureError(f"{where} is not a Live Link Face CSV: its header must start with "
                           f"{TIMECODE_COLUMN},{COUNT_COLUMN}, found {shown!r}")
    arkit = {name.lower(): name for name in ARKIT_CHANNELS}
    rotations_known = {name.lower(): name for name in HEAD_COLUMNS + EYE_COLUMNS}
    channels: dict[str, int] = {}
    rotations: dict[str, int] = {}
    unknown: list[str] = []
    for index, raw in enumerate(header[1:], start=1):
        name = raw.strip()
        key = name.lower()
        if key == COUNT_COLUMN.lower():
            continue
        target = channels if key in arkit else rotations if key in rotations_known else None
        if target is None:
            unknown.append(name)
            continue
        canonical = arkit.get(key) or rotations_known[key]
        if canonical in target:
            raise CaptureError(f"{where}: the column {name!r} appears twice")
        target[canonical] = index
    if not channels:
        raise CaptureError(f"{where} has none of the 52 ARKit blendshape columns "
                           f"({pascal_case(ARKIT_CHANNELS[0])}, ..., JawOpen, ...): not a Live "
                           "Link Face CSV")
    return channels, rotations, unknown


def _read_rows(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CaptureError(f"capture file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CaptureError(f"cannot read {path} as a text CSV: {exc}") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    while header and not header[-1].strip():
        header = header[:-1]  # a trailing comma
    rows, lines = [], []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header) and not any(cell.strip() for cell in row[len(header):]):
            row = row[:len(header)]
        if len(row) != len(header):
            raise CaptureError(f"{path.name} line {reader.line_num}: {len(row)} fields, the "
                               f"header has {len(header)}")
        rows.append(row)
        lines.append(reader.line_num)
    return header, rows, lines


def _numbers(rows: list[list[str]], columns: list[int], lines: list[int], header: list[str],
             where: str) -> np.ndarray:
    out = np.empty((len(rows), len(columns)), np.float64)
    for r, row in enumerate(rows):
        for c, column in enumerate(columns):
            try:
                out[r, c] = float(row[column])
            except ValueError:
                raise CaptureError(f"{where} line {lines[r]}, column {header[column].strip()}: "
                                   f"{row[column]!r} is not a number") from None
    bad = np.argwhere(~np.isfinite(out))
    if bad.size:
        r, c = bad[0]
        raise CaptureError(f"{where} line {lines[r]}, column {header[columns[c]].strip()}: "
                           f"{rows[r][columns[c]]!r} is not a finite number")
    return out


def read_live_link_csv(path: str | os.PathLike, fps: float | None = None,
                       timecode_rate: int | None = None,
                       captured: Iterable[str] | None = None) -> Take:
    """Read a Live Link Face CSV (raw or ``_cal``) into a :class:`Take` at its capture rate.

    ``fps``: the capture rate, estimated from the timecodes when None (59.94 for an iPhone
    take). ``timecode_rate``: the rate the timecodes' frame field counts in, inferred when
    None. Rows are placed on frames by their timecodes: a repeated frame is dropped, skipped
    frames are interpolated, and both are reported. ``captured``: the channels really
    captured (e.g. from ``takes.json``); None counts every ARKit column in the file. Channels
    without a column are masked (``present`` False, their data 0) and reported."""
    path = Path(path)
    where = path.name
    header, rows, lines = _read_rows(path)
    channel_cols, rotation_cols, unknown = _column_roles(header, where)
    if not rows:
        raise CaptureError(f"{where} holds no frames (only a header)")
    if len(rows) < 2 and fps is None:
        raise CaptureError(f"{where} holds a single frame: its frame rate cannot be told")
    codes = [parse_timecode(row[0], f"{where} line {line}") for row, line in zip(rows, lines,
                                                                                 strict=True)]
    rate = timecode_rate or infer_timecode_rate(codes)
    times = timecode_seconds(codes, rate, where)
    check_order(times, lines, where)
    estimated = fps is None
    fps = estimate_fps(times, where) if fps is None else float(fps)
    grid = frame_grid(times, fps, lines, where)

    names = [n for n in ARKIT_CHANNELS if n in channel_cols]
    rotation_names = [n for n in HEAD_COLUMNS + EYE_COLUMNS if n in rotation_cols]
    columns = [channel_cols[n] for n in names] + [rotation_cols[n] for n in rotation_names]
    values = _numbers([rows[r] for r in grid.rows], columns, [lines[r] for r in grid.rows],
                      header, where)
    filled = fill_gaps(values, grid.frames, grid.num_frames)

    data = np.zeros((grid.num_frames, len(ARKIT_CHANNELS)), np.float32)
    slots = [ARKIT_CHANNELS.index(n) for n in names]
    data[:, slots] = filled[:, :len(names)]
    in_file = np.zeros(len(ARKIT_CHANNELS), bool)
    in_file[slots] = True
    present = in_file.copy()
    not_captured: tuple[str, ...] = ()
    if captured is not None:
        captured = {camel_case(str(n)) for n in captured}
        present &= np.array([n in captured for n in ARKIT_CHANNELS])
        not_captured = tuple(n for n, f, p in zip(ARKIT_CHANNELS, in_file, present, strict=True)
                             if f and not p)
    rotation = {n: filled[:, len(names) + i] for i, n in enumerate(rotation_names)}
    head, eyes = (np.stack([rotation[n] for n in group], axis=1) if set(group) <= set(rotation)
                  else None for group in (HEAD_COLUMNS, EYE_COLUMNS))
    partial = tuple(n for n in rotation_names
                    if (head if n in HEAD_COLUMNS else eyes) is None)  # an incomplete group
    used = data[:, present]
    report = CaptureReport(
        source=str(path), variant=csv_variant(path), rows=len(rows), duplicates=grid.duplicates,
        gaps=grid.gaps, absent=tuple(n for n, f in zip(ARKIT_CHANNELS, in_file, strict=True)
                                     if not f),
        not_captured=not_captured, ignored_columns=tuple(unknown) + partial,
        out_of_range=int(np.count_nonzero((used < -1e-6) | (used > 1 + 1e-6))),
        fps_estimated=estimated)
    return Take(fps=fps, data=data, present=present, head=head, eyes=eyes,
                start_seconds=float(times[grid.rows[0]]), report=report)


def _number(value: float) -> str:
    """The shortest decimal that reads back as the same float32."""
    return np.format_float_positional(np.float32(value), unique=True, trim="0")


def write_live_link_csv(path: str | os.PathLike, weights: np.ndarray,
                        channels: Iterable[str] = ARKIT_CHANNELS, head: np.ndarray | None = None,
                        eyes: np.ndarray | None = None, fps: float = LIVE_LINK_FPS,
                        start_seconds: float = 0.0,
                        timecode_rate: int = DEFAULT_TIMECODE_RATE) -> Path:
    """Write a CSV as Live Link Face does (:data:`HEADER`; row i stamped
    ``start_seconds + i / fps`` as ``HH:MM:SS:FF.sss`` at ``timecode_rate``; ``61``; values).

    ``weights`` ``(T, K)`` are the ``channels`` (ARKit names, any order); channels not given
    are written as 0, the app's value at rest, as are head ``(T, 3)`` and eye ``(T, 6)``
    rotations when None. Written atomically; returns the path."""
    weights = np.asarray(weights, np.float32)
    channels = [camel_case(str(n)) for n in channels]
    unknown = sorted(set(channels) - set(ARKIT_CHANNELS))
    if unknown:
        raise CaptureError(f"not ARKit blendshapes, so not Live Link Face columns: {unknown}")
    if weights.ndim != 2 or weights.shape[1] != len(channels) or weights.shape[0] == 0:
        raise CaptureError(f"weights must be (frames, {len(channels)}) with frames > 0, got "
                           f"{weights.shape}")
    frames = weights.shape[0]
    table = np.zeros((frames, len(VALUE_COLUMNS)), np.float32)
    order = {name: i for i, name in enumerate(live_link_channel_order())}
    for k, name in enumerate(channels):
        table[:, order[name]] = weights[:, k]
    for values, group in ((head, HEAD_COLUMNS), (eyes, EYE_COLUMNS)):
        if values is not None:
            values = np.asarray(values, np.float32)
            if values.shape != (frames, len(group)):
                raise CaptureError(f"{', '.join(group)} must be ({frames}, {len(group)}), got "
                                   f"{values.shape}")
            first = VALUE_COLUMNS.index(group[0])
            table[:, first:first + len(group)] = values
    lines = [",".join(HEADER)]
    for i in range(frames):
        stamp = format_timecode(start_seconds + i / fps, timecode_rate)
        lines.append(f"{stamp},{len(VALUE_COLUMNS)}," + ",".join(map(_number, table[i])))
    path = Path(path)
    write_atomically(path, lambda f: f.write(("\n".join(lines) + "\n").encode("utf-8")))
    return path
