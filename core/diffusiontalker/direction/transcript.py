"""Transcript guidance: the phones of a forced alignment as soft keys on the mouth channels.

Issue 15 item 4 (Rhubarb Lip Sync's "dialog file", done as constraints of the sampler): the
user gives the text that is spoken; ``audio.alignment`` aligns it (or says why not) and
:func:`transcript_keys` turns three kinds of phones into keys in the KEYS format of
``direction.keys``, which the generate loop honours by replacement in the x̂-prediction.
Each key holds the middle half of its phone (its nearest frame when no frame falls there):

- **/p b m/: lips closed.** In the ARKit convention ``mouthClose`` closes the lips against
  ``jawOpen``: equal values seal them with the jaw slightly open. On the demo head's rig the
  lip gap is 22.8 mm per unit of ``jawOpen`` minus the same per unit of ``mouthClose``, plus
  7.0 mm per unit of ``mouthFunnel``, 3.2 mm per ``mouthLowerDown*`` and 2.9 mm per
  ``mouthUpperUp*``; smile, stretch, press and pucker do not open it (measured with
  ``evaluation.speech_check.demo_head_aperture``). So the key is the synthetic corpus's
  bilabial pose (``synth.visemes``: ``jawOpen = mouthClose = 0.06``) with those four opening
  channels at 0: a gap of 0 mm (1.4 mm for a model without ``mouthClose``: still closed by
  check-speech's 2 mm). Weight 1: a bilabial is a fact of the speech, not a style. Ease one
  frame (:class:`Rule`): with 0.1 s of ease the keys held the mouth half shut between close
  consonants (envelope r 0.612 instead of 0.642 on the real clips, two seeds).
- **/f v/: lower lip tucked** under the upper teeth: the corpus's labiodental pose
  (``mouthRollLower`` 0.55, ``jawOpen`` 0.1, ``mouthClose`` 0.03, ``mouthUpperUp*`` 0.22;
  a 3.1 mm gap), weight 0.6 (speakers tuck more or less), ease 0.167 s (with one frame the
  tuck snapped: jitter near the keys 1.20× the free take's; 1.05× with 0.167 s).
- **rounded vowels and /w/: pucker.** /uw uh w/ close-rounded (``mouthPucker`` 0.68-0.75,
  ``mouthFunnel`` 0.3), /ow ao/ open-rounded (``mouthFunnel`` 0.5, ``mouthPucker`` 0.22): only
  the rounding channels, so the jaw keeps following the voice; weight 0.4, ease 0.167 s.

``strength`` scales every weight. Only channels the model has are keyed; a key left with
none is dropped. Phones inside words that fit the audio badly (``Word.match`` below
:data:`WORD_FIT_MIN`; ``scripts/measure_transcript_alignment.py``: no correct word of the
real clips fell below -24.1, 12 of 13 words substituted into their texts did; 6 % of the
eSpeak voices' correct words did) get no keys: a wrong word should not close the lips at
the wrong time. On the 13 real clips, two seeds (``scripts/measure_transcript_guidance.py``,
docs/results.md): /p b m/ closed 59/76 -> 76/76, envelope r 0.654 -> 0.635 (a lip closed on a
loud /m/ lowers it; away from /p b m/ 0.750 -> 0.744), every pause at rest (24/24), /f v/
tucked 30/46 -> 46/46, jitter 1.06× the free take's. (The ease ablations above were made on
the same clips and seeds.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..audio.alignment import Alignment, Phone, align_transcript
from ..audio.loading import SAMPLE_RATE
from ..errors import AudioError

WORD_FIT_MIN = -40.0  # per-frame log-likelihood ratio of a word (audio.alignment)
_OPENERS = ("mouthFunnel", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
            "mouthUpperUpRight")
CLOSED = {"jawOpen": 0.06, "mouthClose": 0.06, **{name: 0.0 for name in _OPENERS}}
TUCKED = {"jawOpen": 0.1, "mouthClose": 0.03, "mouthRollLower": 0.55,
          "mouthUpperUpLeft": 0.22, "mouthUpperUpRight": 0.22}
ROUND_CLOSE = {"mouthPucker": 0.68, "mouthFunnel": 0.32}
ROUND_OPEN = {"mouthPucker": 0.22, "mouthFunnel": 0.5}


@dataclass(frozen=True)
class Rule:
    """How one phone is keyed: target values, weight at strength 1, the middle share of the
    phone keyed, and the ease on each side in seconds."""

    kind: str
    target: dict[str, float] = field(hash=False)
    weight: float
    share: float
    ease_seconds: float


RULES: dict[str, Rule] = {
    **{p: Rule("closure", CLOSED, 1.0, 0.5, 0.04) for p in ("P", "B", "M")},
    **{p: Rule("tuck", TUCKED, 0.6, 0.5, 0.167) for p in ("F", "V")},
    **{p: Rule("rounding", ROUND_CLOSE, 0.4, 0.5, 0.167) for p in ("UW", "UH")},
    "W": Rule("rounding", {"mouthPucker": 0.75, "mouthFunnel": 0.3}, 0.4, 0.5, 0.167),
    **{p: Rule("rounding", ROUND_OPEN, 0.4, 0.5, 0.167) for p in ("OW", "AO")},
}


def phone_frames(phone: Phone, fps: float, share: float = 1.0) -> tuple[int, int]:
    """The frames ``(first, last)`` (both included) whose times ``i / fps`` lie in the middle
    ``share`` of ``phone``; its nearest frame when none does."""
    middle, half = (phone.start + phone.end) / 2, (phone.end - phone.start) * share / 2
    first, last = math.ceil((middle - half) * fps), math.floor((middle + half) * fps)
    if last < first:
        first = last = int(round(middle * fps))
    return first, last


def transcript_keys(phones: Sequence[Phone], fps: float, channels: Sequence[str],
                    num_frames: int, strength: float = 1.0) -> list[dict[str, Any]]:
    """Keys (``direction.keys`` format, frames at ``fps`` from the audio start) for the
    bilabials, labiodentals and rounded vowels among ``phones`` (module docstring); only
    ``channels`` are keyed, nothing past ``num_frames``, nothing at ``strength`` 0."""
    if not 0.0 <= strength or not math.isfinite(strength):
        raise ValueError(f"strength must be a finite number >= 0, got {strength!r}")
    have = set(channels)
    keys: list[dict[str, Any]] = []
    for phone in phones:
        rule = RULES.get(phone.name)
        if rule is None or strength == 0.0:
            continue
        values = {name: value for name, value in rule.target.items() if name in have}
        first, last = phone_frames(phone, fps, rule.share)
        first, last = max(first, 0), min(last, num_frames - 1)
        if not values or last < first:
            continue
        span = {"frame": first} if first == last else {"start": first, "end": last}
        keys.append({**span, "channels": values, "weight": min(1.0, rule.weight * strength),
                     "ease": max(1, int(round(rule.ease_seconds * fps)))})
    return keys


def trusted_phones(alignment: Alignment) -> tuple[list[Phone], list[str]]:
    """The aligned phones outside words that fit badly (:data:`WORD_FIT_MIN`), and those
    words."""
    bad = [w for w in alignment.words if w.match < WORD_FIT_MIN]
    keep = [p for p in alignment.phones
            if not any(w.start <= (p.start + p.end) / 2 < w.end for w in bad)]
    return keep, [w.name for w in bad]


def transcript_guidance(wave: np.ndarray, transcript: str | None, *, fps: float,
                        channels: Sequence[str] | None, num_frames: int,
                        sample_rate: int = SAMPLE_RATE, strength: float = 1.0
                        ) -> tuple[list[dict[str, Any]], str | None]:
    """``(keys, message)`` for generating ``wave`` with ``transcript``; never raises for the
    alignment. ``message`` is None when every word was aligned and used; otherwise one line
    for the user (why there are no keys — the caller warns and generates without — or which
    words got none). ``channels``: the model's (None for a vertex model); ``num_frames`` the
    take's (``Talker.num_frames(wave)``)."""
    if transcript is None or not transcript.strip() or strength == 0.0:
        return [], None
    if channels is None:
        return [], ("transcript not used, generating without it: transcript guidance keys "
                    "mouth channels, and this model's motion is vertices")
    try:
        alignment = align_transcript(wave, sample_rate, transcript)
    except AudioError as exc:
        return [], f"transcript not used, generating without it: {exc}"
    phones, skipped = trusted_phones(alignment)
    keys = transcript_keys(phones, fps, channels, num_frames, strength)
    if skipped:
        return keys, (f"transcript: no mouth keys on {len(skipped)} word(s) that fit the audio "
                      f"badly ({', '.join(repr(w) for w in skipped[:5])}); check the spelling "
                      "of what is spoken there")
    return keys, None
