"""Tiny face-capture takes and a tiny model whose identity matters, for the tests of learning an
identity from capture (training/personalize.py, the identity and evaluate-capture commands, the
Blender operator). Import with ``tests/training`` on ``sys.path``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile
import torch

from diffusiontalker.capture import LIVE_LINK_FPS, write_live_link_csv
from diffusiontalker.channels import CHANNELS
from diffusiontalker.network.checkpoint import save_model
from diffusiontalker.network.factory import random_model

SAMPLE_RATE = 16000
NAMES = ("ada", "bo", "cy")


def identity_model(seed: int = 0):
    """A tiny random channel model whose identity embedding changes the motion (the random
    model's FiLM layers start at zero, which would leave the identity without effect)."""
    model = random_model("channels", names=NAMES, seed=seed)
    with torch.no_grad():
        for layer in model.denoiser.layers:
            torch.nn.init.normal_(layer.film.weight, std=0.2)
    return model


def save_identity_model(path: Path, seed: int = 0) -> Path:
    return save_model(identity_model(seed), path)


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """Noise in syllable-rate bursts (never digital silence) at 16 kHz."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    envelope = 0.05 + 0.25 * np.clip(np.sin(2 * np.pi * 3.0 * t + seed), 0, None)
    return (envelope * rng.standard_normal(t.size)).astype(np.float32)


def take_weights(seconds: float, seed: int = 0, fps: float = LIVE_LINK_FPS) -> np.ndarray:
    """``(T, len(CHANNELS))`` smooth weights in 0..1 at ``fps``: the jaw follows the bursts."""
    t = np.arange(int(round(seconds * fps)))[:, None] / fps
    phase = np.arange(len(CHANNELS))[None] * 0.7 + seed
    weights = 0.3 + 0.25 * np.sin(2 * np.pi * (0.5 + 0.1 * np.arange(len(CHANNELS))) * t + phase)
    weights[:, CHANNELS.index("jawOpen")] = 0.1 + 0.4 * np.clip(np.sin(2 * np.pi * 3.0 * t[:, 0]
                                                                       + seed), 0, None)
    return np.clip(weights, 0, 1).astype(np.float32)


def write_take(folder: Path, name: str = "take", seconds: float = 3.0, seed: int = 0) -> Path:
    """A Live Link Face CSV of the model's 24 channels and ``name.wav`` beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    csv = write_live_link_csv(folder / f"{name}.csv", take_weights(seconds, seed), CHANNELS,
                              start_seconds=3600.0 + seed)
    soundfile.write(str(folder / f"{name}.wav"), speech_like(seconds, seed), SAMPLE_RATE)
    return csv
