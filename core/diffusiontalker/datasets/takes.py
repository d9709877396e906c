"""Face-capture takes as a dataset: Live Link Face CSVs (and their audio) read straight into a
:class:`MotionCorpus`, so ``train`` and ``distill`` need no ``capture import`` step first.

A source is a take's CSV, a take folder (its ``*_cal.csv``), a folder with ``takes.json``
(every take it lists; see ``capture.sidecar``) or a folder of take folders (the app's export:
``YYYYMMDD_<Slate>_<Take>/`` each). Several sources make one dataset. Each take is read with
:func:`capture.load_take` (audio beside it, timecode repairs) and resampled to ``fps``.

The corpus's channels are every ARKit channel some take captured, in ARKit's order; a take that
did not capture one of them has it False in its clip's ``channel_mask`` (0 in the motion), so
training masks it out of the loss instead of learning an invented value. ``speaker``, when
given, names every take (as ``capture import --speaker`` does); otherwise a take's speaker,
split and text come from its ``takes.json`` entry, and a take without one (every take the app
records) is :data:`DEFAULT_SPEAKER`'s, in the ``train`` split.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..capture import load_take, take_csvs
from ..capture.load import MODEL_FPS, clip_id
from ..capture.sidecar import read_sidecar
from ..channels import ARKIT_CHANNELS
from ..errors import CaptureError, DiffusionTalkerError
from .corpus import Clip, MotionCorpus

DEFAULT_FPS = MODEL_FPS  # takes resample to the shipped model's rate unless told
DEFAULT_SPEAKER = "performer"  # a take's speaker when nothing names it (as Take.to_clip)


def _csvs_in(folder: Path) -> bool:
    return any(p.suffix.lower() == ".csv" for p in folder.iterdir() if p.is_file())


def is_take_source(path: str | os.PathLike) -> bool:
    """Whether ``path`` looks like capture takes: a ``.csv`` file, a folder with our
    ``takes.json``, with CSVs, or with sub-folders holding CSVs (checked after the other
    dataset formats, whose files are looked for first)."""
    path = Path(path)
    if path.is_file():
        return path.suffix.lower() == ".csv"
    if not path.is_dir():
        return False
    if read_sidecar(path) is not None or _csvs_in(path):
        return True
    return any(d.is_dir() and _csvs_in(d) for d in path.iterdir())


def take_sources(sources: str | os.PathLike | Sequence[str | os.PathLike],
                 variant: str = "cal") -> list[Path]:
    """The take CSVs of ``sources`` (one path or several), in order."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    found: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_dir() and read_sidecar(path) is None and not _csvs_in(path):
            folders = sorted(d for d in path.iterdir() if d.is_dir() and _csvs_in(d))
            if not folders:
                raise CaptureError(f"{path} holds no Live Link Face takes (no .csv in it or in "
                                   "its sub-folders, no takes.json)")
            found += take_csvs(folders, variant)
        else:
            found += take_csvs([path], variant)
    if not found:
        raise CaptureError(f"no takes found in {', '.join(str(s) for s in sources)}")
    return found


def load_takes(sources: str | os.PathLike | Sequence[str | os.PathLike],
               fps: float | None = None, speaker: str | None = None,
               sync_tolerance_frames: float = 1.0, variant: str = "cal") -> MotionCorpus:
    """Read capture takes as a ``channels`` corpus at ``fps`` (default :data:`DEFAULT_FPS`)."""
    fps = float(fps or DEFAULT_FPS)
    csvs = take_sources(sources, variant)
    takes = []
    for csv_path in csvs:
        try:
            takes.append(load_take(csv_path, variant=variant).resample(fps))
        except DiffusionTalkerError as exc:
            if csv_path.name in str(exc):
                raise
            raise type(exc)(f"{csv_path.name}: {exc}") from None
    channels = tuple(n for n in ARKIT_CHANNELS if any(n in t.captured for t in takes))
    if not channels:
        raise CaptureError("the takes captured no channel")
    clips, speakers, taken = [], [], set()
    for csv_path, take in zip(csvs, takes, strict=True):
        who = speaker or take.speaker or DEFAULT_SPEAKER
        if who not in speakers:
            speakers.append(who)
        clips.append(_clip(take, clip_id(csv_path, taken), who, channels, sync_tolerance_frames))
    root = Path(sources) if isinstance(sources, (str, os.PathLike)) else None
    return MotionCorpus(space="channels", fps=fps, clips=clips, speakers=speakers,
                        channels=channels, kind="takes", root=root)


def _clip(take, name: str, speaker: str, channels: tuple[str, ...],
          sync_tolerance_frames: float) -> Clip:
    motion, _ = take.to_motion(channels)
    where = {n: i for i, n in enumerate(channels)}
    present = np.zeros(len(channels), bool)
    present[[where[n] for n in motion.channels]] = True
    data = np.zeros((motion.num_frames, len(channels)), np.float32)
    data[:, present] = motion.data
    wave = take.audio
    return Clip(id=name, speaker=speaker, split=take.split or "train", text=take.text,
                fps=take.fps, audio_loader=lambda: wave, motion_loader=lambda: data,
                sync_tolerance_frames=sync_tolerance_frames,
                channel_mask=None if present.all() else present)
