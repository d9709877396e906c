"""Which meshes Generate drives, can the model drive them, and the rig for missing keys.

**The main head** is the mesh Generate reads and builds missing channel shape keys on: the
chosen or active mesh; with an armature chosen, its mesh with the most channel keys.
**The character** is the main head plus every other mesh with shape keys named after the
model's channels that belongs with it (:func:`character`): the selected meshes (and the
meshes of selected armatures), the meshes of the main head's armature, and the meshes of the
active collection (the one clicked in the Outliner) when it holds the main head.

The rig works on any object transform: the head is seen as placed (``matrix_world``: rotation,
mirror, non-uniform scale, parents), rigged in its face frame and the shapes are written in
the mesh's own space (``diffusiontalker.head.placement``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from diffusiontalker.channels import ARKIT_CHANNELS, shape_channels
from diffusiontalker.errors import TopologyError

LANDMARKS_PROP = "diffusiontalker_landmarks"  # on the object: {landmark name: vertex index}


@dataclass
class TargetInfo:
    """What the worker needs to know about the head (captured on the main thread)."""

    name: str
    num_vertices: int
    shape_keys: tuple[str, ...]
    vertices: np.ndarray  # (V, 3) rest positions, in the mesh's own space
    faces: np.ndarray  # (F, 3) triangles
    landmarks: dict | None = None  # name -> vertex index, if the head stores them
    matrix: np.ndarray | None = None  # (4, 4) mesh -> world (the object's matrix_world)


def stored_landmarks(obj) -> dict[str, int]:
    """The landmarks stored on ``obj`` (``{}`` when none)."""
    stored = obj.get(LANDMARKS_PROP) if obj is not None else None
    return {str(k): int(v) for k, v in stored.items()} if stored else {}


def target_info(obj, geometry: bool = True) -> TargetInfo:
    """What the worker needs about ``obj``; ``geometry=False`` skips the arrays (panel)."""
    from .writers import basis_coords

    if obj is None or obj.type != "MESH":
        raise TopologyError("select a mesh object (or the character's armature) as the head "
                            "to animate")
    mesh = obj.data
    keys = tuple(b.name for b in mesh.shape_keys.key_blocks) if mesh.shape_keys else ()
    if not geometry:
        empty = np.zeros((0, 3))
        return TargetInfo(obj.name, len(mesh.vertices), keys, empty, empty.astype(np.int32))
    mesh.calc_loop_triangles()
    tris = np.empty(len(mesh.loop_triangles) * 3, np.int32)
    mesh.loop_triangles.foreach_get("vertices", tris)
    return TargetInfo(obj.name, len(mesh.vertices), keys, basis_coords(obj), tris.reshape(-1, 3),
                      stored_landmarks(obj) or None, np.array(obj.matrix_world, np.float64))


def channel_key_count(obj, channels=ARKIT_CHANNELS) -> int:
    """How many of ``channels`` the mesh has as shape keys."""
    if obj is None or obj.type != "MESH" or obj.data.shape_keys is None:
        return 0
    blocks = obj.data.shape_keys.key_blocks
    return sum(1 for c in channels if c in blocks)


def _armature_of(obj):
    """The armature ``obj`` is parented to or deformed by, or None."""
    parent = obj.parent
    while parent is not None:
        if parent.type == "ARMATURE":
            return parent
        parent = parent.parent
    for mod in getattr(obj, "modifiers", ()):
        if mod.type == "ARMATURE" and mod.object is not None:
            return mod.object
    return None


armature_of = _armature_of  # public name (Head Motion's Head Bone)


def armature_meshes(armature, scene_objects) -> list:
    """Meshes under ``armature`` (children at any depth) or deformed by it."""
    return [o for o in scene_objects if o.type == "MESH" and _armature_of(o) == armature]


def resolve_main(obj, scene_objects=()):
    """The main head for ``obj``: itself when a mesh; for an armature, its mesh with the most
    channel keys (then the most vertices). Raises a clear error otherwise."""
    if obj is not None and obj.type == "ARMATURE":
        meshes = armature_meshes(obj, scene_objects)
        if not meshes:
            raise TopologyError(f"the armature '{obj.name}' has no meshes to animate")
        return max(meshes, key=lambda o: (channel_key_count(o), len(o.data.vertices)))
    if obj is None or obj.type != "MESH":
        target_info(obj)  # raises the message for "no mesh"
    return obj


def character(main, view_layer, channels=ARKIT_CHANNELS) -> list:
    """The other meshes Generate drives with ``main`` (see the module's description), each
    with at least one of ``channels`` as a shape key; ordered by name."""
    objects = list(view_layer.objects)
    found = {}
    selected = [o for o in objects if o.select_get(view_layer=view_layer)]
    if main in selected or view_layer.objects.active in (main, _armature_of(main)):
        for o in selected:
            group = armature_meshes(o, objects) if o.type == "ARMATURE" else [o]
            found.update({m.name: m for m in group})
    armature = _armature_of(main)
    if armature is not None:
        found.update({m.name: m for m in armature_meshes(armature, objects)})
    active = view_layer.active_layer_collection
    if active is not None and active.collection != view_layer.layer_collection.collection:
        members = set(active.collection.all_objects)
        if main in members:
            found.update({o.name: o for o in members if o.type == "MESH"})
    found.pop(main.name, None)
    return [found[n] for n in sorted(found) if channel_key_count(found[n], channels) > 0]


def missing_channels(info: TargetInfo, channels) -> list[str]:
    """The shape-key channels of ``channels`` the head lacks (head rotation is never a key)."""
    present = set(info.shape_keys)
    return [c for c in shape_channels(channels) if c not in present]


def target_problem(info: TargetInfo, talker) -> str | None:
    """Why ``talker`` cannot drive the head, or None when it can (without building keys)."""
    if talker.space == "vertices":
        if info.num_vertices != talker.num_vertices:
            return (f"the model animates heads of {talker.num_vertices} vertices (same topology); "
                    f"'{info.name}' has {info.num_vertices}")
        return None
    missing = missing_channels(info, talker.channels)
    if missing:
        return (f"'{info.name}' lacks {len(missing)} of the model's "
                f"{len(shape_channels(talker.channels))} channel "
                f"shape keys (e.g. {missing[0]}); they will be built with the rig")
    return None


def check_vertex_topology(info: TargetInfo, talker) -> None:
    if talker.space == "vertices" and info.num_vertices != talker.num_vertices:
        raise TopologyError(target_problem(info, talker))


def rig_shapes(info: TargetInfo, channels) -> dict[str, np.ndarray]:
    """Build ``(V, 3)`` offsets (in the mesh's own space) for the head's missing channel shape
    keys with the rig, the head seen as placed in the scene."""
    missing = missing_channels(info, channels)
    if not missing:
        return {}
    try:
        from diffusiontalker.head.placement import build_placed_rig
        from diffusiontalker.head.rig_fields import BUILDERS
    except ImportError as exc:
        raise TopologyError(
            f"'{info.name}' has no shape keys named after the model's channels "
            f"(e.g. {missing[0]}) and the rig is not available in this build"
        ) from exc
    try:
        placed = build_placed_rig(info.vertices, info.faces, info.landmarks, info.matrix,
                                  [c for c in missing if c in BUILDERS])
    except Exception as exc:  # TopologyError from the face frame or landmarks, a rig failure
        raise TopologyError(
            f"'{info.name}' has no shape keys named after the model's channels (e.g. "
            f"{missing[0]}) and they could not be built with the rig: {exc}. Set its landmarks "
            "in the Talker panel (Landmarks: Find, or select a vertex in Edit Mode and "
            "assign it), use the demo head, or add shape keys named after the channels"
        ) from exc
    rig = placed.rig
    index = {name: i for i, name in enumerate(rig.channels)}
    absent = [c for c in missing if c not in index]
    if absent:
        raise TopologyError(f"the rig has no channel named {absent[0]}")
    return {name: np.asarray(rig.bases[index[name]], np.float32) for name in missing}
