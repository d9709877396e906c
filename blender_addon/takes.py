"""Takes: several generated takes of one strip, one playing, the others kept as actions.

A Generate with Takes = N writes one action per take (seeds ``seed .. seed + N - 1``, sampled
together by the core's ``generate_takes``). The first plays, exactly as a single take does
(the active action, or our NLA track over a user action); the others are stored, unplayed,
with a fake user so saving the .blend keeps them. The list lives on the shape keys' ``Key``
datablock (:data:`TAKES`: action name and seed per take); :func:`use_take` swaps which one
plays — one assignment (two with Head Motion: each take keeps its own head rotation action,
``head_motion.store``/``play``), so one undo step. Every take is recorded as ours
(``ownership.record_action``): Remove Generated and the next Generate remove them all.
"""

from __future__ import annotations

import bpy

from . import head_motion, ownership
from .actions import swap_action

TAKES = "diffusiontalker_takes"


def record_takes(key, actions: list, seeds: list[int], heads: list | None = None) -> None:
    """Remember the takes of the last Generate (first = playing); ``heads``: each take's head
    rotation action (``head_motion``), where Head Motion wrote them."""
    heads = heads or [None] * len(actions)
    key[TAKES] = [{"action": a.name, "seed": int(s), "head": h.name if h is not None else ""}
                  for a, s, h in zip(actions, seeds, heads, strict=True)]


def head_action(key, index: int):
    """Take ``index``'s head rotation action, or None (no Head Motion, or deleted)."""
    if key is None or TAKES not in key or not 0 <= index < len(key[TAKES]):
        return None
    name = str(key[TAKES][index].get("head", ""))
    return bpy.data.actions.get(name) if name else None


def forget_takes(key) -> None:
    if key is not None and TAKES in key:
        del key[TAKES]


def takes(key) -> list[tuple[object, int]]:
    """``(action or None when it was deleted, seed)`` per recorded take."""
    if key is None or TAKES not in key:
        return []
    owned = {a.name: a for a in ownership.owned_actions(key)}
    return [(owned.get(str(t["action"])), int(t["seed"])) for t in key[TAKES]]


def playing_holder(key):
    """``(holder, attribute)`` where our playing action sits: the Key's animation data (active
    action) or our NLA strip; ``(None, None)`` when nothing of ours plays."""
    anim = key.animation_data if key is not None else None
    if anim is None:
        return None, None
    owned = ownership.owned_actions(key)
    if anim.action is not None and anim.action in owned:
        return anim, "action"
    for track in anim.nla_tracks:
        for strip in track.strips:
            if strip.action is not None and strip.action in owned:
                return strip, "action"
    return None, None


def active_take(key) -> int | None:
    """The index of the take that plays, or None."""
    holder, _ = playing_holder(key)
    if holder is None:
        return None
    for i, (action, _seed) in enumerate(takes(key)):
        if action is not None and holder.action == action:
            return i
    return None


def use_take(obj, index: int) -> str:
    """Make take ``index`` the one that plays (its keys replace the playing take's on the same
    frames; nothing is deleted). Returns a message; raises ValueError for a bad choice."""
    key = obj.data.shape_keys if obj is not None and obj.type == "MESH" else None
    found = takes(key)
    if not 0 <= index < len(found) or found[index][0] is None:
        raise ValueError(f"there is no take {index + 1} on '{getattr(obj, 'name', '')}'")
    holder, _ = playing_holder(key)
    if holder is None:
        raise ValueError(f"no generated take plays on '{obj.name}'; generate first")
    action, seed = found[index]
    swap_action(holder, action)  # the take that played is stored, kept in the file
    head = head_action(key, index)
    turned = head is not None and head_motion.play(obj, head)
    also = " with its head motion" if turned else ""
    return f"take {index + 1} (variation {seed}) plays on '{obj.name}'{also}"
