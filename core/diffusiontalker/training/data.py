"""What the teacher trainer and the distiller share: data, logging, LR schedule, state files,
and starting from an existing model (``--init``)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ..config import ModelConfig, MotionSpec
from ..datasets import MotionCorpus, load_dataset, select_channels
from ..errors import ConfigError, DatasetError, TopologyError
from ..network import checkpoint
from ..network.model import Conditioning, DiffusionTalker
from ..network.normalization import MotionNormalizer
from ..paths import DEFAULT_CHECKPOINT


def open_corpus(root, frontend, window_seconds: float, seed: int,
                cache_dir: str | None = None, *, like: ModelConfig | None = None,
                library: Sequence[str] | None = None, speaker: str | None = None):
    """Load a dataset (a path, or a list of capture takes) and build training/validation
    window samplers for a frontend.

    ``like``: the config of the model the data will train (an ``--init`` checkpoint, a resumed
    run's model, a teacher): capture takes are read at its frame rate and the data is mapped
    onto its motion (:func:`fit_to_model`). ``library``: identity names that keep their rows
    (fine-tuning, resuming): the corpus's speakers are these names, then the data's new
    speakers with training clips; without it, only the speakers with training clips.
    ``speaker``: who capture takes without a ``takes.json`` entry are of.
    """
    from ..datasets.windows import WindowSampler

    corpus = load_dataset(root, fps=like.motion.fps if like else None, speaker=speaker)
    if like is not None:
        corpus = fit_to_model(corpus, like.motion)
    train_clips = corpus.split("train")
    if not train_clips:
        raise DatasetError(f"dataset {root} has no clips in the 'train' split")
    window = max(2, int(round(window_seconds * corpus.fps)))
    # The identity library holds the speakers that have training clips (and, fine-tuning, the
    # rows it had), nobody else: a held-out speaker must not get a row that nothing trained.
    trained = [s for s in corpus.speakers if any(c.speaker == s for c in train_clips)]
    kept = list(library or ())
    corpus.speakers = kept + [s for s in trained if s not in kept]
    train = WindowSampler(corpus, frontend, train_clips, window, seed=seed, cache_dir=cache_dir)
    val_clips = [c for c in corpus.split("val") if c.speaker in corpus.speakers]
    val = (WindowSampler(corpus, frontend, val_clips, window, seed=seed + 1, cache_dir=cache_dir)
           if val_clips else None)
    return corpus, train, val


def data_label(data) -> str | list[str]:
    """A run's ``data`` (a path or a list of capture takes) as JSON for provenance."""
    return str(data) if isinstance(data, (str, Path)) else [str(d) for d in data]


def fit_to_model(corpus: MotionCorpus, motion: MotionSpec) -> MotionCorpus:
    """The corpus as a model with ``motion`` reads it: same frame rate and space; channels in
    the model's order (those the data lacks masked, :func:`datasets.select_channels`); the
    same vertex count."""
    if abs(float(corpus.fps) - float(motion.fps)) > 1e-6:
        raise DatasetError(f"the dataset is at {corpus.fps:g} fps but the model at {motion.fps:g} "
                           "fps; resample the data (capture takes are read at the model's rate)")
    if motion.space == "channels":
        return select_channels(corpus, motion.channels)
    if corpus.space != "vertices" or corpus.num_vertices != motion.num_vertices:
        raise TopologyError(f"the model animates {motion.num_vertices} vertices; the dataset "
                            f"holds {corpus.num_vertices or 0} vertices ({corpus.space})")
    return corpus


def _training_rows(corpus, max_frames: int, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Up to ``max_frames`` train-split frames ``(N, D)`` and which of their values were
    captured ``(N, D)`` bool (None when every clip captured every channel)."""
    rng = np.random.default_rng(seed)
    clips = corpus.split("train")
    frames = [c.motion.reshape(-1, corpus.motion_dim) for c in clips]
    stacked = np.concatenate(frames)
    captured = None
    if any(c.channel_mask is not None for c in clips):
        captured = np.concatenate([np.broadcast_to(
            np.ones(corpus.motion_dim, bool) if c.channel_mask is None else c.channel_mask,
            f.shape) for c, f in zip(clips, frames, strict=True)])
    if stacked.shape[0] > max_frames:
        pick = rng.choice(stacked.shape[0], max_frames, replace=False)
        stacked = stacked[pick]
        captured = None if captured is None else captured[pick]
    return np.ascontiguousarray(stacked, dtype=np.float32), captured


def training_frames(corpus, max_frames: int = 20000, seed: int = 0) -> torch.Tensor:
    """Up to ``max_frames`` flattened motion frames of the train split (for normalisation)."""
    return torch.from_numpy(_training_rows(corpus, max_frames, seed)[0])


def fit_normalizer(normalizer: MotionNormalizer, corpus, seed: int = 0,
                   max_frames: int = 20000) -> None:
    """Fit the motion normalisation on training frames; a channel some clips did not capture
    is fitted on the frames that did (not on the zeros standing in for it)."""
    frames, captured = _training_rows(corpus, max_frames, seed)
    normalizer.fit(torch.from_numpy(frames))
    if captured is None:
        return
    if normalizer.components:
        raise ConfigError("channels missing from some clips are masked per channel, which a PCA "
                          "basis does not allow; train without --pca")
    for k in np.flatnonzero(~captured.all(0)):
        values = torch.from_numpy(frames[captured[:, k], k:k + 1].copy())
        one = MotionNormalizer(1).fit(values) if values.shape[0] > 1 else MotionNormalizer(1)
        normalizer.mean[k], normalizer.scale[k] = one.mean[0], one.scale[0]


def batch_conditioning(model: DiffusionTalker, batch, device) -> tuple[torch.Tensor, Conditioning]:
    """Normalised motion ``x`` and the conditioning of a training batch. A channel a clip did
    not capture is 0 in ``x`` (the training mean), not the stand-in value of its motion."""
    features = batch.features.to(device)
    mask = batch.mask.to(device)
    x = model.encode_motion(batch.motion.to(device))
    channel_mask = getattr(batch, "channel_mask", None)
    if channel_mask is not None:
        if model.normalizer.components:
            raise ConfigError("this model's motion goes through a PCA basis, so channels missing "
                              "from the data cannot be masked; use data with every channel")
        x = x * channel_mask.to(device)[:, None, :]
    tokens = model.audio_tokens(features, x.shape[1])
    ident = model.identity.rows(batch.speaker.to(device))
    return x, Conditioning(tokens, ident, mask)


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
               weight: torch.Tensor | None = None,
               channel_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error over real frames, optionally weighted per batch element;
    ``channel_mask (B, D)`` leaves out the channels a clip did not capture."""
    if channel_mask is None:
        per_frame = ((pred - target) ** 2).mean(-1)  # (B, T)
    else:
        keep = channel_mask.to(pred.device, pred.dtype)[:, None, :]
        per_frame = ((pred - target) ** 2 * keep).sum(-1) / keep.sum(-1).clamp_min(1.0)
    m = mask.to(per_frame.dtype)
    per_item = (per_frame * m).sum(1) / m.sum(1).clamp_min(1.0)
    if weight is not None:
        per_item = per_item * weight.to(per_item.dtype)
    return per_item.mean()


def load_init(init: str) -> DiffusionTalker:
    """The model an ``--init`` names: a checkpoint path, or ``default`` (the shipped model)."""
    return checkpoint.load_model(DEFAULT_CHECKPOINT if init == "default" else init)


def extend_library(model: DiffusionTalker, names: Sequence[str], seed: int = 0) -> list[str]:
    """Give the identity library a row for each of ``names`` it lacks; its rows keep their
    names and values. A new row starts at the neutral identity (the rows' mean) plus a small
    seeded offset (a tenth of the rows' spread), i.e. as the library's average style.
    Returns the names added. ``names`` must list the library's names first, in order."""
    library = model.identity
    if list(names[:len(library.names)]) != library.names:
        raise ConfigError("the identity names must start with the library's own names")
    added = list(names[len(library.names):])
    if not added:
        return []
    rows = library.embeddings.detach()
    spread = rows.std(0) if rows.shape[0] > 1 else torch.ones(rows.shape[1])
    gen = torch.Generator().manual_seed(seed)
    fresh = library.neutral().detach() + 0.1 * spread * torch.randn(len(added), rows.shape[1],
                                                                     generator=gen)
    for name, row in zip(added, fresh, strict=True):
        library.add(name, row)
    return added


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
