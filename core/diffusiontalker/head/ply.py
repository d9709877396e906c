"""Read triangle/polygon meshes from PLY (binary little/big endian or ASCII) and OBJ files.

Only what a head template needs: vertex positions and polygon faces. Other vertex properties
(normals, colours) are read past and dropped. Faces keep their polygon size (tris and quads).
No axis conversion happens here: see :func:`diffusiontalker.head.geometry.flame_to_blender`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import TopologyError

_PLY_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}


def read_mesh(path: str | Path) -> tuple[np.ndarray, list[list[int]]]:
    """Read ``(vertices (V, 3) float32, faces)`` from a ``.ply`` or ``.obj`` file."""
    path = Path(path)
    if not path.is_file():
        raise TopologyError(f"mesh file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".ply":
        return read_ply(path)
    if suffix == ".obj":
        return read_obj(path)
    raise TopologyError(f"unsupported mesh format {suffix!r} ({path}); use .ply or .obj")


def _parse_header(raw: bytes, path: Path) -> tuple[str, list[dict], int]:
    end = raw.find(b"end_header")
    if not raw.startswith(b"ply") or end < 0:
        raise TopologyError(f"{path} is not a PLY file (no 'ply' magic or 'end_header')")
    body_start = raw.index(b"\n", end) + 1
    fmt = ""
    elements: list[dict] = []
    for line in raw[:end].decode("ascii", "replace").splitlines()[1:]:
        parts = line.split()
        if not parts or parts[0] in ("comment", "obj_info"):
            continue
        if parts[0] == "format":
            fmt = parts[1]
        elif parts[0] == "element":
            elements.append({"name": parts[1], "count": int(parts[2]), "props": []})
        elif parts[0] == "property" and elements:
            if parts[1] == "list":
                elements[-1]["props"].append((parts[4], "list", parts[2], parts[3]))
            else:
                elements[-1]["props"].append((parts[2], parts[1]))
    if fmt not in ("ascii", "binary_little_endian", "binary_big_endian"):
        raise TopologyError(f"{path}: unknown PLY format {fmt!r}")
    return fmt, elements, body_start


def _ply_type(name: str, path: Path) -> str:
    if name not in _PLY_TYPES:
        raise TopologyError(f"{path}: unknown PLY property type {name!r}")
    return _PLY_TYPES[name]


def read_ply(path: str | Path) -> tuple[np.ndarray, list[list[int]]]:
    """Read vertices and faces of a PLY file (ASCII or binary)."""
    path = Path(path)
    raw = path.read_bytes()
    fmt, elements, pos = _parse_header(raw, path)
    verts: np.ndarray | None = None
    faces: list[list[int]] = []
    if fmt == "ascii":
        tokens = raw[pos:].split()
        t = 0
        for el in elements:
            rows = []
            for _ in range(el["count"]):
                row: list[float] = []
                for prop in el["props"]:
                    if prop[1] == "list":
                        n = int(tokens[t])
                        row.append([int(x) for x in tokens[t + 1 : t + 1 + n]])
                        t += 1 + n
                    else:
                        row.append(float(tokens[t]))
                        t += 1
                rows.append(row)
            verts, faces = _collect(el, rows, verts, faces)
        return _finish(verts, faces, path)
    endian = "<" if fmt == "binary_little_endian" else ">"
    for el in elements:
        props = el["props"]
        if all(p[1] != "list" for p in props):
            dtype = np.dtype([(p[0], endian + _ply_type(p[1], path)) for p in props])
            size = dtype.itemsize * el["count"]
            if pos + size > len(raw):
                raise TopologyError(f"{path} is truncated in its '{el['name']}' element")
            table = np.frombuffer(raw, dtype=dtype, count=el["count"], offset=pos)
            pos += size
            rows = None
            if el["name"] == "vertex":
                verts = np.stack([table[c].astype(np.float32) for c in ("x", "y", "z")], 1)
            continue
        rows = []
        for _ in range(el["count"]):
            row = []
            for p in props:
                if p[1] == "list":
                    ct = np.dtype(endian + _ply_type(p[2], path))
                    it = np.dtype(endian + _ply_type(p[3], path))
                    if pos + ct.itemsize > len(raw):
                        raise TopologyError(f"{path} is truncated in its '{el['name']}' element")
                    n = int(np.frombuffer(raw, ct, 1, pos)[0])
                    pos += ct.itemsize
                    if pos + it.itemsize * n > len(raw):
                        raise TopologyError(f"{path} is truncated in its '{el['name']}' element")
                    row.append(np.frombuffer(raw, it, n, pos).tolist())
                    pos += it.itemsize * n
                else:
                    st = np.dtype(endian + _ply_type(p[1], path))
                    if pos + st.itemsize > len(raw):
                        raise TopologyError(f"{path} is truncated in its '{el['name']}' element")
                    row.append(float(np.frombuffer(raw, st, 1, pos)[0]))
                    pos += st.itemsize
            rows.append(row)
        verts, faces = _collect(el, rows, verts, faces)
    return _finish(verts, faces, path)


def _collect(el: dict, rows, verts, faces):
    names = [p[0] for p in el["props"]]
    if el["name"] == "vertex":
        cols = [names.index(c) for c in ("x", "y", "z")]
        verts = np.array([[r[c] for c in cols] for r in rows], dtype=np.float32)
    elif el["name"] == "face":
        li = next(i for i, p in enumerate(el["props"]) if p[1] == "list")
        faces = [list(map(int, r[li])) for r in rows]
    return verts, faces


def _finish(verts, faces, path: Path):
    if verts is None or len(verts) == 0:
        raise TopologyError(f"{path} has no vertices")
    verts = verts.reshape(-1, 3)
    for f in faces:
        if len(f) < 3 or min(f) < 0 or max(f) >= len(verts):
            raise TopologyError(f"{path} has a face with invalid vertex indices: {f}")
    return verts, faces


def read_obj(path: str | Path) -> tuple[np.ndarray, list[list[int]]]:
    """Read ``v`` and ``f`` lines of a Wavefront OBJ (1-based or negative indices)."""
    path = Path(path)
    verts: list[list[float]] = []
    faces: list[list[int]] = []
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "v":
            verts.append([float(x) for x in parts[1:4]])
        elif parts[0] == "f":
            idx = [int(tok.split("/")[0]) for tok in parts[1:]]
            faces.append([i - 1 if i > 0 else len(verts) + i for i in idx])
    return _finish(np.array(verts, dtype=np.float32), faces, path)


def write_ply(path: str | Path, vertices: np.ndarray, faces, binary: bool = True) -> None:
    """Write a PLY (binary little-endian or ASCII) with positions and polygon faces."""
    vertices = np.asarray(vertices, dtype=np.float32)
    header = (
        f"ply\nformat {'binary_little_endian' if binary else 'ascii'} 1.0\n"
        f"element vertex {len(vertices)}\nproperty float x\nproperty float y\nproperty float z\n"
        f"element face {len(faces)}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    with open(path, "wb") as fh:
        fh.write(header.encode("ascii"))
        if binary:
            fh.write(vertices.astype("<f4").tobytes())
            for f in faces:
                fh.write(np.uint8(len(f)).tobytes() + np.asarray(f, "<i4").tobytes())
        else:
            for v in vertices:
                fh.write(f"{v[0]:.7g} {v[1]:.7g} {v[2]:.7g}\n".encode())
            for f in faces:
                fh.write((f"{len(f)} " + " ".join(map(str, f)) + "\n").encode())
