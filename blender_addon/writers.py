"""Write generated motion onto a mesh, non-destructively; remove exactly what we wrote.

Everything we create is recognisable: shape keys named ``DT ...`` (or channel keys listed in
``obj["dt_built_keys"]`` when we built them with the rig), actions marked by ``actions.MARKER``,
the Mesh Cache modifier :data:`CACHE_MODIFIER`. Each writer first removes what an earlier
Generate made, so regenerating leaves exactly one set of ours.
"""

from __future__ import annotations

import os

import bpy
import numpy as np

from diffusiontalker.bake.shapes import compact_basis, write_pc2

from .actions import finish_nla, key_curve, new_key_action, remove_our_actions, shape_key_path

PREFIX = "DT "
CACHE_MODIFIER = "DiffusionTalker cache"
BUILT_KEYS = "dt_built_keys"
BUILT_BASIS = "dt_built_basis"
CACHE_FILE = "dt_cache_file"


def basis_coords(obj) -> np.ndarray:
    """``(V, 3)`` rest positions: the reference shape key, or the mesh itself."""
    mesh = obj.data
    src = mesh.shape_keys.reference_key.data if mesh.shape_keys else mesh.vertices
    co = np.empty(len(mesh.vertices) * 3, np.float32)
    src.foreach_get("co", co)
    return co.reshape(-1, 3)


def key_coords(block) -> np.ndarray:
    co = np.empty(len(block.data) * 3, np.float32)
    block.data.foreach_get("co", co)
    return co.reshape(-1, 3)


def channel_shapes(obj, channels) -> np.ndarray:
    """``(K, V, 3)`` offsets of the object's shape keys named after ``channels``."""
    blocks = obj.data.shape_keys.key_blocks
    base = basis_coords(obj)
    return np.stack([key_coords(blocks[name]) - base for name in channels])


def _ensure_basis(obj) -> None:
    if obj.data.shape_keys is None:
        obj.shape_key_add(name="Basis", from_mix=False)
        obj[BUILT_BASIS] = True


def add_shape_keys(obj, shapes: dict[str, np.ndarray], slider=(0.0, 1.0)) -> None:
    """Add shape keys ``name -> (V, 3) offsets`` from the basis, with slider limits."""
    _ensure_basis(obj)
    base = basis_coords(obj)
    for name, offset in shapes.items():
        block = obj.shape_key_add(name=name, from_mix=False)
        block.data.foreach_set("co", (base + offset).astype(np.float32).ravel())
        block.slider_min, block.slider_max = slider
        block.value = 0.0


def _widen_sliders(blocks, names, values: np.ndarray) -> None:
    """Shape-key values are clamped to the slider range: widen it where weights exceed it."""
    for name, column in zip(names, values.T, strict=True):
        block = blocks[name]
        lo, hi = float(column.min()), float(column.max())
        if lo < block.slider_min:
            block.slider_min = max(-10.0, np.floor(lo))
        if hi > block.slider_max:
            block.slider_max = min(10.0, np.ceil(hi))


def write_channel_keys(obj, channels, frames, weights) -> None:
    """Keyframes on the shape keys named after ``channels`` (one F-curve per channel)."""
    key = obj.data.shape_keys
    _widen_sliders(key.key_blocks, channels, weights)
    action, bag = new_key_action(key, f"DT {obj.name}", int(frames[0]))
    for k, name in enumerate(channels):
        key_curve(bag, shape_key_path(name), frames, weights[:, k])
    finish_nla(key, action)


def write_basis(obj, frames, offsets, max_shapes: int = 64) -> None:
    """Compact basis shape keys ``DT basis NN`` + one weight curve each."""
    bake = compact_basis(offsets, max_shapes=max_shapes)
    names = [f"{PREFIX}basis {i:02d}" for i in range(len(bake.bases))]
    add_shape_keys(obj, dict(zip(names, bake.bases, strict=True)), slider=(-1.0, 1.0))
    key = obj.data.shape_keys
    action, bag = new_key_action(key, f"DT {obj.name}", int(frames[0]))
    for i, name in enumerate(names):
        key_curve(bag, shape_key_path(name), frames, bake.weights[:, i])
    finish_nla(key, action)


def write_per_frame(obj, frames, offsets) -> None:
    """One shape key ``DT frame NNNNN`` per frame, on only at its own frame."""
    names = [f"{PREFIX}frame {int(f):05d}" for f in frames]
    add_shape_keys(obj, dict(zip(names, offsets, strict=True)))
    key = obj.data.shape_keys
    action, bag = new_key_action(key, f"DT {obj.name}", int(frames[0]) - 1)
    for name, f in zip(names, frames, strict=True):
        key_curve(bag, shape_key_path(name), [f - 1, f, f + 1], [0.0, 1.0, 0.0], "CONSTANT")
    finish_nla(key, action)


def write_point_cache(obj, frames, offsets, cache_dir: str) -> str:
    """A ``.pc2`` of absolute positions + a Mesh Cache modifier layered on the shape keys."""
    positions = basis_coords(obj)[None] + offsets
    file_name = f"DT_{bpy.path.clean_name(obj.name)}.pc2"
    blend_dir = os.path.dirname(bpy.data.filepath) if bpy.data.filepath else ""
    folder = blend_dir or cache_dir
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, file_name)
    write_pc2(path, positions, start=float(frames[0]), rate=1.0)
    mod = obj.modifiers.new(CACHE_MODIFIER, "MESH_CACHE")
    mod.cache_format = "PC2"
    mod.filepath = "//" + file_name if blend_dir else path
    mod.time_mode = "FRAME"
    mod.play_mode = "SCENE"
    mod.frame_start = float(frames[0])  # scene frame that shows sample 0
    mod.deform_mode = "INTEGRATE"
    obj[CACHE_FILE] = path
    return path


def has_generated(obj) -> bool:
    """Whether ``obj`` carries anything a Generate made."""
    if obj is None or obj.type != "MESH":
        return False
    if CACHE_MODIFIER in obj.modifiers or obj.get(BUILT_KEYS):
        return True
    key = obj.data.shape_keys
    if key is None:
        return False
    if any(b.name.startswith(PREFIX) for b in key.key_blocks):
        return True
    anim = key.animation_data
    from .actions import NLA_TRACK, is_ours

    return anim is not None and (is_ours(anim.action) or NLA_TRACK in anim.nla_tracks)


def remove_generated(obj, keep_built_keys: bool = False) -> None:
    """Remove our keys, actions, modifier and cache file; leave everything else alone."""
    mod = obj.modifiers.get(CACHE_MODIFIER)
    if mod is not None:
        obj.modifiers.remove(mod)
    cache = obj.pop(CACHE_FILE, None)
    if cache and os.path.isfile(cache):
        os.remove(cache)
    key = obj.data.shape_keys
    if key is None:
        return
    remove_our_actions(key)
    doomed = [b.name for b in key.key_blocks if b.name.startswith(PREFIX)]
    if not keep_built_keys:
        doomed += list(obj.pop(BUILT_KEYS, []))
    for name in doomed:
        block = key.key_blocks.get(name)
        if block is not None:
            obj.shape_key_remove(block)
    if obj.get(BUILT_BASIS) and len(obj.data.shape_keys.key_blocks) == 1:
        obj.shape_key_remove(obj.data.shape_keys.key_blocks[0])
        del obj[BUILT_BASIS]
