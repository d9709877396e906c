"""Write one motion onto one mesh in the chosen output mode: first plan (every number, no
scene change), then commit (the scene changes). Generate plans every mesh of a character
before it commits any, so a failure on one leaves them all as they were."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import bpy
import numpy as np

from diffusiontalker.bake.shapes import (
    BasisBake,
    basis_bake_bytes,
    check_finite,
    compact_basis,
    offsets_from_channels,
    per_frame_keys_warning,
    point_cache_warning,
)
from diffusiontalker.errors import TopologyError

from . import head_motion, targets, writers

OUTPUT_MODES = ("AUTO", "CHANNEL_KEYS", "BASIS", "PER_FRAME", "POINT_CACHE")
BASIS_MEMORY_BUDGET = 2**30  # bytes a basis bake may need before AUTO picks a point cache


def resolve_mode(space: str, mode: str, frames: int = 0, vertices: int = 0,
                 max_shapes: int = 64) -> str:
    """The output mode to write; ``AUTO`` chooses by the motion's space, length and memory.

    ``AUTO``: channel motion -> ``CHANNEL_KEYS`` (one curve per channel, any length). Vertex
    motion -> ``BASIS`` (compact, editable, exported as morph weights; the blocked randomised
    bake takes seconds and well under 1 GB even for 10 minutes of a 5023-vertex head) unless
    its working memory (``bake.shapes.basis_bake_bytes``) would pass
    :data:`BASIS_MEMORY_BUDGET` (takes of hours), then ``POINT_CACHE``, which streams a block
    of frames at a time. ``PER_FRAME`` is never chosen automatically: scrubbing slows with the
    square of the length (``bake.shapes.PER_FRAME_KEYS_WARN_FRAMES``).
    """
    if mode == "AUTO":
        if space == "channels":
            return "CHANNEL_KEYS"
        if basis_bake_bytes(frames, vertices, max_shapes) > BASIS_MEMORY_BUDGET:
            return "POINT_CACHE"
        return "BASIS"
    if mode == "CHANNEL_KEYS" and space != "channels":
        raise TopologyError("a vertex model has no channels to key: choose basis shapes, "
                            "per-frame shapes or a point cache")
    return mode


@dataclass
class Plan:
    """Everything one mesh's write needs, computed before the scene is touched."""

    obj: object
    channels: tuple  # the motion's channels (channel motion) or ()
    frames: np.ndarray
    values: np.ndarray
    built: dict
    mode: str
    offsets: np.ndarray | None = None
    bake: BasisBake | None = None
    users: dict | None = None
    head: head_motion.HeadPlan | None = None
    head_takes: list = field(default_factory=list)  # HeadPlans of takes 2..N (stored, unplayed)


def plan(obj, motion, frames, values, built: dict, options, notes: list[str] | None = None,
         users: dict | None = None, pivot=None, other_takes=()) -> Plan:
    """The write of ``motion`` on ``obj``: checks the numbers (NaN or infinite motion), bakes
    the offsets / basis the mode needs, and appends what the output costs for a long take to
    ``notes``. Changes nothing in the scene.

    Head rotation channels (``headYaw``, ...) never become shape keys: with
    ``options.head_motion`` they are planned as rotation keys (:mod:`.head_motion`; ``pivot``
    a ``head_motion.face_pivot`` result, found from the mesh when None), else left out; the
    head rotation of ``other_takes`` (takes 2..N, full channel values) is planned the same way,
    against the same still transform, for :func:`head_motion.store`."""
    check_finite(values)
    head, head_takes = None, []
    if motion.space == "channels":
        keep, turn = head_motion.split(motion.channels)
        if turn:
            names = [motion.channels[k] for k in turn]
            if getattr(options, "head_motion", False):
                if pivot is None:
                    info = targets.target_info(obj)
                    pivot = head_motion.face_pivot(info.vertices, info.faces, info.landmarks,
                                                   head_motion.still_matrix(obj, info.matrix))
                bone, armature = getattr(options, "head_bone", ""), targets.armature_of(obj)
                still = head_motion.recorded_still(obj)  # our earlier head keys may play
                head = head_motion.plan(obj, names, frames, values[:, turn], pivot, bone, armature,
                                        still)
                head_takes = [head_motion.plan(obj, names, frames, np.asarray(v)[:, turn], pivot,
                                               bone, armature, still) for v in other_takes]
                if notes is not None:
                    notes.extend(head.warnings)
            motion = SimpleNamespace(space="channels",
                                     channels=tuple(motion.channels[k] for k in keep))
            values = values[:, keep]
    vertices = len(obj.data.vertices)
    mode = resolve_mode(motion.space, options.output_mode, len(frames), vertices,
                        options.max_shapes)
    cost = {"PER_FRAME": per_frame_keys_warning, "POINT_CACHE": point_cache_warning}.get(mode)
    warning = cost(len(frames), vertices) if cost else None
    if warning and notes is not None:
        notes.append(warning)
    offsets = bake = None
    if mode != "CHANNEL_KEYS":
        offsets = values if motion.space != "channels" else offsets_from_channels(
            values, writers.channel_shapes(obj, motion.channels, built))
        check_finite(offsets, "the motion on the head's channel shapes")
    if mode == "BASIS":
        bake = compact_basis(offsets, max_shapes=options.max_shapes)
    channels = tuple(motion.channels) if motion.space == "channels" else ()
    return Plan(obj, channels, frames, values, built, mode, offsets, bake, users, head, head_takes)


def commit(p: Plan, cache_dir: str = ""):
    """Replace what an earlier Generate wrote on the plan's mesh with the planned motion;
    returns the head rotation action written (None without Head Motion)."""
    obj = p.obj
    writers.remove_generated(obj, keep_built_keys=True)
    if p.built:
        writers.add_shape_keys(obj, p.built)
        obj[writers.BUILT_KEYS] = list(obj.get(writers.BUILT_KEYS, [])) + list(p.built)
    if p.mode == "CHANNEL_KEYS":
        writers.write_channel_keys(obj, p.channels, p.frames, p.values, p.users)
    elif p.mode == "BASIS":
        writers.write_basis(obj, p.frames, p.bake)
    elif p.mode == "PER_FRAME":
        writers.write_per_frame(obj, p.frames, p.offsets)
    else:
        writers.write_point_cache(obj, p.frames, p.offsets, cache_dir or bpy.app.tempdir)
    return head_motion.write(obj, p.head) if p.head is not None else None
