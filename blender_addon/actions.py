"""Our animation on a mesh's shape keys: one slotted action, never the user's.

The action is marked with ``action["diffusiontalker"]`` and recorded as ours by identity
(``ownership.py``: a generation tag on the action, its name on the Key datablock). When the
Key datablock has no action of the user's, ours becomes its active action (directly
editable); otherwise ours goes into an NLA track named :data:`NLA_TRACK` and the user's
action stays active and untouched -- unless it keys a channel we write, which
``layering.py`` settles afterwards. Keys are written in bulk (``keyframe_points.add`` +
``foreach_set``).
"""

from __future__ import annotations

import array
import re

import bpy
import numpy as np

from . import ownership
from .compat import action_fcurves, channelbag_for

MARKER = "diffusiontalker"
NLA_TRACK = "DiffusionTalker"
_INTERPOLATION = {"CONSTANT": 0, "LINEAR": 1}
_KEY_PATH = re.compile(r'^key_blocks\["(.*)"\]\.value$')


def channel_of(data_path: str) -> str | None:
    """``key_blocks["jawOpen"].value`` -> ``jawOpen`` (None for other paths)."""
    found = _KEY_PATH.match(data_path)
    return found.group(1).replace('\\"', '"').replace("\\\\", "\\") if found else None


def is_ours(action) -> bool:
    return action is not None and bool(action.get(MARKER, False))


def new_key_action(key: bpy.types.Key, name: str, first_frame: int, hook: bool = True):
    """Create our action for ``key`` and (``hook``) hook it up; returns ``(action,
    channelbag)``. An action not hooked up (a stored take) keeps a fake user."""
    action = bpy.data.actions.new(name)
    action[MARKER] = True
    ownership.record_action(key, action)
    slotted = hasattr(action, "slots")  # Blender 4.4+; 4.2/4.3 keep F-curves on the action
    slot = action.slots.new(id_type="KEY", name=key.name) if slotted else None
    bag = channelbag_for(action, slot) if slotted else action
    if not hook:
        action.use_fake_user = True
        return action, bag
    anim = key.animation_data or key.animation_data_create()
    if anim.action is None:
        anim.action = action
        if slotted:
            anim.action_slot = slot
    else:
        add_track_on_top(anim, action, slot, NLA_TRACK, int(first_frame), "NOTHING")
    return action, bag


def add_track_on_top(anim, action, slot, track_name: str, start: int, extrapolation: str):
    """A new NLA track above all others holding ``action`` (REPLACE, influence 1)."""
    track = anim.nla_tracks.new()
    track.name = track_name
    strip = track.strips.new(action.name, int(start), action)
    if slot is not None and hasattr(strip, "action_slot"):
        strip.action_slot = slot
    strip.extrapolation = extrapolation
    strip.blend_type = "REPLACE"
    strip.influence = 1.0
    return track


def finish_nla(key: bpy.types.Key, action) -> None:
    """After keys are written, stretch our NLA strip (if any) over the action's range."""
    _remember_values(key, action)
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


def _remember_values(key, action) -> None:
    """Record the still values of the shape keys ``action`` keys (before playback changes
    them), so that Remove Generated can put them back."""
    slots = list(getattr(action, "slots", ())) or [None]
    names = {channel_of(fc.data_path) for fc in action_fcurves(action, slots[0])}
    blocks = key.key_blocks
    ownership.record_values(key, {n: blocks[n].value for n in names if n in blocks})


KEY_TYPE_KEYFRAME, KEY_TYPE_GENERATED = 0, 5  # Keyframe.type as foreach_set's integers


def swap_action(place, action) -> None:
    """Play ``action`` where ``place`` (animation data, or an NLA strip) plays one of ours now:
    its first slot, and a strip's frame range; the action it replaces is kept in the file
    (fake user), as a stored take."""
    if place.action == action:
        return
    place.action.use_fake_user = True
    place.action = action
    slots = list(getattr(action, "slots", ()))
    if slots and hasattr(place, "action_slot"):
        place.action_slot = slots[0]
    if isinstance(place, bpy.types.NlaStrip):
        start, end = action.frame_range
        place.action_frame_start, place.action_frame_end = start, end


def key_curve(bag, data_path: str, frames, values, interpolation: str = "LINEAR",
              users: np.ndarray | None = None, index: int = 0) -> None:
    """One F-curve (``data_path``, array ``index``) with a key at each ``(frame, value)``,
    written in bulk. Our keys have the keyframe type Generated (small dots in the timeline);
    ``users`` (bool per frame) marks the animator's keys, typed Keyframe, which "Keep my
    keys" reads back."""
    frames = np.asarray(frames, np.float32)
    values = np.asarray(values, np.float32)
    fc = bag.fcurves.new(data_path, index=index)
    fc.keyframe_points.add(len(frames))
    co = np.empty(2 * len(frames), np.float32)
    co[0::2], co[1::2] = frames, values
    fc.keyframe_points.foreach_set("co", co)
    fc.keyframe_points.foreach_set("interpolation", [_INTERPOLATION[interpolation]] * len(frames))
    types = np.full(len(frames), KEY_TYPE_GENERATED, np.int32)
    if users is not None:
        types[np.asarray(users, bool)] = KEY_TYPE_KEYFRAME
    fc.keyframe_points.foreach_set("type", types)
    fc.update()


def shape_key_path(name: str) -> str:
    return f'key_blocks["{bpy.utils.escape_identifier(name)}"].value'


def remove_our_actions(key: bpy.types.Key | None) -> None:
    """Unhook and delete our actions from ``key``; put back a user action that layering
    moved into the NLA stack. The user's own actions, tracks and strips stay (a track is
    removed only when every strip in it is ours)."""
    if key is None:
        return
    owned = ownership.owned_actions(key)
    anim = key.animation_data
    if anim is not None:
        if anim.action is not None and anim.action in owned:
            anim.action = None
        for track in list(anim.nla_tracks):
            strips = list(track.strips)
            ours = [s for s in strips if s.action is not None and s.action in owned]
            if ours and len(ours) == len(strips):
                anim.nla_tracks.remove(track)
            else:
                for strip in ours:
                    track.strips.remove(strip)
        restore_pushed(key)
    for action in owned:
        bpy.data.actions.remove(action)
    for name, value in ownership.recorded_values(key).items():
        if name in key.key_blocks:
            key.key_blocks[name].value = value
    ownership.forget_actions(key)
    ownership.clear_pushed(key)


def restore_pushed(key) -> None:
    """Make the user's action that layering moved into an NLA track active again (when the
    track still holds just that action and nothing else is active)."""
    record = ownership.pushed(key)
    anim = key.animation_data
    if record is None or anim is None or anim.action is not None:
        return
    action = bpy.data.actions.get(record["action"])
    track = anim.nla_tracks.get(record["track"])
    if action is None or track is None or len(track.strips) != 1 \
            or track.strips[0].action != action:
        return
    strip = track.strips[0]
    blend, influence = strip.blend_type, anim.action_influence
    anim.nla_tracks.remove(track)
    anim.action = action
    slot = action.slots.get(record["slot"]) if hasattr(action, "slots") else None
    if slot is not None:
        anim.action_slot = slot
    anim.action_blend_type, anim.action_influence = blend, influence


WRITTEN = "diffusiontalker_written"  # on our action: {"first": frame, channel: float32 values}


def remember_written(action, channels, frames, weights) -> None:
    """Keep the values we keyed (float32, one per frame from ``frames[0]``), so a key the
    animator edits or inserts later is told from ours (``direction.user_keys``)."""
    record = {"first": int(frames[0])}
    for k, channel in enumerate(channels):
        record[channel] = array.array("f", np.ascontiguousarray(weights[:, k], np.float32).tobytes())
    action[WRITTEN] = record


def written_values(action, channel: str) -> tuple[int, np.ndarray] | None:
    """``(first frame, values)`` we keyed for ``channel`` in ``action``, or None."""
    record = action.get(WRITTEN) if action is not None else None
    if record is None or channel not in record:
        return None
    return int(record["first"]), np.asarray(record[channel], np.float32)
