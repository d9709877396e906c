"""Timecodes of capture rows: parsing, writing, the capture rate, and the frame grid."""

from __future__ import annotations

import numpy as np
import pytest

from diffusiontalker.capture.timecode import (
    estimate_fps,
    fill_gaps,
    format_timecode,
    frame_grid,
    infer_timecode_rate,
    parse_timecode,
    timecode_seconds,
)
from diffusiontalker.errors import CaptureError

NTSC_60 = 60000 / 1001


def test_a_timecode_has_frames_and_a_subframe_fraction():
    code = parse_timecode("14:03:52:28.207")
    assert (code.hours, code.minutes, code.seconds, code.frames) == (14, 3, 52, 28)
    assert code.subframe == pytest.approx(0.207) and not code.drop_frame
    # the part after the dot is a fraction of a frame, not milliseconds
    assert timecode_seconds([code], 60)[0] == pytest.approx(14 * 3600 + 3 * 60 + 52 + 28.207 / 60)


def test_writing_and_reading_a_timecode_agree_at_59_94_fps():
    times = 50000.0 + np.arange(200) / NTSC_60
    codes = [format_timecode(t, 60) for t in times]
    assert codes[0] == "13:53:20:00.000" and codes[1] == "13:53:20:01.001"
    back = timecode_seconds([parse_timecode(c) for c in codes], 60)
    assert np.abs(back - times).max() < 1 / 60 / 1000  # within the sub-frame's 3 decimals
    assert {c[-4:] for c in codes} != {".000"}  # the sub-frames really drift at 59.94


def test_a_carry_never_writes_frame_60_or_subframe_1000():
    assert format_timecode(59.99999999, 60) == "00:01:00:00.000"
    assert format_timecode(86400 + 1.5, 60) == "00:00:01:30.000"  # hours wrap at 24


@pytest.mark.parametrize("text", ["", "12:00:00", "12:00:00:xx", "1:2:3:4:5", "12:61:00:00",
                                  "12:00:00:00.abc"])
def test_an_unreadable_timecode_is_one_line_naming_where(text):
    with pytest.raises(CaptureError, match=r"take\.csv line 7") as caught:
        parse_timecode(text, "take.csv line 7")
    assert "\n" not in str(caught.value)


def test_the_timecode_rate_is_inferred_from_the_frame_field():
    over_seconds = [parse_timecode(f"00:00:0{s}:{f:02d}") for s in range(3) for f in range(0, 30, 3)]
    assert infer_timecode_rate(over_seconds) == 30
    over_seconds_60 = [parse_timecode(f"00:00:0{s}:{f:02d}") for s in range(3) for f in range(59)]
    assert infer_timecode_rate(over_seconds_60) == 60
    short = [parse_timecode(f"00:00:00:{f:02d}") for f in range(10, 20)]
    assert infer_timecode_rate(short) == 60  # less than a second: the app's rate


def test_drop_frame_labels_skip_at_the_minute():
    # 29.97 DF: 00:00:59;29 is followed by 00:01:00;02 one frame later
    before, after = (parse_timecode(t) for t in ("00:00:59;29", "00:01:00;02"))
    seconds = timecode_seconds([before, after], 30)
    assert seconds[1] - seconds[0] == pytest.approx(1.001 / 30)
    with pytest.raises(CaptureError, match="mixed"):
        timecode_seconds([before, parse_timecode("00:01:00:02")], 30)


def test_a_take_over_midnight_keeps_counting():
    codes = [parse_timecode(t) for t in ("23:59:59:58", "23:59:59:59", "00:00:00:00")]
    seconds = timecode_seconds(codes, 60)
    assert np.allclose(np.diff(seconds), 1 / 60)


def test_the_capture_rate_is_estimated_and_snapped():
    assert estimate_fps(np.arange(300) / NTSC_60) == NTSC_60
    assert estimate_fps(np.arange(300) / 30.0) == 30.0
    # a skipped frame and a repeated one do not change the rate
    times = np.delete(np.arange(300) / NTSC_60, 100)
    times = np.insert(times, 50, times[50])
    assert estimate_fps(times) == NTSC_60
    # an odd rate is kept as measured
    assert estimate_fps(np.arange(100) / 47.0) == pytest.approx(47.0)
    with pytest.raises(CaptureError, match="same timecode"):
        estimate_fps(np.zeros(5))


def test_the_frame_grid_drops_repeats_and_lists_gaps():
    times = np.array([0, 1, 1, 2, 5, 6, 9]) / 60.0
    grid = frame_grid(times, 60.0)
    assert grid.rows.tolist() == [0, 1, 3, 4, 5, 6]
    assert grid.frames.tolist() == [0, 1, 2, 5, 6, 9]
    assert grid.duplicates == 1 and grid.gaps == ((3, 2), (7, 2)) and grid.missing == 4
    filled = fill_gaps(np.array([[0.0], [1], [2], [5], [6], [9]]), grid.frames, grid.num_frames)
    assert filled[:, 0].tolist() == list(range(10))  # a ramp stays a ramp


def test_time_running_backwards_names_the_line():
    with pytest.raises(CaptureError, match="line 5: the timecode goes backwards"):
        frame_grid(np.array([0, 1, 2, 1]) / 60.0, 60.0, lines=[2, 3, 4, 5])
