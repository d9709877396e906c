"""Evaluate a model on a dataset split with the metrics of notes/diffusion.md § Metrics.

Per clip: generate with the clip's speaker identity when the library has it (else the neutral
identity), compare with the ground truth (LVE and FDD on vertices; channel MSE, mouth-channel
LVE/FDD analogues on channels), diversity over seeds, and identity top-1 retrieval of the library lookup on
clips of known speakers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .audio import SAMPLE_RATE
from .channels import MOUTH_CHANNELS, UPPER_FACE_CHANNELS
from .errors import DatasetError


def evaluate_model(talker, corpus, split: str = "test", steps: int | None = None,
                   seeds: Sequence[int] = (0, 1), lip_idx: np.ndarray | None = None,
                   upper_idx: np.ndarray | None = None, max_clips: int | None = None) -> dict:
    """Metrics of ``talker`` on ``corpus``'s ``split`` (means over clips)."""
    from . import metrics

    if corpus.space != talker.space:
        raise DatasetError(f"the dataset holds {corpus.space} motion but the model predicts {talker.space}")
    clips = corpus.split(split)[: max_clips or None]
    if not clips:
        raise DatasetError(f"the dataset has no clips in the {split!r} split")
    steps = int(steps or talker.default_steps)
    per_clip: dict[str, list[float]] = {}
    sims, labels = [], []
    for clip in clips:
        wave, gt = clip.load_pair()
        known = clip.speaker in talker.identities
        samples = [talker.generate(wave, SAMPLE_RATE, identity=clip.speaker if known else None,
                                   steps=steps, seed=s).data for s in seeds]
        frames = min(gt.shape[0], samples[0].shape[0])
        pred, gt = samples[0][:frames], gt[:frames]
        scores = _clip_scores(metrics, talker, pred, gt, lip_idx, upper_idx)
        if len(samples) > 1:
            scores["diversity"] = float(metrics.diversity(np.stack([s[:frames] for s in samples])))
        for name, value in scores.items():
            per_clip.setdefault(name, []).append(value)
        if known:
            with torch.no_grad():
                tokens = talker.audio_tokens(wave)
                sims.append(talker.model.identity.similarities(tokens)[0].cpu().numpy())
            labels.append(talker.identities.index(clip.speaker))
    results = {name: float(np.mean(values)) for name, values in per_clip.items()}
    if sims:
        results["identity_top1"] = float(metrics.top1_retrieval(np.stack(sims), np.array(labels)))
    return {"split": split, "clips": len(clips), "steps": steps, "seeds": list(seeds),
            "metrics": results}


def _clip_scores(metrics, talker, pred, gt, lip_idx, upper_idx) -> dict[str, float]:
    if talker.space == "vertices":
        lips = np.arange(gt.shape[1]) if lip_idx is None else lip_idx
        scores = {"lve" if lip_idx is not None else "lve_all_vertices": float(metrics.lve(pred, gt, lips))}
        if upper_idx is not None:
            fdd = float(metrics.fdd(pred, gt, upper_idx))
            scores.update(fdd=fdd, fdd_abs=abs(fdd))
        return scores
    mouth = [c in MOUTH_CHANNELS for c in talker.channels]
    upper = [c in UPPER_FACE_CHANNELS for c in talker.channels]
    scores = {"channel_mse": float(metrics.channel_mse(pred, gt))}
    if any(mouth):
        scores["channel_lve"] = float(metrics.channel_lve(pred, gt, mouth))
    if any(upper):
        fdd = float(metrics.channel_fdd(pred, gt, upper))
        scores.update(channel_fdd=fdd, channel_fdd_abs=abs(fdd))
    return scores
