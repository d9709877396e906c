"""The plain folder format (docs/data-format.md): users' own data and the synthetic corpus.

``ROOT/dataset.json`` lists the clips; ``audio/<clip>.(wav|flac|ogg|mp3)``,
``motion/<clip>.npy``, ``template.npy`` or ``templates/<speaker>.npy`` (vertices space), and
optional ``vertices/<clip>.npy`` and ``alignments/<clip>.json``. Arrays are read with
``allow_pickle=False``: nothing in a dataset can run code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DatasetError, TopologyError
from .corpus import (
    SPACES,
    SPLITS,
    Clip,
    MotionCorpus,
    audio_file_loader,
    check_motion,
    check_template,
)

FORMAT_NAME = "diffusiontalker-folder"
FORMAT_VERSION = 1
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


def is_folder_dataset(root: Path) -> bool:
    return (Path(root) / "dataset.json").is_file()


def _read_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as error:
        raise DatasetError(f"cannot read {path} as a numpy .npy array: {error}") from None


def _read_meta(root: Path) -> dict[str, Any]:
    path = root / "dataset.json"
    if not path.is_file():
        raise DatasetError(f"{root} is not a dataset folder: dataset.json is missing")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise DatasetError(f"{path}: 'format' must be {FORMAT_NAME!r}")
    if meta.get("version") != FORMAT_VERSION:
        raise DatasetError(f"{path}: unsupported version {meta.get('version')!r} "
                           f"(this reader knows version {FORMAT_VERSION})")
    for key in ("space", "fps", "speakers", "clips"):
        if key not in meta:
            raise DatasetError(f"{path}: required key {key!r} is missing")
    if meta["space"] not in SPACES:
        raise DatasetError(f"{path}: 'space' must be one of {SPACES}, got {meta['space']!r}")
    if not isinstance(meta["fps"], int | float) or meta["fps"] <= 0:
        raise DatasetError(f"{path}: 'fps' must be a positive number, got {meta['fps']!r}")
    return meta


def _find_audio(root: Path, clip_id: str) -> Path | None:
    for suffix in AUDIO_SUFFIXES:
        candidate = root / "audio" / f"{clip_id}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def _load_templates(root: Path, speakers: list[str], num_vertices: int | None) -> dict:
    templates: dict[str, np.ndarray] = {}
    shared = root / "template.npy"
    for speaker in speakers:
        own = root / "templates" / f"{speaker}.npy"
        path = own if own.is_file() else shared if shared.is_file() else None
        if path is not None:
            templates[speaker] = check_template(_read_npy(path), num_vertices,
                                                f"template {path.relative_to(root)}")
    return templates


def load_folder_dataset(root: str | Path, sync_tolerance_frames: float = 1.0) -> MotionCorpus:
    """Read a plain folder dataset; every listed clip must have its audio and motion file."""
    root = Path(root)
    meta = _read_meta(root)
    space, fps = meta["space"], float(meta["fps"])
    channels = tuple(meta["channels"]) if meta.get("channels") else None
    num_vertices = int(meta["num_vertices"]) if meta.get("num_vertices") else None
    speakers = [str(s) for s in meta["speakers"]]
    clips: list[Clip] = []
    missing: list[str] = []
    seen: set[str] = set()
    for entry in meta["clips"]:
        clip_id, speaker = str(entry.get("id", "")), str(entry.get("speaker", ""))
        split = entry.get("split", "train")
        if not clip_id or clip_id in seen:
            raise DatasetError(f"dataset.json: clip id {clip_id!r} is empty or repeated")
        if split not in SPLITS:
            raise DatasetError(f"dataset.json: clip {clip_id!r} has split {split!r}; "
                               f"expected one of {SPLITS}")
        seen.add(clip_id)
        audio_path = _find_audio(root, clip_id)
        motion_path = root / "motion" / f"{clip_id}.npy"
        if audio_path is None:
            missing.append(f"audio/{clip_id}.wav")
        if not motion_path.is_file():
            missing.append(f"motion/{clip_id}.npy")
        clip = _make_clip(root, clip_id, speaker, split, str(entry.get("text", "")), fps,
                          audio_path, motion_path, space, num_vertices, channels)
        clip.sync_tolerance_frames = sync_tolerance_frames
        clips.append(clip)
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise DatasetError(f"dataset {root}: missing files: {shown}")
    templates = _load_templates(root, speakers, num_vertices) if space == "vertices" else {}
    return MotionCorpus(space=space, fps=fps, clips=clips, speakers=speakers, channels=channels,
                        num_vertices=num_vertices, templates=templates, kind="folder", root=root)


def _make_clip(root: Path, clip_id: str, speaker: str, split: str, text: str, fps: float,
               audio_path: Path | None, motion_path: Path, space: str,
               num_vertices: int | None, channels: tuple[str, ...] | None) -> Clip:
    what = f"clip {clip_id!r} (motion/{clip_id}.npy)"
    num_channels = len(channels) if channels else None
    vertices_path = root / "vertices" / f"{clip_id}.npy"
    alignment_path = root / "alignments" / f"{clip_id}.json"
    return Clip(
        id=clip_id, speaker=speaker, split=split, text=text, fps=fps,
        audio_loader=audio_file_loader(audio_path) if audio_path else None,
        motion_loader=lambda: check_motion(_read_npy(motion_path), space, num_vertices,
                                           num_channels, what),
        vertices_loader=(lambda: _read_npy(vertices_path).astype(np.float32))
        if vertices_path.is_file() else None,
        alignment_loader=(lambda: json.loads(alignment_path.read_text(encoding="utf-8")))
        if alignment_path.is_file() else None,
    )


def write_folder_dataset(root: str | Path, space: str, fps: float, clips: Iterable[dict],
                         channels: Iterable[str] | None = None,
                         templates: dict[str, np.ndarray] | None = None,
                         generator: dict | None = None) -> Path:
    """Write a folder dataset. Each clip dict has ``id, speaker, split, wave, sample_rate,
    ``motion`` and optionally ``text, vertices, alignment``; ``templates`` maps a speaker to
    its ``(V, 3)`` neutral mesh (written as ``templates/<speaker>.npy``)."""
    import soundfile

    root = Path(root)
    for sub in ("audio", "motion"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    entries, speakers, num_vertices = [], [], None
    for clip in clips:
        motion = np.asarray(clip["motion"], np.float32)
        if space == "vertices":
            if motion.ndim != 3 or motion.shape[2] != 3:
                raise DatasetError(f"clip {clip['id']!r}: vertex motion must be (T, V, 3), "
                                   f"got {motion.shape}")
            if num_vertices not in (None, motion.shape[1]):
                raise TopologyError(f"clip {clip['id']!r} has {motion.shape[1]} vertices, the "
                                    f"clips before it {num_vertices}")
            num_vertices = motion.shape[1]
        soundfile.write(str(root / "audio" / f"{clip['id']}.wav"),
                        np.asarray(clip["wave"], np.float32), int(clip["sample_rate"]))
        np.save(root / "motion" / f"{clip['id']}.npy", motion)
        for key, sub in (("vertices", "vertices"), ("alignment", "alignments")):
            if clip.get(key) is not None:
                (root / sub).mkdir(exist_ok=True)
                if key == "vertices":
                    np.save(root / sub / f"{clip['id']}.npy", np.asarray(clip[key], np.float32))
                else:
                    (root / sub / f"{clip['id']}.json").write_text(json.dumps(clip[key]))
        if clip["speaker"] not in speakers:
            speakers.append(clip["speaker"])
        entries.append({"id": clip["id"], "speaker": clip["speaker"],
                        "split": clip.get("split", "train"), "text": clip.get("text", "")})
    for speaker, template in (templates or {}).items():
        (root / "templates").mkdir(exist_ok=True)
        np.save(root / "templates" / f"{speaker}.npy", np.asarray(template, np.float32))
    meta = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "space": space, "fps": float(fps),
            "channels": list(channels) if channels is not None else None,
            "num_vertices": num_vertices, "speakers": speakers, "clips": entries,
            "generator": generator or {}}
    (root / "dataset.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return root
