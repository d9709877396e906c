"""Long audio by overlapping windows (torch-free): the spans the generate loop
(:mod:`diffusiontalker.runtime.talker`) samples and the linear cross-fades that join them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


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
