"""Finding a take's files and loading it whole: CSV, ``takes.json`` entry, and audio.

A take is named by its CSV or by its folder. In a Live Link Face take folder the calibrated
``*_cal.csv`` is chosen unless ``variant="raw"`` (then ``*_raw.csv``); a folder with one plain
``*.csv`` uses it. The audio is, in this order: the one given, the ``takes.json`` entry's, then
a ``.wav``, ``.mov``, ``.mp4`` or ``.m4v`` beside the CSV named like it without
``_raw``/``_cal`` (``MySlate_7_iPhone_cal.csv`` -> ``MySlate_7_iPhone.mov``), or like it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import CaptureError
from .live_link import read_live_link_csv
from .media import VIDEO_SUFFIXES
from .sidecar import sidecar_entry, sidecar_takes
from .take import Take

VARIANTS = ("cal", "raw")
AUDIO_SUFFIXES = (".wav", *VIDEO_SUFFIXES)
NOT_TAKES = ("_neutral.csv",)  # the app's neutral-pose frame, beside the take's CSVs
MODEL_FPS = 30.0  # the shipped model's motion rate (weights/README.md): takes resample to it


def clip_id(csv_path: Path, taken: set[str]) -> str:
    """A unique clip id from a take's CSV name (without ``_cal``/``_raw``); added to ``taken``."""
    stem = csv_path.stem
    base = stem[:-4] if stem.lower().endswith(("_cal", "_raw")) else stem
    name, number = base, 2
    while name in taken:
        name, number = f"{base}_{number}", number + 1
    taken.add(name)
    return name


def find_take_csv(folder: str | os.PathLike, variant: str = "cal") -> Path:
    """The CSV of the take in ``folder``: ``*_cal.csv`` or ``*_raw.csv`` (``variant``), else
    the folder's only CSV. CaptureError when there is none or the choice is ambiguous."""
    if variant not in VARIANTS:
        raise CaptureError(f"unknown take variant {variant!r}; use one of {VARIANTS}")
    folder = Path(folder)
    csvs = sorted(p for p in folder.glob("*.csv")
                  if not p.name.lower().endswith(NOT_TAKES) and p.is_file())
    chosen = [p for p in csvs if p.stem.lower().endswith(f"_{variant}")]
    if not chosen:
        chosen = [p for p in csvs if not p.stem.lower().endswith(tuple(f"_{v}" for v in VARIANTS))]
    if len(chosen) == 1:
        return chosen[0]
    if not chosen:
        raise CaptureError(f"{folder} holds no Live Link Face CSV (looked for *_{variant}.csv "
                           "and *.csv)")
    raise CaptureError(f"{folder} holds {len(chosen)} takes ({', '.join(p.name for p in chosen[:3])}"
                       f"{', ...' if len(chosen) > 3 else ''}); name the CSV")


def take_csvs(sources: Iterable[str | os.PathLike], variant: str = "cal") -> list[Path]:
    """The take CSVs named by ``sources``: a CSV as given; a folder with ``takes.json``: every
    take it lists; a take folder: its CSV (:func:`find_take_csv`)."""
    found: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            found += sidecar_takes(path) or [find_take_csv(path, variant)]
        elif path.is_file():
            found.append(path)
        else:
            raise CaptureError(f"capture file not found: {path}")
    return found


def find_take_audio(csv_path: str | os.PathLike) -> Path | None:
    """The audio beside a take's CSV (see the module docstring), or None."""
    csv_path = Path(csv_path)
    entry = sidecar_entry(csv_path)
    if entry and entry.get("audio"):
        return csv_path.parent / str(entry["audio"])
    stem = csv_path.stem
    bases = [stem[:-4]] if stem.lower().endswith(("_cal", "_raw")) else []
    for base in (*bases, stem):
        for suffix in AUDIO_SUFFIXES:
            for candidate in (csv_path.with_name(base + suffix),
                              csv_path.with_name(base + suffix.upper())):
                if candidate.is_file():
                    return candidate
    return None


def load_take(source: str | os.PathLike, audio: str | os.PathLike | np.ndarray | None = None,
              sample_rate: int | None = None, offset: float = 0.0, fps: float | None = None,
              variant: str = "cal", cut_to_audio: bool = False, require_audio: bool = True
              ) -> Take:
    """Read a take (its CSV or folder) with its ``takes.json`` entry and its audio aligned
    (:meth:`Take.with_audio`: ``offset`` in seconds for trimmed audio). ``fps``: the capture
    rate, estimated from the timecodes when None. Without audio found or given: a
    CaptureError, unless not ``require_audio``."""
    path = Path(source)
    csv_path = find_take_csv(path, variant) if path.is_dir() else path
    entry = sidecar_entry(csv_path) if csv_path.is_file() else None
    take = read_live_link_csv(csv_path, fps=fps,
                              captured=entry.get("captured") if entry else None)
    if entry:
        take = replace(take, speaker=entry.get("speaker"), split=entry.get("split"),
                       text=str(entry.get("text", "")))
    if audio is None:
        audio = find_take_audio(csv_path)
        if audio is None:
            if require_audio:
                raise CaptureError(f"no audio found for {csv_path.name} (looked for .wav, .mov "
                                   f"and .mp4 beside it); pass it with --audio")
            return take
    return take.with_audio(audio, sample_rate, offset=offset, cut_to_audio=cut_to_audio)
