"""Generate on heads in any orientation (bpy module): the demo head and the FLAME fixture
rotated 90 degrees about X, mirrored (scale -1 on one axis) and parented to a turned empty
build the same shapes as the same mesh with its transforms applied (to 1e-5, in the mesh's
frame); FLAME imported face-up (the PLY importer's defaults) or Y-up works; a mesh with no
face fails with a message saying what was tried, and the scene stays as it was."""

from __future__ import annotations

import math

import bpy
import numpy as np
import pytest
from scene_utils import add_strip, snapshot, write_speech_wav

from diffusiontalker.channels import CHANNELS


def _offsets(obj) -> dict[str, np.ndarray]:
    from diffusiontalker_blender.writers import basis_coords, key_coords

    blocks = obj.data.shape_keys.key_blocks
    base = basis_coords(obj).astype(np.float64)
    return {c: key_coords(blocks[c]).astype(np.float64) - base for c in CHANNELS}


def _generate(obj) -> None:
    for other in bpy.context.view_layer.objects:
        other.select_set(False)
    bpy.context.view_layer.objects.active = obj
    assert bpy.ops.diffusiontalker.generate(blocking=True, target=obj.name) == {"FINISHED"}


def _place(obj) -> None:
    """Rotated 90 degrees about X, mirrored on X, parented to a turned, moved empty."""
    obj.rotation_euler = (math.pi / 2, 0.0, 0.0)
    obj.scale = (-1.0, 1.0, 1.0)
    empty = bpy.data.objects.new(f"{obj.name} parent", None)
    bpy.context.scene.collection.objects.link(empty)
    empty.rotation_euler = (0.3, -0.4, 0.9)
    empty.location = (0.5, -1.0, 2.0)
    obj.parent = empty
    bpy.context.view_layer.update()


def _applied_copy(obj, name: str):
    """The same mesh and properties, unparented, with every transform applied."""
    copy = obj.copy()
    copy.data = obj.data.copy()
    copy.name = name
    bpy.context.scene.collection.objects.link(copy)
    copy.parent = None
    copy.matrix_world = obj.matrix_world.copy()
    for other in bpy.context.view_layer.objects:
        other.select_set(False)
    copy.select_set(True)
    bpy.context.view_layer.objects.active = copy
    bpy.ops.object.transform_apply(location=True, rotation=True, scale=True)
    assert np.allclose(np.array(copy.matrix_world), np.eye(4))
    return copy


def _same_shapes_as_applied(obj) -> dict[str, np.ndarray]:
    """Generate on ``obj`` and on its applied copy; the shapes agree in ``obj``'s frame."""
    reference = _applied_copy(obj, f"{obj.name} applied")
    _generate(obj)
    _generate(reference)
    linear = np.array(obj.matrix_world)[:3, :3]
    mine, theirs = _offsets(obj), _offsets(reference)
    for c in CHANNELS:
        error = np.abs(mine[c] - theirs[c] @ np.linalg.inv(linear).T)
        vertex = int(np.argmax(error.max(axis=1)))
        assert error.max() < 1e-5, f"{c}: {error.max():.3g} at vertex {vertex}"
    return mine


def _chin_drop(obj, offsets, up_in_mesh) -> float:
    """How far jawOpen moves the chin along the head's up, as seen in the world."""
    linear = np.array(obj.matrix_world)[:3, :3]
    up = linear @ np.asarray(up_in_mesh, np.float64)
    chin = obj["diffusiontalker_landmarks"]["chin"]
    return float((linear @ offsets["jawOpen"][chin]) @ (up / np.linalg.norm(up)))


def test_turned_mirrored_parented_demo_head(fresh, tmp_path):
    from diffusiontalker_blender.head_object import create_head_object

    from diffusiontalker.head import build_demo_head

    add_strip(write_speech_wav(tmp_path / "s.wav"))
    head = create_head_object(bpy.context, build_demo_head(), None, name="Turned")
    _place(head)
    offsets = _same_shapes_as_applied(head)
    assert _chin_drop(head, offsets, (0, 0, 1)) < -0.005  # the jaw opens downward as seen


def test_turned_demo_head_without_stored_landmarks(fresh, tmp_path):
    """The landmarks are found in the face frame of the placed head."""
    from diffusiontalker_blender.head_object import create_head_object

    from diffusiontalker.head import build_demo_head

    add_strip(write_speech_wav(tmp_path / "s.wav"))
    head = create_head_object(bpy.context, build_demo_head(), None, name="Found")
    del head["diffusiontalker_landmarks"]
    _place(head)
    _generate(head)
    assert np.abs(_offsets(head)["jawOpen"]).max() > 1e-3


@pytest.fixture
def flame_objects(fresh, flame_fixture, tmp_path):
    add_strip(write_speech_wav(tmp_path / "s.wav"))

    def load(**axes):
        bpy.ops.wm.ply_import(filepath=str(flame_fixture), **axes)
        return bpy.context.selected_objects[0]

    return load


def test_flame_face_up_and_y_up_imports(flame_objects):
    """Face-up (the importer's defaults: FLAME's y up is Blender's y) and Y-up (a 90 degree
    object rotation): the jaw opens down as seen, and the two build the same shapes."""
    face_up = flame_objects()
    assert np.allclose(np.array(face_up.matrix_world), np.eye(4))
    _generate(face_up)
    y_up = flame_objects(forward_axis="NEGATIVE_Z", up_axis="Y")
    assert abs(y_up.rotation_euler[0] - math.pi / 2) < 1e-6
    _generate(y_up)
    a, b = _offsets(face_up), _offsets(y_up)
    for c in CHANNELS:
        assert np.abs(a[c] - b[c]).max() < 1e-5, f"{c}: {np.abs(a[c] - b[c]).max():.3g}"
    chin = int(np.argmax(np.linalg.norm(a["jawOpen"], axis=1)))  # the most moved vertex
    assert a["jawOpen"][chin][1] < -0.005  # FLAME's up is the mesh's y


def test_flame_turned_mirrored_parented(flame_objects):
    head = flame_objects()
    _place(head)
    offsets = _same_shapes_as_applied(head)
    moved = int(np.argmax(np.linalg.norm(offsets["jawOpen"], axis=1)))
    linear = np.array(head.matrix_world)[:3, :3]
    up = linear @ np.array([0.0, 1.0, 0.0])
    assert (linear @ offsets["jawOpen"][moved]) @ (up / np.linalg.norm(up)) < -0.005


def test_a_mesh_without_a_face_says_what_was_tried(fresh, tmp_path):
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    bpy.ops.mesh.primitive_uv_sphere_add(segments=24, ring_count=12, radius=0.1)
    egg = bpy.context.active_object
    egg.scale = (0.8, 1.0, 1.2)
    egg.rotation_euler = (0.0, 0.0, math.pi / 4)
    before = snapshot(egg)
    with pytest.raises(RuntimeError, match=r"could not find which way the face looks .*tried "
                       r"the symmetry plane.*eyeballs.*Set its landmarks in the Talker panel"):
        bpy.ops.diffusiontalker.generate(blocking=True, target=egg.name)
    assert snapshot(egg) == before and egg.data.shape_keys is None and not bpy.data.actions
