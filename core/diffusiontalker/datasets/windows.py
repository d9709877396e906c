"""Training windows: random fixed-length (audio features, motion) crops, and whole clips.

Frontend features are computed once per clip (kept in memory, optionally cached on disk as
``cache_dir/<frontend.cache_key()>/<clip id>-<audio digest>.npy``, so that two corpora
that reuse clip ids never share features). A window of ``T`` motion frames starting
at frame ``s`` pairs with ``F = round(T / fps * rate_hz)`` features starting at
``s * rate_hz / fps``; starts are drawn on the grid where that index is an integer, so audio
and motion stay exactly aligned. Clips shorter than the window are padded and masked.

Channels a clip did not capture (``Clip.channel_mask``) come with every window as
``Batch.channel_mask``. For data-parallel training, ``batch(n, part=(rank, world))`` draws the
same ``n`` windows on every rank (one RNG, advanced identically) and builds only this rank's
contiguous share, so ``world`` ranks together see exactly the batch one process would.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError, DatasetError
from .corpus import Clip, MotionCorpus


@dataclass
class Batch:
    """``features (B, F, C)``, ``motion (B, T, D)``, ``speaker (B,)`` long, ``mask (B, T)`` bool
    (True on real frames), plus where each row came from; ``channel_mask (B, D)`` bool (False
    on channels a clip did not capture) or None when every clip captured every channel."""

    features: torch.Tensor
    motion: torch.Tensor
    speaker: torch.Tensor
    mask: torch.Tensor
    clip_ids: list[str]
    starts: list[int]
    channel_mask: torch.Tensor | None = None


def aligned_start_step(fps: float, rate_hz: float, limit: int = 1000) -> int:
    """Smallest frame step ``k`` with ``k * rate_hz / fps`` an integer (1 if none <= limit)."""
    ratio = Fraction(rate_hz / fps).limit_denominator(limit)
    if abs(float(ratio) - rate_hz / fps) > 1e-9:
        return 1
    return ratio.denominator


def batch_share(batch_size: int, rank: int, world: int) -> slice:
    """Rank ``rank``'s contiguous rows of a global batch split over ``world`` processes."""
    if batch_size % world:
        raise ConfigError(f"the batch size {batch_size} is the global batch, split evenly over "
                          f"the {world} processes; use a multiple of {world}")
    size = batch_size // world
    return slice(rank * size, (rank + 1) * size)


def _safe_name(clip_id: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", clip_id)
    if cleaned != clip_id:
        cleaned += "-" + hashlib.sha1(clip_id.encode()).hexdigest()[:8]
    return cleaned


class WindowSampler:
    """Random training windows over ``clips`` of ``corpus`` with features from ``frontend``."""

    def __init__(self, corpus: MotionCorpus, frontend, clips: list[Clip] | None,
                 window_frames: int, seed: int = 0, cache_dir: str | Path | None = None) -> None:
        self.corpus = corpus
        self.frontend = frontend
        self.clips = list(corpus.clips if clips is None else clips)
        if not self.clips:
            raise DatasetError("no clips to sample windows from (is the split empty?)")
        if window_frames < 1:
            raise DatasetError(f"window_frames must be positive, got {window_frames}")
        self.window_frames = int(window_frames)
        self.fps = float(corpus.fps)
        self.rate_hz = float(frontend.rate_hz)
        self.feature_frames = max(1, int(round(window_frames / self.fps * self.rate_hz)))
        self.start_step = aligned_start_step(self.fps, self.rate_hz)
        self.cache_dir = Path(cache_dir) / frontend.cache_key() if cache_dir else None
        self.rng = np.random.default_rng(seed)
        self._features: list[np.ndarray] = []
        self._motion: list[np.ndarray] = []
        self._speaker = [corpus.speaker_index(c.speaker) for c in self.clips]
        self._channel_mask = [None if c.channel_mask is None
                              else np.asarray(c.channel_mask, bool).reshape(-1) for c in self.clips]
        if any(m is not None and m.shape != (corpus.motion_dim,) for m in self._channel_mask):
            raise DatasetError(f"a clip's channel mask must have {corpus.motion_dim} entries")
        for clip in self.clips:
            features, motion = self._prepare(clip)
            self._features.append(features)
            self._motion.append(motion)
        lengths = np.array([m.shape[0] for m in self._motion], dtype=np.float64)
        self._clip_weights = lengths / lengths.sum()

    def _prepare(self, clip: Clip) -> tuple[np.ndarray, np.ndarray]:
        wave, motion = clip.load_pair()
        motion = motion.reshape(motion.shape[0], -1)
        if motion.shape[1] != self.corpus.motion_dim:
            raise DatasetError(f"clip {clip.id!r}: motion frames have {motion.shape[1]} values, "
                               f"expected {self.corpus.motion_dim}")
        # Keyed by the audio's content too: another corpus may reuse the same clip ids.
        digest = hashlib.sha1(np.ascontiguousarray(wave, dtype=np.float32).tobytes()).hexdigest()
        name = f"{_safe_name(clip.id)}-{digest[:16]}.npy"
        path = self.cache_dir / name if self.cache_dir else None
        features = None
        if path is not None and path.is_file():
            cached = np.load(path, allow_pickle=False)
            if cached.ndim == 2 and cached.shape[1] == self.frontend.dim:
                features = cached
        if features is None:
            features = np.asarray(self.frontend(wave), dtype=np.float32)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")  # ranks may share a cache
                np.save(tmp, features)
                tmp.replace(path)
        return features, np.ascontiguousarray(motion, dtype=np.float32)

    @property
    def motion_dim(self) -> int:
        return self.corpus.motion_dim

    @property
    def feature_dim(self) -> int:
        return int(self.frontend.dim)

    def _feature_slice(self, features: np.ndarray, start: int, length: int) -> np.ndarray:
        out = features[start:start + length]
        if out.shape[0] < length:
            edge = features[-1:] if features.shape[0] else np.zeros((1, self.feature_dim), np.float32)
            out = np.concatenate([out, np.repeat(edge, length - out.shape[0], axis=0)])
        return out

    def window(self, index: int, start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Features ``(F, C)``, motion ``(T, D)`` and mask ``(T,)`` of one window of one clip."""
        motion, length = self._motion[index], self.window_frames
        frames = motion[start:start + length]
        mask = np.zeros(length, dtype=bool)
        mask[:frames.shape[0]] = True
        if frames.shape[0] < length:
            pad = np.zeros((length - frames.shape[0], motion.shape[1]), np.float32)
            frames = np.concatenate([frames, pad])
        feature_start = int(round(start * self.rate_hz / self.fps))
        features = self._feature_slice(self._features[index], feature_start, self.feature_frames)
        return features, frames, mask

    def batch(self, batch_size: int, part: tuple[int, int] = (0, 1)) -> Batch:
        """``batch_size`` random windows; clips are drawn in proportion to their length.

        ``part=(rank, world)``: all ``batch_size`` windows are drawn (the RNG advances as in
        one process) but only the rank's share, rows ``rank * n`` to ``(rank + 1) * n`` with
        ``n = batch_size // world``, is built and returned.
        """
        share = batch_share(batch_size, *part)
        rows = self.rng.choice(len(self.clips), size=batch_size, p=self._clip_weights)
        starts = []
        for index in rows:
            spare = self._motion[index].shape[0] - self.window_frames
            slots = max(0, spare) // self.start_step
            starts.append(int(self.rng.integers(0, slots + 1)) * self.start_step)
        return self._stack([int(i) for i in rows[share]], starts[share])

    def _stack(self, rows: list[int], starts: list[int]) -> Batch:
        parts = [self.window(index, start) for index, start in zip(rows, starts, strict=True)]
        return Batch(
            features=torch.from_numpy(np.stack([p[0] for p in parts])),
            motion=torch.from_numpy(np.stack([p[1] for p in parts])),
            speaker=torch.tensor([self._speaker[i] for i in rows], dtype=torch.long),
            mask=torch.from_numpy(np.stack([p[2] for p in parts])),
            clip_ids=[self.clips[i].id for i in rows],
            starts=list(starts),
            channel_mask=self._channel_masks(rows),
        )

    def _channel_masks(self, rows: list[int]) -> torch.Tensor | None:
        masks = [self._channel_mask[i] for i in rows]
        if all(m is None for m in masks):
            return None
        full = np.ones(self.motion_dim, bool)
        return torch.from_numpy(np.stack([full if m is None else m for m in masks]))

    def iter_clips(self) -> Iterator[tuple[Clip, Batch]]:
        """Each whole clip as a batch of one (for evaluation): all its frames and features."""
        for index, clip in enumerate(self.clips):
            motion = self._motion[index]
            num_features = max(1, int(round(motion.shape[0] / self.fps * self.rate_hz)))
            features = self._feature_slice(self._features[index], 0, num_features)
            yield clip, Batch(
                features=torch.from_numpy(features[None].copy()),
                motion=torch.from_numpy(motion[None].copy()),
                speaker=torch.tensor([self._speaker[index]], dtype=torch.long),
                mask=torch.ones(1, motion.shape[0], dtype=torch.bool),
                clip_ids=[clip.id],
                starts=[0],
                channel_mask=self._channel_masks([index]),
            )
