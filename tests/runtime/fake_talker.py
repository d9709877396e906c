"""A stand-in for a Talker (``runtime.talker.TalkerFacts``) used by the worker tests (no model, no torch).

``load_fake(checkpoint, device)`` picks a behaviour by the checkpoint name:
``fast`` (default), ``slow`` (many steps, honours cancel), ``stuck`` (ignores cancel),
``noisy`` (prints to stdout while generating), ``crash`` (the process dies), ``missing``
(raises CheckpointError at load).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from diffusiontalker.config import (
    AdapterSpec,
    AudioEncoderConfig,
    DenoiserConfig,
    DiffusionSpec,
    IdentityConfig,
    ModelConfig,
    MotionSpec,
)
from diffusiontalker.errors import AudioError, CancelledError, CheckpointError
from diffusiontalker.motion import Motion
from diffusiontalker.runtime.talker import TalkerFacts

CHANNELS = ("jawOpen", "mouthClose", "mouthPucker", "eyeBlinkLeft")
FPS = 30.0


def expected_weights(audio: np.ndarray, sample_rate: int, seed: int, style: float) -> np.ndarray:
    """What FakeTalker.generate returns, so tests can check arrays exactly."""
    frames = max(1, round(len(audio) / sample_rate * FPS))
    data = np.resize(np.asarray(audio, np.float32), frames * len(CHANNELS))
    return data.reshape(frames, len(CHANNELS)) * np.float32(style) + np.float32(seed)


def fake_config(default_steps: int = 8) -> ModelConfig:
    """The config the fake model reports (its facts derive from it, as a real model's do)."""
    return ModelConfig(MotionSpec("channels", FPS, list(CHANNELS)), AudioEncoderConfig(),
                       AdapterSpec(80, 100.0, 16), DenoiserConfig(len(CHANNELS), 16, 8, 16, 1, 2),
                       IdentityConfig(["ada", "bo"], 8, 16, 16),
                       DiffusionSpec(default_steps=default_steps))


class FakeTalker(TalkerFacts):
    runtime = "fake"

    def __init__(self, mode: str, device: str) -> None:
        self.mode, self.device = mode, device
        self.config = fake_config()

    def generate(self, audio, sample_rate=None, *, identity=None, steps=None, seed=0,
                 style_strength=1.0, progress=None, cancel=None) -> Motion:
        if len(audio) == 0:
            raise AudioError("the audio is empty (0 samples)")
        steps = steps or self.default_steps
        if self.mode == "slow":
            steps = 10_000
        for i in range(steps):
            if self.mode == "crash":
                print("fake talker: crashing on purpose", file=sys.stderr, flush=True)
                os._exit(3)
            if self.mode == "stuck":
                time.sleep(600)
            if self.mode == "noisy":
                print("stray output on stdout")
                os.write(1, b"stray bytes from C code\n")
            if cancel is not None and cancel():
                raise CancelledError("cancelled")
            if progress is not None:
                progress((i + 1) / steps)
            if self.mode == "slow":
                time.sleep(0.01)
        ident = {identity: 1.0} if isinstance(identity, str) else dict(identity or {})
        return Motion(self.fps, "channels", expected_weights(audio, sample_rate, seed, style_strength),
                      self.channels, identity=ident)


def load_fake(checkpoint, device):
    mode = checkpoint or "fast"
    if mode == "missing":
        raise CheckpointError("checkpoint 'missing' does not exist")
    return FakeTalker(mode, device)
