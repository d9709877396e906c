"""Face capture import: Live Link Face takes (ARKit blendshapes from an iPhone) and their audio,
as a :class:`Take` that becomes the project's ``Motion`` or a clip of the plain folder dataset;
and synthetic Live Link Face takes written from the synthetic corpus (docs/capture.md).

bpy-free and torch-free; reading a take's ``.mov``/``.mp4`` audio needs PyAV
(``pip install "diffusiontalker[capture]"``).
"""

from .live_link import (
    HEADER,
    LIVE_LINK_FPS,
    csv_variant,
    live_link_channel_order,
    read_live_link_csv,
    write_live_link_csv,
)
from .load import find_take_audio, find_take_csv, load_take, take_csvs
from .media import read_take_audio
from .take import CaptureReport, Take
from .timecode import format_timecode, parse_timecode

__all__ = [
    "HEADER", "LIVE_LINK_FPS", "CaptureReport", "Take", "csv_variant", "find_take_audio",
    "find_take_csv", "format_timecode", "live_link_channel_order", "load_take",
    "parse_timecode", "read_live_link_csv", "read_take_audio", "take_csvs",
    "write_live_link_csv",
]
