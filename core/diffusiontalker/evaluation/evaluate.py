"""Evaluate a model on a dataset split with the metrics of :mod:`.metrics`.

Per clip: generate with the clip's speaker identity when the library has it (else the neutral
identity), compare with the ground truth (LVE and FDD on vertices; channel MSE, mouth-channel
LVE/FDD analogues on channels), diversity over seeds, and identity top-1 retrieval of the library lookup on
clips of known speakers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..audio.loading import SAMPLE_RATE
from ..channels import region_mask
from ..errors import DatasetError


def demo_head_regions(channels: Sequence[str]):
    """The demo head's rig for ``channels`` and its lip and upper-face vertex indices.

    Channel motion is compared as vertex motion by driving the demo head with it: lips are the
    head's ``upper_lip`` and ``lower_lip`` groups; the upper face is the skin above the lower
    eyelids (brows, lids, forehead), as for VOCASET's FDD region.
    """
    from ..head import build_demo_head, build_rig

    head = build_demo_head()
    rig = build_rig(head.vertices, head.faces, head.landmarks, channels=tuple(channels))
    lips = np.concatenate([head.groups["upper_lip"], head.groups["lower_lip"]])
    skin = head.groups["skin"]
    eye_low = min(head.vertices[head.landmarks[k], 2] for k in ("eye_lower_L", "eye_lower_R"))
    front = head.vertices[skin, 1] < head.vertices[head.landmarks["eye_L"], 1] + 0.02
    upper = skin[(head.vertices[skin, 2] > eye_low) & front]
    return rig, lips, upper


PER_CLIP_KEYS = ("head_lve", "channel_lve", "channel_mse", "lve", "lve_all_vertices")


def spread(clips: Sequence, count: int | None) -> list:
    """At most ``count`` clips evenly spread over the list (not its first speakers)."""
    if not count or len(clips) <= count:
        return list(clips)
    return [clips[i] for i in np.linspace(0, len(clips) - 1, count).round().astype(int)]


def evaluate_model(talker, corpus, split: str = "test", steps: int | None = None,
                   seeds: Sequence[int] = (0, 1), lip_idx: np.ndarray | None = None,
                   upper_idx: np.ndarray | None = None, max_clips: int | None = None,
                   head: str | None = None, speakers: str = "all") -> dict:
    """Metrics of ``talker`` on ``corpus``'s ``split`` (means over clips).

    ``head="demo"`` also scores a channel model as vertex motion on the demo head (LVE on its
    lip vertices, FDD on its upper face, diversity in metres). ``speakers``: ``"known"`` keeps
    clips of speakers in the model's identity library, ``"heldout"`` the others.
    """
    from . import metrics

    if corpus.space != talker.space:
        raise DatasetError(f"the dataset holds {corpus.space} motion but the model predicts {talker.space}")
    columns = _model_columns(corpus, talker)
    clips = corpus.split(split)
    if speakers != "all":
        keep = speakers == "known"
        clips = [c for c in clips if (c.speaker in talker.identities) == keep]
    clips = spread(clips, max_clips)
    rig = None
    if head == "demo" and talker.space == "channels":
        rig, lip_idx, upper_idx = demo_head_regions(talker.channels)
    if not clips:
        raise DatasetError(f"the dataset has no clips in the {split!r} split")
    steps = int(steps or talker.default_steps)
    per_clip: dict[str, list[float]] = {}
    clip_ids: list[str] = []
    sims, labels = [], []
    for clip in clips:
        wave, gt = clip.load_pair()
        known = clip.speaker in talker.identities
        samples = [talker.generate(wave, SAMPLE_RATE, identity=clip.speaker if known else None,
                                   steps=steps, seed=s).data for s in seeds]
        frames = min(gt.shape[0], samples[0].shape[0])
        gt = gt[:frames] if columns is None else gt[:frames, columns]
        preds = [sample[:frames] for sample in samples]
        # error metrics: the mean over the seeds' samples (less noisy than one sample)
        scores = _mean_scores([_clip_scores(metrics, talker, pred, gt, lip_idx, upper_idx)
                               for pred in preds])
        if len(samples) > 1:
            scores["diversity"] = float(metrics.diversity(np.stack(preds)))
        if rig is not None:
            gv = rig.apply(gt)
            heads = [rig.apply(pred) for pred in preds]
            fdds = [float(metrics.fdd(pv, gv, upper_idx)) for pv in heads]
            scores.update(head_lve=float(np.mean([metrics.lve(pv, gv, lip_idx) for pv in heads])),
                          head_fdd=float(np.mean(fdds)),
                          head_fdd_abs=float(np.mean(np.abs(fdds))))
            if len(samples) > 1:
                scores["head_diversity"] = float(metrics.diversity(np.stack(heads)))
        clip_ids.append(clip.id)
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
    return {"split": split, "speakers": speakers, "clips": len(clips), "steps": steps,
            "seeds": list(seeds), "metrics": results,
            "per_clip": {"clip": clip_ids, **{k: v for k, v in per_clip.items()
                                              if k in PER_CLIP_KEYS}}}


def _model_columns(corpus, talker) -> list[int] | None:
    """The dataset's columns of the model's channels, by name (None: the same list), so a
    model is scored on the channels it predicts (e.g. the 24-channel v1 model on the
    full-face corpus)."""
    if talker.space != "channels" or list(corpus.channels or []) == list(talker.channels):
        return None
    have = list(corpus.channels or [])
    missing = [c for c in talker.channels if c not in have]
    if missing:
        raise DatasetError(f"the dataset lacks channels the model predicts: {', '.join(missing)}")
    return [have.index(c) for c in talker.channels]


def _mean_scores(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per-metric means over several samples' scores."""
    return {name: float(np.mean([run[name] for run in runs])) for name in runs[0]}


def _clip_scores(metrics, talker, pred, gt, lip_idx, upper_idx) -> dict[str, float]:
    if talker.space == "vertices":
        lips = np.arange(gt.shape[1]) if lip_idx is None else lip_idx
        scores = {"lve" if lip_idx is not None else "lve_all_vertices": float(metrics.lve(pred, gt, lips))}
        if upper_idx is not None:
            fdd = float(metrics.fdd(pred, gt, upper_idx))
            scores.update(fdd=fdd, fdd_abs=abs(fdd))
        return scores
    mouth = region_mask(talker.channels, "mouth")
    upper = region_mask(talker.channels, "upper")
    scores = {"channel_mse": float(metrics.channel_mse(pred, gt))}
    if any(mouth):
        scores["channel_lve"] = float(metrics.channel_lve(pred, gt, mouth))
    if any(upper):
        fdd = float(metrics.channel_fdd(pred, gt, upper))
        scores.update(channel_fdd=fdd, channel_fdd_abs=abs(fdd))
    return scores


def _style_features(motion: np.ndarray) -> np.ndarray:
    """Per-clip style statistics of channel motion: the mean and spread of every channel."""
    return np.concatenate([motion.mean(0), motion.std(0)])


def identity_control(talker, corpus, split: str = "test", steps: int | None = None,
                     max_clips: int = 42, per_identity_train: int = 20, seed: int = 0) -> dict:
    """Does the generated style follow the *chosen* identity rather than the voice?

    Each test clip of a known speaker is generated with another library identity (cycling
    through them); a nearest-centroid classifier fitted on the ground-truth style statistics of
    training clips (:func:`_style_features`, standardised) then names the identity the motion
    looks like. ``accuracy``: how often that is the chosen identity (chance ``1/K``);
    ``voice_rate``: how often it is the voice's own speaker instead.
    """
    names = list(talker.identities)
    train = [c for c in corpus.split("train") if c.speaker in names]
    feats = {n: [_style_features(c.motion) for c in train if c.speaker == n][:per_identity_train]
             for n in names}
    allf = np.concatenate([np.stack(f) for f in feats.values()])
    mu, sd = allf.mean(0), allf.std(0) + 1e-6
    centroids = np.stack([(np.mean(feats[n], 0) - mu) / sd for n in names])
    clips = spread([c for c in corpus.split(split) if c.speaker in names], max_clips)
    chosen_hits = voice_hits = 0
    for k, clip in enumerate(clips):
        own = names.index(clip.speaker)
        chosen = (own + 1 + k % (len(names) - 1)) % len(names)
        motion = talker.generate(clip.load_audio(), SAMPLE_RATE, identity=names[chosen],
                                 steps=steps, seed=seed).data
        guess = int(np.argmin((((_style_features(motion) - mu) / sd - centroids) ** 2).sum(1)))
        chosen_hits += guess == chosen
        voice_hits += guess == own
    return {"clips": len(clips), "identities": len(names),
            "accuracy": chosen_hits / len(clips), "voice_rate": voice_hits / len(clips)}
