"""A talking identity against held-out face capture: per-channel correlation and error.

For each held-out take (capture the identity was not fitted on) the model animates the take's
audio three times, with

- **learned**: the identity learnt from the actor's capture (``training.personalize``);
- **neutral**: the neutral identity of the library *without* it (the mean of the other rows,
  what the model does for an unknown voice);
- **match**: the voice-matched identity among the other rows (the paper's library lookup,
  ``identity="match"``, arXiv 2311.16565 § 3.2),

and each channel the take captured is compared with the capture over the frames of all
held-out takes: Pearson correlation over time (how well the motion follows the actor's
timing and shape) and mean absolute error (how far the weights are; 0..1 units). A channel the
capture holds constant has no correlation (NaN, left out of the mean); a generated channel
that stays constant where the capture moves correlates 0. Frames of digital silence are left
out: every identity alike is held at the rest pose there (``diffusion.constraints``), so they
say nothing about the identity. Several seeds score as more frames.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..audio.loading import SAMPLE_RATE
from ..channels import channel_region
from ..diffusion.constraints import silence_rest_mask
from ..errors import CaptureError, IdentityError, MetricError
from .metrics import _channels_pair

LABELS = ("learned", "neutral", "match")


@dataclass(frozen=True)
class ChannelScores:
    """One identity's scores on held-out capture: per channel and their means."""

    label: str  # "learned", "neutral" or "match"
    identity: str  # the identity used, in words ("kiri", "ada", "neutral of 14 identities")
    channels: tuple[str, ...]
    correlation: np.ndarray  # (K,) Pearson over time; NaN where the capture is constant
    mae: np.ndarray  # (K,) mean absolute error
    frames: int

    @property
    def mean_correlation(self) -> float:
        return self.region(self.channels)[0]

    @property
    def mean_mae(self) -> float:
        return self.region(self.channels)[1]

    def region(self, names: Sequence[str]) -> tuple[float, float]:
        """Mean correlation (over the channels that move) and mean error of ``names`` (those of
        them scored; NaN for none)."""
        index = [k for k, n in enumerate(self.channels) if n in set(names)]
        corr = self.correlation[index]
        mean_corr = float(np.nanmean(corr)) if np.isfinite(corr).any() else float("nan")
        return mean_corr, float(np.mean(self.mae[index])) if index else float("nan")


def channel_correlation(pred: np.ndarray, capture: np.ndarray) -> np.ndarray:
    """Pearson correlation over time of each channel ``(T, K) -> (K,)``: NaN where the
    capture is constant, 0 where only the prediction is."""
    pred, capture = _channels_pair(pred, capture)
    p, c = pred - pred.mean(0), capture - capture.mean(0)
    p_norm, c_norm = np.sqrt((p ** 2).sum(0)), np.sqrt((c ** 2).sum(0))
    out = np.full(pred.shape[1], np.nan)
    moving = c_norm > 1e-9 * max(1.0, float(np.abs(capture).max()))
    safe = np.where(p_norm > 0, p_norm, 1.0) * np.where(moving, c_norm, 1.0)
    out[moving] = np.where(p_norm[moving] > 0, (p * c).sum(0)[moving] / safe[moving], 0.0)
    return out


def channel_mae(pred: np.ndarray, capture: np.ndarray) -> np.ndarray:
    """Mean absolute error of each channel over time ``(T, K) -> (K,)``."""
    pred, capture = _channels_pair(pred, capture)
    return np.abs(pred - capture).mean(0)


def score_channels(pred: np.ndarray, capture: np.ndarray, channels: Sequence[str], label: str,
                   identity: str) -> ChannelScores:
    """:class:`ChannelScores` of ``pred`` against ``capture`` (both ``(T, K)``)."""
    if len(channels) != np.asarray(capture).shape[-1]:
        raise MetricError(f"{len(channels)} channel names for {np.asarray(capture).shape[-1]} "
                          "channels")
    return ChannelScores(label, identity, tuple(channels), channel_correlation(pred, capture),
                         channel_mae(pred, capture), int(np.asarray(capture).shape[0]))


def scored_channels(talker, takes: Sequence) -> list[str]:
    """The model's channels every take captured (a channel some take lacks is not scored)."""
    channels = list(talker.channels or ())
    if not channels:
        raise CaptureError("capture is compared with models of channel weights; this model "
                           f"animates {talker.space}")
    kept = [n for n in channels if all(n in take.captured for take in takes)]
    if not kept:
        raise CaptureError("the held-out takes captured none of the model's channels")
    return kept


def baseline_choices(talker, identity: str) -> tuple[dict[str, float], list[str]]:
    """The neutral blend of the library without ``identity`` and the names to match among."""
    if identity not in talker.identities:
        raise IdentityError(f"no identity called {identity!r}; the library has "
                            f"{', '.join(talker.identities)}")
    others = [n for n in talker.identities if n != identity]
    if not others:
        raise IdentityError(f"{identity!r} is the library's only identity: there is nothing to "
                            "compare it with")
    return {n: 1.0 for n in others}, others


def matched_identity(talker, wave: np.ndarray, among: Sequence[str]) -> str:
    """The identity among ``among`` whose style best matches the voice (the library lookup)."""
    ranked = talker.match_identity(wave, SAMPLE_RATE, top_k=len(talker.identities))
    return next(name for name, _ in ranked if name in among)


def evaluate_capture(talker, takes: Sequence, identity: str, seeds: Sequence[int] = (0,),
                     steps: int | None = None,
                     progress: Callable[[float], None] | None = None) -> dict:
    """Scores of ``identity`` and both baselines on held-out ``takes`` (``capture.Take`` with
    audio). Returns ``{"scores": {label: ChannelScores}, "matched": {name: takes},
    "match_full": {name: takes}, "excluded_frames": n, "channels": [...]}``; ``match_full``
    is what "match" picks in the whole library (the learned identity included)."""
    if not takes:
        raise CaptureError("give at least one held-out take to evaluate on")
    channels = scored_channels(talker, takes)
    neutral, others = baseline_choices(talker, identity)
    index = [list(talker.channels).index(n) for n in channels]
    preds: dict[str, list[np.ndarray]] = {label: [] for label in LABELS}
    truth: list[np.ndarray] = []
    matched: dict[str, int] = {}
    match_full: dict[str, int] = {}
    excluded = 0
    jobs = len(takes) * len(seeds) * len(LABELS)
    for t, take in enumerate(takes):
        if take.audio is None:
            raise CaptureError(f"{take.report.source or 'a held-out take'} has no audio")
        motion, _ = take.to_motion(channels, talker.fps)
        best = matched_identity(talker, take.audio, others)
        matched[best] = matched.get(best, 0) + 1
        full = talker.match_identity(take.audio, SAMPLE_RATE, top_k=1)[0][0]
        match_full[full] = match_full.get(full, 0) + 1
        choices = {"learned": identity, "neutral": neutral, "match": best}
        for s, seed in enumerate(seeds):
            frames = None
            for j, label in enumerate(LABELS):
                data = talker.generate(take.audio, SAMPLE_RATE, identity=choices[label],
                                       seed=int(seed), steps=steps).data[:, index]
                frames = min(data.shape[0], motion.num_frames) if frames is None else frames
                keep = silence_rest_mask(take.audio, frames, talker.fps) == 0
                preds[label].append(data[:frames][keep])
                if progress is not None:
                    progress(((t * len(seeds) + s) * len(LABELS) + j + 1) / jobs)
            truth.append(motion.data[:frames][keep])
            excluded += int((~keep).sum())
    capture = np.concatenate(truth)
    if capture.shape[0] < 2:
        raise CaptureError("the held-out takes have no frames outside digital silence to score")
    named = {"learned": identity, "neutral": f"neutral of {len(others)} identities",
             "match": ", ".join(f"{n} ({c})" for n, c in matched.items())}
    scores = {label: score_channels(np.concatenate(preds[label]), capture, channels, label,
                                    named[label]) for label in LABELS}
    return {"scores": scores, "matched": matched, "match_full": match_full,
            "excluded_frames": excluded, "channels": channels}


def format_scores(scores: dict, per_channel: bool = False) -> list[str]:
    """The scores as table lines: one per identity (means over all scored channels, the mouth
    and the upper face), then (``per_channel``) one per channel."""
    names = scores[LABELS[0]].channels
    regions = {"all": names,
               "mouth": [n for n in names if channel_region(n) == "mouth"],
               "upper face": [n for n in names if channel_region(n) == "upper"]}
    lines = [f"{'identity':<10} {'used':<28} " + " ".join(f"{r + ' corr/MAE':>19}"
                                                         for r in regions) + f" {'frames':>7}"]
    for label in LABELS:
        s = scores[label]
        cells = " ".join(f"{c:>11.3f}/{e:<7.4f}" for c, e in map(s.region, regions.values()))
        lines.append(f"{label:<10} {s.identity[:28]:<28} {cells} {s.frames:>7d}")
    if per_channel:
        first = scores[LABELS[0]]
        lines.append("")
        lines.append(f"{'channel':<20} " + " ".join(f"{lb + ' corr/MAE':>22}" for lb in LABELS))
        for k, name in enumerate(first.channels):
            cells = [f"{scores[lb].correlation[k]:>11.3f}/{scores[lb].mae[k]:<10.4f}"
                     for lb in LABELS]
            lines.append(f"{name:<20} " + " ".join(cells))
    return lines


def first_seconds(takes: Sequence, seconds: float) -> list:
    """The first ``seconds`` of capture from ``takes`` in order (the last take cut, with its
    audio): for measuring how quality grows with the length of the capture."""
    chosen, left = [], float(seconds)
    for take in takes:
        if left <= 0:
            break
        if take.duration <= left + 1e-9:
            chosen.append(take)
        else:
            frames = max(1, int(round(left * take.fps)))
            cut = take.frames(0, frames)
            samples = int(round(frames / take.fps * SAMPLE_RATE))
            chosen.append(replace(cut, audio=None if take.audio is None else take.audio[:samples]))
        left -= chosen[-1].duration
    if left > 1e-6:
        raise CaptureError(f"the takes hold {seconds - left:.1f} s of capture, not {seconds:g} s")
    return chosen
