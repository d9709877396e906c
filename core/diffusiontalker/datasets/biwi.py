"""BIWI-style vertex data in the FaceFormer layout: 25 fps, 23370 vertices.

Usual split (FaceFormer/CodeTalker): subjects F2 F3 F4 M3 M4 M5, sentences 1-32 train,
33-36 val, 37-40 test ("test-A", same people). The other 8 subjects are "test-B" (unseen
identities): all their sentences go to ``test``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .corpus import MotionCorpus
from .faceformer import load_paired_layout

BIWI_VERTICES = 23370
BIWI_FPS = 25.0
TRAIN_SUBJECTS = ("F2", "F3", "F4", "M3", "M4", "M5")


def biwi_split(subject: str, sentence: int) -> str | None:
    """train / val / test of the usual BIWI split."""
    if subject not in TRAIN_SUBJECTS:
        return "test"
    if sentence <= 32:
        return "train"
    return "val" if sentence <= 36 else "test"


def looks_like_biwi(root: str | Path) -> bool:
    """True when the first vertex file has BIWI's 23370 vertices per frame."""
    for path in sorted(Path(root, "vertices_npy").glob("*.npy")):
        try:
            shape = np.load(path, mmap_mode="r", allow_pickle=False).shape
        except (OSError, ValueError):
            return False
        return len(shape) >= 2 and int(np.prod(shape[1:])) == BIWI_VERTICES * 3
    return False


def load_biwi(root: str | Path, sync_tolerance_frames: float = 1.0,
              num_vertices: int = BIWI_VERTICES) -> MotionCorpus:
    """BIWI in FaceFormer's layout (``num_vertices`` can be lowered for small test fixtures)."""
    return load_paired_layout(root, BIWI_FPS, num_vertices, biwi_split, "biwi",
                              sync_tolerance_frames)
