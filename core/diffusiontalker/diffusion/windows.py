"""Long audio by overlapping windows, and identity blends: the torch-free pieces that the
torch sampler (:mod:`diffusiontalker.api`) and the ONNX Runtime sampler
(:mod:`diffusiontalker.runtime.onnx_talker`) share, so both cut, cross-fade and blend alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import IdentityError

MATCH = "match"  # the identity choice "the library identity that best matches this voice"


def window_spans(num_frames: int, fps: float, window_seconds: float,
                 overlap_seconds: float) -> list[tuple[int, int]]:
    """Frame ranges ``[a, b)`` of ``window_seconds`` covering ``num_frames``, neighbours
    overlapping by ``overlap_seconds``; the last window ends on the last frame."""
    size = max(1, int(round(window_seconds * fps)))
    overlap = min(size - 1, int(round(overlap_seconds * fps)))
    if num_frames <= size:
        return [(0, num_frames)]
    spans, start = [], 0
    while start + size < num_frames:
        spans.append((start, start + size))
        start += size - overlap
    spans.append((num_frames - size, num_frames))
    return spans


def crossfade_weights(spans: Sequence[tuple[int, int]], j: int) -> np.ndarray:
    """Weights of window ``j``'s frames: linear ramps over the overlaps with its neighbours
    (overlapping windows' weights sum to 1), 1 elsewhere."""
    a, b = spans[j]
    w = np.ones(b - a, dtype=np.float32)
    if j > 0 and spans[j - 1][1] > a:
        n = spans[j - 1][1] - a
        w[:n] = (np.arange(n, dtype=np.float32) + 0.5) / n
    if j + 1 < len(spans) and spans[j + 1][0] < b:
        n = b - spans[j + 1][0]
        ramp = 1 - (np.arange(n, dtype=np.float32) + 0.5) / n
        w[b - a - n:] = np.minimum(w[b - a - n:], ramp)
    return w


def normalize_blend(choice: Mapping[str, float], names: Sequence[str]) -> dict[str, float]:
    """A ``{name: weight}`` blend of library identities as convex weights (summing to 1)."""
    if not isinstance(choice, Mapping) or not choice:
        raise IdentityError("an identity blend must be a non-empty {name: weight} mapping")
    unknown = [n for n in choice if n not in names]
    if unknown:
        raise IdentityError(f"unknown identity {', '.join(map(repr, unknown))}; known "
                            f"identities: {', '.join(names)}")
    weights = {n: float(w) for n, w in choice.items()}
    if any(w < 0 or w != w for w in weights.values()):
        raise IdentityError("identity blend weights must be non-negative numbers")
    total = sum(weights.values())
    if total <= 0:
        raise IdentityError("identity blend weights must not all be zero")
    return {n: w / total for n, w in weights.items()}


def blend_weights(choice: Any, names: Sequence[str],
                  best_match: Callable[[], str] | None = None) -> dict[str, float]:
    """Convex blend weights for an identity choice: None (neutral: ``{}``), a name, a
    ``{name: weight}`` blend, or :data:`MATCH` (``best_match()`` names the identity)."""
    if choice is None:
        return {}
    if isinstance(choice, str):
        if choice == MATCH:
            if best_match is None:
                raise IdentityError("identity 'match' needs the audio to match against")
            return {best_match(): 1.0}
        choice = {choice: 1.0}
    return normalize_blend(choice, names)
