"""Landmarks a user can set (bpy module): Find proposes them on a head in any orientation,
Assign takes the selected vertex in Edit Mode, Clear forgets one, Generate uses them, the
overlay and the sub-panel draw (the overlay's handlers register in background, where
nothing is drawn), and bad input changes nothing."""

from __future__ import annotations

import math

import bpy
import numpy as np
import pytest
from scene_utils import add_strip, write_speech_wav
from test_ui import _draw

from diffusiontalker.head import LANDMARK_NAMES, build_demo_head
from diffusiontalker.head.demo_head import HeadMesh
from diffusiontalker.head.geometry import components


def _head(name="Head", head=None):
    from diffusiontalker_blender.head_object import create_head_object

    obj = create_head_object(bpy.context, head or build_demo_head(), None, name=name)
    bpy.context.view_layer.objects.active = obj
    return obj


def _select_in_edit_mode(obj, indices) -> None:
    import bmesh

    bpy.ops.object.mode_set(mode="EDIT")
    bm = bmesh.from_edit_mesh(obj.data)
    bm.verts.ensure_lookup_table()
    for v in bm.verts:
        v.select_set(False)
    bm.select_history.clear()
    for i in indices:
        bm.verts[i].select_set(True)
    bmesh.update_edit_mesh(obj.data)


def test_registered_with_overlay_handlers(fresh):
    from diffusiontalker_blender import landmarks_ui

    assert len(landmarks_ui._handlers) == 2  # added in background too; never called there
    assert hasattr(bpy.types.WindowManager, landmarks_ui.SHOW_PROP)
    for op in ("find_landmarks", "set_landmark", "clear_landmark", "select_landmark"):
        assert hasattr(bpy.ops.diffusiontalker, op)
    bpy.context.window_manager.diffusiontalker_show_landmarks = False
    landmarks_ui._draw_points()  # off: returns before touching gpu


def test_find_proposes_them_on_a_turned_head_and_keeps_yours(fresh):
    from diffusiontalker_blender.landmarks_ui import get_landmarks

    built = build_demo_head()
    obj = _head()
    del obj["diffusiontalker_landmarks"]
    obj.rotation_euler = (math.pi / 2, 0.3, -0.8)
    obj.scale = (1.0, -1.0, 1.0)
    assert bpy.ops.diffusiontalker.find_landmarks() == {"FINISHED"}
    found = get_landmarks(obj)
    assert set(found) == set(LANDMARK_NAMES)
    v = built.vertices
    for name in ("chin", "nose_tip", "upper_lip_inner"):
        assert np.linalg.norm(v[found[name]] - v[built.landmarks[name]]) < 0.01, name
    mine = int(found["chin"]) + 1
    bpy.ops.diffusiontalker.set_landmark(name="chin", index=mine)
    bpy.ops.diffusiontalker.clear_landmark(name="nose_tip")
    assert bpy.ops.diffusiontalker.find_landmarks() == {"FINISHED"}  # the missing ones only
    assert get_landmarks(obj)["chin"] == mine and "nose_tip" in get_landmarks(obj)
    assert bpy.ops.diffusiontalker.find_landmarks(replace=True) == {"FINISHED"}
    assert get_landmarks(obj)["chin"] == found["chin"]


def test_assign_the_selected_vertex_in_edit_mode(fresh):
    from diffusiontalker_blender.landmarks_ui import get_landmarks, overlay_points

    obj = _head()
    before = get_landmarks(obj)
    _select_in_edit_mode(obj, [17])
    assert bpy.ops.diffusiontalker.set_landmark(name="nose_tip") == {"FINISHED"}
    assert get_landmarks(obj)["nose_tip"] == 17
    points = dict(overlay_points(obj))  # read from the edit mesh
    assert np.allclose(points["nose_tip"], obj.matrix_world @ obj.data.vertices[17].co)
    bpy.ops.diffusiontalker.select_landmark(name="chin")
    bpy.ops.object.mode_set(mode="OBJECT")
    selected = [v.index for v in obj.data.vertices if v.select]
    assert selected == [before["chin"]]
    _select_in_edit_mode(obj, [3, 4])
    with pytest.raises(RuntimeError, match="select one vertex in Edit Mode .2 are selected"):
        bpy.ops.diffusiontalker.set_landmark(name="chin")
    bpy.ops.object.mode_set(mode="OBJECT")
    assert get_landmarks(obj) == {**before, "nose_tip": 17}


def test_clear_and_bad_input_change_nothing_else(fresh):
    from diffusiontalker_blender.landmarks_ui import get_landmarks, set_landmarks

    from diffusiontalker.errors import TopologyError

    obj = _head()
    before = get_landmarks(obj)
    with pytest.raises(RuntimeError, match="out of range"):
        bpy.ops.diffusiontalker.set_landmark(name="chin", index=10**7)
    with pytest.raises(TopologyError, match="unknown landmark names"):
        set_landmarks(obj, {"chin": 1, "nostril": 2})
    assert get_landmarks(obj) == before
    bpy.ops.diffusiontalker.clear_landmark(name="chin")
    assert set(get_landmarks(obj)) == set(before) - {"chin"}
    bpy.ops.diffusiontalker.clear_landmark(name="")
    assert "diffusiontalker_landmarks" not in obj


def _without_eyeballs(head: HeadMesh) -> HeadMesh:
    """The demo head with its eyeballs (and other loose parts) deleted, vertices renumbered;
    eye_L/eye_R (on the eyeballs) move to the nearest skin vertex."""
    skin = components(len(head.vertices), head.faces)[0]
    keep = np.zeros(len(head.vertices), bool)
    keep[skin] = True
    new = np.cumsum(keep) - 1
    faces = [[int(new[i]) for i in f] for f in head.faces if keep[f[0]]]
    mats = [m for f, m in zip(head.faces, head.face_materials, strict=True) if keep[f[0]]]
    v = head.vertices
    near = {n: int(skin[np.argmin(np.linalg.norm(v[skin] - v[i], axis=1))])
            for n, i in head.landmarks.items()}
    marks = {n: int(new[i]) for n, i in near.items()}
    return HeadMesh(head.vertices[keep], faces, mats, head.material_names, {}, marks)


def test_generate_uses_the_landmarks_you_set(fresh, tmp_path):
    """Without eyeballs the eye landmarks cannot be found: Generate says so; set, it works."""
    from diffusiontalker_blender.landmarks_ui import clear_landmarks, get_landmarks, set_landmarks

    add_strip(write_speech_wav(tmp_path / "s.wav"))
    obj = _head("NoEyes", _without_eyeballs(build_demo_head()))
    marks = get_landmarks(obj)
    clear_landmarks(obj)
    with pytest.raises(RuntimeError, match="could not find two eyeballs.*Talker panel"):
        bpy.ops.diffusiontalker.generate(blocking=True)
    assert obj.data.shape_keys is None
    set_landmarks(obj, {n: i for n, i in marks.items() if n.startswith(("eye", "brow", "jaw"))})
    assert bpy.ops.diffusiontalker.generate(blocking=True) == {"FINISHED"}
    assert "jawOpen" in obj.data.shape_keys.key_blocks


def test_the_sub_panel_draws(fresh):
    from diffusiontalker_blender.panel_landmarks import GROUPS, DT_PT_landmarks

    assert sorted(n for _, names in GROUPS for n in names) == sorted(LANDMARK_NAMES)
    log = _draw(DT_PT_landmarks, bpy.context)
    assert ("label", "Select the head mesh") in log
    obj = _head()
    log = _draw(DT_PT_landmarks, bpy.context)
    assert ("label", f"{len(LANDMARK_NAMES)} of {len(LANDMARK_NAMES)} set; Generate finds "
                     "the rest") in log
    assert sum(1 for kind, what in log if kind == "operator"
               and what == "diffusiontalker.set_landmark") == len(LANDMARK_NAMES)
    assert ("prop", "diffusiontalker_show_landmarks") in log
    del obj["diffusiontalker_landmarks"]
    log = _draw(DT_PT_landmarks, bpy.context)
    assert ("label", f"0 of {len(LANDMARK_NAMES)} set; Generate finds the rest") in log
