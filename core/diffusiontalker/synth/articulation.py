"""Phonemes -> 30 fps curves of the mouth channels: jaw and lips as separate contributions,
each by dominance blending, with anticipatory coarticulation and lip contacts.

Coarticulation follows Cohen & Massaro (1993, "Modeling coarticulation in synthetic visual
speech"): every viseme segment s has a target T_s and a dominance function
D_s(t) = a_s * exp(-theta_s * d_s(t)), where d_s(t) is the distance from t to the segment
(0 inside it) and theta_s differs before the segment (anticipation) and after it
(carry-over). A channel's value is the dominance-weighted mean sum_s D_s T_s / sum_s D_s.

The jaw and the lips are blended separately, as in JALI (Edwards, Landreth, Fiume & Singh,
SIGGRAPH 2016): the jaw (``jawOpen``) follows vowel openness scaled by vocal effort (the
loudness envelope of the speech), while the lips (funnel, pucker, stretch, vertical lip
movement, press, roll) follow the phone whatever the loudness. Lip gestures start ahead of
their segment (``Viseme.anticipation``/``lip_lead``: rounding up to 100-200 ms ahead,
Benguerel & Cowan 1974), so the mouth is never late for a phone. ``mouthClose`` is carried as
the share of the jaw's opening the lips cancel (ARKit's mouthClose is relative to the jaw), so
the lips meet exactly when that share is 1: at bilabial closures and at rest in pauses
(:mod:`.contacts`). The speaker's style then scales, skews and smooths the result.
"""

from __future__ import annotations

import numpy as np

from ..channels import CHANNELS, FULL_FACE_CHANNELS, MOUTH_CHANNELS, lip_opening
from .contacts import closure_weight, release_bumps, rest_weight
from .espeak import Phone
from .styles import MotionStyle
from .visemes import VISEMES, Segment, parse_phoneme

# The channels the articulation model drives: the v1 mouth channels first (in that order),
# then the speech-driven extras of the full face.
ARTICULATION_CHANNELS: tuple[str, ...] = MOUTH_CHANNELS + (
    "jawForward", "mouthShrugLower", "mouthShrugUpper", "tongueOut", "noseSneerLeft",
    "noseSneerRight")
MOUTH_INDEX = {name: i for i, name in enumerate(ARTICULATION_CHANNELS)}
GROUPS: dict[str, tuple[str, ...]] = {
    "jaw": ("jawOpen", "jawForward"),
    "round": ("mouthFunnel", "mouthPucker"),
    "spread": ("mouthStretchLeft", "mouthStretchRight", "mouthSmileLeft", "mouthSmileRight"),
    "vertical": ("mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
                 "mouthUpperUpRight", "mouthShrugLower", "mouthShrugUpper"),
    "press": ("mouthPressLeft", "mouthPressRight", "mouthRollLower", "mouthRollUpper"),
}
VERTICAL = ("mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight")
SEALED_OFF = VERTICAL + ("mouthFunnel", "mouthStretchLeft", "mouthStretchRight",
                         "mouthShrugLower", "mouthShrugUpper", "tongueOut")
JAW = MOUTH_INDEX["jawOpen"]
CLOSE = MOUTH_INDEX["mouthClose"]
RELEASE_PARTING = 0.12  # mouthLowerDown/UpperUp at the peak of a /p b/ burst
EFFORT_GAIN = 1.25  # jaw scale at full loudness with full coupling


def _targets(name: str) -> np.ndarray:
    vec = np.zeros(len(ARTICULATION_CHANNELS), np.float64)
    for channel, value in VISEMES[name].target.items():
        vec[MOUTH_INDEX[channel]] = value
    vec[CLOSE] = VISEMES[name].seal  # blended as a share of the jaw, see the docstring
    return vec


TARGETS = {name: _targets(name) for name in VISEMES}
_JAW_COLUMNS = np.array([JAW, CLOSE, MOUTH_INDEX["jawForward"]])
_LIP_COLUMNS = np.array([i for i in range(len(ARTICULATION_CHANNELS)) if i not in _JAW_COLUMNS])


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


def _dominance(segments, times, smoothness: float, lips: bool) -> np.ndarray:
    """Cohen-Massaro dominance (S, T) of each segment, its onset moved ahead by the viseme's
    anticipation (plus ``lip_lead`` for the lip channels)."""
    vis = [VISEMES[seg.viseme] for seg, _, _ in segments]
    lead = np.array([v.anticipation + (v.lip_lead if lips else 0.0) for v in vis])[:, None]
    starts = np.array([s for _, s, _ in segments])[:, None] - lead
    ends = np.array([e for _, _, e in segments])[:, None]
    alpha = np.array([v.dominance * (1.0 + 0.3 * seg.stress * v.vowel)
                      for v, (seg, _, _) in zip(vis, segments, strict=True)])[:, None]
    before = np.array([v.rate_before for v in vis])[:, None] / smoothness
    after = np.array([v.rate_after for v in vis])[:, None] / smoothness
    t = times[None, :]
    return alpha * np.exp(-before * np.clip(starts - t, 0.0, None)
                          - after * np.clip(t - ends, 0.0, None))


def blend_visemes(segments: list[tuple[Segment, float, float]], times: np.ndarray,
                  smoothness: float = 1.0) -> np.ndarray:
    """Dominance blend of the segments' targets at ``times``: (T, articulation channels), the
    jaw columns and the lip columns with their own anticipation; ``mouthClose`` is a share."""
    rest = TARGETS["rest"]
    if not segments:
        return np.tile(rest, (len(times), 1))
    targets = np.stack([_stressed(TARGETS[seg.viseme], seg.stress) for seg, _, _ in segments])
    floor = 1e-3  # a faint resting pose everywhere: far from any segment the mouth rests
    out = np.empty((len(times), len(rest)))
    for columns, lips in ((_JAW_COLUMNS, False), (_LIP_COLUMNS, True)):
        dominance = _dominance(segments, times, smoothness, lips)
        weighted = dominance.T @ targets[:, columns] + floor * rest[None, columns]
        out[:, columns] = weighted / (dominance.sum(axis=0)[:, None] + floor)
    return out


def _stressed(target: np.ndarray, stress: float) -> np.ndarray:
    """Stressed vowels open a little wider."""
    if stress <= 0.0:
        return target
    out = target.copy()
    for name in ("jawOpen", "mouthLowerDownLeft", "mouthLowerDownRight"):
        out[MOUTH_INDEX[name]] *= 1.0 + 0.2 * stress
    return out


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
    """Group gains with jaw-versus-lip emphasis (the JALI style axes); ``mouthClose`` is a
    share of the jaw here and is left alone."""
    out = mouth.copy()
    gains = {"jaw": style.jaw_gain * (1.0 + 0.5 * style.jaw_lip_emphasis),
             "round": style.round_gain * (1.0 - 0.4 * style.jaw_lip_emphasis),
             "spread": style.spread_gain * (1.0 - 0.4 * style.jaw_lip_emphasis),
             "vertical": style.vertical_gain * (1.0 - 0.3 * style.jaw_lip_emphasis),
             "press": style.press_gain}
    for group, names in GROUPS.items():
        for name in names:
            out[:, MOUTH_INDEX[name]] *= gains[group]
    return out


def apply_sides(mouth: np.ndarray, style: MotionStyle) -> np.ndarray:
    """Left/right asymmetry and the resting smile bias."""
    out = mouth.copy()
    for name in ARTICULATION_CHANNELS:
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
    """The articulation channels (``ARTICULATION_CHANNELS``: ``MOUTH_CHANNELS`` first) for
    ``num_frames`` frames: (T, 23).

    Frame i shows time i / fps (plus the style's ``lead``, never negative: the mouth is never
    late). ``envelope`` (T,) in [0, 1] (see :func:`loudness_envelope`) scales the jaw's
    opening by vocal effort; the lips do not follow loudness (JALI)."""
    times = np.arange(num_frames) / fps + max(style.lead, 0.0)
    segments = viseme_segments(phones)
    m = smooth_frames(blend_visemes(segments, times, style.smoothness), 0.35 * style.smoothness)
    if envelope is not None:
        c = float(np.clip(style.loudness_coupling, 0.0, 1.0))
        m[:, JAW] *= (1.0 - c) + c * EFFORT_GAIN * np.clip(envelope, 0.0, 1.0)
    m = apply_style(m, style)
    closed = closure_weight(segments, times)
    rest = rest_weight(phones, times)
    sealed = np.maximum(closed, rest)
    m[:, CLOSE] = np.maximum(m[:, CLOSE], sealed)
    for name in SEALED_OFF:
        m[:, MOUTH_INDEX[name]] *= 1.0 - sealed
    for name in GROUPS["press"]:  # lips compressed while sealed for a bilabial
        i = MOUTH_INDEX[name]
        m[:, i] = (1.0 - closed) * m[:, i] + closed * TARGETS["bilabial"][i] * style.press_gain
    lips = [i for i in _LIP_COLUMNS if i != CLOSE]
    m[:, lips] *= (1.0 - rest)[:, None]  # relaxed lips in pauses
    rest_jaw = TARGETS["rest"][JAW] * float(np.clip(style.jaw_gain, 0.7, 1.4))
    m[:, JAW] = (1.0 - rest) * m[:, JAW] + rest * rest_jaw
    burst = release_bumps(segments, times) * (1.0 - closed) * (1.0 - rest)
    for name in VERTICAL:
        m[:, MOUTH_INDEX[name]] += RELEASE_PARTING * style.vertical_gain * burst
    m[:, CLOSE] = np.clip(m[:, CLOSE], 0.0, 1.0) * m[:, JAW]  # a share -> ARKit's mouthClose
    return np.clip(apply_sides(m, style), 0.0, 1.0)


def lip_aperture(weights: np.ndarray, channels: tuple[str, ...] | None = None) -> np.ndarray:
    """How far apart the lips are (0 = touching), from channel weights (T, K): the jaw's
    opening not cancelled by ``mouthClose``, plus the lips' own vertical movement.
    ``channels`` defaults to the full face, ``CHANNELS`` or ``ARTICULATION_CHANNELS`` by K."""
    if channels is None:
        by_width = {len(c): c for c in (CHANNELS, FULL_FACE_CHANNELS, ARTICULATION_CHANNELS)}
        channels = by_width[weights.shape[1]]
    return lip_opening(weights, list(channels))
