"""Datasets: the plain folder format, VOCASET, the FaceFormer layout and BIWI-style data.

Every loader returns a :class:`MotionCorpus`; :class:`WindowSampler` cuts training windows.
``load_dataset(root)`` recognises the format from the files present.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import DatasetError
from .corpus import SPLITS, Clip, MotionCorpus, check_motion, check_template
from .folder import is_folder_dataset, load_folder_dataset, write_folder_dataset
from .windows import Batch, WindowSampler

DATASET_KINDS = ("auto", "folder", "vocaset", "faceformer", "biwi")

__all__ = [
    "SPLITS", "Batch", "Clip", "DatasetError", "MotionCorpus", "WindowSampler", "check_motion",
    "check_template", "detect_kind", "load_dataset", "load_folder_dataset",
    "write_folder_dataset",
]


def detect_kind(root: str | Path) -> str:
    """Which loader reads ``root``: folder, vocaset (raw files), faceformer or biwi layout."""
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
    raise DatasetError(
        f"{root} is not a dataset this reader knows: expected dataset.json (folder format), "
        "data_verts.npy + raw_audio_fixed.pkl (VOCASET), or wav/ + vertices_npy/ "
        "(FaceFormer / BIWI layout)")


def load_dataset(root: str | Path, kind: str = "auto",
                 sync_tolerance_frames: float = 1.0) -> MotionCorpus:
    """Read a dataset into a :class:`MotionCorpus` (``kind`` one of :data:`DATASET_KINDS`).

    ``sync_tolerance_frames``: how far audio and motion durations may differ (in frames)
    before a clip is refused when it is loaded (:meth:`Clip.load_pair`).
    """
    if kind not in DATASET_KINDS:
        raise DatasetError(f"unknown dataset kind {kind!r}; expected one of {DATASET_KINDS}")
    if kind == "auto":
        kind = detect_kind(root)
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
