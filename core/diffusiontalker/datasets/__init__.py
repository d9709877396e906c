"""Datasets: the plain folder format, VOCASET, the FaceFormer layout, BIWI-style data and
face-capture takes (Live Link Face CSVs with their audio, :mod:`.takes`).

Every loader returns a :class:`MotionCorpus`; :class:`WindowSampler` cuts training windows.
``load_dataset(root)`` recognises the format from the files present; a list of paths is a list
of capture takes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import DatasetError
from .corpus import SPLITS, Clip, MotionCorpus, check_motion, check_template, select_channels
from .folder import is_folder_dataset, load_folder_dataset, write_folder_dataset
from .windows import Batch, WindowSampler

DATASET_KINDS = ("auto", "folder", "vocaset", "faceformer", "biwi", "takes")

__all__ = [
    "SPLITS", "Batch", "Clip", "DatasetError", "MotionCorpus", "WindowSampler", "check_motion",
    "check_template", "detect_kind", "load_dataset", "load_folder_dataset", "select_channels",
    "write_folder_dataset",
]


def detect_kind(root: str | Path | Sequence[str | Path]) -> str:
    """Which loader reads ``root``: folder, vocaset (raw files), faceformer or biwi layout, or
    capture takes (a take CSV, a folder of takes, or a list of them)."""
    if not isinstance(root, (str, os.PathLike)):
        return "takes"
    root = Path(root)
    if not root.exists():
        raise DatasetError(f"dataset path not found: {root}")
    if is_folder_dataset(root):
        return "folder"
    if (root / "data_verts.npy").is_file() and (root / "raw_audio_fixed.pkl").is_file():
        return "vocaset"
    if (root / "wav").is_dir() and (root / "vertices_npy").is_dir():
        from .biwi import looks_like_biwi

        return "biwi" if looks_like_biwi(root) else "faceformer"
    from .takes import is_take_source

    if is_take_source(root):
        return "takes"
    raise DatasetError(
        f"{root} is not a dataset this reader knows: expected dataset.json (folder format), "
        "data_verts.npy + raw_audio_fixed.pkl (VOCASET), wav/ + vertices_npy/ "
        "(FaceFormer / BIWI layout), or Live Link Face takes (.csv files, takes.json)")


def load_dataset(root: str | Path | Sequence[str | Path], kind: str = "auto",
                 sync_tolerance_frames: float = 1.0, fps: float | None = None,
                 speaker: str | None = None) -> MotionCorpus:
    """Read a dataset into a :class:`MotionCorpus` (``kind`` one of :data:`DATASET_KINDS`).

    ``sync_tolerance_frames``: how far audio and motion durations may differ (in frames)
    before a clip is refused when it is loaded (:meth:`Clip.load_pair`). Capture takes only
    (the other formats have their own rate and speakers): ``fps``, the rate they are
    resampled to (default :data:`.takes.DEFAULT_FPS`), and ``speaker``, who every take is of
    (default: from ``takes.json``, else :data:`.takes.DEFAULT_SPEAKER`).
    """
    if kind not in DATASET_KINDS:
        raise DatasetError(f"unknown dataset kind {kind!r}; expected one of {DATASET_KINDS}")
    if not isinstance(root, (str, os.PathLike)) and len(root) == 1:
        root = root[0]
    if kind == "auto":
        kind = detect_kind(root)
    if kind == "takes":
        from .takes import load_takes

        return load_takes(root, fps, speaker, sync_tolerance_frames)
    if speaker is not None:
        raise DatasetError(f"a speaker is given to capture takes; a {kind} dataset names its own "
                           "speakers")
    if not isinstance(root, (str, os.PathLike)):
        raise DatasetError(f"a {kind} dataset is one folder; got {len(root)} paths")
    if kind == "folder":
        return load_folder_dataset(root, sync_tolerance_frames)
    if kind == "vocaset":
        from .vocaset import load_vocaset

        return load_vocaset(root, sync_tolerance_frames)
    if kind == "faceformer":
        from .faceformer import load_faceformer

        return load_faceformer(root, sync_tolerance_frames)
    from .biwi import load_biwi

    return load_biwi(root, sync_tolerance_frames)
