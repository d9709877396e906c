"""Controlled stand-ins for the core's Talker, for tests that need a known result.

``SpeechTalker`` (channel space): ``jawOpen`` follows the audio's loudness per model frame,
so the mouth moves in speech and rests in silence; other channels stay small.
``VertexTalker`` (vertex space): offset of vertex v at model frame i is
``(0.001 * i, 0.0005 * (v % 11), 0)`` -- easy to check on any vertex at any frame.
"""

from __future__ import annotations

import threading

import numpy as np

from diffusiontalker.channels import CHANNELS
from diffusiontalker.config import (
    AdapterSpec,
    AudioEncoderConfig,
    DenoiserConfig,
    IdentityConfig,
    ModelConfig,
    MotionSpec,
)
from diffusiontalker.errors import CancelledError
from diffusiontalker.motion import Motion
from diffusiontalker.runtime.talker import TalkerFacts


def fake_config(motion: MotionSpec) -> ModelConfig:
    """A model config whose facts (fps, identities, steps, space) the fakes report, exactly as
    a real model derives them (``runtime.talker.TalkerFacts``)."""
    return ModelConfig(motion, AudioEncoderConfig(), AdapterSpec(80, 100.0, 16),
                       DenoiserConfig(motion.model_dim, 16, 8, 16, 1, 2),
                       IdentityConfig(["ada", "bo", "cy"], 8, 16, 16))


class _Base(TalkerFacts):
    runtime = "fake"

    def __init__(self, motion: MotionSpec):
        self.config = fake_config(motion)
        self.calls: list[dict] = []

    def _frames(self, audio, sample_rate):
        return max(1, int(round(len(audio) / sample_rate * self.fps)))

    def match_identity(self, audio, sample_rate=None, top_k=3):
        return [("bo", 0.9), ("ada", 0.5), ("cy", 0.1)][:top_k]

    def _run_steps(self, steps, progress, cancel):
        for i in range(steps):
            if cancel is not None and cancel():
                raise CancelledError("generation was cancelled")
            if progress is not None:
                progress((i + 1) / steps)


class SpeechTalker(_Base):
    template = None

    def __init__(self):
        super().__init__(MotionSpec("channels", 30.0, channels=list(CHANNELS)))

    def generate(self, audio, sample_rate=None, *, identity=None, steps=None, seed=0,
                 style_strength=1.0, progress=None, cancel=None):
        self.calls.append(dict(identity=identity, steps=steps, seed=seed, n=len(audio)))
        self._run_steps(steps or self.default_steps, progress, cancel)
        audio = np.asarray(audio, np.float32)
        t = self._frames(audio, sample_rate)
        hop = sample_rate / self.fps
        rms = np.array([np.sqrt(np.mean(audio[int(i * hop):int((i + 1) * hop)] ** 2) + 1e-12)
                        for i in range(t)])
        weights = np.zeros((t, len(self.channels)), np.float32)
        weights[:, 0] = np.clip(rms * 2.5, 0.0, 1.0)  # jawOpen
        weights[:, 3] = 0.1 * weights[:, 0]  # mouthPucker
        return Motion(self.fps, "channels", weights, self.channels)


class VertexTalker(_Base):
    def __init__(self, num_vertices: int):
        super().__init__(MotionSpec("vertices", 30.0, num_vertices=num_vertices))
        self.template = np.zeros((num_vertices, 3), np.float32)

    def offsets(self, t: int) -> np.ndarray:
        i = np.arange(t, dtype=np.float32)[:, None]
        v = (np.arange(self.num_vertices) % 11).astype(np.float32)[None, :]
        out = np.zeros((t, self.num_vertices, 3), np.float32)
        out[..., 0] = 0.001 * i
        out[..., 1] = 0.0005 * v * np.ones_like(i)
        return out

    def generate(self, audio, sample_rate=None, *, identity=None, steps=None, seed=0,
                 style_strength=1.0, progress=None, cancel=None):
        self._run_steps(steps or self.default_steps, progress, cancel)
        return Motion(self.fps, "vertices", self.offsets(self._frames(audio, sample_rate)))


class BlockingTalker(SpeechTalker):
    """Waits inside generate until released or cancelled (for cancel tests)."""

    def __init__(self):
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def generate(self, audio, sample_rate=None, *, cancel=None, **kw):
        self.entered.set()
        while not self.release.wait(0.01):
            if cancel is not None and cancel():
                raise CancelledError("generation was cancelled")
        return super().generate(audio, sample_rate, cancel=cancel, **kw)
