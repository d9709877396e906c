"""IPA phonemes -> visemes (mouth shapes) with targets on the ARKit-named mouth channels.

A viseme is a class of phonemes that look alike on the lips (Fisher 1968; the MPEG-4 and
Preston-Blair sets are coarser versions of the same idea). Each has a target pose and a
dominance (how strongly it resists its neighbours in coarticulation, Cohen & Massaro 1993):
bilabials and rounded vowels dominate, /h/ and schwa barely do.

eSpeak's IPA phoneme names carry stress marks (ˈ ˌ), length marks (ː ˑ), tie bars, r-colouring
and several segments at once (diphthongs ``aɪ``, affricates ``tʃ``, ``ɛɹ``). :func:`parse_phoneme`
splits such a name into segments, each mapped to a viseme; an unknown symbol falls back to the
neutral viseme with a warning.
"""

from __future__ import annotations

import unicodedata
import warnings
from dataclasses import dataclass, field

STRESS_MARKS = {"ˈ": 1.0, "ˌ": 0.5}
IGNORED_MARKS = set(":ːˑ͡‿̩̯ʰʲʷ̃˞ʼ̪̥̬-'.|‖") | {"\u0361", "\u035c"}


@dataclass(frozen=True)
class Viseme:
    """A mouth shape: target channel values, dominance strength, and how fast its influence
    decays before (anticipation) and after (carry-over) its centre, in 1/seconds."""

    name: str
    target: dict[str, float]
    dominance: float = 1.0
    rate_before: float = 18.0
    rate_after: float = 22.0
    vowel: bool = False
    lips_closed: bool = False


def _v(name, dominance=1.0, before=18.0, after=22.0, vowel=False, closed=False, **target):
    return Viseme(name, target, dominance, before, after, vowel, closed)


VISEMES: dict[str, Viseme] = {v.name: v for v in (
    _v("rest", 0.6, 10, 10, jawOpen=0.02, mouthClose=0.02),
    _v("bilabial", 6.0, 26, 30, closed=True, jawOpen=0.06, mouthClose=0.06,
       mouthPressLeft=0.45, mouthPressRight=0.45, mouthRollLower=0.15, mouthRollUpper=0.12),
    _v("labiodental", 4.0, 24, 28, jawOpen=0.1, mouthClose=0.03, mouthRollLower=0.55,
       mouthUpperUpLeft=0.22, mouthUpperUpRight=0.22, mouthPressLeft=0.1, mouthPressRight=0.1),
    _v("dental", 1.5, jawOpen=0.16, mouthLowerDownLeft=0.15, mouthLowerDownRight=0.15,
       mouthStretchLeft=0.08, mouthStretchRight=0.08),
    _v("alveolar", 0.8, jawOpen=0.12, mouthStretchLeft=0.1, mouthStretchRight=0.1,
       mouthLowerDownLeft=0.06, mouthLowerDownRight=0.06),
    _v("sibilant", 1.5, jawOpen=0.07, mouthStretchLeft=0.18, mouthStretchRight=0.18,
       mouthUpperUpLeft=0.1, mouthUpperUpRight=0.1),
    _v("postalveolar", 2.5, jawOpen=0.1, mouthFunnel=0.5, mouthPucker=0.25,
       mouthUpperUpLeft=0.2, mouthUpperUpRight=0.2, mouthLowerDownLeft=0.12,
       mouthLowerDownRight=0.12),
    _v("velar", 0.6, jawOpen=0.2, mouthLowerDownLeft=0.05, mouthLowerDownRight=0.05),
    _v("glottal", 0.2, 12, 12, jawOpen=0.2),
    _v("rhotic", 1.8, jawOpen=0.12, mouthPucker=0.35, mouthFunnel=0.25),
    _v("labial_glide", 3.0, jawOpen=0.05, mouthPucker=0.75, mouthFunnel=0.3),
    _v("palatal_glide", 1.2, jawOpen=0.1, mouthStretchLeft=0.3, mouthStretchRight=0.3,
       mouthSmileLeft=0.1, mouthSmileRight=0.1),
    _v("close_front", 1.2, 16, 18, True, jawOpen=0.14, mouthStretchLeft=0.38,
       mouthStretchRight=0.38, mouthSmileLeft=0.18, mouthSmileRight=0.18),
    _v("near_close_front", 1.0, 16, 18, True, jawOpen=0.2, mouthStretchLeft=0.28,
       mouthStretchRight=0.28, mouthSmileLeft=0.1, mouthSmileRight=0.1),
    _v("mid_front", 1.0, 16, 18, True, jawOpen=0.34, mouthStretchLeft=0.25,
       mouthStretchRight=0.25, mouthLowerDownLeft=0.12, mouthLowerDownRight=0.12),
    _v("open_front", 1.0, 16, 18, True, jawOpen=0.5, mouthStretchLeft=0.28,
       mouthStretchRight=0.28, mouthLowerDownLeft=0.22, mouthLowerDownRight=0.22,
       mouthUpperUpLeft=0.08, mouthUpperUpRight=0.08),
    _v("open", 1.0, 16, 18, True, jawOpen=0.62, mouthLowerDownLeft=0.25,
       mouthLowerDownRight=0.25, mouthUpperUpLeft=0.1, mouthUpperUpRight=0.1),
    _v("central", 0.5, 16, 18, True, jawOpen=0.28, mouthLowerDownLeft=0.08,
       mouthLowerDownRight=0.08),
    _v("mid_back_rounded", 1.6, 16, 18, True, jawOpen=0.42, mouthFunnel=0.5,
       mouthPucker=0.22, mouthLowerDownLeft=0.1, mouthLowerDownRight=0.1),
    _v("close_back_rounded", 2.2, 16, 18, True, jawOpen=0.16, mouthPucker=0.68,
       mouthFunnel=0.32),
    _v("close_rounded_front", 2.0, 16, 18, True, jawOpen=0.14, mouthPucker=0.55,
       mouthFunnel=0.2, mouthStretchLeft=0.05, mouthStretchRight=0.05),
    _v("neutral", 0.5, jawOpen=0.18),
)}

_GROUPS: dict[str, str] = {
    "bilabial": "pbmɓʙɸβ", "labiodental": "fvɱʋ", "dental": "θð",
    "alveolar": "tdnlɾɫɬɮɗrɺɳɭʈɖ", "sibilant": "szʦʣ", "postalveolar": "ʃʒʂʐɕʑ",
    "velar": "kgɡŋxɣqɢɴχʁcɟɲʎ", "glottal": "hɦʔħʕ", "rhotic": "ɹɻʀ", "labial_glide": "wʍɥ",
    "palatal_glide": "jç", "close_front": "iɨ", "near_close_front": "ɪʏᵻ",
    "mid_front": "eɛɘ", "open_front": "æaɶ", "open": "ɑɐʌɒ", "central": "əɜɚɝɞ",
    "mid_back_rounded": "oɔɤɵ", "close_back_rounded": "uʊɯʉ",
    "close_rounded_front": "yøœ",
}
SYMBOL_TO_VISEME: dict[str, str] = {c: g for g, chars in _GROUPS.items() for c in chars}
SYMBOL_TO_VISEME["_"] = "rest"
# Affricates read as one shape (their second part dominates the lips).
AFFRICATES = {"tʃ": "postalveolar", "dʒ": "postalveolar", "ts": "sibilant", "dz": "sibilant"}
# Vowel shapes that lean on a rounded or spread lip target for the non-open ones.
_ROUNDED_OPEN = {"ɒ": "mid_back_rounded"}


@dataclass
class Segment:
    """Part of a phoneme: a viseme, the share of the phoneme's span it takes, its stress."""

    viseme: str
    share: float
    stress: float = 0.0
    symbols: str = field(default="")


def parse_phoneme(name: str) -> list[Segment]:
    """Split an eSpeak IPA phoneme name into viseme segments (warns on unknown symbols)."""
    stress = 0.0
    symbols: list[str] = []
    for ch in unicodedata.normalize("NFC", name):
        if ch in STRESS_MARKS:
            stress = max(stress, STRESS_MARKS[ch])
        elif ch in IGNORED_MARKS or unicodedata.category(ch) in ("Mn", "Lm", "Sk"):
            continue
        elif not ch.isspace():
            symbols.append("g" if ch == "ɡ" else ch)
    text = "".join(symbols)
    if not text:
        return [Segment("rest" if name.strip() in ("_", "") else "neutral", 1.0, stress, name)]
    for affricate, viseme in AFFRICATES.items():
        if text == affricate:
            return [Segment(viseme, 1.0, stress, text)]
    visemes: list[str] = []
    for ch in text:
        viseme = _ROUNDED_OPEN.get(ch) or SYMBOL_TO_VISEME.get(ch)
        if viseme is None:
            warnings.warn(f"unknown phoneme symbol {ch!r} in {name!r}: using the neutral viseme",
                          stacklevel=2)
            viseme = "neutral"
        if not visemes or visemes[-1] != viseme:
            visemes.append(viseme)
    if len(visemes) == 1:
        return [Segment(visemes[0], 1.0, stress, text)]
    # Diphthongs and r-coloured vowels: the first part holds longer than the glide.
    first = 0.6 if len(visemes) == 2 else 0.5
    rest = (1.0 - first) / (len(visemes) - 1)
    return [Segment(v, first if i == 0 else rest, stress, text) for i, v in enumerate(visemes)]
