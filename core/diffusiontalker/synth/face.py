"""One utterance's full face (``FULL_FACE_CHANNELS``: the 52 ARKit blendshapes and head
rotation): the articulated mouth (:mod:`.articulation`), the stochastic upper face
(:mod:`.upper_face`) and head, gaze and the rest (:mod:`.full_face`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..channels import FULL_FACE_CHANNELS, is_head_rotation
from .articulation import ARTICULATION_CHANNELS, articulate, loudness_envelope
from .contacts import rest_weight
from .espeak import Phone
from .full_face import full_face
from .styles import MotionStyle
from .upper_face import upper_face


def num_frames_for(duration: float, fps: float = 30.0) -> int:
    """Frames covering ``duration`` seconds (frame i shows time i / fps)."""
    return max(1, int(round(duration * fps)))


def take_variation(style: MotionStyle, rng: np.random.Generator) -> MotionStyle:
    """The same speaker never says two sentences identically: small per-take changes of
    effort and timing around the identity's style."""
    def jitter(x: float, spread: float = 0.06) -> float:
        return x * float(rng.uniform(1.0 - spread, 1.0 + spread))

    return replace(style, jaw_gain=jitter(style.jaw_gain), round_gain=jitter(style.round_gain),
                   spread_gain=jitter(style.spread_gain),
                   vertical_gain=jitter(style.vertical_gain),
                   lead=max(0.0, style.lead + float(rng.uniform(-0.008, 0.008))))


def face_motion(phones: list[Phone], audio: np.ndarray, sample_rate: int, style: MotionStyle,
                rng: np.random.Generator, fps: float = 30.0, question: bool = False,
                vary: bool = True) -> np.ndarray:
    """The full face ``(T, len(FULL_FACE_CHANNELS))`` float32 in ``FULL_FACE_CHANNELS`` order
    for speech ``audio`` with phoneme timings ``phones``: blendshapes in [0, 1], head rotation
    in radians."""
    frames = num_frames_for(len(audio) / sample_rate, fps)
    if vary:
        style = take_variation(style, rng)
    envelope = loudness_envelope(audio, sample_rate, frames, fps)
    art = articulate(phones, frames, style, envelope, fps)
    mouth = {name: art[:, j] for j, name in enumerate(ARTICULATION_CHANNELS)}
    upper = upper_face(phones, frames, style, rng, fps, question)
    rest = rest_weight(phones, np.arange(frames) / fps + max(style.lead, 0.0))
    rest_of_face = full_face(phones, frames, style, rng, mouth, upper, rest, fps, question)
    curves = {**mouth, **upper, **rest_of_face}
    out = np.zeros((frames, len(FULL_FACE_CHANNELS)), np.float64)
    for k, name in enumerate(FULL_FACE_CHANNELS):
        out[:, k] = curves[name] if is_head_rotation(name) else np.clip(curves[name], 0.0, 1.0)
    return out.astype(np.float32)
