"""What Generate made, recognised by identity, never by name alone.

A user's own shape key called ``DT notes``, or one they make later with exactly the name of
one of ours, must never be touched. Blender cannot store custom properties on a shape key
(``ShapeKey`` items, NLA tracks and strips and modifiers refuse ID properties; checked with
bpy 5.0), so the record lives on the datablocks that can hold one:

* the shape keys' ``Key`` datablock carries :data:`REGISTRY`, a group with the ``generation``
  id of the latest Generate, ``keys`` (name -> a fingerprint of the shape we wrote: its
  offsets from its reference key at a few vertices and their total size), ``actions``
  (name -> generation id) and ``pushed`` (a user action that layering moved into the NLA
  stack, see ``layering.py``);
* each of our actions carries :data:`TAG` = its generation id (and ``actions.MARKER``).

A shape key is ours only when its name is recorded *and* its shape still matches the
fingerprint (offsets, so editing the basis, which Blender propagates, does not disown it); an
action only when its name is recorded *and* its tag equals the recorded id (a user's
duplicate of our action gets another name, so it is theirs).
"""

from __future__ import annotations

import math
import uuid

import bpy
import numpy as np

REGISTRY = "diffusiontalker_owned"
TAG = "diffusiontalker_generation"
_SAMPLES = 8  # vertices with the largest offsets, kept in a key's fingerprint
_TOLERANCE = 1e-4


def registry(key, create: bool = False):
    """The ownership record on ``key`` (an ID property group), or None."""
    if key is None:
        return None
    if REGISTRY not in key and create:
        key[REGISTRY] = {"generation": uuid.uuid4().hex, "keys": {}, "actions": {}}
    return key.get(REGISTRY)


def generation(key) -> str:
    """The id of the Generate writing to ``key`` now (made when the record is new)."""
    return str(registry(key, create=True)["generation"])


def start_new_generation(key) -> None:
    """The next things recorded on ``key`` belong to a new Generate."""
    record = registry(key)
    if record is not None:
        record["generation"] = uuid.uuid4().hex


def _coords(block) -> np.ndarray:
    co = np.empty(len(block.data) * 3, np.float32)
    block.data.foreach_get("co", co)
    return co.reshape(-1, 3)


def _offsets(block) -> np.ndarray:
    ref = block.relative_key
    if ref is None or ref == block:
        return np.zeros((len(block.data), 3), np.float32)
    return _coords(block) - _coords(ref)


def fingerprint(block) -> list[float]:
    """``[vertices, total |offset|, (index, dx, dy, dz) x up to 8]`` of a shape key."""
    off = _offsets(block).astype(np.float64)
    size = np.abs(off).sum(axis=1)
    picked = np.argsort(-size, kind="stable")[:_SAMPLES]
    out = [float(len(off)), float(size.sum())]
    for i in picked:
        out += [float(i), *map(float, off[i])]
    return out


def matches(block, stored) -> bool:
    """Whether ``block`` still has the shape recorded as ``stored`` (see :func:`fingerprint`)."""
    stored = list(stored)
    off = _offsets(block).astype(np.float64)
    if len(stored) < 2 or len(off) != int(stored[0]):
        return False
    if not math.isclose(float(np.abs(off).sum()), stored[1], rel_tol=1e-3, abs_tol=_TOLERANCE):
        return False
    for j in range(2, len(stored) - 3, 4):
        i = int(stored[j])
        if np.abs(off[i] - np.asarray(stored[j + 1:j + 4])).max() > _TOLERANCE:
            return False
    return True


def record_keys(key, blocks) -> None:
    """Note ``blocks`` (just written by us) as ours."""
    keys = registry(key, create=True)["keys"]
    for block in blocks:
        keys[block.name] = fingerprint(block)


def owned_key_names(key) -> list[str]:
    """Names of the shape keys on ``key`` that are ours (recorded name and matching shape)."""
    record = registry(key)
    if record is None:
        return []
    blocks = key.key_blocks
    return [name for name, stored in record["keys"].items()
            if name in blocks and matches(blocks[name], stored)]


def forget_keys(key, keep: set[str] = frozenset()) -> None:
    """Drop every recorded key except ``keep`` (removed ones, and ones no longer ours)."""
    record = registry(key)
    if record is None:
        return
    keys = record["keys"]
    for name in [n for n in keys.keys() if n not in keep]:
        del keys[name]


def record_action(key, action) -> None:
    """Tag ``action`` with the current generation and note it as ours on ``key``."""
    gen = generation(key)
    action[TAG] = gen
    registry(key)["actions"][action.name] = gen


def owned_actions(key) -> list:
    """Our actions recorded on ``key`` (recorded name and matching tag), wherever they are."""
    record = registry(key)
    if record is None:
        return []
    found = []
    for name, gen in record["actions"].items():
        action = bpy.data.actions.get(name)
        if action is not None and action.get(TAG) == gen:
            found.append(action)
    return found


def owned_actions_with_slots(key) -> list[tuple]:
    """``(action, slot)`` for each of our actions that ``key`` plays (active or NLA)."""
    owned = owned_actions(key)
    anim = key.animation_data if key is not None else None
    if anim is None:
        return []
    found = []
    if anim.action is not None and anim.action in owned:
        found.append((anim.action, getattr(anim, "action_slot", None)))
    for track in anim.nla_tracks:
        for strip in track.strips:
            if strip.action is not None and strip.action in owned:
                found.append((strip.action, getattr(strip, "action_slot", None)))
    return found


def forget_actions(key) -> None:
    """Drop the record of our actions and of the values they covered."""
    record = registry(key)
    if record is not None:
        record["actions"] = {}
        if "values" in record:
            del record["values"]


def record_values(key, values: dict[str, float]) -> None:
    """Remember the still value of shape keys our action is about to drive (the first
    value recorded for a key wins until Remove Generated puts them back)."""
    record = registry(key, create=True)
    if "values" not in record:
        record["values"] = {}
    stored = record["values"]
    for name, value in values.items():
        if name not in stored:
            stored[name] = float(value)


def recorded_values(key) -> dict[str, float]:
    record = registry(key)
    if record is None or "values" not in record:
        return {}
    return {name: float(v) for name, v in record["values"].items()}


def set_pushed(key, action, slot, track_name: str) -> None:
    """Remember that layering moved the user's active ``action`` into ``track_name``."""
    registry(key, create=True)["pushed"] = {
        "action": action.name, "slot": slot.identifier if slot is not None else "",
        "track": track_name}


def pushed(key) -> dict | None:
    record = registry(key)
    if record is None or "pushed" not in record:
        return None
    return {k: str(v) for k, v in record["pushed"].items()}


def clear_pushed(key) -> None:
    record = registry(key)
    if record is not None and "pushed" in record:
        del record["pushed"]


def has_records(key) -> bool:
    """Whether anything recorded on ``key`` may still be ours (a cheap check for polls)."""
    record = registry(key)
    if record is None:
        return False
    if "pushed" in record or any(name in key.key_blocks for name in record["keys"].keys()):
        return True
    return any(name in bpy.data.actions for name in record["actions"].keys())


def drop_if_empty(key) -> None:
    """Remove the record from ``key`` once nothing in it is left."""
    record = registry(key)
    if record is not None and not record["keys"] and not record["actions"] \
            and "pushed" not in record:
        del key[REGISTRY]
