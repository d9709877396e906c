"""Articulation channels: ARKit-style blendshape names used by the `channels` motion space.

The order here is the canonical channel order of the synthetic corpus and the default model;
a checkpoint records its own channel names, so other orders are fine elsewhere.
"""

from __future__ import annotations

MOUTH_CHANNELS: tuple[str, ...] = (
    "jawOpen",
    "mouthClose",
    "mouthFunnel",
    "mouthPucker",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "cheekPuff",
)

UPPER_FACE_CHANNELS: tuple[str, ...] = (
    "browInnerUp",
    "browOuterUpLeft",
    "browOuterUpRight",
    "browDownLeft",
    "browDownRight",
    "eyeBlinkLeft",
    "eyeBlinkRight",
)

CHANNELS: tuple[str, ...] = MOUTH_CHANNELS + UPPER_FACE_CHANNELS

# The 52 blendshapes of Apple ARKit (``ARFaceAnchor.BlendShapeLocation``), in the order of
# Apple's documentation: left eye, right eye, mouth and jaw, eyebrows, cheeks, nose, tongue.
# "Left"/"Right" are the subject's own. CHANNELS above is a subset of these names.
ARKIT_CHANNELS: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft",
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight",
    "jawForward", "jawLeft", "jawRight", "jawOpen",
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
    "noseSneerLeft", "noseSneerRight",
    "tongueOut",
)


def pascal_case(name: str) -> str:
    """ARKit's camelCase name as tools that capitalise it write it: ``jawOpen`` -> ``JawOpen``
    (Live Link Face's CSV columns, Unreal's ``EARFaceBlendShape``)."""
    return name[:1].upper() + name[1:]


def camel_case(name: str) -> str:
    """The inverse of :func:`pascal_case`: ``JawOpen`` -> ``jawOpen``."""
    return name[:1].lower() + name[1:]


def channel_index(names: tuple[str, ...] | list[str] = CHANNELS) -> dict[str, int]:
    """Map each channel name to its column."""
    return {name: i for i, name in enumerate(names)}


def upper_face_mask(names: tuple[str, ...] | list[str] = CHANNELS) -> list[bool]:
    """True for the channels of the upper face (brows, lids, gaze; see :func:`channel_region`)."""
    return region_mask(names, "upper")


# Head rotation in radians (Live Link Face's HeadYaw/HeadPitch/HeadRoll, camelCase, with the
# signs the capture writes): yaw about the head's vertical axis, pitch about its ear-to-ear
# axis, roll about its front-to-back axis. They are motion channels like the blendshapes but
# are written as rotation keys, never as shape keys.
HEAD_ROTATION_CHANNELS: tuple[str, ...] = ("headYaw", "headPitch", "headRoll")

# Eye gaze is carried by ARKit's own eyeLook* blendshapes (weights in [0, 1]).
GAZE_CHANNELS: tuple[str, ...] = tuple(n for n in ARKIT_CHANNELS if n.startswith("eyeLook"))

# The full face of the v2 corpus and default model: all 52 ARKit blendshapes (ARKit's order)
# followed by the head rotation.
FULL_FACE_CHANNELS: tuple[str, ...] = ARKIT_CHANNELS + HEAD_ROTATION_CHANNELS


def shape_channels(names: tuple[str, ...] | list[str]) -> list[str]:
    """The channels among ``names`` that are shape keys (everything but head rotation)."""
    head = set(HEAD_ROTATION_CHANNELS)
    return [name for name in names if name not in head]


def is_head_rotation(name: str) -> bool:
    """True for ``headYaw``, ``headPitch`` and ``headRoll`` (radians, written as rotation)."""
    return name in HEAD_ROTATION_CHANNELS


_MOUTH_PREFIXES = ("jaw", "mouth", "tongue")


def channel_region(name: str) -> str:
    """``"head"`` (rotation), ``"mouth"`` (jaw, lips, ``cheekPuff``, tongue) or ``"upper"``
    (eyes, lids, gaze, brows, ``cheekSquint``, ``noseSneer``): the face regions the metrics
    score separately (lip-sync on the mouth, FDD on the upper face). On the v1 ``CHANNELS`` this
    gives exactly ``MOUTH_CHANNELS`` and ``UPPER_FACE_CHANNELS``."""
    if name in HEAD_ROTATION_CHANNELS:
        return "head"
    if name.startswith(_MOUTH_PREFIXES) or name == "cheekPuff":
        return "mouth"
    return "upper"


def region_mask(names: tuple[str, ...] | list[str], region: str) -> list[bool]:
    """True for the channels of ``names`` in ``region`` (see :func:`channel_region`)."""
    return [channel_region(name) == region for name in names]


def lip_opening(weights, names: tuple[str, ...] | list[str]):
    """Effective lip opening per frame from channel weights ``(T, K)`` named ``names``:
    max(jawOpen − mouthClose, 0) + mean(mouthLowerDownL/R) + mean(mouthUpperUpL/R) — the jaw's
    opening not cancelled by ARKit's ``mouthClose``, plus the lips' own vertical movement (0:
    the lips touch). A missing lip channel counts as 0; ``jawOpen`` is required."""
    import numpy as np

    names = list(names)
    if "jawOpen" not in names:
        raise ValueError("the lip opening needs a jawOpen channel")
    weights = np.asarray(weights, np.float64)

    def column(name: str):
        return weights[:, names.index(name)] if name in names else np.zeros(len(weights))

    def pair(stem: str):
        return 0.5 * (column(stem + "Left") + column(stem + "Right"))

    return (np.maximum(column("jawOpen") - column("mouthClose"), 0.0)
            + pair("mouthLowerDown") + pair("mouthUpperUp"))
