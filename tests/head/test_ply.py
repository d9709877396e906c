"""PLY (binary and ASCII) and OBJ reading, and FLAME axis conversion."""

from __future__ import annotations

import numpy as np
import pytest

from diffusiontalker.errors import TopologyError
from diffusiontalker.head import flame_to_blender, read_mesh, write_ply

VERTS = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0.5], [0.25, 0.5, -1]], np.float32)
FACES = [[0, 1, 2, 3], [0, 1, 4]]


@pytest.mark.parametrize("binary", [True, False])
def test_ply_round_trip(tmp_path, binary):
    path = tmp_path / "m.ply"
    write_ply(path, VERTS, FACES, binary=binary)
    v, f = read_mesh(path)
    assert np.allclose(v, VERTS) and f == FACES


def test_ply_with_extra_properties_and_big_endian(tmp_path):
    path = tmp_path / "be.ply"
    header = (
        "ply\nformat binary_big_endian 1.0\ncomment made by a test\n"
        "element vertex 3\nproperty double x\nproperty double y\nproperty double z\n"
        "property uchar red\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n"
    )
    body = b""
    for p in VERTS[:3]:
        body += np.asarray(p, ">f8").tobytes() + bytes([200])
    body += bytes([3]) + np.asarray([0, 1, 2], ">i4").tobytes()
    path.write_bytes(header.encode() + body)
    v, f = read_mesh(path)
    assert np.allclose(v, VERTS[:3]) and f == [[0, 1, 2]]


def test_obj(tmp_path):
    path = tmp_path / "m.obj"
    path.write_text("v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0.5\nf 1/1 2/2 3/3 4/4\nf -4 -3 -2\n")
    v, f = read_mesh(path)
    assert np.allclose(v, VERTS[:4]) and f == [[0, 1, 2, 3], [0, 1, 2]]


def test_bad_files_are_clear_errors(tmp_path):
    with pytest.raises(TopologyError, match="not found"):
        read_mesh(tmp_path / "missing.ply")
    bad = tmp_path / "bad.ply"
    bad.write_bytes(b"hello")
    with pytest.raises(TopologyError, match="not a PLY"):
        read_mesh(bad)
    trunc = tmp_path / "trunc.ply"
    write_ply(trunc, VERTS, FACES)
    trunc.write_bytes(trunc.read_bytes()[:-30])
    with pytest.raises(TopologyError, match="truncated"):
        read_mesh(trunc)
    stl = tmp_path / "x.stl"
    stl.write_text("solid x\n")
    with pytest.raises(TopologyError, match="unsupported"):
        read_mesh(stl)


def test_flame_to_blender_axes():
    out = flame_to_blender(np.array([[1.0, 2.0, 3.0]]))
    assert np.allclose(out, [[1.0, -3.0, 2.0]])  # y up -> z up, toward viewer -> -Y
