"""The FaceFormer layout: ``wav/<subject>_<sentence>.wav``, ``vertices_npy/<same>.npy``
(frames x V*3 absolute vertex positions) and ``templates.pkl`` (subject -> ``(V, 3)``).

Used for preprocessed VOCASET (V = 5023, 30 fps) and BIWI (:mod:`.biwi`). Some copies store
the vertex files at the capture rate (VOCASET: 60 fps, halved on load by FaceFormer's own
loader); the rate of each file is recognised from its frame count against its audio's
duration and integer-downsampled to the dataset fps. Motion is the offset from the template.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..audio.loading import audio_duration
from ..errors import DatasetError
from .corpus import Clip, MotionCorpus, audio_file_loader, check_motion, check_template
from .safe_pickle import load_pickle
from .vocaset import FLAME_VERTICES, FPS, sentence_number, vocaset_split

SplitRule = Callable[[str, int], str | None]


def split_name(stem: str) -> tuple[str, str]:
    """``FaceTalk_170725_00137_TA_sentence01`` -> (subject, sentence): split at the last ``_``."""
    if "_" not in stem:
        raise DatasetError(f"file name {stem!r} is not <subject>_<sentence>")
    subject, sentence = stem.rsplit("_", 1)
    return subject, sentence


def load_paired_layout(root: str | Path, fps: float, num_vertices: int | None,
                       split_rule: SplitRule, kind: str,
                       sync_tolerance_frames: float = 1.0) -> MotionCorpus:
    """Read ``wav/`` + ``vertices_npy/`` + ``templates.pkl`` into a vertices-space corpus.

    ``num_vertices=None`` takes the vertex count of the templates (all must agree).
    """
    root = Path(root)
    raw_templates = load_pickle(root / "templates.pkl")
    if not isinstance(raw_templates, dict) or not raw_templates:
        raise DatasetError(f"{root / 'templates.pkl'} must hold a dict of subject -> (V, 3)")
    if num_vertices is None:
        first = check_template(next(iter(raw_templates.values())), None, "templates.pkl entry")
        num_vertices = first.shape[0]
    templates = {str(s): check_template(t, num_vertices, f"templates.pkl entry {s!r}")
                 for s, t in raw_templates.items()}
    clips: list[Clip] = []
    for wav in sorted((root / "wav").glob("*.wav")):
        subject, sentence = split_name(wav.stem)
        motion_path = root / "vertices_npy" / f"{wav.stem}.npy"
        if not motion_path.is_file():
            continue  # FaceFormer's loaders skip audio without vertices as well
        split = split_rule(subject, sentence_number(sentence))
        if split is None:
            continue
        if subject not in templates:
            raise DatasetError(f"templates.pkl has no template for subject {subject!r}")
        clips.append(Clip(
            id=wav.stem, speaker=subject, split=split, fps=fps,
            audio_loader=audio_file_loader(wav),
            motion_loader=_motion_loader(motion_path, wav, templates[subject], fps, num_vertices),
            sync_tolerance_frames=sync_tolerance_frames))
    if not clips:
        raise DatasetError(f"{root}: no wav/<name>.wav with a matching vertices_npy/<name>.npy")
    speakers = sorted({c.speaker for c in clips} | set(templates))
    return MotionCorpus(space="vertices", fps=fps, clips=clips, speakers=speakers,
                        num_vertices=num_vertices, templates=templates, kind=kind, root=root)


def _motion_loader(path: Path, wav: Path, template: np.ndarray, fps: float, num_vertices: int):
    what = f"vertices_npy/{path.name}"

    def load() -> np.ndarray:
        try:
            verts = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise DatasetError(f"cannot read {what} as a numpy array: {error}") from None
        verts = check_motion(verts, "vertices", num_vertices, None, what)
        factor = stored_rate_factor(verts.shape[0], audio_duration(wav), fps)
        return (verts[::factor] - template[None]).astype(np.float32)

    return load


def stored_rate_factor(num_frames: int, audio_seconds: float, fps: float) -> int:
    """1 when a file is at ``fps``, k when it is at k x fps (the nearest integer factor)."""
    if audio_seconds <= 0:
        return 1
    return max(1, int(round(num_frames / (audio_seconds * fps))))


def load_faceformer(root: str | Path, sync_tolerance_frames: float = 1.0,
                    num_vertices: int | None = FLAME_VERTICES) -> MotionCorpus:
    """Preprocessed VOCASET in FaceFormer's layout, 30 fps, with the usual VOCASET split
    (``num_vertices=None`` accepts any topology, taken from the templates)."""
    return load_paired_layout(root, FPS, num_vertices, vocaset_split, "faceformer",
                              sync_tolerance_frames)
