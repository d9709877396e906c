"""create_head_object builds a Blender mesh with one shape key per rig channel (bpy module)."""

from __future__ import annotations

import numpy as np
import pytest

from diffusiontalker.head import build_demo_head, build_rig


def test_create_head_object_with_shape_keys():
    bpy = pytest.importorskip("bpy")
    import importlib

    # The add-on package from the checkout (tests/conftest.py puts its folder on sys.path).
    head_object = importlib.import_module("blender_addon.head_object")
    head = build_demo_head()
    rig = build_rig(head.vertices, head.faces, head.landmarks)
    obj = head_object.create_head_object(bpy.context, head, rig, name="TestHead")
    try:
        assert len(obj.data.vertices) == head.num_vertices
        assert len(obj.data.polygons) == len(head.faces)
        keys = [k.name for k in obj.data.shape_keys.key_blocks]
        assert keys == ["Basis", *rig.channels]
        co = np.zeros(head.num_vertices * 3, np.float32)
        obj.data.shape_keys.key_blocks["jawOpen"].data.foreach_get("co", co)
        assert np.allclose(co.reshape(-1, 3) - head.vertices, rig.basis("jawOpen"), atol=1e-6)
        assert all(p.use_smooth for p in obj.data.polygons)
        assert "eyeball_L" in obj.vertex_groups
        assert dict(obj["diffusiontalker_landmarks"])["chin"] == head.landmarks["chin"]
        plain = head_object.create_head_object(None, head, None, name="NoRig")
        assert plain.data.shape_keys is None
        bpy.data.objects.remove(plain)
        with pytest.raises(ValueError, match="vertices"):
            small = build_rig(head.vertices[:-10], head.faces[:10], head.landmarks)
            head_object.create_head_object(None, head, small)
    finally:
        bpy.data.objects.remove(obj)
