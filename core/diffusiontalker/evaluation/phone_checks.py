"""Phone-aware checks of generated channel motion on real speech (issue 13, "Measure").

Everything is computed from channel *names* (whatever the model's channel list: the 24 of v1,
the 55 of v2) and from phones of a forced alignment (``audio.alignment``: ARPAbet names,
``SIL`` for silence, times in seconds). Frame ``i`` of motion at ``fps`` is at time ``i / fps``.

Definitions (per clip):

- **Effective lip opening** (:func:`lip_opening`): ``max(jawOpen - mouthClose, 0)
  + mean(mouthLowerDownLeft, mouthLowerDownRight) + mean(mouthUpperUpLeft, mouthUpperUpRight)``;
  an absent channel counts as 0 (``jawOpen`` is required).
- **Closed**: opening below :data:`CLOSED_FRACTION` (35 %) of the clip's median opening over
  the frames inside vowels (:data:`VOWELS`).
- **Frames inside a phone**: ``start <= i / fps < end``; a phone shorter than that holds the
  frame nearest its midpoint. **Window of a phone** (closure, tuck): frames
  ``floor(start * fps) - 1 .. ceil(end * fps) + 1`` (as ``speech_check.check_motion``).
- **Closure within** a /p b m/: the minimum opening over its window is closed. **Closure at
  its midpoint**: the opening at the frame nearest the phone's midpoint is closed.
- **Closure lead** (ms, positive = the lips close *before* the sound): ``1000 * (m - t)``,
  with ``m`` the phone's midpoint and ``t`` the time of the opening's minimum over the frames
  within ``m ± 100 ms`` (:data:`LEAD_WINDOW`): a single lowest frame is refined to sub-frame
  time by a parabola through it and its two neighbours; a run of equal lowest frames gives its
  centre. Reported per bilabial and as the median over all bilabials of the clip (over all
  clips: :func:`summarize` also gives the median over the closed ones).
- **Open / close vowels**: mean opening over the frames inside AA AE AH AO AW AY divided by
  the mean over the frames inside IY IH UW UH.
- **Rounding**: mean ``mouthPucker + mouthFunnel`` over the frames inside UW OW W OY UH
  divided by the mean over those inside IY EH AE; it *holds* when the rounded mean is higher
  (ratio > 1) in a clip having both classes.
- **/f v/ tuck**: ``mouthRollLower`` reaches :data:`TUCKED` (0.3) within the phone's window
  (the definition of ``scripts/measure_transcript_guidance.py``, now this one).
- **Rest in pauses**: for each ``SIL`` of :data:`MIN_PAUSE` (0.3 s) or more, the frames from
  ``start + 0.1 s`` to ``end - 0.1 s`` (:data:`PAUSE_EDGE`); it rests when their median
  opening is closed.
- **Jitter**: ``mean |opening[i+1] - 2 opening[i] + opening[i-1]|`` divided by the opening's
  range ``max - min`` over the clip.
- **Silence drift** (:func:`silence_drift`): the model run on 10 s of digital silence (zeros);
  max and mean ``jawOpen`` (target <= 0.02), as generated (the rest constraint on digital
  silence applied) and by the model alone (the constraint off).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..audio.alignment import Phone
from ..channels import lip_opening

BILABIALS = frozenset({"P", "B", "M"})
VOWELS = frozenset("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())
OPEN_VOWELS = frozenset("AA AE AH AO AW AY".split())
CLOSE_VOWELS = frozenset("IY IH UW UH".split())
ROUNDED = frozenset("UW OW W OY UH".split())
SPREAD = frozenset("IY EH AE".split())
LABIODENTALS = frozenset({"F", "V"})
CLOSED_FRACTION = 0.35  # closed: below this fraction of the median vowel opening
LEAD_WINDOW = 0.1  # seconds either side of a bilabial's midpoint searched for the minimum
TUCKED = 0.3  # mouthRollLower reached by a tucked /f v/
MIN_PAUSE = 0.3  # seconds: shortest SIL checked for rest
PAUSE_EDGE = 0.1  # seconds left out at both ends of a pause
SILENCE_SECONDS = 10.0


def _column(weights: np.ndarray, names: Sequence[str], name: str) -> np.ndarray:
    """The column of channel ``name``, or zeros when the model has no such channel."""
    names = list(names)
    if name in names:
        return np.asarray(weights[:, names.index(name)], np.float64)
    return np.zeros(len(weights))


def frames_inside(phone: Phone, fps: float, num_frames: int) -> np.ndarray:
    """Frames ``i`` with ``start <= i / fps < end``, else the frame nearest the midpoint."""
    lo = max(int(np.ceil(phone.start * fps - 1e-9)), 0)
    hi = min(int(np.ceil(phone.end * fps - 1e-9)), num_frames)
    if hi > lo:
        return np.arange(lo, hi)
    mid = int(round(0.5 * (phone.start + phone.end) * fps))
    return np.array([mid]) if 0 <= mid < num_frames else np.array([], int)


def phone_window(phone: Phone, fps: float, num_frames: int) -> slice:
    """Frames ``floor(start * fps) - 1 .. ceil(end * fps) + 1`` (clipped to the motion)."""
    lo = max(int(np.floor(phone.start * fps)) - 1, 0)
    return slice(lo, min(int(np.ceil(phone.end * fps)) + 1, num_frames - 1) + 1)


def _class_frames(phones: Sequence[Phone], names: frozenset[str], fps: float,
                  num_frames: int) -> np.ndarray:
    parts = [frames_inside(p, fps, num_frames) for p in phones if p.name in names]
    return np.unique(np.concatenate(parts)) if parts else np.array([], int)


def _mean(values: np.ndarray, frames: np.ndarray) -> float:
    return float(values[frames].mean()) if frames.size else float("nan")


def minimum_time(values: np.ndarray, frames: np.ndarray, fps: float) -> float:
    """Sub-frame time (s) of the minimum of ``values`` over the consecutive ``frames``.

    A single lowest frame ``k`` is refined by the parabola through ``k - 1, k, k + 1``
    (offset ``(y[k-1] - y[k+1]) / (2 (y[k-1] - 2 y[k] + y[k+1]))``, kept within half a frame);
    a run of equal lowest frames gives its centre.
    """
    seg = values[frames]
    low = seg.min()
    tol = 1e-9 * max(float(np.ptp(values)), 1e-12)
    k = int(np.argmin(seg))
    end = k
    while end + 1 < seg.size and seg[end + 1] <= low + tol:
        end += 1
    if end > k:
        return float(frames[k] + 0.5 * (end - k)) / fps
    i = int(frames[k])
    offset = 0.0
    if 0 < i < len(values) - 1:
        a, b, c = values[i - 1], values[i], values[i + 1]
        den = a - 2 * b + c
        if den > 0:
            offset = float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))
    return (i + offset) / fps


def _ratio(num: float, den: float) -> float:
    if np.isnan(num) or np.isnan(den):
        return float("nan")
    return num / den if den > 0 else (float("inf") if num > 0 else float("nan"))


@dataclass
class PhoneChecks:
    """What :func:`check_phones` measured on one clip (definitions: module docstring)."""

    closed_threshold: float
    bilabials: int
    closed_within: int
    closed_at_midpoint: int
    closure_lead_ms: float  # median over the bilabials
    open_vowel_opening: float
    close_vowel_opening: float
    open_close_ratio: float
    rounded_pucker: float | None  # None: the model has neither mouthPucker nor mouthFunnel
    spread_pucker: float | None
    rounding_ratio: float | None
    rounding_holds: bool | None  # None: not measurable (a class or the channels missing)
    labiodentals: int
    tucked: int | None  # None: no mouthRollLower channel
    pauses: int
    rested: int
    jitter: float
    details: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_phones(weights: np.ndarray, names: Sequence[str], phones: Sequence[Phone],
                 fps: float) -> PhoneChecks:
    """Measure every phone-aware check of the module docstring on one clip's motion."""
    weights = np.asarray(weights, np.float64)
    names = list(names)
    t = len(weights)
    opening = lip_opening(weights, names)
    vowel = _class_frames(phones, VOWELS, fps, t)
    threshold = CLOSED_FRACTION * float(np.median(opening[vowel])) if vowel.size else float("nan")

    details: list[dict[str, Any]] = []
    leads = []
    for p in (p for p in phones if p.name in BILABIALS):
        window = opening[phone_window(p, fps, t)]
        mid = 0.5 * (p.start + p.end)
        mid_frame = min(max(int(round(mid * fps)), 0), t - 1)
        near = np.arange(max(int(np.ceil((mid - LEAD_WINDOW) * fps - 1e-9)), 0),
                         min(int(np.floor((mid + LEAD_WINDOW) * fps + 1e-9)), t - 1) + 1)
        lead = 1000.0 * (mid - minimum_time(opening, near, fps)) if near.size else float("nan")
        leads.append(lead)
        details.append({"phone": p.name, "start": p.start, "end": p.end,
                        "min_opening": float(window.min()) if window.size else float("nan"),
                        "closed": bool(window.size and window.min() < threshold),
                        "closed_at_midpoint": bool(opening[mid_frame] < threshold),
                        "lead_ms": lead})

    open_m = _mean(opening, _class_frames(phones, OPEN_VOWELS, fps, t))
    close_m = _mean(opening, _class_frames(phones, CLOSE_VOWELS, fps, t))
    rounded_m = spread_m = rounding = holds = None
    if "mouthPucker" in names or "mouthFunnel" in names:
        pucker = _column(weights, names, "mouthPucker") + _column(weights, names, "mouthFunnel")
        rounded_m = _mean(pucker, _class_frames(phones, ROUNDED, fps, t))
        spread_m = _mean(pucker, _class_frames(phones, SPREAD, fps, t))
        rounding = _ratio(rounded_m, spread_m)
        if not (np.isnan(rounded_m) or np.isnan(spread_m)):
            holds = bool(rounded_m > spread_m)

    fv = [p for p in phones if p.name in LABIODENTALS]
    tucked = None
    if "mouthRollLower" in names:
        roll = _column(weights, names, "mouthRollLower")
        tucked = sum(bool(roll[phone_window(p, fps, t)].max() >= TUCKED) for p in fv)

    pauses = rested = 0
    for p in phones:
        if p.name == "SIL" and p.end - p.start >= MIN_PAUSE:
            lo = max(int(np.ceil((p.start + PAUSE_EDGE) * fps)), 0)
            hi = min(int(np.floor((p.end - PAUSE_EDGE) * fps)), t - 1)
            if hi >= lo:
                pauses += 1
                rested += bool(np.median(opening[lo:hi + 1]) < threshold)

    span = float(np.ptp(opening)) if t else 0.0
    jitter = float(np.abs(np.diff(opening, n=2)).mean() / span) if t > 2 and span > 0 else 0.0
    return PhoneChecks(
        closed_threshold=threshold,
        bilabials=len(details),
        closed_within=sum(d["closed"] for d in details),
        closed_at_midpoint=sum(d["closed_at_midpoint"] for d in details),
        closure_lead_ms=float(np.nanmedian(leads)) if np.isfinite(leads).any() else float("nan"),
        open_vowel_opening=open_m, close_vowel_opening=close_m,
        open_close_ratio=_ratio(open_m, close_m),
        rounded_pucker=rounded_m, spread_pucker=spread_m, rounding_ratio=rounding,
        rounding_holds=holds, labiodentals=len(fv), tucked=tucked,
        pauses=pauses, rested=rested, jitter=jitter, details=details)


def _finite(values: list[Any]) -> list[float]:
    return [float(v) for v in values if v is not None and np.isfinite(v)]


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Aggregates over clips of :meth:`PhoneChecks.to_dict` rows.

    Counts are pooled (closures, tucks, pauses over all clips); the closure lead is the median
    over all bilabials of all clips, and over those closed within the phone (a missed closure's
    "lead" only says where the lips came nearest); the open/close and rounding ratios are medians over the
    clips where they are finite; jitter is the mean over clips.
    """
    leads = _finite([d["lead_ms"] for r in rows for d in r["details"]])
    closed_leads = _finite([d["lead_ms"] for r in rows for d in r["details"] if d["closed"]])
    bilabials = sum(r["bilabials"] for r in rows)
    fv = sum(r["labiodentals"] for r in rows if r["tucked"] is not None)
    both = [r for r in rows if r["rounding_holds"] is not None]
    pauses = sum(r["pauses"] for r in rows)

    def rate(num: float, den: float) -> float:
        return num / den if den else float("nan")

    oc = _finite([r["open_close_ratio"] for r in rows])
    rr = _finite([r["rounding_ratio"] for r in both])
    return {
        "bilabials": bilabials,
        "closed_within": sum(r["closed_within"] for r in rows),
        "closed_within_rate": rate(sum(r["closed_within"] for r in rows), bilabials),
        "closed_at_midpoint": sum(r["closed_at_midpoint"] for r in rows),
        "closed_at_midpoint_rate": rate(sum(r["closed_at_midpoint"] for r in rows), bilabials),
        "closure_lead_ms_median": float(np.median(leads)) if leads else float("nan"),
        "closure_lead_closed_ms_median":
            float(np.median(closed_leads)) if closed_leads else float("nan"),
        "open_close_ratio_median": float(np.median(oc)) if oc else float("nan"),
        "rounding_held": sum(bool(r["rounding_holds"]) for r in both),
        "rounding_clips": len(both),
        "rounding_ratio_median": float(np.median(rr)) if rr else float("nan"),
        "labiodentals": fv,
        "tucked": sum(r["tucked"] for r in rows if r["tucked"] is not None),
        "tucked_rate": rate(sum(r["tucked"] for r in rows if r["tucked"] is not None), fv),
        "pauses": pauses,
        "rested": sum(r["rested"] for r in rows),
        "jitter_mean": float(np.mean([r["jitter"] for r in rows])) if rows else float("nan"),
    }


def silence_drift(talker: Any, seconds: float = SILENCE_SECONDS, seed: int = 0,
                  sample_rate: int = 16000, identity: str | None = None,
                  rest_constraint: bool = True) -> dict[str, float]:
    """The model on ``seconds`` of digital silence (zeros): max and mean ``jawOpen`` and lip
    opening. ``talker`` is any loaded model with ``generate(wave, rate, ...)`` and ``channels``.

    ``rest_constraint=False`` switches off the generate loop's rest on digital silence
    (``diffusion.constraints.REST_DBFS``) for this call: the drift of the model alone.
    """
    from ..diffusion import constraints

    silence = np.zeros(int(seconds * sample_rate), np.float32)
    saved = constraints.REST_DBFS
    if not rest_constraint:
        constraints.REST_DBFS = -np.inf
    try:
        motion = talker.generate(silence, sample_rate, seed=seed, identity=identity)
    finally:
        constraints.REST_DBFS = saved
    data = np.asarray(motion.data)
    names = list(talker.channels)
    jaw = _column(data, names, "jawOpen")
    opening = lip_opening(data, names)
    return {"seconds": seconds, "rest_constraint": rest_constraint,
            "jaw_open_max": float(jaw.max()), "jaw_open_mean": float(jaw.mean()),
            "opening_max": float(opening.max()), "opening_mean": float(opening.mean())}
