"""Turn a core ``HeadMesh`` (and optionally its ``Rig``) into a Blender mesh object.

Blender glue only: the geometry, the landmarks and the rig are computed by the core
(``diffusiontalker.head``); this writes them into Blender with bulk ``foreach_set`` calls.
"""

from __future__ import annotations

import bpy
import numpy as np

# The demo head's materials: base colour (linear RGB) and roughness of the Principled BSDF
# (EEVEE, Cycles) with a few more of its inputs, and the viewport colour (Workbench and the
# solid view), a little lighter since Workbench's studio light is darker than the light rig.
MATERIAL_LOOKS = {
    "skin": ((0.60, 0.36, 0.26), 0.48, {"Subsurface Weight": 0.12, "Specular IOR Level": 0.35},
             (0.80, 0.55, 0.45)),
    "lips": ((0.46, 0.15, 0.14), 0.36, {"Subsurface Weight": 0.10, "Specular IOR Level": 0.4},
             (0.62, 0.25, 0.24)),
    "eye_white": ((0.78, 0.76, 0.72), 0.18, {"Coat Weight": 0.8}, (0.88, 0.87, 0.84)),
    "iris": ((0.10, 0.20, 0.30), 0.25, {"Coat Weight": 0.8}, (0.12, 0.22, 0.32)),
    "pupil": ((0.004, 0.004, 0.004), 0.2, {"Coat Weight": 0.8}, (0.01, 0.01, 0.01)),
    "mouth": ((0.11, 0.018, 0.02), 0.45, {}, (0.18, 0.03, 0.04)),
    "teeth": ((0.78, 0.72, 0.60), 0.28, {}, (0.85, 0.82, 0.74)),
    "gums": ((0.45, 0.12, 0.12), 0.38, {}, (0.60, 0.24, 0.24)),
    "tongue": ((0.48, 0.14, 0.14), 0.42, {"Subsurface Weight": 0.08}, (0.62, 0.25, 0.25)),
}
INSIDE_COLOUR = (0.035, 0.006, 0.007)  # skin seen from inside (through a mouth with no cavity)


def _material(name: str) -> bpy.types.Material:
    """``DT_<name>``: a Principled material with the look of :data:`MATERIAL_LOOKS` (grey for
    names it does not know)."""
    full = f"DT_{name}"
    mat = bpy.data.materials.get(full)
    if mat is not None:
        return mat
    mat = bpy.data.materials.new(full)
    colour, roughness, extras, viewport = MATERIAL_LOOKS.get(
        name, ((0.7, 0.7, 0.7), 0.5, {}, (0.7, 0.7, 0.7)))
    mat.diffuse_color = (*viewport, 1.0)
    mat.roughness = roughness
    if not mat.use_nodes:  # Blender < 5.0 makes node-less materials
        mat.use_nodes = True
    nodes = mat.node_tree.nodes
    bsdf = next((n for n in nodes if n.bl_idname == "ShaderNodeBsdfPrincipled"), None)
    if bsdf is None:
        return mat
    bsdf.inputs["Base Color"].default_value = (*colour, 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    for key, value in extras.items():
        if key in bsdf.inputs:
            bsdf.inputs[key].default_value = value
    if name == "skin":
        _dark_inside(mat, bsdf, colour)
    return mat


def _dark_inside(mat: bpy.types.Material, bsdf, colour) -> None:
    """Back faces dark: a mesh with a mouth opening and no cavity (FLAME) shows a dark mouth
    instead of the lit inside of its skin (EEVEE and Cycles)."""
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    geometry = nodes.new("ShaderNodeNewGeometry")
    mix = nodes.new("ShaderNodeMix")
    mix.data_type = "RGBA"
    colour_in = [i for i in mix.inputs if i.type == "RGBA"]  # A and B of the colour mode
    colour_in[0].default_value = (*colour, 1.0)
    colour_in[1].default_value = (*INSIDE_COLOUR, 1.0)
    factor = next(i for i in mix.inputs if i.name == "Factor" and i.type == "VALUE")
    result = next(o for o in mix.outputs if o.type == "RGBA")
    links.new(geometry.outputs["Backfacing"], factor)
    links.new(result, bsdf.inputs["Base Color"])


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
