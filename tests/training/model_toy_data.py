"""A tiny folder dataset (docs/data-format.md layout) whose speakers differ in voice and style."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile

from diffusiontalker.channels import CHANNELS

SPEAKERS = ("ada", "bo", "cy")
PITCH = {"ada": 120.0, "bo": 210.0, "cy": 330.0}
STYLE = {"ada": 0.4, "bo": 0.8, "cy": 1.2}


def speech_like(seconds: float, pitch: float, rng: np.random.Generator,
                sr: int = 16000) -> tuple[np.ndarray, np.ndarray]:
    """A voiced buzz with a syllable-rate envelope; returns (wave, envelope per sample)."""
    t = np.arange(int(seconds * sr)) / sr
    rate = rng.uniform(2.5, 4.5)
    envelope = np.clip(np.sin(2 * np.pi * rate * t + rng.uniform(0, 6)), 0, None)
    buzz = sum(np.sin(2 * np.pi * pitch * k * t) / k for k in range(1, 5))
    wave = 0.3 * envelope * buzz + 0.003 * rng.standard_normal(t.size)
    return wave.astype(np.float32), envelope


def write_toy_dataset(root: Path, space: str, num_vertices: int = 20, fps: float = 30.0,
                      clips_per_speaker: int = 3, seconds: float = 2.0, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    (root / "audio").mkdir(parents=True)
    (root / "motion").mkdir()
    pattern = rng.normal(size=(num_vertices, 3)).astype(np.float32) * 0.01
    clips = []
    for spk in SPEAKERS:
        for n in range(clips_per_speaker + 1):
            clip_id = f"{spk}_{n:03d}"
            split = "val" if n == clips_per_speaker else "train"
            wave, env = speech_like(seconds, PITCH[spk], rng)
            frames = int(round(seconds * fps))
            env_frames = env[(np.arange(frames) / fps * 16000).astype(int)]
            opening = STYLE[spk] * env_frames
            if space == "channels":
                motion = np.zeros((frames, len(CHANNELS)), np.float32)
                motion[:, 0] = opening
                motion[:, 2] = 0.3 * opening[::-1]
            else:
                motion = (opening[:, None, None] * pattern[None]).astype(np.float32)
            soundfile.write(str(root / "audio" / f"{clip_id}.wav"), wave, 16000)
            np.save(root / "motion" / f"{clip_id}.npy", motion)
            clips.append({"id": clip_id, "speaker": spk, "split": split})
    if space == "vertices":
        np.save(root / "template.npy", rng.normal(size=(num_vertices, 3)).astype(np.float32))
    meta = {"format": "diffusiontalker-folder", "version": 1, "space": space, "fps": fps,
            "channels": list(CHANNELS) if space == "channels" else None,
            "num_vertices": num_vertices if space == "vertices" else None,
            "speakers": list(SPEAKERS), "clips": clips, "generator": {"name": "test"}}
    (root / "dataset.json").write_text(json.dumps(meta))
    return root
