"""Constraints on the sampled motion by replacement in the x̂-prediction (torch-free).

With an x̂-predicting denoiser, DDIM (Song et al. 2021) moves each step towards the current
x̂; replacing x̂ on constrained frames by a target, through a mask m ∈ [0, 1] with smooth edges,
``x̂' = x̂ + m (x_target − x̂)``, makes the sample end on the target there and move naturally
into it around them — the replacement / imputation method of Song et al. (2021, § 5, "imputation")
and RePaint (Lugmayr et al. 2022), applied to the clean-motion prediction rather than to
z_u, which keeps it exact at the final step.

The one constraint the generate loop applies by default: **frames of digital silence rest**.
The model was trained on speech with room tone; on digitally silent input its lips drift a few
percent open (jawOpen 0.05–0.09 over 10 s). Runs of at least :data:`REST_MIN_SECONDS` whose
level is below :data:`REST_DBFS` (quieter than 16-bit audio can be: no recording with room
tone, however quiet, qualifies) are held at the rest pose, with linear ramps of
:data:`REST_RAMP_FRAMES` frames inside the run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..config import SAMPLE_RATE

REST_DBFS = -90.0  # below 16-bit audio's smallest step (-96 dBFS, dithered ~-90): digital silence
REST_MIN_SECONDS = 0.25  # shorter silent gaps (e.g. a stop's closure) are left to the model
REST_RAMP_FRAMES = 3


def frame_levels_dbfs(wave: np.ndarray, num_frames: int, fps: float,
                      block_frames: int = 4096) -> np.ndarray:
    """RMS level of each motion frame's audio in dBFS ``(num_frames,)`` (-inf for zeros),
    computed ``block_frames`` at a time so an hour of audio needs no full-length temporaries."""
    wave = np.asarray(wave, np.float32).reshape(-1)
    edges = np.minimum(np.round(np.arange(num_frames + 1) * SAMPLE_RATE / fps).astype(np.int64),
                       wave.size)
    rms = np.zeros(num_frames, np.float64)
    for first in range(0, num_frames, block_frames):
        cut = edges[first: first + block_frames + 1]
        energy = np.concatenate([[0.0], np.cumsum(np.square(wave[cut[0]:cut[-1]],
                                                            dtype=np.float64))])
        local = cut - cut[0]
        count = np.maximum(local[1:] - local[:-1], 1)
        rms[first: first + local.size - 1] = np.sqrt((energy[local[1:]] - energy[local[:-1]]) / count)
    with np.errstate(divide="ignore"):
        return 20.0 * np.log10(rms)


def silence_rest_mask(wave: np.ndarray, num_frames: int, fps: float) -> np.ndarray:
    """``m (num_frames,)`` float32: 1 inside runs of digital silence of at least
    :data:`REST_MIN_SECONDS`, ramping linearly to 0 over :data:`REST_RAMP_FRAMES` frames at
    the edges that border sound, 0 elsewhere."""
    silent = frame_levels_dbfs(wave, num_frames, fps) < REST_DBFS
    mask = np.zeros(num_frames, np.float32)
    min_frames = max(1, int(round(REST_MIN_SECONDS * fps)))
    start = None
    for i in range(num_frames + 1):
        if i < num_frames and silent[i]:
            start = i if start is None else start
            continue
        if start is not None and i - start >= min_frames:
            run = np.ones(i - start, np.float32)
            ramp = (np.arange(1, REST_RAMP_FRAMES + 1, dtype=np.float32)) / (REST_RAMP_FRAMES + 1)
            n = min(REST_RAMP_FRAMES, run.size // 2)
            if start > 0:  # sound before the run
                run[:n] = np.minimum(run[:n], ramp[:n])
            if i < num_frames:  # sound after the run
                run[run.size - n:] = np.minimum(run[run.size - n:], ramp[:n][::-1])
            mask[start:i] = run
        start = None
    return mask


def replace_in_x_hat(denoise: Callable[[Any, Any, Any], Any], mask: Any,
                     target: Any) -> Callable[[Any, Any, Any], Any]:
    """A denoise callable whose x̂ is ``x̂ + m (target − x̂)`` (arrays broadcast to x̂: torch
    or numpy alike); the sampler stays unaware of it."""

    def constrained(z: Any, u: Any, cond: Any) -> Any:
        x_hat = denoise(z, u, cond)
        return x_hat + mask * (target - x_hat)

    return constrained


def compose_replacements(mask: np.ndarray, target: np.ndarray, mask2: np.ndarray,
                         target2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One replacement equal to ``(mask, target)`` followed by ``(mask2, target2)`` (the second
    wins where its weight is 1): ``x + m (t − x)`` then ``+ m₂ (t₂ − ·)`` is ``x + M (T − x)``
    with ``M = 1 − (1 − m)(1 − m₂)`` and ``T = (m (1 − m₂) t + m₂ t₂) / M`` (``T = t`` where
    ``M = 0``, where it does not matter). Arrays broadcast to ``(frames, width)``."""
    m1, m2 = np.asarray(mask, np.float32), np.asarray(mask2, np.float32)
    combined = 1.0 - (1.0 - m1) * (1.0 - m2)
    mixed = m1 * (1.0 - m2) * target + m2 * target2
    safe = np.where(combined > 0, combined, 1.0)
    out = np.where(combined > 0, mixed / safe, np.broadcast_to(target, mixed.shape))
    return combined.astype(np.float32), out.astype(np.float32)
