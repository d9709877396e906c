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


def channel_index(names: tuple[str, ...] | list[str] = CHANNELS) -> dict[str, int]:
    """Map each channel name to its column."""
    return {name: i for i, name in enumerate(names)}


def upper_face_mask(names: tuple[str, ...] | list[str] = CHANNELS) -> list[bool]:
    """True for the channels of the upper face (brows, lids)."""
    upper = set(UPPER_FACE_CHANNELS)
    return [name in upper for name in names]
