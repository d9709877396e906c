"""Speaking identities: an eSpeak NG voice plus prosody, paired with a motion style.

Each identity's motion style is fixed and tied to its voice, so a model can learn to find the
style from the voice (the DiffusionTalker identity library, arXiv 2311.16565 Sec. 3.2). The
parameters are the axes along which real speakers differ in how they articulate: how far the
jaw opens versus how much the lips work, asymmetry, a resting smile, timing relative to the
sound, brow expressiveness, blink rate and smoothness, and for the rest of the face (v2): how
much the head moves and nods, where and how often the eyes look, how a smile reaches the eyes,
the jaw's and mouth's side drift, frowns and shrugs at phrase ends, dimples.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from ..errors import DiffusionTalkerError


@dataclass(frozen=True)
class MotionStyle:
    """How one identity moves. Gains multiply channel groups (1 = the articulation model's
    neutral speaker); ``jaw_lip_emphasis`` in [-1, 1] moves effort from the lips (< 0) to the
    jaw (> 0); ``asymmetry`` > 0 favours the left side; ``lead`` (seconds) > 0 moves the mouth
    ahead of the sound (never negative: the mouth is never late for a phone); ``smoothness`` > 1
    blends neighbouring visemes more.

    The full face (``synth.full_face``): ``head_gain`` scales head rotation (nods, drift, the
    question tilt), ``nod_rate`` is the chance of a nod on a stressed syllable, ``gaze_range``
    the largest eyeLook weight, ``gaze_hold`` the mean fixation in seconds, ``squint`` how
    much a smile narrows the eyes (eyeSquint, cheekSquint), ``jaw_side`` and ``mouth_drift``
    the sideways drift of jaw and mouth, ``frown_end`` the mouthFrown at phrase ends,
    ``shrug`` the chance of a mouthShrug at a phrase end, ``dimple`` mouthDimple per smile."""

    jaw_gain: float = 1.0
    round_gain: float = 1.0
    spread_gain: float = 1.0
    vertical_gain: float = 1.0
    press_gain: float = 1.0
    jaw_lip_emphasis: float = 0.0
    asymmetry: float = 0.0
    smile_bias: float = 0.0
    lead: float = 0.0
    smoothness: float = 1.0
    loudness_coupling: float = 0.5
    brow_gain: float = 0.6
    brow_rate: float = 0.35
    frown: float = 0.0
    blink_rate: float = 16.0
    cheek_puff: float = 0.3
    jitter: float = 0.02
    head_gain: float = 1.0
    nod_rate: float = 0.45
    gaze_range: float = 0.25
    gaze_hold: float = 1.4
    squint: float = 0.5
    jaw_side: float = 0.03
    mouth_drift: float = 0.03
    frown_end: float = 0.08
    shrug: float = 0.3
    dimple: float = 0.3


@dataclass(frozen=True)
class Identity:
    """A synthetic speaker: readable name, eSpeak voice (``language+variant``), prosody and
    motion style."""

    name: str
    voice: str
    rate: int
    pitch: int
    pitch_range: int
    style: MotionStyle = field(default_factory=MotionStyle)
    language: str = "en"
    description: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


S = MotionStyle
IDENTITIES: tuple[Identity, ...] = (
    Identity("ada", "en-us+f2", 165, 62, 60, S(0.85, 1.35, 1.1, 0.9, 1.1, -0.35, -0.06, 0.04,
             0.024, 0.9, 0.55, 0.9, 0.5, 0.0, 18), description="bright US alto, lively lips"),
    Identity("bruno", "en-gb-x-rp+m3", 150, 38, 40, S(1.35, 0.8, 0.8, 1.2, 1.0, 0.45, -0.12,
             0.0, 0.012, 1.25, 0.6, 0.4, 0.25, 0.25, 10), description="deep RP baritone, big jaw"),
    Identity("cora", "en-gb-scotland+f3", 180, 55, 70, S(1.0, 1.0, 1.3, 1.1, 0.9, 0.0, -0.04,
             0.28, 0.016, 0.85, 0.5, 1.1, 0.6, 0.0, 22), description="quick Scottish, smiley"),
    Identity("dmitri", "en-us+m1", 140, 30, 25, S(0.7, 0.7, 0.7, 0.7, 1.3, -0.1, -0.25, 0.0,
             0.004, 1.5, 0.35, 0.2, 0.15, 0.45, 8), description="low monotone, tight lips"),
    Identity("esme", "en-gb-x-rp+f4", 170, 70, 55, S(0.9, 1.45, 0.85, 1.0, 1.0, -0.25, 0.0,
             0.05, 0.028, 1.0, 0.5, 0.8, 0.45, 0.0, 14), description="high RP, rounded lips"),
    Identity("felix", "en-us-nyc+m4", 195, 48, 65, S(1.2, 1.0, 1.1, 1.25, 0.8, 0.2, 0.1, 0.1,
             0.02, 0.75, 0.65, 1.2, 0.7, 0.1, 26), description="fast New York, animated"),
    Identity("greta", "en-gb-x-gbcwmd+f1", 155, 58, 45, S(1.05, 0.9, 1.0, 0.8, 1.2, 0.1, -0.2,
             0.12, 0.008, 1.15, 0.45, 0.5, 0.3, 0.2, 12), description="Welsh lilt, left-leaning"),
    Identity("hugo", "en-029+m2", 160, 44, 55, S(1.15, 1.3, 0.9, 1.1, 0.9, 0.15, -0.02, 0.2,
             0.016, 1.05, 0.55, 0.7, 0.4, 0.0, 20), description="Caribbean, warm smile"),
    Identity("ines", "en+f5", 175, 66, 80, S(0.8, 0.85, 1.45, 0.9, 0.8, -0.4, 0.0, 0.42, 0.024,
             0.8, 0.5, 1.0, 0.55, 0.0, 28), description="wide smile, blinks a lot"),
    Identity("jonas", "en-gb-x-gbclan+m5", 145, 42, 35, S(1.05, 0.85, 0.75, 1.45, 1.3, 0.15,
             -0.22, 0.0, 0.0, 1.35, 0.6, 0.3, 0.2, 0.35, 9), description="Lancashire, slow, late lips"),
    Identity("kiri", "en-us+f3", 185, 60, 50, S(0.95, 1.2, 1.2, 1.0, 1.0, -0.15, 0.26, 0.15,
             0.032, 0.9, 0.45, 0.9, 0.5, 0.05, 16), description="US, right-leaning smirk"),
    Identity("pavel", "en-029+m3", 135, 36, 40, S(1.4, 0.95, 0.85, 1.2, 1.05, 0.4, 0.12, 0.2,
             0.016, 1.4, 0.65, 0.55, 0.3, 0.1, 17), description="slow Caribbean bass, open jaw"),
    Identity("leo", "en-gb-x-rp+m7", 170, 52, 60, S(1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.06,
             0.016, 1.0, 0.5, 0.6, 0.4, 0.1, 15), description="the average speaker"),
    Identity("mara", "en-us-nyc+f1", 150, 50, 30, S(1.1, 0.75, 0.9, 0.85, 1.35, 0.25, 0.1,
             0.0, 0.016, 1.3, 0.4, 0.35, 0.3, 0.7, 11), description="flat, pressed lips, frowns"),
    Identity("nils", "en+m6", 200, 46, 70, S(0.9, 1.3, 1.05, 1.15, 0.9, -0.2, 0.14, 0.08,
             0.036, 0.7, 0.7, 1.0, 0.65, 0.0, 24), description="rapid, leading lips"),
    Identity("olga", "en-gb-scotland+f4", 160, 40, 45, S(1.25, 1.1, 0.85, 1.05, 1.0, 0.3,
             -0.18, 0.02, 0.008, 1.1, 0.6, 0.8, 0.35, 0.25, 13), description="low Scottish alto"),
)
# The rest of each identity's face: head_gain, nod_rate, gaze_range, gaze_hold, squint,
# jaw_side, mouth_drift, frown_end, shrug, dimple (see MotionStyle).
_FULL_FACE: dict[str, tuple[float, ...]] = {
    "ada": (1.2, 0.55, 0.28, 1.1, 0.6, 0.03, 0.04, 0.04, 0.35, 0.4),
    "bruno": (0.8, 0.35, 0.18, 2.0, 0.3, 0.05, 0.02, 0.12, 0.25, 0.15),
    "cora": (1.3, 0.6, 0.32, 0.9, 0.9, 0.02, 0.03, 0.02, 0.2, 0.7),
    "dmitri": (0.45, 0.15, 0.12, 2.6, 0.2, 0.02, 0.015, 0.15, 0.1, 0.1),
    "esme": (1.0, 0.45, 0.22, 1.5, 0.5, 0.025, 0.05, 0.05, 0.4, 0.3),
    "felix": (1.6, 0.7, 0.38, 0.7, 0.6, 0.04, 0.05, 0.08, 0.5, 0.35),
    "greta": (1.1, 0.4, 0.25, 1.6, 0.55, 0.06, 0.03, 0.1, 0.3, 0.45),
    "hugo": (1.25, 0.5, 0.3, 1.2, 0.85, 0.035, 0.035, 0.03, 0.3, 0.6),
    "ines": (0.9, 0.45, 0.35, 0.8, 1.0, 0.02, 0.04, 0.02, 0.2, 0.8),
    "jonas": (0.7, 0.3, 0.15, 2.2, 0.35, 0.045, 0.02, 0.14, 0.35, 0.2),
    "kiri": (1.15, 0.5, 0.27, 1.3, 0.7, 0.03, 0.06, 0.05, 0.45, 0.5),
    "pavel": (0.85, 0.4, 0.2, 1.8, 0.6, 0.05, 0.025, 0.09, 0.2, 0.4),
    "leo": (1.0, 0.45, 0.25, 1.4, 0.5, 0.03, 0.03, 0.08, 0.3, 0.3),
    "mara": (0.6, 0.25, 0.14, 2.4, 0.25, 0.035, 0.02, 0.22, 0.45, 0.1),
    "nils": (1.45, 0.65, 0.33, 0.75, 0.55, 0.025, 0.045, 0.04, 0.4, 0.35),
    "olga": (0.95, 0.4, 0.2, 1.7, 0.45, 0.04, 0.035, 0.11, 0.25, 0.25),
}
_FACE_FIELDS = ("head_gain", "nod_rate", "gaze_range", "gaze_hold", "squint", "jaw_side",
                "mouth_drift", "frown_end", "shrug", "dimple")
IDENTITIES = tuple(replace(i, style=replace(i.style, **dict(zip(
    _FACE_FIELDS, _FULL_FACE[i.name], strict=True)))) for i in IDENTITIES)
# Whole identities kept out of training: test clips only.
HELD_OUT_IDENTITIES: tuple[str, ...] = ("kiri", "pavel")


def get_identity(name: str) -> Identity:
    """The identity called ``name``."""
    for identity in IDENTITIES:
        if identity.name == name:
            return identity
    known = ", ".join(i.name for i in IDENTITIES)
    raise DiffusionTalkerError(f"unknown synthetic identity {name!r}; known: {known}")
