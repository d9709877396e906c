"""The face frame: heads in any orientation, mirrored or scaled, are found, detected and rigged
as if upright (demo head and the FLAME fixture)."""

from __future__ import annotations

import numpy as np
import pytest

from diffusiontalker.errors import TopologyError
from diffusiontalker.head import (
    build_demo_head,
    find_face_frame,
    find_landmarks,
    flame_to_blender,
    read_mesh,
)
from diffusiontalker.head.face_frame import frame_from_landmarks, snap, symmetry_plane
from diffusiontalker.head.geometry import components
from diffusiontalker.head.landmarks import swap_sides
from diffusiontalker.head.placement import build_placed_rig, placed_vertices


def _rotation(seed: int) -> np.ndarray:
    q = np.random.default_rng(seed).normal(size=4)
    a, b, c, d = q / np.linalg.norm(q)
    return np.array([
        [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
        [2 * (b * c + a * d), a * a - b * b + c * c - d * d, 2 * (c * d - a * b)],
        [2 * (b * d - a * c), 2 * (c * d + a * b), a * a - b * b - c * c + d * d]])


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip((np.trace(a @ b.T) - 1) / 2, -1, 1))))


@pytest.fixture(scope="module")
def demo():
    head = build_demo_head()
    return head.vertices.astype(np.float64), head.faces, head.landmarks


@pytest.fixture(scope="module")
def flame(flame_fixture):
    v, f = read_mesh(flame_fixture)
    upright = flame_to_blender(v).astype(np.float64)
    return v.astype(np.float64), upright, f, find_landmarks(upright, f)


def test_upright_heads_are_read_exactly_as_placed(demo, flame):
    v, f, _ = demo
    frame = find_face_frame(v, f)
    assert np.array_equal(frame.axes, np.eye(3)) and frame.scale == 1.0
    assert "eyeballs" in frame.how and "slit" in frame.how
    _, upright, ff, _ = flame
    frame = find_face_frame(upright, ff)
    assert np.array_equal(frame.axes, np.eye(3)) and "hole" in frame.how


def test_flame_imported_face_up_is_turned_upright(flame):
    raw, upright, f, lm = flame  # the PLY's own axes: y up, the face looking up +z
    frame = find_face_frame(raw, f)
    assert np.allclose(frame.to_canonical(raw), upright, atol=1e-6)  # exactly flame_to_blender
    assert find_landmarks(raw, f) == lm


@pytest.mark.parametrize("seed,mirror,scale", [(1, False, 1.0), (2, True, 1.0), (3, False, 100.0),
                                              (4, True, 0.01)])
def test_any_rotation_mirror_and_scale(demo, flame, seed, mirror, scale):
    """The frame is found to well under a degree, landmarks land within a few mm of the
    upright ones (a mirrored head's left is its mesh's right)."""
    for v, f, base in ((*demo[:2], find_landmarks(*demo[:2])), flame[1:]):
        rotation = _rotation(seed)
        linear = scale * rotation @ (np.diag([-1.0, 1, 1]) if mirror else np.eye(3))
        placed = v @ linear.T + np.array([0.3, -1.2, 2.0])
        frame = find_face_frame(placed, f)
        assert _angle(frame.axes, rotation.T) < 0.6, frame.how
        assert frame.scale == pytest.approx(1.0 if scale == 1.0 else 1 / scale, rel=0.1)
        found = find_landmarks(placed, f)
        expected = swap_sides(base) if mirror else base
        shift = [np.linalg.norm(v[found[n]] - v[expected[n]]) for n in expected]
        assert max(shift) < 0.012, dict(zip(expected, np.round(shift, 4), strict=True))
        assert np.median(shift) == 0.0


def test_snap_only_near_the_axes():
    turned = np.array([[0, 0, -1], [0, 1, 0], [1, 0, 0]], np.float64)
    assert np.array_equal(snap(turned), turned)
    small = np.array([[1, 0, 0], [0, np.cos(0.1), -np.sin(0.1)], [0, np.sin(0.1), np.cos(0.1)]])
    assert np.array_equal(snap(small), np.eye(3))  # 5.7 degrees: snapped
    tilted = np.array([[1, 0, 0], [0, np.cos(0.3), -np.sin(0.3)], [0, np.sin(0.3), np.cos(0.3)]])
    assert np.array_equal(snap(tilted), tilted)  # 17 degrees: kept


def test_symmetry_plane_of_a_rotated_head(demo):
    v, f, _ = demo
    skin = components(len(v), f)[0]
    rotation = _rotation(11)
    normal, point, residual = symmetry_plane(v[skin] @ rotation.T)
    assert abs(abs(normal @ rotation[:, 0]) - 1) < 1e-6  # the head's x axis, turned
    assert residual < 1e-4


def test_frame_from_landmarks_and_a_mirrored_head(demo):
    v, _, lm = demo
    frame = frame_from_landmarks(v, lm)
    assert np.array_equal(frame.axes, np.eye(3)) and not frame.sides_swapped
    mirrored = v * np.array([-1.0, 1, 1])  # landmarks set before the head was mirrored
    frame = frame_from_landmarks(mirrored, lm)
    assert np.array_equal(frame.axes, np.eye(3)) and frame.sides_swapped
    assert frame_from_landmarks(v, {"eye_L": 1}) is None
    assert swap_sides({"eye_L": 1, "chin": 2, "jaw_pivot_R": 3}) == {
        "eye_R": 1, "chin": 2, "jaw_pivot_L": 3}


def test_what_was_tried_is_said_when_the_face_is_not_found():
    # an egg turned 45 degrees: symmetric, no eyes, no mouth, not upright
    u, w = np.meshgrid(np.linspace(0.1, np.pi - 0.1, 20), np.linspace(0, 2 * np.pi, 40,
                                                                     endpoint=False))
    ball = np.stack([0.08 * np.sin(u) * np.cos(w), 0.1 * np.sin(u) * np.sin(w),
                     0.12 * np.cos(u)], -1)
    turn = np.array([[1, -1, 0], [1, 1, 0], [0, 0, np.sqrt(2)]]) / np.sqrt(2)
    ball = ball.reshape(-1, 3) @ turn.T
    faces = [(i * 20 + j, i * 20 + j + 1, ((i + 1) % 40) * 20 + j + 1, ((i + 1) % 40) * 20 + j)
             for i in range(40) for j in range(19)]
    with pytest.raises(TopologyError, match=r"tried the symmetry plane .* no pair of "
                       r"mirror-image eyeballs .*set the landmarks yourself: eye_L, eye_R"):
        find_face_frame(ball, faces)
    lumpy = ball + 0.03 * np.random.default_rng(0).random(ball.shape)
    with pytest.raises(TopologyError, match="not mirror-symmetric"):
        find_face_frame(lumpy, faces)


def test_known_landmarks_stand_in_for_parts_the_mesh_lacks(demo):
    """Without eyeballs the eye landmarks cannot be found; set, they are kept and the rest
    (mouth, chin, nose) is still found."""
    v, f, lm = demo
    skin = set(components(len(v), f)[0].tolist())
    no_eyes = [face for face in f if face[0] in skin]
    with pytest.raises(TopologyError, match="could not find two eyeballs .*set the landmarks"):
        find_landmarks(v, no_eyes)
    eyes = {n: i for n, i in lm.items() if n.startswith(("eye", "brow", "jaw"))}
    found = find_landmarks(v, no_eyes, known=eyes)
    assert {n: found[n] for n in eyes} == eyes and set(found) == set(lm)
    for name in ("nose_tip", "mouth_corner_L", "chin"):
        assert np.linalg.norm(v[found[name]] - v[lm[name]]) < 0.005, name
    with pytest.raises(TopologyError, match="unknown landmark names"):
        find_landmarks(v, f, known={"eyeball": 3})


def test_placed_rig_equals_the_rig_of_the_applied_transform(demo, flame):
    """Rigged through its object matrix, or with the matrix applied (float32, as a mesh stores
    it): the same shapes, to 1e-5, in the mesh's frame."""
    matrix = np.eye(4)
    matrix[:3, :3] = _rotation(9) @ np.diag([1.0, -1.0, 1.3])
    matrix[:3, 3] = (0.4, 1.0, -2.0)
    for v, f, lm in (demo, (flame[0], flame[2], None)):
        placed = build_placed_rig(v, f, lm, matrix)
        applied = placed_vertices(v, matrix).astype(np.float32)
        reference = build_placed_rig(applied, f, lm)
        back = reference.rig.bases.astype(np.float64) @ np.linalg.inv(matrix[:3, :3]).T
        assert placed.landmarks == reference.landmarks
        assert np.abs(placed.rig.bases - back).max() < 1e-5


def test_placed_rig_moves_the_world_face(demo):
    """On a turned, mirrored head the shapes make sense where the head is seen: the chin goes
    down and back, eyeBlinkLeft closes the eye on the subject's left as seen."""
    v, f, lm = demo
    matrix = np.eye(4)
    matrix[:3, :3] = _rotation(3) @ np.diag([-1.0, 1.0, 1.0])
    placed = build_placed_rig(v, f, lm, matrix)
    rig, frame = placed.rig, placed.frame
    assert frame.sides_swapped

    def seen(name):  # the channel's offsets as seen, in the canonical frame
        return frame.scale * (rig.basis(name).astype(np.float64) @ matrix[:3, :3].T) @ frame.axes.T

    chin = seen("jawOpen")[lm["chin"]]
    assert chin[2] < -0.005 and chin[1] > 0.0  # canonical: down (-z) and back (+y)
    blink = np.linalg.norm(seen("eyeBlinkLeft"), axis=1)
    moved = frame.to_canonical(placed_vertices(v, matrix))[blink > 1e-4]
    assert len(moved) > 10 and (moved[:, 0] > 0).all()
