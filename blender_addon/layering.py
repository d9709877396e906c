"""Layering the user can see: our motion versus a user action on the same shape keys.

Blender plays the active action *above* every NLA track, so a user action keying ``jawOpen``
used to hide the generated jaw while Generate reported success. After the keys are written,
:func:`settle` looks for a user action on the shape keys' ``Key`` datablock that keys a
channel we wrote and, by the user's choice (:data:`LAYERING_ITEMS`):

* ``ON_TOP`` (default): the user's action moves, unchanged, into an NLA track of its own and
  ours plays in the track above it (REPLACE, influence 1);
* ``BAKE``: ours becomes the active action and takes in the user's keys (all of their other
  channels; on shared channels their keys outside our frames), the user's action moves,
  unchanged, into an NLA track below.

Either way nothing of the user's is deleted or edited; Remove Generated makes their action
active again (``actions.restore_pushed``), and the returned warning says what happened.
"""

from __future__ import annotations

import numpy as np

from . import compat, ownership
from .actions import NLA_TRACK, add_track_on_top, channel_of

LAYERING_ITEMS = [
    ("ON_TOP", "Ours on Top",
     "A user action keying the same channels moves into the NLA stack, unchanged, and ours "
     "plays above it (REPLACE, influence 1)"),
    ("BAKE", "Bake into New Action",
     "Ours becomes the active action and takes in the user's other keys; the user's action "
     "moves, unchanged, into the NLA stack"),
]

_COPIED = ("co", "handle_left", "handle_right")
_COPIED_ENUMS = ("interpolation", "handle_left_type", "handle_right_type")


def user_action(key):
    """``(action, slot)`` of the user's active action on ``key``, or ``(None, None)``."""
    anim = key.animation_data if key is not None else None
    if anim is None or anim.action is None or anim.action in ownership.owned_actions(key):
        return None, None
    return anim.action, getattr(anim, "action_slot", None)


def keyed_channels(action, slot) -> set[str]:
    """Shape keys that ``action`` (in ``slot``) keys."""
    return {c for c in (channel_of(fc.data_path) for fc in compat.action_fcurves(action, slot))
            if c is not None}


def conflicts(key, channels) -> tuple[object, list[str]]:
    """The user's active action on ``key`` and which of ``channels`` it keys."""
    action, slot = user_action(key)
    if action is None:
        return None, []
    return action, sorted(keyed_channels(action, slot) & set(channels))


def settle(obj, choice: str = "ON_TOP") -> list[str]:
    """Make our freshly written motion visible over a conflicting user action; returns the
    warnings to report (none when nothing of the user's keys our channels)."""
    key = obj.data.shape_keys
    ours = ownership.owned_actions_with_slots(key)
    if key is None or len(ours) != 1:
        return []
    action, slot = ours[0]
    user, shared = conflicts(key, keyed_channels(action, slot))
    if not shared:
        return []
    anim = key.animation_data
    user_slot = getattr(anim, "action_slot", None)
    track = _push_down(key, anim, user, user_slot)
    _drop_our_tracks(anim, action)
    listed = ", ".join(shared[:6]) + (", ..." if len(shared) > 6 else "")
    head = f"your action '{user.name}' on '{key.name}' also keys {listed}"
    if choice == "BAKE":
        _bake(action, slot, user, user_slot)
        anim.action = action
        if slot is not None:
            anim.action_slot = slot
        return [f"{head}: baked into '{action.name}' (now active) with your other keys; yours "
                f"stays unchanged in the NLA track '{track}' (Remove Generated makes it "
                f"active again)"]
    start = int(round(action.frame_range[0]))
    add_track_on_top(anim, action, slot, NLA_TRACK, start, "NOTHING")
    return [f"{head}: ours plays on top in the NLA track '{NLA_TRACK}' (Replace, influence 1); "
            f"yours stays unchanged in the NLA track '{track}' below (Remove Generated makes "
            f"it active again; Layering 'Bake into New Action' merges them instead)"]


def _push_down(key, anim, action, slot) -> str:
    """Move the user's active ``action`` into an NLA track of its own; returns its name."""
    blend, extrapolation = anim.action_blend_type, anim.action_extrapolation
    anim.action = None
    track = add_track_on_top(anim, action, slot, action.name,
                             int(round(action.frame_range[0])), extrapolation)
    track.strips[0].blend_type = blend
    ownership.set_pushed(key, action, slot, track.name)
    return track.name


def _drop_our_tracks(anim, action) -> None:
    for track in list(anim.nla_tracks):
        if track.strips and all(s.action == action for s in track.strips):
            anim.nla_tracks.remove(track)


def _curve_keys(fc) -> dict[str, np.ndarray]:
    n = len(fc.keyframe_points)
    out = {}
    for name in _COPIED:
        out[name] = np.empty(2 * n, np.float32)
        fc.keyframe_points.foreach_get(name, out[name])
    for name in _COPIED_ENUMS:
        out[name] = np.empty(n, np.int32)
        fc.keyframe_points.foreach_get(name, out[name])
    return out


def _set_curve_keys(fc, keys: dict[str, np.ndarray]) -> None:
    n = len(keys["interpolation"])
    fc.keyframe_points.clear()
    fc.keyframe_points.add(n)
    for name, values in keys.items():
        fc.keyframe_points.foreach_set(name, values)
    fc.update()


def _bake(action, slot, user, user_slot) -> None:
    """Copy the user's F-curves into our action: whole curves for channels we do not key;
    on shared channels their keys outside our frame range around ours."""
    bag = compat.channelbag_for(action, slot) if slot is not None else action
    ours = {(fc.data_path, fc.array_index): fc for fc in bag.fcurves}
    first, last = action.frame_range
    for theirs in compat.action_fcurves(user, user_slot):
        keys = _curve_keys(theirs)
        mine = ours.get((theirs.data_path, theirs.array_index))
        if mine is None:
            fc = bag.fcurves.new(theirs.data_path, index=theirs.array_index)
            fc.extrapolation = theirs.extrapolation
            _set_curve_keys(fc, keys)
            continue
        _set_curve_keys(mine, _merge_outside(_curve_keys(mine), keys, theirs, first, last))


def _merge_outside(ours: dict, theirs: dict, curve, first: float, last: float) -> dict:
    """Our keys, the user's keys outside ``first..last``, and the user's curve sampled one
    frame either side of ours, so that their animation plays on unchanged around ours."""
    edges = {name: ours[name][: 2 if name in _COPIED else 1].copy() for name in ours}
    sampled = {name: [] for name in ours}
    for frame in (first - 1, last + 1):
        value = curve.evaluate(frame)
        for name in _COPIED:
            sampled[name].append(np.array([frame, value], np.float32))
        for name in _COPIED_ENUMS:
            sampled[name].append(edges[name])
    frames = theirs["co"][0::2]
    outside = (frames < first - 1) | (frames > last + 1)
    merged = {}
    for name in ours:
        width = 2 if name in _COPIED else 1
        kept = theirs[name].reshape(-1, width)[outside].ravel()
        merged[name] = np.concatenate([ours[name], kept, *sampled[name]])
    order = np.argsort(merged["co"][0::2], kind="stable")
    for name, values in merged.items():
        width = 2 if name in _COPIED else 1
        merged[name] = values.reshape(-1, width)[order].ravel()
    return merged
