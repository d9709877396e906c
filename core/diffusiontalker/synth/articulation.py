"""Phonemes -> 30 fps curves of the mouth channels, by dominance blending.

Coarticulation follows Cohen & Massaro (1993, "Modeling coarticulation in synthetic visual
speech"): every viseme segment s has a target T_s and a dominance function
D_s(t) = a_s * exp(-theta_s * d_s(t)), where d_s(t) is the distance from t to the segment
(0 inside it) and theta_s differs before the segment (anticipation) and after it
(carry-over). A channel's value is the dominance-weighted mean sum_s D_s T_s / sum_s D_s.
On top of the blend: bilabials (p b m) are forced shut at their times, the openness of the
mouth follows the loudness envelope of the speech, and the speaker's style scales, shifts,
skews and smooths the result.
"""

from __future__ import annotations

import numpy as np

from ..channels import CHANNELS, MOUTH_CHANNELS
from .espeak import Phone
from .styles import MotionStyle
from .visemes import VISEMES, Segment, parse_phoneme

MOUTH_INDEX = {name: i for i, name in enumerate(MOUTH_CHANNELS)}
GROUPS: dict[str, tuple[str, ...]] = {
    "jaw": ("jawOpen", "mouthClose"),
    "round": ("mouthFunnel", "mouthPucker"),
    "spread": ("mouthStretchLeft", "mouthStretchRight", "mouthSmileLeft", "mouthSmileRight"),
    "vertical": ("mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
                 "mouthUpperUpRight"),
    "press": ("mouthPressLeft", "mouthPressRight", "mouthRollLower", "mouthRollUpper"),
}
OPENING = ("jawOpen", "mouthClose", "mouthLowerDownLeft", "mouthLowerDownRight",
           "mouthUpperUpLeft", "mouthUpperUpRight")
CLOSURE_HALF_WIDTH = 0.03  # s: lips held shut at least this long either side of a bilabial
CLOSURE_RAMP = 0.035  # s: the ramp into and out of the forced closure


def _targets(name: str) -> np.ndarray:
    vec = np.zeros(len(MOUTH_CHANNELS), np.float64)
    for channel, value in VISEMES[name].target.items():
        vec[MOUTH_INDEX[channel]] = value
    return vec


TARGETS = {name: _targets(name) for name in VISEMES}


def viseme_segments(phones: list[Phone]) -> list[tuple[Segment, float, float]]:
    """Each phone split into its viseme segments with their spans in seconds."""
    out = []
    for phone in phones:
        t = phone.start
        for seg in parse_phoneme(phone.phoneme):
            span = (phone.end - phone.start) * seg.share
            out.append((seg, t, t + span))
            t += span
    return out


def blend_visemes(segments: list[tuple[Segment, float, float]], times: np.ndarray,
                  smoothness: float = 1.0) -> np.ndarray:
    """Cohen-Massaro dominance blend of the segments' targets at ``times``: (T, mouth)."""
    rest = TARGETS["rest"]
    if not segments:
        return np.tile(rest, (len(times), 1))
    starts = np.array([s for _, s, _ in segments])[:, None]
    ends = np.array([e for _, _, e in segments])[:, None]
    vis = [VISEMES[seg.viseme] for seg, _, _ in segments]
    alpha = np.array([v.dominance * (1.0 + 0.3 * seg.stress * v.vowel)
                      for v, (seg, _, _) in zip(vis, segments, strict=True)])[:, None]
    before = np.array([v.rate_before for v in vis])[:, None] / smoothness
    after = np.array([v.rate_after for v in vis])[:, None] / smoothness
    t = times[None, :]
    dist_before = np.clip(starts - t, 0.0, None)
    dist_after = np.clip(t - ends, 0.0, None)
    dominance = alpha * np.exp(-before * dist_before - after * dist_after)
    targets = np.stack([_stressed(TARGETS[v.name], seg.stress) for v, (seg, _, _)
                        in zip(vis, segments, strict=True)])
    # A faint resting pose everywhere: far from any segment the mouth returns to rest.
    floor = 1e-3
    weighted = dominance.T @ targets + floor * rest[None, :]
    return weighted / (dominance.sum(axis=0)[:, None] + floor)


def _stressed(target: np.ndarray, stress: float) -> np.ndarray:
    """Stressed vowels open a little wider."""
    if stress <= 0.0:
        return target
    out = target.copy()
    for name in ("jawOpen", "mouthLowerDownLeft", "mouthLowerDownRight"):
        out[MOUTH_INDEX[name]] *= 1.0 + 0.2 * stress
    return out


def closure_weight(segments: list[tuple[Segment, float, float]], times: np.ndarray) -> np.ndarray:
    """1 where the lips must be shut for a bilabial, ramping to 0 around it: (T,)."""
    weight = np.zeros(len(times))
    for seg, start, end in segments:
        if not VISEMES[seg.viseme].lips_closed:
            continue
        centre, half = 0.5 * (start + end), max(0.5 * (end - start), CLOSURE_HALF_WIDTH)
        d = np.abs(times - centre) - half
        w = np.where(d <= 0, 1.0, np.clip(1.0 - d / CLOSURE_RAMP, 0.0, 1.0))
        weight = np.maximum(weight, 0.5 - 0.5 * np.cos(np.pi * w))
    return weight


def loudness_envelope(audio: np.ndarray, sample_rate: int, num_frames: int,
                      fps: float = 30.0, window: float = 0.05,
                      floor_db: float = -28.0) -> np.ndarray:
    """Per-frame loudness in [0, 1]: RMS over ``window`` seconds centred on each frame, in dB
    relative to the loudest frame, mapped from ``floor_db``..0 to 0..1."""
    half = int(window * sample_rate / 2)
    centres = (np.arange(num_frames) / fps * sample_rate).astype(int)
    padded = np.pad(audio.astype(np.float64) ** 2, (half, half + 1))
    csum = np.concatenate([[0.0], np.cumsum(padded)])
    energy = (csum[centres + 2 * half] - csum[centres]) / max(2 * half, 1)
    db = 10.0 * np.log10(energy + 1e-12)
    db -= db.max() if len(db) else 0.0
    return np.clip(1.0 - db / floor_db, 0.0, 1.0)


def apply_style(mouth: np.ndarray, style: MotionStyle) -> np.ndarray:
    """Group gains, jaw-versus-lip emphasis, left/right asymmetry and smile bias."""
    out = mouth.copy()
    gains = {"jaw": style.jaw_gain * (1.0 + 0.5 * style.jaw_lip_emphasis),
             "round": style.round_gain * (1.0 - 0.4 * style.jaw_lip_emphasis),
             "spread": style.spread_gain * (1.0 - 0.4 * style.jaw_lip_emphasis),
             "vertical": style.vertical_gain * (1.0 - 0.3 * style.jaw_lip_emphasis),
             "press": style.press_gain}
    for group, names in GROUPS.items():
        for name in names:
            out[:, MOUTH_INDEX[name]] *= gains[group]
    for name in MOUTH_CHANNELS:
        if name.endswith("Left"):
            out[:, MOUTH_INDEX[name]] *= 1.0 + style.asymmetry
        elif name.endswith("Right"):
            out[:, MOUTH_INDEX[name]] *= 1.0 - style.asymmetry
    for side, sign in (("Left", 1.0), ("Right", -1.0)):
        bias = style.smile_bias * (1.0 + 0.5 * sign * style.asymmetry)
        out[:, MOUTH_INDEX["mouthSmile" + side]] += bias
    return out


def smooth_frames(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing along time (frames), edges held."""
    if sigma <= 0.05:
        return x
    radius = max(1, int(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k /= k.sum()
    padded = np.pad(x, ((radius, radius), (0, 0)), mode="edge")
    return np.stack([np.convolve(padded[:, j], k, mode="valid") for j in range(x.shape[1])], 1)


def articulate(phones: list[Phone], num_frames: int, style: MotionStyle,
               envelope: np.ndarray | None = None, fps: float = 30.0) -> np.ndarray:
    """The mouth channels (``MOUTH_CHANNELS`` order) for ``num_frames`` frames: (T, mouth).

    Frame i shows time i / fps. ``envelope`` (T,) in [0, 1] (see :func:`loudness_envelope`)
    couples the mouth's opening to the loudness of the speech."""
    times = np.arange(num_frames) / fps + style.lead
    segments = viseme_segments(phones)
    mouth = blend_visemes(segments, times, style.smoothness)
    mouth = smooth_frames(mouth, 0.35 * style.smoothness)
    if envelope is not None:
        c = float(np.clip(style.loudness_coupling, 0.0, 1.0))
        scale = (1.0 - c) + c * np.clip(envelope, 0.0, 1.0) * 1.25
        for name in OPENING:
            mouth[:, MOUTH_INDEX[name]] *= scale
    closed = closure_weight(segments, times)[:, None]
    mouth = (1.0 - closed) * mouth + closed * TARGETS["bilabial"][None, :]
    return np.clip(apply_style(mouth, style), 0.0, 1.0)


def lip_aperture(weights: np.ndarray, channels: tuple[str, ...] = CHANNELS) -> np.ndarray:
    """How far apart the lips are (0 = touching), from channel weights (T, K): the jaw's
    opening not cancelled by ``mouthClose``, plus the lips' own vertical movement."""
    idx = {n: i for i, n in enumerate(channels)}
    w = weights
    return (np.clip(w[:, idx["jawOpen"]] - w[:, idx["mouthClose"]], 0.0, None)
            + 0.5 * (w[:, idx["mouthLowerDownLeft"]] + w[:, idx["mouthLowerDownRight"]])
            + 0.5 * (w[:, idx["mouthUpperUpLeft"]] + w[:, idx["mouthUpperUpRight"]]))
