"""One utterance's full face: the articulated mouth plus the stochastic upper face."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..channels import CHANNELS, MOUTH_CHANNELS
from .articulation import articulate, loudness_envelope
from .espeak import Phone
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
                   lead=style.lead + float(rng.uniform(-0.008, 0.008)))


def face_motion(phones: list[Phone], audio: np.ndarray, sample_rate: int, style: MotionStyle,
                rng: np.random.Generator, fps: float = 30.0, question: bool = False,
                vary: bool = True) -> np.ndarray:
    """Channel weights ``(T, len(CHANNELS))`` float32 in the canonical ``CHANNELS`` order for
    speech ``audio`` with phoneme timings ``phones``."""
    frames = num_frames_for(len(audio) / sample_rate, fps)
    if vary:
        style = take_variation(style, rng)
    envelope = loudness_envelope(audio, sample_rate, frames, fps)
    mouth = articulate(phones, frames, style, envelope, fps)
    upper = upper_face(phones, frames, style, rng, fps, question)
    out = np.zeros((frames, len(CHANNELS)), np.float64)
    index = {name: i for i, name in enumerate(CHANNELS)}
    for j, name in enumerate(MOUTH_CHANNELS):
        out[:, index[name]] = mouth[:, j]
    for name, curve in upper.items():
        out[:, index[name]] = curve
    return np.clip(out, 0.0, 1.0).astype(np.float32)
