"""Where the lips must touch: bilabial closures, their releases, and the mouth at rest in pauses.

Speech-production facts these implement (shared/notes/capture.md, "Speech production facts"):

* Bilabial closure for /p b m/ is complete before the acoustic closure: the lips meet
  ~20-40 ms ahead of the aligned segment and stay sealed (``mouthClose == jawOpen``, lips
  compressed) until its end, the acoustic release (Löfqvist & Gracco 1997, JASA 102: lip
  closing movements lead the acoustic closure).
* A plosive's release is a visible, brief parting of the lips (the burst) before the next
  gesture takes over.
* In a pause the mouth rests: lips together, jaw near closed, no drift.
"""

from __future__ import annotations

import numpy as np

from .espeak import Phone
from .visemes import VISEMES, Segment

CLOSURE_LEAD = 0.03  # s: lips sealed this long before the acoustic bilabial segment
CLOSURE_RAMP = 0.04  # s: the lips' closing movement before the seal
RELEASE_RAMP = 0.03  # s: the seal opening after the segment's end
MIN_HOLD = 0.05  # s: the shortest seal (a very short /b/ still shows a closed frame)
RELEASE_DECAY = 0.05  # s: the burst's lip parting after /p b/
MIN_PAUSE = 0.15  # s: pauses at least this long bring the mouth to rest
REST_SETTLE = 0.12  # s: how long the mouth takes to settle after speech ends
REST_LEAVE = 0.08  # s: how long before speech resumes the mouth leaves rest
PLOSIVES = frozenset("pb")


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def closure_weight(segments: list[tuple[Segment, float, float]], times: np.ndarray) -> np.ndarray:
    """1 where the lips are sealed for a bilabial, ramping to 0 around it: (T,). The seal
    starts :data:`CLOSURE_LEAD` before the segment and ends at its end (the release)."""
    weight = np.zeros(len(times))
    for seg, start, end in segments:
        if not VISEMES[seg.viseme].lips_closed:
            continue
        sealed_from = start - CLOSURE_LEAD
        sealed_to = max(end, sealed_from + MIN_HOLD)
        rise = _smoothstep((times - (sealed_from - CLOSURE_RAMP)) / CLOSURE_RAMP)
        fall = _smoothstep((sealed_to + RELEASE_RAMP - times) / RELEASE_RAMP)
        weight = np.maximum(weight, np.minimum(rise, fall))
    return weight


def release_bumps(segments: list[tuple[Segment, float, float]], times: np.ndarray) -> np.ndarray:
    """The burst of /p b/: a brief lip parting right after the seal opens, peak 1: (T,)."""
    out = np.zeros(len(times))
    for seg, start, end in segments:
        if not VISEMES[seg.viseme].lips_closed or not PLOSIVES & set(seg.symbols):
            continue
        t = times - max(end, start - CLOSURE_LEAD + MIN_HOLD)
        bump = np.where(t < 0, 0.0, np.sin(0.5 * np.pi * np.clip(t / 0.025, 0, 1)) ** 2
                        * np.exp(-np.clip(t - 0.025, 0, None) / RELEASE_DECAY))
        out = np.maximum(out, bump)
    return out


def rest_weight(phones: list[Phone], times: np.ndarray) -> np.ndarray:
    """1 inside pauses of at least :data:`MIN_PAUSE` (after the mouth settles and until it
    leaves for the next word), 0 in speech: (T,). Pauses at the clip's edges rest fully."""
    weight = np.zeros(len(times))
    if not phones:
        return np.ones(len(times))
    first, last = min(p.start for p in phones), max(p.end for p in phones)
    for p in phones:
        if p.phoneme != "_" or p.end - p.start < MIN_PAUSE:
            continue
        d = p.end - p.start
        settle = 1e-6 if p.start <= first else min(REST_SETTLE, 0.35 * d)
        leave = 1e-6 if p.end >= last else min(REST_LEAVE, 0.35 * d)
        start = -np.inf if p.start <= first else p.start
        end = np.inf if p.end >= last else p.end
        w = np.minimum(_smoothstep((times - start) / settle), _smoothstep((end - times) / leave))
        weight = np.maximum(weight, w)
    return weight
