"""The procedural demo head: size, determinism, topology and landmarks."""

from __future__ import annotations

import numpy as np
import pytest

from diffusiontalker.errors import DiffusionTalkerError
from diffusiontalker.head import LANDMARK_NAMES, build_demo_head, find_landmarks
from diffusiontalker.head.geometry import boundary_loops, edges


@pytest.fixture(scope="module")
def head():
    return build_demo_head()


def test_vertex_count_in_range(head):
    assert 3000 <= head.num_vertices <= 8000  # 6775: a denser face and mouth than before
    assert head.vertices.dtype == np.float32 and head.vertices.shape[1] == 3


def test_deterministic(head):
    again = build_demo_head()
    assert np.array_equal(head.vertices, again.vertices)
    assert head.faces == again.faces and head.landmarks == again.landmarks


def test_bad_resolution_is_a_clear_error():
    with pytest.raises(DiffusionTalkerError, match="resolution"):
        build_demo_head(resolution=5.0)


def test_topology_is_clean(head):
    e = edges(head.faces)
    assert (e[:, 2] <= 2).all(), "no edge may be shared by more than two faces"
    directed = [(f[i], f[(i + 1) % len(f)]) for f in head.faces for i in range(len(f))]
    assert len(directed) == len(set(directed)), "faces must be consistently oriented"
    loops = boundary_loops(head.faces)
    # the open rims are the neck and the two eye openings (the mouth pocket is closed)
    assert len(loops) == 3
    assert all(len(f) in (3, 4) for f in head.faces)


def test_faces_point_outward(head):
    v = head.vertices.astype(np.float64)
    skin = set(head.groups["skin"].tolist())
    vol = 0.0
    for f in head.faces:
        if f[0] in skin:
            for k in range(1, len(f) - 1):
                vol += np.dot(v[f[0]], np.cross(v[f[k]], v[f[k + 1]])) / 6
    assert vol > 0.002  # an outward-facing head of ~3 litres; inward faces would be negative


def test_landmarks_plausible(head):
    v, lm = head.vertices, head.landmarks
    assert set(LANDMARK_NAMES) <= set(lm)
    # mouth corners mirror each other across the symmetry plane
    cl, cr = v[lm["mouth_corner_L"]], v[lm["mouth_corner_R"]]
    assert np.allclose(cl * [-1, 1, 1], cr, atol=1e-4) and cl[0] > 0.015
    # the nose tip is the most forward point of the skin
    skin = head.groups["skin"]
    assert v[lm["nose_tip"], 1] <= v[skin, 1].min() + 1e-6
    # vertical order: brows > eyes > nose tip > upper lip > lower lip > chin
    z = {k: v[i, 2] for k, i in lm.items()}
    assert z["brow_inner_L"] > z["eye_upper_L"] > z["eye_L"] > z["eye_lower_L"] > z["nose_tip"]
    assert z["nose_tip"] > z["upper_lip_outer"] > z["lower_lip_outer"] > z["chin"]
    assert z["upper_lip_inner"] >= z["lower_lip_inner"]
    # the eyes sit in front of the jaw pivots, the pivots far to the sides
    assert v[lm["eye_L"], 1] < v[lm["jaw_pivot_L"], 1] - 0.05
    assert abs(v[lm["jaw_pivot_L"], 0]) > 0.06
    # inter-pupil distance of an adult
    assert 0.055 < np.linalg.norm(v[lm["eye_L"]] - v[lm["eye_R"]]) < 0.075


def test_eyelids_are_open_and_mouth_closed(head):
    v, lm = head.vertices, head.landmarks
    assert v[lm["eye_upper_L"], 2] - v[lm["eye_lower_L"], 2] > 0.005
    assert np.allclose(v[lm["upper_lip_inner"]], v[lm["lower_lip_inner"]])
    assert lm["upper_lip_inner"] != lm["lower_lip_inner"]  # separate lips that touch


def test_parts_present(head):
    for name in ("skin", "eyeball_L", "eyeball_R", "upper_lip", "lower_lip", "mouth_cavity",
                 "teeth_upper", "teeth_lower", "tongue", "ear_L", "ear_R"):
        assert len(head.groups[name]) > 0, name
    assert len(head.face_materials) == len(head.faces)
    assert set(np.unique(head.face_materials)) == set(range(len(head.material_names)))
    assert {"skin", "lips", "teeth", "gums", "tongue", "mouth"} <= set(head.material_names)


def test_only_eyes_teeth_and_tongue_are_loose(head):
    """The ears are folds of the skin (one surface with the face, as FLAME's are), so the only
    loose parts are the eyeballs (above the mouth) and the teeth and tongue (inside it)."""
    from diffusiontalker.head.geometry import components

    parts = components(head.num_vertices, head.faces)
    skin = set(head.groups["skin"].tolist())
    assert set(parts[0].tolist()) == skin | set(head.groups["mouth_cavity"].tolist())
    assert {int(head.groups["ear_L"][0]), int(head.groups["ear_R"][0])} <= skin
    loose = sorted(sorted(int(i) for i in p) for p in parts[1:])
    named = sorted(sorted(int(i) for i in head.groups[g]) for g in
                   ("eyeball_L", "eyeball_R", "teeth_upper", "teeth_lower", "tongue"))
    assert loose == named


def test_ears_stand_out_with_a_rim(head):
    v = head.vertices
    ears = np.concatenate([head.groups["ear_L"], head.groups["ear_R"]])
    skull = np.setdiff1d(head.groups["skin"], ears)
    for side, sign in (("L", 1.0), ("R", -1.0)):
        ear = v[head.groups[f"ear_{side}"]]
        beside = skull[(np.abs(v[skull, 2] - ear[:, 2].mean()) < 0.01)
                       & (np.abs(v[skull, 1] - ear[:, 1].mean()) < 0.01)]
        head_side = np.abs(v[beside, 0]).max()  # the skull under the ear
        assert (sign * ear[:, 0]).max() > head_side + 0.012, side  # the rim stands out
        assert 0.045 < np.ptp(ear[:, 2]) < 0.07  # an adult ear's height
        assert np.ptp(ear[:, 1]) > 0.02


def test_teeth_and_tongue_sit_behind_the_lips(head):
    """Every point of the teeth and the tongue lies behind the skin in front of it (nothing
    pokes through the lips or the chin)."""
    v, skin = head.vertices.astype(np.float64), head.groups["skin"]
    front = skin[v[skin, 1] < -0.04]
    for part in ("teeth_upper", "teeth_lower", "tongue"):
        for i in head.groups[part]:
            near = front[np.argsort(np.hypot(v[front, 0] - v[i, 0], v[front, 2] - v[i, 2]))[:4]]
            assert v[near, 1].min() < v[i, 1] - 0.003, (part, v[i])


def test_lip_colour_follows_smooth_rows(head):
    """The lip colour's outline (the border of the lip-coloured faces on the skin) is a grid
    row warped along the lips: its height above (below) the seam falls smoothly from the
    centre to the rounded corners, with no steps."""
    v, lm = head.vertices.astype(np.float64), head.landmarks
    seam_z = v[lm["upper_lip_inner"], 2]
    skin = set(head.groups["skin"].tolist())
    lip = head.material_names.index("lips")
    faces = [f for f, m in zip(head.faces, head.face_materials, strict=True)
             if m == lip and set(f) <= skin]
    border = edges(faces)
    outline = np.unique(border[border[:, 2] == 1, :2])
    w_m = v[lm["mouth_corner_L"], 0]
    for sign in (1, -1):
        ids = outline[(sign * (v[outline, 2] - seam_z) > 0.001) & (v[outline, 0] >= -1e-6)
                      & (v[outline, 0] < 0.95 * w_m)]  # the corner's own short edge aside
        ids = ids[np.argsort(v[ids, 0])]
        height = sign * (v[ids, 2] - seam_z)
        assert height[0] > 0.007 and height[-1] < 0.6 * height[0], np.round(height * 1000, 2)
        peak = int(np.argmax(height))  # the upper lip's Cupid's bow
        assert v[ids[peak], 0] < 0.3 * w_m and height[peak] < 1.2 * height[0]
        assert (np.diff(height[peak:]) < 1e-6).all(), np.round(height * 1000, 2)
        assert np.abs(np.diff(height, 2)).max() < 0.003, np.round(height * 1000, 2)


def test_find_landmarks_on_demo_head_is_close_to_construction(head):
    found = find_landmarks(head.vertices, head.faces)
    v = head.vertices
    for name in ("nose_tip", "mouth_corner_L", "mouth_corner_R", "eye_L", "eye_R", "chin"):
        dist = np.linalg.norm(v[found[name]] - v[head.landmarks[name]])
        assert dist < 0.006, (name, dist)


def test_known_landmarks_are_kept_and_checked(head):
    known = dict(head.landmarks)
    assert find_landmarks(head.vertices, head.faces, known) == known
    with pytest.raises(DiffusionTalkerError, match="out of range"):
        find_landmarks(head.vertices, head.faces, {"chin": 10**7})
