"""Write generated motion onto a mesh, non-destructively; remove exactly what we wrote.

Everything we create is recognised by identity, never by its name alone (``ownership.py``):
shape keys (named ``DT ...``, or channel keys built with the rig and listed in
``obj["dt_built_keys"]``) are recorded with a fingerprint of their shape on the Key
datablock, actions carry a generation tag, the Mesh Cache modifier and its ``.pc2`` file are
recorded on the object. A user's own ``DT ...`` key, track or modifier is never touched. Each
writer first removes what an earlier Generate made, so regenerating leaves one set of ours.
"""

from __future__ import annotations

import os

import bpy
import numpy as np

from diffusiontalker.bake.shapes import BasisBake, write_pc2

from . import head_motion, ownership
from .actions import (
    finish_nla,
    key_curve,
    new_key_action,
    remember_written,
    remove_our_actions,
    shape_key_path,
)
from .takes import forget_takes

PREFIX = "DT "
CACHE_MODIFIER = "DiffusionTalker cache"
BUILT_KEYS = "dt_built_keys"
BUILT_BASIS = "dt_built_basis"
CACHE_FILE = "dt_cache_file"
CACHE_MODIFIER_NAME = "dt_cache_modifier"  # the name our Mesh Cache modifier actually got
FOLLOWERS = "dt_followers"  # on a main head: the other meshes of its character we drove


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


def channel_shapes(obj, channels, built: dict | None = None) -> np.ndarray:
    """``(K, V, 3)`` offsets of the object's shape keys named after ``channels``; a channel
    the object lacks comes from ``built`` (``name -> (V, 3)`` offsets about to be added)."""
    blocks = obj.data.shape_keys.key_blocks if obj.data.shape_keys else {}
    base = basis_coords(obj)
    return np.stack([key_coords(blocks[name]) - base if name in blocks else built[name]
                     for name in channels]).astype(np.float32)


def _ensure_basis(obj) -> None:
    if obj.data.shape_keys is None:
        obj.shape_key_add(name="Basis", from_mix=False)
        obj[BUILT_BASIS] = True


def add_shape_keys(obj, shapes: dict[str, np.ndarray], slider=(0.0, 1.0)) -> list[str]:
    """Add shape keys ``name -> (V, 3) offsets`` from the basis, with slider limits, and
    record them as ours. Returns the names they got: Blender adds ``.001`` where a key of
    the user's already has the name, and only the returned names may be keyed."""
    _ensure_basis(obj)
    base = basis_coords(obj)
    blocks = []
    for name, offset in shapes.items():
        block = obj.shape_key_add(name=name, from_mix=False)
        block.data.foreach_set("co", (base + offset).astype(np.float32).ravel())
        block.slider_min, block.slider_max = slider
        block.value = 0.0
        blocks.append(block)
    ownership.record_keys(obj.data.shape_keys, blocks)
    return [b.name for b in blocks]


def _widen_sliders(blocks, names, values: np.ndarray) -> None:
    """Shape-key values are clamped to the slider range: widen it where weights exceed it."""
    for name, column in zip(names, values.T, strict=True):
        block = blocks[name]
        lo, hi = float(column.min()), float(column.max())
        if lo < block.slider_min:
            block.slider_min = max(-10.0, np.floor(lo))
        if hi > block.slider_max:
            block.slider_max = min(10.0, np.ceil(hi))


def write_channel_keys(obj, channels, frames, weights, users: dict | None = None,
                       hook: bool = True, name: str = ""):
    """Keyframes on the shape keys named after ``channels`` (one F-curve per channel); returns
    the action. ``users``: ``{channel: bool per frame}``, the animator's keys (typed
    Keyframe). ``hook=False`` stores the action (a take not in use) without playing it."""
    key = obj.data.shape_keys
    _widen_sliders(key.key_blocks, channels, weights)
    action, bag = new_key_action(key, name or f"DT {obj.name}", int(frames[0]), hook=hook)
    for k, channel in enumerate(channels):
        key_curve(bag, shape_key_path(channel), frames, weights[:, k],
                  users=None if users is None else users.get(channel))
    remember_written(action, channels, frames, weights)
    if hook:
        finish_nla(key, action)
    return action


def write_basis(obj, frames, bake: BasisBake) -> None:
    """Compact basis shape keys ``DT basis NN`` + one weight curve each (``bake``: the
    ``compact_basis`` of the offsets, made before the scene is touched)."""
    names = [f"{PREFIX}basis {i:02d}" for i in range(len(bake.bases))]
    names = add_shape_keys(obj, dict(zip(names, bake.bases, strict=True)), slider=(-1.0, 1.0))
    key = obj.data.shape_keys
    action, bag = new_key_action(key, f"DT {obj.name}", int(frames[0]))
    for i, name in enumerate(names):
        key_curve(bag, shape_key_path(name), frames, bake.weights[:, i])
    finish_nla(key, action)


def write_per_frame(obj, frames, offsets) -> None:
    """One shape key ``DT frame NNNNN`` per frame, on only at its own frame."""
    names = [f"{PREFIX}frame {int(f):05d}" for f in frames]
    names = add_shape_keys(obj, dict(zip(names, offsets, strict=True)))
    key = obj.data.shape_keys
    action, bag = new_key_action(key, f"DT {obj.name}", int(frames[0]) - 1)
    for name, f in zip(names, frames, strict=True):
        key_curve(bag, shape_key_path(name), [f - 1, f, f + 1], [0.0, 1.0, 0.0], "CONSTANT")
    finish_nla(key, action)


def write_point_cache(obj, frames, offsets, cache_dir: str) -> str:
    """A ``.pc2`` of absolute positions + a Mesh Cache modifier layered on the shape keys.

    The file is written a block of frames at a time (rest + offsets), never a second full
    copy of a long take."""
    file_name = f"DT_{bpy.path.clean_name(obj.name)}.pc2"
    blend_dir = os.path.dirname(bpy.data.filepath) if bpy.data.filepath else ""
    folder = blend_dir or cache_dir
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, file_name)
    write_pc2(path, offsets, start=float(frames[0]), rate=1.0, rest=basis_coords(obj))
    mod = obj.modifiers.new(CACHE_MODIFIER, "MESH_CACHE")
    mod.cache_format = "PC2"
    mod.filepath = "//" + file_name if blend_dir else path
    mod.time_mode = "FRAME"
    mod.play_mode = "SCENE"
    mod.frame_start = float(frames[0])  # scene frame that shows sample 0
    mod.deform_mode = "INTEGRATE"
    obj[CACHE_FILE] = path
    obj[CACHE_MODIFIER_NAME] = mod.name
    return path


def has_generated(obj) -> bool:
    """Whether ``obj`` may carry something a Generate made (cheap: for polls and the panel)."""
    if obj is None or obj.type != "MESH":
        return False
    if _our_cache_modifier(obj) is not None or obj.get(CACHE_FILE) \
            or head_motion.has_head_keys(obj):
        return True
    return ownership.has_records(obj.data.shape_keys)


def _our_cache_modifier(obj):
    """Our Mesh Cache modifier: the recorded name, of type Mesh Cache, reading our file."""
    path = obj.get(CACHE_FILE)
    mod = obj.modifiers.get(obj.get(CACHE_MODIFIER_NAME, CACHE_MODIFIER))
    if not path or mod is None or mod.type != "MESH_CACHE":
        return None
    same = os.path.normpath(bpy.path.abspath(mod.filepath)) == os.path.normpath(path)
    return mod if same else None


def _remove_cache(obj) -> None:
    mod = _our_cache_modifier(obj)
    if mod is not None:
        obj.modifiers.remove(mod)
    obj.pop(CACHE_MODIFIER_NAME, None)
    cache = obj.pop(CACHE_FILE, None)
    if cache and os.path.isfile(cache):
        with open(cache, "rb") as f:
            ours = f.read(12) == b"POINTCACHE2\0"
        if ours:
            os.remove(cache)


def followers(obj) -> list:
    """The other meshes of the character that the last Generate on ``obj`` drove."""
    names = [str(n) for n in obj.get(FOLLOWERS, [])] if obj is not None else []
    found = [bpy.data.objects.get(n) for n in names]
    return [o for o in found if o is not None and o is not obj and o.type == "MESH"]


def remove_generated(obj, keep_built_keys: bool = False) -> None:
    """Remove exactly what Generate made: our recorded shape keys (whose shape still matches),
    tagged actions and their NLA tracks, the recorded modifier and cache file; put back a
    user action that layering moved; the head rotation keys (``head_motion``), putting the
    still transform back. Everything else of the user's stays as it was. On a main head,
    what was written on the other meshes of its character goes too."""
    for other in followers(obj):
        remove_generated(other)
    obj.pop(FOLLOWERS, None)
    _remove_cache(obj)
    head_motion.remove(obj)
    key = obj.data.shape_keys
    if key is None:
        return
    remove_our_actions(key)
    forget_takes(key)
    built = set(obj.get(BUILT_KEYS, [])) if keep_built_keys else set()
    if not keep_built_keys:
        obj.pop(BUILT_KEYS, None)
    owned = ownership.owned_key_names(key)
    kept = {name for name in owned if name in built}
    ownership.forget_keys(key, keep=kept)
    ownership.start_new_generation(key)
    ownership.drop_if_empty(key)
    for name in owned:
        if name not in kept:
            obj.shape_key_remove(key.key_blocks[name])
    if obj.get(BUILT_BASIS) and len(obj.data.shape_keys.key_blocks) == 1:
        obj.shape_key_remove(obj.data.shape_keys.key_blocks[0])
        del obj[BUILT_BASIS]
