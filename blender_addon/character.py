"""The other meshes of a character (teeth, eyes, ...): driven with the main head's take.

Generate writes the playing take on every other mesh of the character
(``targets.character``) on the channels that mesh has as shape keys, in the main head's
output mode: channel keys (the default), basis shapes, per-frame shapes or a point cache
(baked through that mesh's own channel shapes). The rig builds shapes only on the main head.
With several takes, the others are stored on the main head only; a re-take rewrites the
same range on the other meshes too, and :func:`follow_playing_take` copies the take that
plays on the main head onto them (for Use Take). A vertex model drives only the main head.

The main head records the meshes it drove (:data:`writers.FOLLOWERS`); Remove Generated and
the next Generate on the main head remove what was written on them as well.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import bpy
import numpy as np

from . import direction, layering, output, writers


def _driven_channels(obj, channels) -> list[int]:
    """Indices into ``channels`` of those ``obj`` has as shape keys."""
    key = obj.data.shape_keys
    if key is None:
        return []
    return [k for k, c in enumerate(channels) if c in key.key_blocks]


def plan_followers(main, names, motion, frames, values, options, mode: str,
                   notes: list[str]) -> list[output.Plan]:
    """Plans for the other meshes ``names`` (scene unchanged); meshes that are gone, share
    the main head's mesh data or have none of the channels are left out."""
    if not names:
        return []
    if motion.space != "channels":
        notes.append(f"a vertex model drives only the head '{main.name}': the other meshes "
                     f"({', '.join(names)}) were left as they were")
        return []
    mesh_options = dataclasses.replace(options, output_mode=mode)
    seen, plans = {main.data}, []
    for name in names:
        obj = bpy.data.objects.get(name)
        if obj is None or obj.type != "MESH" or obj.data in seen:
            continue
        idx = _driven_channels(obj, motion.channels)
        if not idx:
            continue
        seen.add(obj.data)
        sub = SimpleNamespace(space="channels", channels=tuple(motion.channels[k] for k in idx))
        plans.append(output.plan(obj, sub, frames, values[:, idx], {}, mesh_options, notes))
    return plans


def commit_followers(main, plans: list[output.Plan], options) -> list[str]:
    """Write the planned meshes and record them on the main head; returns layering
    warnings (an action of the user's on a mesh keying the same channels)."""
    warnings = []
    for p in plans:
        output.commit(p, options.cache_dir)
        warnings += layering.settle(p.obj, options.layering)
    if plans:
        main[writers.FOLLOWERS] = [p.obj.name for p in plans]
    return warnings


def retake_followers(main, channels, frames, values, first: int, last: int) -> int:
    """Rewrite frames ``first..last`` of the playing take on the meshes the main head drove;
    returns how many meshes were rewritten."""
    count = 0
    for obj in writers.followers(main):
        if direction.playing_action(obj)[0] is None:
            continue
        idx = _driven_channels(obj, channels)
        if idx:
            direction.rewrite_range(obj, [channels[k] for k in idx], frames, values[:, idx],
                                    first, last)
            count += 1
    return count


def follow_playing_take(main) -> int:
    """Copy the take now playing on ``main`` (e.g. after Use Take) onto the meshes it drove,
    key for key; returns how many meshes were rewritten."""
    action, slot = direction.playing_action(main)
    if action is None:
        return 0
    curves = direction._curves(action, slot)
    if not curves:
        return 0
    channels = list(curves)
    frames = np.array([k.co[0] for k in curves[channels[0]].keyframe_points], np.float64)
    values = np.stack([[fc.evaluate(float(f)) for f in frames] for fc in curves.values()], 1)
    return retake_followers(main, channels, np.rint(frames).astype(int), values.astype(np.float32),
                            int(frames[0]), int(frames[-1]))
