"""Can the loaded model drive this mesh? And the rig fallback for heads without channel keys."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from diffusiontalker.errors import TopologyError


@dataclass
class TargetInfo:
    """What the worker needs to know about the head (captured on the main thread)."""

    name: str
    num_vertices: int
    shape_keys: tuple[str, ...]
    vertices: np.ndarray  # (V, 3) rest positions
    faces: np.ndarray  # (F, 3) triangles
    landmarks: dict | None = None  # name -> vertex index, if the head stores them


def target_info(obj, geometry: bool = True) -> TargetInfo:
    """What the worker needs about ``obj``; ``geometry=False`` skips the arrays (panel)."""
    from .writers import basis_coords

    if obj is None or obj.type != "MESH":
        raise TopologyError("select a mesh object as the head to animate")
    mesh = obj.data
    keys = tuple(b.name for b in mesh.shape_keys.key_blocks) if mesh.shape_keys else ()
    if not geometry:
        empty = np.zeros((0, 3))
        return TargetInfo(obj.name, len(mesh.vertices), keys, empty, empty.astype(np.int32))
    mesh.calc_loop_triangles()
    tris = np.empty(len(mesh.loop_triangles) * 3, np.int32)
    mesh.loop_triangles.foreach_get("vertices", tris)
    stored = obj.get("diffusiontalker_landmarks")
    landmarks = {str(k): int(v) for k, v in stored.items()} if stored else None
    return TargetInfo(obj.name, len(mesh.vertices), keys, basis_coords(obj), tris.reshape(-1, 3),
                      landmarks)


def missing_channels(info: TargetInfo, channels) -> list[str]:
    present = set(info.shape_keys)
    return [c for c in channels if c not in present]


def target_problem(info: TargetInfo, talker) -> str | None:
    """Why ``talker`` cannot drive the head, or None when it can (without building keys)."""
    if talker.space == "vertices":
        if info.num_vertices != talker.num_vertices:
            return (f"the model animates heads of {talker.num_vertices} vertices (same topology); "
                    f"'{info.name}' has {info.num_vertices}")
        return None
    missing = missing_channels(info, talker.channels)
    if missing:
        return (f"'{info.name}' lacks {len(missing)} of the model's {len(talker.channels)} channel "
                f"shape keys (e.g. {missing[0]}); they will be built with the rig")
    return None


def check_vertex_topology(info: TargetInfo, talker) -> None:
    if talker.space == "vertices" and info.num_vertices != talker.num_vertices:
        raise TopologyError(target_problem(info, talker))


def rig_shapes(info: TargetInfo, channels) -> dict[str, np.ndarray]:
    """Build ``(V, 3)`` offsets for the head's missing channel shape keys with the rig."""
    missing = missing_channels(info, channels)
    if not missing:
        return {}
    try:
        from diffusiontalker.head import build_rig, find_landmarks
    except ImportError as exc:
        raise TopologyError(
            f"'{info.name}' has no shape keys named after the model's channels "
            f"(e.g. {missing[0]}) and the rig is not available in this build"
        ) from exc
    try:
        landmarks = find_landmarks(info.vertices, info.faces, known=info.landmarks)
        rig = build_rig(info.vertices, info.faces, landmarks)
    except Exception as exc:  # TopologyError from the landmark search, or a rig failure
        raise TopologyError(
            f"'{info.name}' has no shape keys named after the model's channels (e.g. "
            f"{missing[0]}) and they could not be built with the rig: {exc}. Use the demo "
            "head, or add shape keys named after the channels"
        ) from exc
    index = {name: i for i, name in enumerate(rig.channels)}
    absent = [c for c in missing if c not in index]
    if absent:
        raise TopologyError(f"the rig has no channel named {absent[0]}")
    return {name: np.asarray(rig.bases[index[name]], np.float32) for name in missing}
