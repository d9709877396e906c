"""VOCASET raw files: ``data_verts.npy``, ``raw_audio_fixed.pkl``, ``subj_seq_to_idx.pkl``,
``templates.pkl`` (12 speakers, 60 fps captures, FLAME topology, metres).

``data_verts.npy`` holds every captured frame ``(N, 5023, 3)``; ``subj_seq_to_idx.pkl`` maps
subject -> sentence -> {capture frame: row}; ``raw_audio_fixed.pkl`` subject -> sentence ->
``{"audio": samples, "sample_rate": rate}``; ``templates.pkl`` subject -> ``(5023, 3)``.
Clips are downsampled 60 -> 30 fps by keeping every second frame (as FaceFormer does), and
motion is the offset from the subject's template. The pickles are read with the restricted
unpickler; ``data_verts.npy`` is memory-mapped and never unpickled.

Usual split (FaceFormer): 8 training subjects x sentences 1-40; validation
``FaceTalk_170811_03275_TA``, ``FaceTalk_170908_03277_TA`` x 21-40; test
``FaceTalk_170809_00138_TA``, ``FaceTalk_170731_00024_TA`` x 21-40. Sentences 1-20 of the
validation and test subjects are left out; subjects not named here go to ``train``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from .corpus import Clip, MotionCorpus, array_audio_loader, check_template
from .safe_pickle import load_pickle

FLAME_VERTICES = 5023
CAPTURE_FPS = 60.0
FPS = 30.0
VAL_SUBJECTS = ("FaceTalk_170811_03275_TA", "FaceTalk_170908_03277_TA")
TEST_SUBJECTS = ("FaceTalk_170809_00138_TA", "FaceTalk_170731_00024_TA")
HELD_OUT_FIRST_SENTENCE = 21


def sentence_number(name: str) -> int:
    """``"sentence07"`` -> 7 (the last integer in the name); 0 if there is none."""
    numbers = re.findall(r"\d+", str(name))
    return int(numbers[-1]) if numbers else 0


def vocaset_split(subject: str, sentence: int) -> str | None:
    """train / val / test of the usual VOCASET split, or None for an unused clip."""
    for held_out, split in ((VAL_SUBJECTS, "val"), (TEST_SUBJECTS, "test")):
        if subject in held_out:
            return split if sentence >= HELD_OUT_FIRST_SENTENCE else None
    return "train"


def load_vocaset(root: str | Path, sync_tolerance_frames: float = 1.0) -> MotionCorpus:
    """Read VOCASET's raw files from ``root`` into a vertices-space corpus at 30 fps."""
    root = Path(root)
    try:
        verts = np.load(root / "data_verts.npy", mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DatasetError(f"cannot read {root / 'data_verts.npy'}: {error}") from None
    if verts.ndim == 2 and verts.shape[1] == FLAME_VERTICES * 3:
        verts = verts.reshape(verts.shape[0], FLAME_VERTICES, 3)
    if verts.ndim != 3 or verts.shape[2] != 3:
        raise DatasetError(f"data_verts.npy must be (frames, V, 3), got {verts.shape}")
    num_vertices = int(verts.shape[1])
    audio = _as_dict(load_pickle(root / "raw_audio_fixed.pkl"), "raw_audio_fixed.pkl")
    index = _as_dict(load_pickle(root / "subj_seq_to_idx.pkl"), "subj_seq_to_idx.pkl")
    templates = {
        str(subject): check_template(template, num_vertices, f"templates.pkl entry {subject!r}")
        for subject, template in _as_dict(load_pickle(root / "templates.pkl"),
                                          "templates.pkl").items()
    }
    clips: list[Clip] = []
    for subject in sorted(index):
        if subject not in templates:
            raise DatasetError(f"templates.pkl has no template for subject {subject!r}")
        for sentence in sorted(index[subject], key=sentence_number):
            split = vocaset_split(subject, sentence_number(sentence))
            if split is None:
                continue
            entry = audio.get(subject, {}).get(sentence)
            if not isinstance(entry, dict) or not {"audio", "sample_rate"} <= set(entry):
                raise DatasetError(f"raw_audio_fixed.pkl has no audio and sample_rate for "
                                   f"{subject} {sentence}")
            frame_rows = index[subject][sentence]
            rows = np.array([frame_rows[k] for k in sorted(frame_rows)], dtype=np.int64)[::2]
            if rows.size and (rows.min() < 0 or rows.max() >= verts.shape[0]):
                raise DatasetError(f"subj_seq_to_idx.pkl points {subject} {sentence} past the "
                                   f"{verts.shape[0]} frames of data_verts.npy")
            clips.append(Clip(
                id=f"{subject}_{sentence}", speaker=str(subject), split=split, fps=FPS,
                audio_loader=array_audio_loader(entry["audio"], int(entry["sample_rate"])),
                motion_loader=_offsets_loader(verts, rows, templates[subject]),
                sync_tolerance_frames=sync_tolerance_frames))
    if not clips:
        raise DatasetError(f"{root}: subj_seq_to_idx.pkl lists no sequences")
    return MotionCorpus(space="vertices", fps=FPS, clips=clips, speakers=sorted(templates),
                        num_vertices=num_vertices, templates=templates, kind="vocaset",
                        root=root)


def _offsets_loader(verts: np.ndarray, rows: np.ndarray, template: np.ndarray):
    def load() -> np.ndarray:
        if rows.size == 0:
            raise DatasetError("a VOCASET sequence has no frames")
        return (np.asarray(verts[rows], np.float32) - template[None]).astype(np.float32)

    return load


def _as_dict(value, name: str) -> dict:
    if not isinstance(value, dict):
        raise DatasetError(f"{name} must hold a dict, found {type(value).__name__}")
    return value
