"""The in-memory form every dataset loader produces: a :class:`MotionCorpus` of :class:`Clip`.

Motion is always per-frame *offsets* from the speaker's neutral template (``vertices`` space,
``(T, V, 3)``) or channel weights (``channels`` space, ``(T, K)``), float32, frame ``i`` at
time ``i / fps``. Arrays are read lazily (clips of VOCASET point into one memory-mapped file).
A clip of channels may lack some of them (face capture that did not track a channel): its
``channel_mask`` is False there, the motion holds 0 for them, and training masks them out of the
loss (:func:`select_channels` maps a corpus onto a model's channels the same way).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..audio.loading import SAMPLE_RATE, load_audio
from ..errors import DatasetError, TopologyError

SPLITS = ("train", "val", "test")
SPACES = ("vertices", "channels")


@dataclass
class Clip:
    """One utterance: its audio, its motion, who spoke it and which split it belongs to."""

    id: str
    speaker: str
    split: str
    text: str = ""
    fps: float = 30.0
    audio_loader: Callable[[], np.ndarray] | None = field(default=None, repr=False)
    motion_loader: Callable[[], np.ndarray] | None = field(default=None, repr=False)
    vertices_loader: Callable[[], np.ndarray] | None = field(default=None, repr=False)
    alignment_loader: Callable[[], list] | None = field(default=None, repr=False)
    sync_tolerance_frames: float = 1.0
    channel_mask: np.ndarray | None = field(default=None, repr=False)  # (K,) bool; None: all

    @property
    def motion(self) -> np.ndarray:
        """``(T, K)`` weights or ``(T, V, 3)`` offsets, float32 (read on each access)."""
        if self.motion_loader is None:
            raise DatasetError(f"clip {self.id!r} has no motion")
        return np.asarray(self.motion_loader(), dtype=np.float32)

    def load_audio(self) -> np.ndarray:
        """The clip's speech as a 16 kHz mono float32 wave."""
        if self.audio_loader is None:
            raise DatasetError(f"clip {self.id!r} has no audio")
        return self.audio_loader()

    def load_vertices(self) -> np.ndarray | None:
        """Optional ``(T, V, 3)`` head offsets stored beside channel motion, else None."""
        return None if self.vertices_loader is None else self.vertices_loader()

    def load_alignment(self) -> list | None:
        """Optional phoneme timings ``[{"phoneme", "start", "end"}, ...]``, else None."""
        return None if self.alignment_loader is None else self.alignment_loader()

    def load_pair(self) -> tuple[np.ndarray, np.ndarray]:
        """Audio and motion of equal duration: motion frames past the audio are cut, then the
        audio is padded with silence (or cut) to exactly the kept frames' duration.

        A mismatch beyond ``sync_tolerance_frames`` frames is a :class:`DatasetError`.
        """
        wave, motion = self.load_audio(), self.motion
        audio_s, motion_s = wave.shape[0] / SAMPLE_RATE, motion.shape[0] / self.fps
        if abs(audio_s - motion_s) * self.fps > self.sync_tolerance_frames + 1e-6:
            raise DatasetError(
                f"clip {self.id!r}: audio lasts {audio_s:.3f} s but motion {motion_s:.3f} s "
                f"({motion.shape[0]} frames at {self.fps:g} fps); they must agree within "
                f"{self.sync_tolerance_frames:g} frame(s)")
        # keep the motion frames that have (some) audio; then make the audio exactly as long
        frames = max(1, min(motion.shape[0], int(np.ceil(audio_s * self.fps - 1e-6))))
        motion = motion[:frames]
        need = int(round(frames / self.fps * SAMPLE_RATE))
        wave = wave[:need]
        if wave.shape[0] < need:
            wave = np.concatenate([wave, np.zeros(need - wave.shape[0], np.float32)])
        return wave, motion


@dataclass
class MotionCorpus:
    """Clips of one motion space and frame rate, with speakers and neutral templates."""

    space: str
    fps: float
    clips: list[Clip]
    speakers: list[str]
    channels: tuple[str, ...] | None = None
    num_vertices: int | None = None
    templates: dict[str, np.ndarray] = field(default_factory=dict)
    kind: str = "folder"
    root: Path | None = None

    def __post_init__(self) -> None:
        if self.space not in SPACES:
            raise DatasetError(f"unknown motion space {self.space!r}; expected one of {SPACES}")
        if self.space == "channels" and not self.channels:
            raise DatasetError("a 'channels' dataset needs its channel names")
        if self.space == "vertices" and not self.num_vertices:
            raise DatasetError("a 'vertices' dataset needs num_vertices")
        for speaker, template in self.templates.items():
            check_template(template, self.num_vertices, f"template of speaker {speaker!r}")
        unknown = sorted({c.speaker for c in self.clips} - set(self.speakers))
        if unknown:
            raise DatasetError(f"clips name speakers that are not listed: {unknown}")

    @property
    def motion_dim(self) -> int:
        """Width of one flattened motion frame: K channels or V * 3 coordinates."""
        return len(self.channels) if self.space == "channels" else int(self.num_vertices) * 3

    def split(self, name: str) -> list[Clip]:
        if name not in SPLITS:
            raise DatasetError(f"unknown split {name!r}; expected one of {SPLITS}")
        return [c for c in self.clips if c.split == name]

    def speaker_index(self, speaker: str) -> int:
        try:
            return self.speakers.index(speaker)
        except ValueError:
            raise DatasetError(f"unknown speaker {speaker!r}") from None

    def template(self, speaker: str) -> np.ndarray | None:
        return self.templates.get(speaker)


def select_channels(corpus: MotionCorpus, channels: Sequence[str]) -> MotionCorpus:
    """The ``channels`` corpus with its motion in the order of ``channels`` (a model's): a channel
    the corpus (or a clip) lacks holds 0 and is False in the clip's ``channel_mask``, never
    invented; channels the model does not animate are left out. DatasetError when the corpus
    is not of channels or shares none of them."""
    channels = tuple(channels)
    if corpus.space != "channels":
        raise DatasetError(f"the model animates channels; this dataset holds {corpus.space}")
    if channels == corpus.channels:
        return corpus
    where = {name: i for i, name in enumerate(corpus.channels)}
    have = np.array([name in where for name in channels])
    if not have.any():
        shown = ", ".join(channels[:6]) + (", ..." if len(channels) > 6 else "")
        raise DatasetError(f"the dataset has none of the model's channels ({shown})")
    source = np.array([where[name] for name in channels if name in where])

    def mapped(clip: Clip) -> Clip:
        def motion_loader(load=clip.motion_loader) -> np.ndarray:
            motion = np.asarray(load(), np.float32)
            out = np.zeros((motion.shape[0], len(channels)), np.float32)
            out[:, have] = motion[:, source]
            return out

        mask = have.copy()
        if clip.channel_mask is not None:
            mask[have] &= np.asarray(clip.channel_mask, bool)[source]
        return replace(clip, motion_loader=motion_loader,
                       channel_mask=None if mask.all() else mask)

    return replace(corpus, clips=[mapped(c) for c in corpus.clips], channels=channels)


def check_motion(motion: np.ndarray, space: str, num_vertices: int | None,
                 num_channels: int | None, what: str) -> np.ndarray:
    """Validate one clip's motion array for a dataset's space; return it as float32.

    ``vertices``: ``(T, V, 3)`` (or ``(T, V * 3)``, reshaped) with ``V == num_vertices``, else a
    TopologyError with both counts. ``channels``: ``(T, num_channels)``.
    """
    motion = np.asarray(motion, dtype=np.float32)
    if space == "vertices":
        if motion.ndim == 2 and motion.shape[1] % 3 == 0:
            motion = motion.reshape(motion.shape[0], -1, 3)
        if motion.ndim != 3 or motion.shape[2] != 3:
            raise DatasetError(f"{what}: vertex motion must be (T, V, 3), got {motion.shape}")
        if motion.shape[1] != num_vertices:
            raise TopologyError(f"{what}: motion has {motion.shape[1]} vertices, "
                                f"expected {num_vertices}")
    elif motion.ndim != 2 or motion.shape[1] != num_channels:
        raise DatasetError(f"{what}: channel motion must be (T, {num_channels}), "
                           f"got {motion.shape}")
    if motion.shape[0] == 0:
        raise DatasetError(f"{what}: motion has no frames")
    if not np.all(np.isfinite(motion)):
        raise DatasetError(f"{what}: motion contains NaN or infinite values")
    return motion


def check_template(template: np.ndarray, num_vertices: int | None, what: str) -> np.ndarray:
    """A ``(V, 3)`` neutral mesh with the expected vertex count, else TopologyError."""
    template = np.asarray(template, dtype=np.float32)
    if template.ndim == 1 and template.size % 3 == 0:
        template = template.reshape(-1, 3)
    if template.ndim != 2 or template.shape[1] != 3:
        raise TopologyError(f"{what} must be (V, 3) vertex positions, got shape {template.shape}")
    if num_vertices is not None and template.shape[0] != num_vertices:
        raise TopologyError(f"{what} has {template.shape[0]} vertices, expected {num_vertices}")
    return template


def audio_file_loader(path: Path) -> Callable[[], np.ndarray]:
    return lambda: load_audio(path)


def array_audio_loader(samples: np.ndarray, rate: int) -> Callable[[], np.ndarray]:
    return lambda: load_audio(np.asarray(samples), rate)
