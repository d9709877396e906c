"""Turn a core ``HeadMesh`` (and optionally its ``Rig``) into a Blender mesh object.

Blender glue only: the geometry, the landmarks and the rig are computed by the core
(``diffusiontalker.head``); this writes them into Blender with bulk ``foreach_set`` calls.
"""

from __future__ import annotations

import bpy
import numpy as np

# Workbench/viewport colours (linear RGBA) of the demo head's materials.
MATERIAL_COLOURS = {
    "skin": (0.80, 0.55, 0.45, 1.0),
    "lips": (0.62, 0.25, 0.24, 1.0),
    "eye_white": (0.88, 0.87, 0.84, 1.0),
    "iris": (0.12, 0.22, 0.32, 1.0),
    "pupil": (0.01, 0.01, 0.01, 1.0),
    "mouth": (0.18, 0.03, 0.04, 1.0),
}


def _material(name: str) -> bpy.types.Material:
    full = f"DT_{name}"
    mat = bpy.data.materials.get(full) or bpy.data.materials.new(full)
    colour = MATERIAL_COLOURS.get(name, (0.7, 0.7, 0.7, 1.0))
    mat.diffuse_color = colour
    mat.roughness = 0.6
    return mat


def _collection(target) -> bpy.types.Collection:
    if target is None:
        return bpy.context.scene.collection
    if isinstance(target, bpy.types.Collection):
        return target
    return getattr(target, "collection", None) or target.scene.collection


def create_head_object(target, head, rig=None, name: str = "TalkerHead") -> bpy.types.Object:
    """Create a smooth-shaded mesh object from ``head`` in ``target`` and return it.

    ``target`` is a ``bpy.types.Context``, a ``bpy.types.Collection`` or None (the scene's
    collection). With ``rig`` (a ``diffusiontalker.head.Rig`` of the same vertex count) the
    object gets a ``Basis`` shape key and one shape key per rig channel, named after it.
    Vertex groups are the head's named parts; landmarks are stored in the object's
    ``"diffusiontalker_landmarks"`` custom property (name -> vertex index).
    """
    verts = np.asarray(head.vertices, dtype=np.float32)
    if rig is not None and rig.num_vertices != len(verts):
        raise ValueError(
            f"the rig has {rig.num_vertices} vertices but the head has {len(verts)}"
        )
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(verts.tolist(), [], [tuple(int(i) for i in f) for f in head.faces])
    mesh.update()
    mesh.polygons.foreach_set("use_smooth", [True] * len(mesh.polygons))
    names = tuple(getattr(head, "material_names", ()) or ("skin",))
    for mat_name in names:
        mesh.materials.append(_material(mat_name))
    mats = getattr(head, "face_materials", None)
    if mats is not None and len(mats) == len(mesh.polygons):
        mesh.polygons.foreach_set("material_index", np.asarray(mats, dtype=np.int32))
    mesh.update()
    obj = bpy.data.objects.new(name, mesh)
    _collection(target).objects.link(obj)
    for group, ids in getattr(head, "groups", {}).items():
        vg = obj.vertex_groups.new(name=group)
        vg.add([int(i) for i in ids], 1.0, "REPLACE")
    obj["diffusiontalker_landmarks"] = {k: int(i) for k, i in head.landmarks.items()}
    if rig is not None:
        add_rig_shape_keys(obj, verts, rig)
    return obj


def add_rig_shape_keys(obj: bpy.types.Object, base: np.ndarray, rig) -> None:
    """Add ``Basis`` (if absent) and one shape key per rig channel (base + basis offsets)."""
    if obj.data.shape_keys is None:
        obj.shape_key_add(name="Basis", from_mix=False)
    for channel, offsets in zip(rig.channels, rig.bases, strict=True):
        key = obj.data.shape_keys.key_blocks.get(channel)
        if key is None:
            key = obj.shape_key_add(name=channel, from_mix=False)
        key.data.foreach_set("co", (base + offsets).astype(np.float32).ravel())
        key.value = 0.0
    obj.data.update()
