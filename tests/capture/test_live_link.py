"""Live Link Face CSVs: the app's exact layout, our writer -> reader round trip, repairs of
repeated and skipped frames, masked channels, and one-line errors for bad files."""

from __future__ import annotations

import numpy as np
import pytest

from diffusiontalker.capture import (
    HEADER,
    LIVE_LINK_FPS,
    csv_variant,
    live_link_channel_order,
    read_live_link_csv,
    write_live_link_csv,
)
from diffusiontalker.capture.timecode import format_timecode
from diffusiontalker.channels import ARKIT_CHANNELS, CHANNELS, camel_case, pascal_case
from diffusiontalker.errors import CaptureError

from .helpers import csv_text, row

# The header row of a take recorded by the app (its column order, spelled out here on purpose).
APP_HEADER = (
    "Timecode,BlendshapeCount,EyeBlinkLeft,EyeLookDownLeft,EyeLookInLeft,EyeLookOutLeft,"
    "EyeLookUpLeft,EyeSquintLeft,EyeWideLeft,EyeBlinkRight,EyeLookDownRight,EyeLookInRight,"
    "EyeLookOutRight,EyeLookUpRight,EyeSquintRight,EyeWideRight,JawForward,JawRight,JawLeft,"
    "JawOpen,MouthClose,MouthFunnel,MouthPucker,MouthRight,MouthLeft,MouthSmileLeft,"
    "MouthSmileRight,MouthFrownLeft,MouthFrownRight,MouthDimpleLeft,MouthDimpleRight,"
    "MouthStretchLeft,MouthStretchRight,MouthRollLower,MouthRollUpper,MouthShrugLower,"
    "MouthShrugUpper,MouthPressLeft,MouthPressRight,MouthLowerDownLeft,MouthLowerDownRight,"
    "MouthUpperUpLeft,MouthUpperUpRight,BrowDownLeft,BrowDownRight,BrowInnerUp,BrowOuterUpLeft,"
    "BrowOuterUpRight,CheekPuff,CheekSquintLeft,CheekSquintRight,NoseSneerLeft,NoseSneerRight,"
    "TongueOut,HeadYaw,HeadPitch,HeadRoll,LeftEyeYaw,LeftEyePitch,LeftEyeRoll,RightEyeYaw,"
    "RightEyePitch,RightEyeRoll")


def test_the_header_is_the_apps_and_the_names_map_to_arkit():
    assert ",".join(HEADER) == APP_HEADER
    assert sorted(live_link_channel_order()) == sorted(ARKIT_CHANNELS)
    assert pascal_case("jawOpen") == "JawOpen" and camel_case("MouthRollLower") == "mouthRollLower"
    assert all(camel_case(pascal_case(n)) == n for n in ARKIT_CHANNELS)


def _random_take(frames=150, seed=0):
    rng = np.random.default_rng(seed)
    weights = rng.random((frames, len(ARKIT_CHANNELS))).astype(np.float32)
    head = rng.uniform(-0.2, 0.2, (frames, 3)).astype(np.float32)
    eyes = rng.uniform(-0.3, 0.3, (frames, 6)).astype(np.float32)
    return weights, head, eyes


def test_writer_to_reader_round_trip_is_exact_at_59_94(tmp_path):
    weights, head, eyes = _random_take()
    start = 14 * 3600 + 3 * 60 + 52.47
    path = write_live_link_csv(tmp_path / "MySlate_3_iPhone.csv", weights, head=head, eyes=eyes,
                               start_seconds=start)
    lines = path.read_text().splitlines()
    assert lines[0] == APP_HEADER and len(lines) == 151
    first = lines[1].split(",")
    assert first[0] == format_timecode(start) and first[1] == "61" and len(first) == 63
    assert len({line.split(",")[0][-3:] for line in lines[1:]}) > 10  # real sub-frames
    take = read_live_link_csv(path)
    assert take.fps == LIVE_LINK_FPS and take.report.fps_estimated
    assert take.channels == ARKIT_CHANNELS and take.present.all()
    np.testing.assert_array_equal(take.data, weights)  # shortest float32 text reads back exactly
    np.testing.assert_array_equal(take.head, head)
    np.testing.assert_array_equal(take.eyes, eyes)
    assert take.start_seconds == pytest.approx(start, abs=1e-5)
    assert take.report.lines() == []  # nothing repaired


def test_any_capitalisation_of_the_columns_reads(tmp_path):
    header = ["timecode", "BlendShapeCount"] + [c.lower() for c in HEADER[2:]]
    rows = [row(format_timecode(i / 60), {"jawopen": 0.5 + i / 100}, header) for i in range(4)]
    path = tmp_path / "take.csv"
    path.write_text(csv_text(rows, header))
    take = read_live_link_csv(path)
    assert take.fps == 60.0
    jaw = take.data[:, ARKIT_CHANNELS.index("jawOpen")]
    np.testing.assert_allclose(jaw, [0.5, 0.51, 0.52, 0.53], atol=1e-6)


def test_raw_and_calibrated_exports_read_alike_and_are_told_apart(tmp_path):
    rows = [row(format_timecode(i / 60), {"JawOpen": 0.1 * i}) for i in range(5)]
    for name in ("MySlate_7_iPhone_raw.csv", "MySlate_7_iPhone_cal.csv", "MySlate_7_iPhone.csv"):
        (tmp_path / name).write_text(csv_text(rows))
    takes = {name: read_live_link_csv(tmp_path / name) for name in
             ("MySlate_7_iPhone_raw.csv", "MySlate_7_iPhone_cal.csv", "MySlate_7_iPhone.csv")}
    assert [t.report.variant for t in takes.values()] == ["raw", "calibrated", "unknown"]
    assert csv_variant("X_CAL.csv") == "calibrated"
    first, *others = takes.values()
    assert all(np.array_equal(first.data, t.data) for t in others)


def test_repeated_rows_are_dropped_and_skipped_frames_interpolated(tmp_path):
    times = [i / LIVE_LINK_FPS for i in range(12)]
    stamped = times[:4] + [times[3]] + times[4:7] + times[9:]  # frame 3 twice; 7 and 8 skipped
    rows = [row(format_timecode(100 + t), {"JawOpen": round(t * LIVE_LINK_FPS) / 10})
            for t in stamped]
    rows[4][HEADER.index("JawOpen")] = "0.99"  # the repeat carries other values: dropped
    path = tmp_path / "take.csv"
    path.write_text(csv_text(rows))
    take = read_live_link_csv(path)
    assert take.num_frames == 12 and take.fps == LIVE_LINK_FPS
    assert take.report.duplicates == 1 and take.report.gaps == ((7, 2),)
    jaw = take.data[:, ARKIT_CHANNELS.index("jawOpen")]
    np.testing.assert_allclose(jaw, np.arange(12) / 10, atol=1e-6)
    said = " ".join(take.report.lines())
    assert "1 repeated frame" in said and "2 skipped frame(s) interpolated (frames 7-8)" in said


def test_channels_missing_from_the_file_are_masked_and_reported(tmp_path):
    header = [h for h in HEADER if h not in ("CheekPuff", "TongueOut", "HeadRoll")]
    rows = [row(format_timecode(i / 60), {"JawOpen": 0.3}, header) for i in range(3)]
    path = tmp_path / "other_tool.csv"
    path.write_text(csv_text(rows, header))
    take = read_live_link_csv(path)
    assert take.missing == ("cheekPuff", "tongueOut") and take.report.absent == take.missing
    assert not take.present[ARKIT_CHANNELS.index("cheekPuff")]
    assert take.head is None and "HeadYaw" in take.report.ignored_columns  # a partial group
    motion, lacking = take.to_motion(CHANNELS)
    assert lacking == ("cheekPuff",) and "cheekPuff" not in motion.channels
    assert motion.channels == tuple(n for n in CHANNELS if n != "cheekPuff")
    assert "2 channel(s) not in the file: cheekPuff, tongueOut" in take.report.lines()


def test_a_captured_list_masks_columns_written_as_zero(tmp_path):
    weights, _, _ = _random_take(frames=5)
    path = write_live_link_csv(tmp_path / "t.csv", weights[:, :3], ARKIT_CHANNELS[:3])
    take = read_live_link_csv(path, captured=ARKIT_CHANNELS[:3])
    assert take.captured == ARKIT_CHANNELS[:3] and len(take.report.not_captured) == 49
    assert read_live_link_csv(path).present.all()  # the CSV alone cannot tell


def test_values_outside_0_1_are_kept_and_counted(tmp_path):
    rows = [row(format_timecode(i / 60), {"JawOpen": 1.25, "MouthClose": -0.1}) for i in range(3)]
    path = tmp_path / "t_cal.csv"
    path.write_text(csv_text(rows))
    take = read_live_link_csv(path)
    assert take.report.out_of_range == 6
    assert take.data[0, ARKIT_CHANNELS.index("jawOpen")] == pytest.approx(1.25)


@pytest.mark.parametrize("text,message", [
    ("time,jaw\n0,0.5\n", "is not a Live Link Face CSV"),
    ("Timecode,BlendshapeCount,Foo,Bar\n00:00:00:00.000,2,1,2\n", "none of the 52 ARKit"),
    ("Timecode,BlendshapeCount,JawOpen,jawopen\n", "appears twice"),
    ("", "is not a Live Link Face CSV"),
    (",".join(HEADER) + "\n", "holds no frames"),
    ("Timecode,BlendshapeCount,JawOpen\n00:00:00:00.000,61,0.1\n", "single frame"),
    ("Timecode,BlendshapeCount,JawOpen\n00:00:00:00.000,61,0.1\nlater,61,0.2\n",
     "line 3: unreadable timecode 'later'"),
    ("Timecode,BlendshapeCount,JawOpen\n00:00:00:00.000,61,0.1\n00:00:00:01.000,61\n",
     "line 3: 2 fields"),
    ("Timecode,BlendshapeCount,JawOpen\n00:00:00:00.000,61,0.1\n00:00:00:01.000,61,abc\n",
     "line 3, column JawOpen: 'abc' is not a number"),
    ("Timecode,BlendshapeCount,JawOpen\n00:00:00:00.000,61,0.1\n00:00:00:01.000,61,nan\n",
     "not a finite number"),
    ("Timecode,BlendshapeCount,JawOpen\n00:00:00:05.000,61,0.1\n00:00:00:04.000,61,0.1\n",
     "goes backwards"),
])
def test_a_bad_csv_is_one_clear_line(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(CaptureError, match=message) as caught:
        read_live_link_csv(path)
    assert "\n" not in str(caught.value) and "bad.csv" in str(caught.value)


def test_a_missing_file_is_a_capture_error(tmp_path):
    with pytest.raises(CaptureError, match="not found"):
        read_live_link_csv(tmp_path / "nope.csv")


def test_the_writer_refuses_names_that_are_not_arkit(tmp_path):
    with pytest.raises(CaptureError, match="not ARKit"):
        write_live_link_csv(tmp_path / "x.csv", np.zeros((2, 1)), ["smile"])
