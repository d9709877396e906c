"""Partial re-take: sample frames ``[a, b)`` of an existing take again, keep the rest.

The generate loop (:mod:`.talker`) runs with the take held everywhere outside the range by
replacement in the x̂-prediction (``diffusion.constraints``; Song et al. 2021 imputation,
RePaint): the held weight is 1 outside ``[a, b)`` and eases to 0 over :data:`RAMP_SECONDS`
inside it, so the new motion leaves and rejoins the old one without a pop. Outside the range
the result is the take itself, bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError, MotionError
from ..motion import Motion
from .talker import WindowedTalker, motion_frames

RAMP_SECONDS = 0.2


def retake_mask(num_frames: int, start: int, stop: int, ramp: int) -> np.ndarray:
    """``(num_frames,)`` float32: 1 outside ``[start, stop)``; inside, linear ramps of ``ramp``
    frames from 1 towards 0 at each edge that borders held frames, 0 in between."""
    mask = np.ones(num_frames, np.float32)
    inside = np.zeros(stop - start, np.float32)
    n = min(ramp, (stop - start) // 2)
    fall = 1.0 - np.arange(1, n + 1, dtype=np.float32) / (n + 1)
    if start > 0:
        inside[:n] = fall
    if stop < num_frames:
        inside[inside.size - n:] = np.maximum(inside[inside.size - n:], fall[::-1])
    mask[start:stop] = inside
    return mask


def parse_frames(text: str) -> tuple[int, int]:
    """``"A:B"`` -> ``(A, B)``: frames ``[A, B)`` of the take (0-based, B excluded)."""
    first, sep, last = str(text).partition(":")
    try:
        if not sep:
            raise ValueError
        return int(first), int(last)
    except ValueError:
        raise ConfigError(f"--frames must look like A:B (frames A to B-1 of the take), got {text!r}") from None


def retake(talker: WindowedTalker, take: Motion, audio: Any, sample_rate: int | None = None, *,
           frames: tuple[int, int], seed: int, **generate_options: Any) -> Motion:
    """``take`` with frames ``[a, b)`` sampled again from ``seed`` (the audio must be the one
    the take was made from); ``generate_options`` as for ``generate`` (identity, steps, ...)."""
    from ..audio.loading import SAMPLE_RATE, load_audio

    if not isinstance(talker, WindowedTalker):
        if hasattr(talker, "retake"):  # a worker: its own Talker runs this function
            return talker.retake(take, audio, sample_rate, frames=frames, seed=seed,
                                 **generate_options)
        raise ConfigError("a re-take runs the model in this process: use the torch or onnx runtime")
    same = (take.space == talker.space and abs(take.fps - talker.fps) < 1e-6
            and (take.channels == talker.channels if take.space == "channels"
                 else take.data.shape[1] == talker.num_vertices))
    if not same:
        raise MotionError(f"the take ({take.space}, {take.fps:g} fps) was not made by this model "
                          f"({talker.space}, {talker.fps:g} fps); re-take with its own model")
    wave = load_audio(audio, sample_rate)
    count = motion_frames(wave.shape[0], talker.fps)
    if count != take.num_frames:
        raise MotionError(f"the take has {take.num_frames} frames but this audio makes {count}: "
                          "re-take with the audio the take was made from")
    a, b = (int(f) for f in frames)
    if not 0 <= a < b <= count:
        raise ConfigError(f"the frames to re-take must satisfy 0 <= A < B <= {count}, got {a}:{b}")
    flat = take.data.reshape(count, -1).astype(np.float32)
    target = talker.encode(flat)
    mask = retake_mask(count, a, b, max(1, int(round(RAMP_SECONDS * talker.fps))))
    new = talker.generate(wave, SAMPLE_RATE, seed=seed, hold=(mask, target), **generate_options)
    data = take.data.copy()
    data[a:b] = new.data[a:b]
    return Motion(take.fps, take.space, data, take.channels, identity=new.identity)
