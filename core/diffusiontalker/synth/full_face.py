"""The rest of the full face, procedural: head rotation tied to prosody, eye gaze, and the
ARKit channels that speech only loosely drives (squints, wide eyes, jaw and mouth side drift,
dimples, shrugs, frowns, sneers).

What it follows, and from where:

* Head motion goes with prosody: nods (head pitch bumps) fall on stressed syllables and
  pitch accents, the head drifts slowly in yaw and roll, shifts posture at phrase boundaries,
  and tilts on questions (Hadar et al. 1983, "Head movement during listening turns in
  conversation"/"Kinematics of head movements accompanying speech", Language and Speech 26;
  Graf et al. 2002, "Visual prosody", IEEE FG). Amplitudes are a few degrees: |yaw| <= 0.15,
  |pitch| <= 0.12, |roll| <= 0.08 rad here (soft limits).
* Gaze: fixations of ~0.5-3 s joined by ~40 ms saccades, both eyes conjugate, speakers
  looking away at phrase starts and back at the listener around phrase ends (Kendon 1967,
  "Some functions of gaze-direction in social interaction", Acta Psychologica 26). ARKit
  carries gaze in the eyeLook* weights: looking to the subject's left is eyeLookOutLeft +
  eyeLookInRight, to the right eyeLookInLeft + eyeLookOutRight; weights stay in 0-0.4.
* The upper lid follows the gaze down (eyeBlink rises a little with eyeLookDown) and never
  quite rests at 0, as in ARKit capture; blinks ride on top.
* A Duchenne smile narrows the eyes (eyeSquint, cheekSquint) and dimples the cheeks; raised
  brows widen the eyes; a frown comes with a small nose sneer; phrase ends get the occasional
  mouth shrug and, per speaker, a frown.

Every value is drawn from the random generator it is given: the same sentence gets another
head and gaze on every take (the one-to-many of DiffusionTalker, arXiv 2311.16565 Sec. 1).
"""

from __future__ import annotations

import numpy as np

from ..channels import GAZE_CHANNELS
from .espeak import Phone
from .styles import MotionStyle
from .upper_face import _bump, drift
from .visemes import VISEMES, parse_phoneme

HEAD_LIMITS = {"headYaw": 0.15, "headPitch": 0.12, "headRoll": 0.08}  # rad, soft
SACCADE_S = 0.04
FIXATION_S = (0.5, 3.0)
MIN_PHRASE_PAUSE = 0.12  # s


def phrase_ends(phones: list[Phone]) -> list[float]:
    """Times where a phrase ends: each speech run followed by a pause (or the clip's end)."""
    ends, speaking = [], False
    for i, p in enumerate(phones):
        if p.phoneme == "_":
            if speaking and (p.end - p.start >= MIN_PHRASE_PAUSE or i == len(phones) - 1):
                ends.append(p.start)
            speaking = speaking and p.end - p.start < MIN_PHRASE_PAUSE
        else:
            speaking = True
    if speaking and phones:
        ends.append(phones[-1].end)
    return ends


def stressed_vowels(phones: list[Phone]) -> list[Phone]:
    """Phones that carry a primary-stressed vowel (the syllables that take nods)."""
    out = []
    for p in phones:
        segs = parse_phoneme(p.phoneme)
        if max(s.stress for s in segs) >= 1.0 and any(VISEMES[s.viseme].vowel for s in segs):
            out.append(p)
    return out


def _soft_limit(x: np.ndarray, limit: float) -> np.ndarray:
    return limit * np.tanh(x / limit)


def head_rotation(phones: list[Phone], times: np.ndarray, style: MotionStyle,
                  rng: np.random.Generator, fps: float, question: bool) -> dict[str, np.ndarray]:
    """headYaw, headPitch, headRoll in radians: drift, phrase posture shifts, nods, tilts."""
    n, g = len(times), style.head_gain
    yaw = drift(n, fps, rng, 0.025 * g, 2.5)
    pitch = drift(n, fps, rng, 0.012 * g, 2.0)
    roll = drift(n, fps, rng, 0.015 * g, 3.0)
    posture = np.zeros((3, n))
    last = rng.normal(0.0, 1.0, 3) * np.array([0.03, 0.015, 0.015]) * g
    start = 0.0
    for end in [*phrase_ends(phones), float(times[-1]) + 1.0]:
        ramp = np.clip((times - start) / 0.4, 0.0, 1.0)
        new = rng.normal(0.0, 1.0, 3) * np.array([0.03, 0.015, 0.015]) * g
        inside = (times >= start) & (times < end)
        posture[:, inside] = (last[:, None] + (new - last)[:, None] * ramp[inside])
        last, start = new, end
    for p in stressed_vowels(phones):
        if rng.random() < style.nod_rate:
            amp = g * rng.uniform(0.015, 0.045)
            pitch += amp * _bump(times, p.start - rng.uniform(0.05, 0.12), rng.uniform(0.1, 0.16),
                                 rng.uniform(0.18, 0.3))
            yaw += amp * rng.uniform(-0.3, 0.3) * _bump(times, p.start - 0.08, 0.12, 0.3)
    if question and phones:
        end = phrase_ends(phones)[-1] if phrase_ends(phones) else float(times[-1])
        tilt = _bump(times, end - 0.6, 0.35, 0.8)
        roll += g * rng.choice([-1.0, 1.0]) * rng.uniform(0.02, 0.045) * tilt
        pitch -= g * rng.uniform(0.01, 0.025) * tilt
    return {"headYaw": _soft_limit(yaw + posture[0], HEAD_LIMITS["headYaw"]),
            "headPitch": _soft_limit(pitch + posture[1], HEAD_LIMITS["headPitch"]),
            "headRoll": _soft_limit(roll + posture[2], HEAD_LIMITS["headRoll"])}


def gaze(phones: list[Phone], times: np.ndarray, style: MotionStyle,
         rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The eight eyeLook* weights: conjugate fixations joined by saccades, with a new fixation
    at most phrase boundaries (often back to the listener, straight ahead)."""
    duration = float(times[-1]) + 1e-3
    boundaries = [t for t in phrase_ends(phones) if rng.random() < 0.7]
    onsets, t = [], 0.0
    while True:
        hold = float(np.clip(rng.exponential(style.gaze_hold), *FIXATION_S))
        nxt = [b for b in boundaries if t + FIXATION_S[0] < b < t + hold]
        t = nxt[0] if nxt else t + hold
        if t >= duration:
            break
        onsets.append(t)
    targets = [np.zeros(2)]
    for _ in onsets:
        if rng.random() < 0.45:  # back to the listener
            targets.append(rng.normal(0.0, 0.03, 2))
        else:
            targets.append(rng.uniform(-1.0, 1.0, 2) * style.gaze_range * np.array([1.0, 0.6]))
    knots, values = [0.0], [targets[0]]
    for onset, target in zip(onsets, targets[1:], strict=True):
        knots += [onset, onset + SACCADE_S]
        values += [values[-1], target]
    h, v = (np.interp(times, knots, [x[k] for x in values]) for k in range(2))
    h = h + drift(len(times), 30.0, rng, 0.008, 0.5)  # fixational drift
    v = v + drift(len(times), 30.0, rng, 0.006, 0.5)
    left, right, up, down = (np.clip(x, 0.0, 0.4) for x in (h, -h, v, -v))
    curves = {"eyeLookOutLeft": left, "eyeLookInRight": left, "eyeLookInLeft": right,
              "eyeLookOutRight": right, "eyeLookUpLeft": up, "eyeLookUpRight": up,
              "eyeLookDownLeft": down, "eyeLookDownRight": down}
    return {name: curves[name] for name in GAZE_CHANNELS}


def _smoothed(x: np.ndarray, frames: float) -> np.ndarray:
    radius = max(1, int(3 * frames))
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / frames) ** 2)
    return np.convolve(np.pad(x, radius, mode="edge"), k / k.sum(), mode="valid")


def full_face(phones: list[Phone], num_frames: int, style: MotionStyle, rng: np.random.Generator,
              mouth: dict[str, np.ndarray], upper: dict[str, np.ndarray], rest: np.ndarray,
              fps: float = 30.0, question: bool = False) -> dict[str, np.ndarray]:
    """Curves of head rotation, gaze and the loosely speech-driven blendshapes for one
    utterance, given the articulated ``mouth`` and the ``upper`` face curves (by channel
    name) and the mouth's ``rest`` weight (1 in pauses). Shrug and sneer include the mouth's."""
    times = np.arange(num_frames) / fps
    n, speaking = num_frames, 1.0 - 0.7 * rest
    out = head_rotation(phones, times, style, rng, fps, question)
    out.update(gaze(phones, times, style, rng))

    def wiggle(scale: float, cutoff: float = 1.0) -> np.ndarray:
        return np.abs(drift(n, fps, rng, scale, cutoff))

    brow_up = upper["browInnerUp"]
    down = out["eyeLookDownLeft"]
    for side in ("Left", "Right"):  # upper lid follows downward gaze; blinks on top
        blink = upper["eyeBlink" + side]
        lid = 0.05 + 0.45 * down + wiggle(0.02, 1.5)
        out["eyeBlink" + side] = blink + (1.0 - blink) * lid
    for side in ("Left", "Right"):
        smile = _smoothed(mouth["mouthSmile" + side], 4.0)
        out["eyeSquint" + side] = style.squint * 0.7 * smile + wiggle(0.02) + 0.02
        out["cheekSquint" + side] = style.squint * 0.5 * smile + wiggle(0.015)
        out["mouthDimple" + side] = style.dimple * 0.6 * smile + wiggle(0.015)
        out["eyeWide" + side] = 0.5 * np.clip(brow_up + upper["browOuterUp" + side], 0, None) \
            + wiggle(0.015)
    side = drift(n, fps, rng, style.jaw_side, 1.5) * speaking
    out["jawLeft"], out["jawRight"] = np.clip(side, 0, None), np.clip(-side, 0, None)
    lean = drift(n, fps, rng, style.mouth_drift, 2.0) + 0.08 * style.asymmetry
    out["mouthLeft"], out["mouthRight"] = np.clip(lean, 0, None), np.clip(-lean, 0, None)
    shrug, frown = np.zeros(n), np.zeros(n)
    for end in phrase_ends(phones):
        if rng.random() < style.shrug:
            shrug += rng.uniform(0.15, 0.35) * _bump(times, end - 0.2, 0.15, 0.35)
        frown += style.frown_end * rng.uniform(0.6, 1.6) * _bump(times, end - 0.25, 0.2, 0.5)
    out["mouthShrugLower"] = mouth["mouthShrugLower"] + shrug + wiggle(0.01)
    out["mouthShrugUpper"] = mouth["mouthShrugUpper"] + 0.6 * shrug + wiggle(0.01)
    base_frown = 0.1 * style.frown
    for side, sign in (("Left", 1.0), ("Right", -1.0)):
        out["mouthFrown" + side] = (frown + base_frown) * (1.0 + 0.5 * sign * style.asymmetry) \
            + wiggle(0.012)
        out["noseSneer" + side] = mouth["noseSneer" + side] + 0.25 * upper["browDown" + side] \
            + 0.2 * out["mouthFrown" + side] + wiggle(0.01)
    out["tongueOut"] = np.minimum(mouth["tongueOut"], 0.3)
    return out
