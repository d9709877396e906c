"""Mesh helpers shared by the demo head, the landmark finder and the rig (numpy only).

Axis convention of all head data in the core: Blender's — metres, z up, the face looking
toward -Y (Blender's front view), +X is the subject's *left*. FLAME files are y up with z
toward the viewer: convert them with :func:`flame_to_blender`.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np


def flame_to_blender(vertices: np.ndarray) -> np.ndarray:
    """FLAME axes (y up, z toward the viewer) to Blender's: ``(x, y, z) -> (x, -z, y)``."""
    v = np.asarray(vertices, dtype=np.float32)
    return np.stack([v[:, 0], -v[:, 2], v[:, 1]], axis=1)


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """Hermite step from 0 at ``edge0`` to 1 at ``edge1`` (either order), clamped."""
    t = np.clip((np.asarray(x, dtype=np.float64) - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def bump(r: np.ndarray) -> np.ndarray:
    """Compact smooth bump: 1 at ``r = 0``, 0 for ``r >= 1`` (exactly)."""
    return 1.0 - smoothstep(0.0, 1.0, np.abs(r))


def triangulate(faces: Sequence[Sequence[int]]) -> np.ndarray:
    """Fan-triangulate polygons into an ``(F, 3)`` int array."""
    tris = [(f[0], f[i], f[i + 1]) for f in faces for i in range(1, len(f) - 1)]
    return np.asarray(tris, dtype=np.int64).reshape(-1, 3)


def edges(faces: Sequence[Sequence[int]]) -> np.ndarray:
    """Undirected edges ``(E, 2)`` (sorted pairs) with their use count in a 3rd column."""
    pairs = [(f[i], f[(i + 1) % len(f)]) for f in faces for i in range(len(f))]
    e = np.sort(np.asarray(pairs, dtype=np.int64), axis=1)
    uniq, counts = np.unique(e, axis=0, return_counts=True)
    return np.concatenate([uniq, counts[:, None]], axis=1)


def boundary_loops(faces: Sequence[Sequence[int]]) -> list[list[int]]:
    """Vertex loops along edges that belong to one face only (holes and open rims)."""
    e = edges(faces)
    border = e[e[:, 2] == 1, :2]
    nbr: dict[int, list[int]] = {}
    for a, b in border:
        nbr.setdefault(int(a), []).append(int(b))
        nbr.setdefault(int(b), []).append(int(a))
    loops, seen = [], set()
    for start in sorted(nbr):
        if start in seen:
            continue
        loop, prev, cur = [start], -1, start
        seen.add(start)
        while True:
            nxt = [n for n in nbr[cur] if n != prev and n not in seen]
            if not nxt:
                break
            prev, cur = cur, nxt[0]
            seen.add(cur)
            loop.append(cur)
        loops.append(loop)
    return loops


def components(num_vertices: int, faces: Sequence[Sequence[int]]) -> list[np.ndarray]:
    """Connected components (vertex index arrays), largest first."""
    parent = np.arange(num_vertices)

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for f in faces:
        r0 = find(f[0])
        for v in f[1:]:
            r = find(v)
            if r != r0:
                parent[r] = r0
    roots = np.array([find(i) for i in range(num_vertices)])
    groups = [np.flatnonzero(roots == r) for r in np.unique(roots)]
    return sorted(groups, key=len, reverse=True)


def vertex_normals(vertices: np.ndarray, faces: Sequence[Sequence[int]]) -> np.ndarray:
    """Area-weighted unit vertex normals."""
    tris = triangulate(faces)
    v = np.asarray(vertices, dtype=np.float64)
    n = np.cross(v[tris[:, 1]] - v[tris[:, 0]], v[tris[:, 2]] - v[tris[:, 0]])
    out = np.zeros_like(v)
    for k in range(3):
        np.add.at(out, tris[:, k], n)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def geodesic_distances(
    vertices: np.ndarray, faces: Sequence[Sequence[int]], seeds: Sequence[int], limit: float
) -> np.ndarray:
    """Shortest edge-path distances from ``seeds`` (Dijkstra), ``inf`` beyond ``limit``.

    Paths follow mesh edges, so they go around holes (the mouth slit): the two lips of an open
    or slit mouth are far apart along the surface though close in space.
    """
    e = edges(faces)[:, :2]
    v = np.asarray(vertices, dtype=np.float64)
    length = np.linalg.norm(v[e[:, 0]] - v[e[:, 1]], axis=1)
    order = np.argsort(np.concatenate([e[:, 0], e[:, 1]]), kind="stable")
    src = np.concatenate([e[:, 0], e[:, 1]])[order]
    dst = np.concatenate([e[:, 1], e[:, 0]])[order].tolist()
    wts = np.concatenate([length, length])[order].tolist()
    start = np.searchsorted(src, np.arange(len(v) + 1)).tolist()
    dist = np.full(len(v), np.inf)
    heap = [(0.0, int(s)) for s in seeds]
    for _, s in heap:
        dist[s] = 0.0
    heapq.heapify(heap)
    best = dist.tolist()
    while heap:
        d, a = heapq.heappop(heap)
        if d > best[a] or d > limit:
            continue
        for k in range(start[a], start[a + 1]):
            nd = d + wts[k]
            b = dst[k]
            if nd < best[b]:
                best[b] = nd
                heapq.heappush(heap, (nd, b))
    dist = np.asarray(best)
    dist[dist > limit] = np.inf
    return dist
