"""Each output mode plays the same motion and survives save -> reload; vertex models land
their offsets on the right vertices at the right frames (FLAME fixture)."""

from __future__ import annotations

import struct

import bpy
import numpy as np
import pytest
from fakes import VertexTalker
from scene_utils import add_strip, evaluated_coords, make_channel_head, write_speech_wav

FRAMES = (15, 25, 30, 40, 60, 80)


def _coords(obj) -> np.ndarray:
    return np.stack([evaluated_coords(obj, f) for f in FRAMES])


def _reload(path) -> bpy.types.Object:
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    bpy.ops.wm.open_mainfile(filepath=str(path))
    return bpy.data.objects["Head"]


def test_output_modes_agree_and_survive_save_reload(fresh, tmp_path):
    head = make_channel_head()
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    blend = tmp_path / "scene.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))  # point caches go beside the .blend
    assert bpy.ops.diffusiontalker.generate(blocking=True, output_mode="CHANNEL_KEYS") == {"FINISHED"}
    reference = _coords(head)
    assert np.abs(reference - reference[0]).max() > 0.01  # it moves
    for mode in ("BASIS", "PER_FRAME", "POINT_CACHE"):
        head = bpy.data.objects["Head"]
        assert bpy.ops.diffusiontalker.generate(blocking=True, output_mode=mode) == {"FINISHED"}
        ours = [b.name for b in head.data.shape_keys.key_blocks if b.name.startswith("DT ")]
        assert bool(ours) == (mode != "POINT_CACHE")
        assert ("DiffusionTalker cache" in head.modifiers) == (mode == "POINT_CACHE")
        now = _coords(head)
        np.testing.assert_allclose(now, reference, atol=2e-4, err_msg=mode)
        head = _reload(blend)
        np.testing.assert_allclose(_coords(head), now, atol=1e-6, err_msg=f"{mode} after reload")
    if True:  # the point cache sits beside the .blend, referenced relatively
        assert head.modifiers["DiffusionTalker cache"].filepath == "//DT_Head.pc2"
        assert (tmp_path / "DT_Head.pc2").is_file()
    bpy.ops.diffusiontalker.remove_generated()
    assert not (tmp_path / "DT_Head.pc2").exists() and not head.modifiers
    assert [b.name for b in head.data.shape_keys.key_blocks][1:3] == ["jawOpen", "mouthClose"]


def _read_ply(path) -> tuple[np.ndarray, np.ndarray]:
    """Minimal binary little-endian PLY reader (tests only: vertices xyz + triangle faces)."""
    raw = path.read_bytes()
    end = raw.index(b"end_header\n") + len(b"end_header\n")
    header = raw[:end].decode().splitlines()
    nv = nf = 0
    vprops: list[str] = []
    types = {"float": "f4", "double": "f8", "uchar": "u1", "int": "i4", "uint": "u4"}
    for line in header:
        parts = line.split()
        if parts[:2] == ["element", "vertex"]:
            nv, section = int(parts[2]), "v"
        elif parts[:2] == ["element", "face"]:
            nf, section = int(parts[2]), "f"
        elif parts and parts[0] == "property" and section == "v":
            vprops.append(types[parts[1]])
    vdtype = np.dtype([(f"p{i}", "<" + t) for i, t in enumerate(vprops)])
    verts = np.frombuffer(raw, vdtype, nv, end)
    xyz = np.stack([verts["p0"], verts["p1"], verts["p2"]], 1).astype(np.float32)
    off = end + nv * vdtype.itemsize
    faces = np.frombuffer(raw, np.dtype([("n", "u1"), ("i", "<i4", 3)]), nf, off)["i"]
    assert struct.calcsize("<B3i") == 13
    return xyz, faces


@pytest.mark.parametrize("mode", ["BASIS", "POINT_CACHE"])
def test_vertex_model_offsets_land_on_flame_vertices(fresh, tmp_path, flame_fixture, mode):
    from diffusiontalker_blender import model_cache

    verts, faces = _read_ply(flame_fixture)
    assert len(verts) == 5023
    mesh = bpy.data.meshes.new("Head")
    mesh.from_pydata(verts.tolist(), [], faces.tolist())
    head = bpy.data.objects.new("Head", mesh)
    bpy.context.scene.collection.objects.link(head)
    bpy.context.view_layer.objects.active = head
    talker = VertexTalker(5023)
    model_cache.use_talker(talker)
    add_strip(write_speech_wav(tmp_path / "s.wav"), frame=10, trim=0)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "flame.blend"))
    assert bpy.ops.diffusiontalker.generate(blocking=True, output_mode=mode) == {"FINISHED"}
    expected = talker.offsets(72)  # 2.4 s at 30 model fps == 30 scene fps: frame 10 + i
    for i in (0, 7, 40, 71):
        got = evaluated_coords(head, 10 + i) - verts
        np.testing.assert_allclose(got, expected[i], atol=2e-5, err_msg=f"model frame {i}")
