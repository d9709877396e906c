"""What the teacher trainer and the distiller share: data, logging, LR schedule, state files."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from ..datasets import load_dataset
from ..errors import DatasetError
from ..network.model import Conditioning, DiffusionTalker


def open_corpus(root: str | Path, frontend, window_seconds: float, seed: int,
                cache_dir: str | None = None):
    """Load a dataset and build training/validation window samplers for a frontend."""
    from ..datasets.windows import WindowSampler

    corpus = load_dataset(root)
    train_clips = corpus.split("train")
    if not train_clips:
        raise DatasetError(f"dataset {root} has no clips in the 'train' split")
    window = max(2, int(round(window_seconds * corpus.fps)))
    # The identity library holds the speakers that have training clips, nobody else: a
    # held-out speaker must not get a row that nothing ever trained.
    trained = {c.speaker for c in train_clips}
    corpus.speakers = [s for s in corpus.speakers if s in trained]
    train = WindowSampler(corpus, frontend, train_clips, window, seed=seed, cache_dir=cache_dir)
    val_clips = [c for c in corpus.split("val") if c.speaker in trained]
    val = (WindowSampler(corpus, frontend, val_clips, window, seed=seed + 1, cache_dir=cache_dir)
           if val_clips else None)
    return corpus, train, val


def training_frames(corpus, max_frames: int = 20000, seed: int = 0) -> torch.Tensor:
    """Up to ``max_frames`` flattened motion frames of the train split (for normalisation)."""
    rng = np.random.default_rng(seed)
    frames = [c.motion.reshape(-1, corpus.motion_dim) for c in corpus.split("train")]
    stacked = np.concatenate(frames)
    if stacked.shape[0] > max_frames:
        stacked = stacked[rng.choice(stacked.shape[0], max_frames, replace=False)]
    return torch.from_numpy(np.ascontiguousarray(stacked, dtype=np.float32))


def batch_conditioning(model: DiffusionTalker, batch, device) -> tuple[torch.Tensor, Conditioning]:
    """Normalised motion ``x`` and the conditioning of a training batch."""
    features = batch.features.to(device)
    mask = batch.mask.to(device)
    x = model.encode_motion(batch.motion.to(device))
    tokens = model.audio_tokens(features, x.shape[1])
    ident = model.identity.rows(batch.speaker.to(device))
    return x, Conditioning(tokens, ident, mask)


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
               weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error over real frames, optionally weighted per batch element."""
    per_frame = ((pred - target) ** 2).mean(-1)  # (B, T)
    m = mask.to(per_frame.dtype)
    per_item = (per_frame * m).sum(1) / m.sum(1).clamp_min(1.0)
    if weight is not None:
        per_item = per_item * weight.to(per_item.dtype)
    return per_item.mean()


def cosine_lr(step: int, total: int, base: float, warmup: int = 0) -> float:
    """Linear warm-up, then cosine annealing to 0 at ``total``."""
    if warmup and step < warmup:
        return base * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * 0.5 * (1.0 + math.cos(math.pi * progress))


class JsonlLog:
    """Append-only JSON-lines log of losses and validation metrics."""

    def __init__(self, path: str | Path, fresh: bool):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if fresh and self.path.exists():
            self.path.unlink()
        self.start = time.time()

    def write(self, **record) -> None:
        record = {"time_s": round(time.time() - self.start, 3), **record}
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


def rng_metadata(sampler) -> dict[str, str]:
    """The window sampler's numpy RNG state as JSON (for exact resumption)."""
    return {"sampler_rng": json.dumps(sampler.rng.bit_generator.state)}


def restore_rng(sampler, metadata: dict[str, str]) -> None:
    if "sampler_rng" in metadata:
        sampler.rng.bit_generator.state = json.loads(metadata["sampler_rng"])


def prefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"{prefix}{k}": v for k, v in tensors.items()}


def unprefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
