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
    """True for the channels of the upper face (brows, lids)."""
    upper = set(UPPER_FACE_CHANNELS)
    return [name in upper for name in names]
