"""Our animation on a mesh's shape keys: one slotted action, never the user's.

The action is marked with ``action["diffusiontalker"]``. When the Key datablock has no
action of the user's, ours becomes its active action (directly editable); otherwise ours goes
into an NLA track named :data:`NLA_TRACK` and the user's action stays active and untouched.
Keys are written in bulk (``keyframe_points.add`` + ``foreach_set``).
"""

from __future__ import annotations

import bpy
import numpy as np

from .compat import channelbag_for

MARKER = "diffusiontalker"
NLA_TRACK = "DiffusionTalker"
_INTERPOLATION = {"CONSTANT": 0, "LINEAR": 1}


def is_ours(action) -> bool:
    return action is not None and bool(action.get(MARKER, False))


def new_key_action(key: bpy.types.Key, name: str, first_frame: int):
    """Create our action for ``key`` and hook it up; returns ``(action, channelbag)``."""
    action = bpy.data.actions.new(name)
    action[MARKER] = True
    slotted = hasattr(action, "slots")  # Blender 4.4+; 4.2/4.3 keep F-curves on the action
    slot = action.slots.new(id_type="KEY", name=key.name) if slotted else None
    bag = channelbag_for(action, slot) if slotted else action
    anim = key.animation_data or key.animation_data_create()
    if anim.action is None:
        anim.action = action
        if slotted:
            anim.action_slot = slot
    else:
        track = anim.nla_tracks.new()
        track.name = NLA_TRACK
        strip = track.strips.new(name, int(first_frame), action)
        if slotted:
            strip.action_slot = slot
        strip.extrapolation = "NOTHING"
    return action, bag


def finish_nla(key: bpy.types.Key, action) -> None:
    """After keys are written, stretch our NLA strip (if any) over the action's range."""
    anim = key.animation_data
    if anim is None:
        return
    for track in anim.nla_tracks:
        if track.name != NLA_TRACK:
            continue
        for strip in track.strips:
            if strip.action == action:
                start, end = action.frame_range
                strip.action_frame_start, strip.action_frame_end = start, end
                strip.frame_end = strip.frame_start + (end - start)


def key_curve(bag, data_path: str, frames, values, interpolation: str = "LINEAR") -> None:
    """One F-curve with a key at each ``(frame, value)``, written in bulk."""
    frames = np.asarray(frames, np.float32)
    values = np.asarray(values, np.float32)
    fc = bag.fcurves.new(data_path)
    fc.keyframe_points.add(len(frames))
    co = np.empty(2 * len(frames), np.float32)
    co[0::2], co[1::2] = frames, values
    fc.keyframe_points.foreach_set("co", co)
    fc.keyframe_points.foreach_set("interpolation", [_INTERPOLATION[interpolation]] * len(frames))
    fc.update()


def shape_key_path(name: str) -> str:
    return f'key_blocks["{bpy.utils.escape_identifier(name)}"].value'


def remove_our_actions(key: bpy.types.Key | None) -> None:
    """Unhook and delete our actions from ``key`` (the user's action and tracks stay)."""
    if key is None or key.animation_data is None:
        return
    anim = key.animation_data
    doomed = []
    if is_ours(anim.action):
        doomed.append(anim.action)
        anim.action = None
    for track in list(anim.nla_tracks):
        if track.name == NLA_TRACK:
            doomed.extend(s.action for s in track.strips if is_ours(s.action))
            anim.nla_tracks.remove(track)
    for action in doomed:
        if action.name in bpy.data.actions:
            bpy.data.actions.remove(action)
