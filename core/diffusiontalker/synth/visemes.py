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
    decays before (anticipation) and after (carry-over) its centre, in 1/seconds.

    ``anticipation`` (s) moves the whole gesture ahead of the acoustic segment (jaw opening
    leads a vowel's onset by tens of ms; bilabial closure completes before the acoustic
    closure); ``lip_lead`` (s) moves the lip channels further ahead: anticipatory rounding
    starts 100-200 ms before a rounded vowel (Benguerel & Cowan 1974, Phonetica 30). The
    ``mouthClose`` target is absolute, and ``mouthClose / jawOpen`` is the share of the jaw's
    opening the lips cancel (1 = lips meet; ARKit's mouthClose is relative to the jaw)."""

    name: str
    target: dict[str, float]
    dominance: float = 1.0
    rate_before: float = 18.0
    rate_after: float = 22.0
    vowel: bool = False
    lips_closed: bool = False
    anticipation: float = 0.02
    lip_lead: float = 0.0

    @property
    def seal(self) -> float:
        """The share of the jaw's opening the lips cancel at this shape's target."""
        jaw = self.target.get("jawOpen", 0.0)
        return min(1.0, self.target.get("mouthClose", 0.0) / jaw) if jaw > 0 else 1.0


def _v(name, dominance=1.0, before=18.0, after=22.0, vowel=False, closed=False,
       anticipation=0.02, lip_lead=0.0, **target):
    return Viseme(name, target, dominance, before, after, vowel, closed, anticipation, lip_lead)


def _both(stem: str, value: float) -> dict[str, float]:
    return {stem + "Left": value, stem + "Right": value}


# Targets on ARKit channels, calibrated so that a corpus's speech frames match the BEAT
# capture statistics (jawOpen mean ~0.18, mouthClose mean ~0.10; docs/synthetic-corpus.md).
VISEMES: dict[str, Viseme] = {v.name: v for v in (
    _v("rest", 0.6, 10, 10, jawOpen=0.02, mouthClose=0.02),
    _v("bilabial", 6.0, 26, 30, closed=True, anticipation=0.03, jawOpen=0.06, mouthClose=0.06,
       **_both("mouthPress", 0.45), mouthRollLower=0.15, mouthRollUpper=0.12),
    _v("labiodental", 4.0, 24, 28, anticipation=0.03, jawOpen=0.11, mouthClose=0.077,
       mouthRollLower=0.75, **_both("mouthUpperUp", 0.14), **_both("mouthPress", 0.1),
       jawForward=0.14, **_both("noseSneer", 0.06)),
    _v("dental", 1.5, jawOpen=0.17, mouthClose=0.094, **_both("mouthLowerDown", 0.15),
       **_both("mouthStretch", 0.08), tongueOut=0.22),
    _v("alveolar", 0.8, jawOpen=0.14, mouthClose=0.084, **_both("mouthStretch", 0.1),
       **_both("mouthLowerDown", 0.06)),
    _v("sibilant", 1.5, jawOpen=0.1, mouthClose=0.06, **_both("mouthStretch", 0.18),
       **_both("mouthUpperUp", 0.1), jawForward=0.1),
    _v("postalveolar", 2.5, lip_lead=0.06, jawOpen=0.12, mouthClose=0.06, mouthFunnel=0.5,
       mouthPucker=0.25, **_both("mouthUpperUp", 0.2), **_both("mouthLowerDown", 0.12),
       mouthShrugUpper=0.18, mouthShrugLower=0.14, jawForward=0.08),
    _v("velar", 0.6, jawOpen=0.22, mouthClose=0.11, **_both("mouthLowerDown", 0.05)),
    _v("glottal", 0.2, 12, 12, jawOpen=0.22, mouthClose=0.066),
    _v("rhotic", 1.8, 10, 22, lip_lead=0.08, jawOpen=0.14, mouthClose=0.07, mouthPucker=0.35,
       mouthFunnel=0.25),
    _v("labial_glide", 3.0, 8, 22, lip_lead=0.12, jawOpen=0.08, mouthClose=0.048,
       mouthPucker=0.75, mouthFunnel=0.3),
    _v("palatal_glide", 1.2, jawOpen=0.12, mouthClose=0.066, **_both("mouthStretch", 0.3),
       **_both("mouthSmile", 0.1)),
    _v("close_front", 1.2, 16, 18, True, jawOpen=0.15, mouthClose=0.054,
       **_both("mouthStretch", 0.38), **_both("mouthSmile", 0.18)),
    _v("near_close_front", 1.0, 16, 18, True, jawOpen=0.21, mouthClose=0.076,
       **_both("mouthStretch", 0.28), **_both("mouthSmile", 0.1)),
    _v("mid_front", 1.0, 16, 18, True, jawOpen=0.35, mouthClose=0.126,
       **_both("mouthStretch", 0.25), **_both("mouthLowerDown", 0.12)),
    _v("open_front", 1.0, 16, 18, True, jawOpen=0.5, mouthClose=0.18,
       **_both("mouthStretch", 0.28), **_both("mouthLowerDown", 0.22),
       **_both("mouthUpperUp", 0.08)),
    _v("open", 1.0, 16, 18, True, jawOpen=0.59, mouthClose=0.212,
       **_both("mouthLowerDown", 0.25), **_both("mouthUpperUp", 0.1)),
    _v("central", 0.5, 16, 18, True, jawOpen=0.28, mouthClose=0.101,
       **_both("mouthLowerDown", 0.08)),
    _v("mid_back_rounded", 1.6, 10, 18, True, lip_lead=0.1, jawOpen=0.39, mouthClose=0.14,
       mouthFunnel=0.5, mouthPucker=0.22, **_both("mouthLowerDown", 0.1)),
    _v("close_back_rounded", 2.2, 8, 18, True, lip_lead=0.12, jawOpen=0.16, mouthClose=0.058,
       mouthPucker=0.68, mouthFunnel=0.32),
    _v("close_rounded_front", 2.0, 8, 18, True, lip_lead=0.12, jawOpen=0.15, mouthClose=0.054,
       mouthPucker=0.55, mouthFunnel=0.2, **_both("mouthStretch", 0.05)),
    _v("neutral", 0.5, jawOpen=0.19, mouthClose=0.076),
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
