"""The landmark rig on the full face (issue 13): every ARKit channel moves the region it names
in the direction it names, on the demo head and on the FLAME fixture; head rotation has zero
bases. Axes: Blender's (z up, face toward -Y, +X = the subject's left)."""

from __future__ import annotations

import numpy as np
import pytest

from diffusiontalker.channels import ARKIT_CHANNELS, FULL_FACE_CHANNELS, HEAD_ROTATION_CHANNELS
from diffusiontalker.head import (
    build_demo_head,
    build_rig,
    find_landmarks,
    flame_to_blender,
    read_mesh,
    rig_gaze,
)

SIDES = (("L", "Left", 1), ("R", "Right", -1))


@pytest.fixture(scope="module")
def demo():
    head = build_demo_head()
    return np.asarray(head.vertices, np.float64), head.faces, head.landmarks, head


@pytest.fixture(scope="module")
def flame(flame_fixture):
    v, f = read_mesh(flame_fixture)
    v = flame_to_blender(v)
    return np.asarray(v, np.float64), f, find_landmarks(v, f), None


@pytest.fixture(scope="module", params=["demo", "flame"])
def case(request):
    v, f, lm, head = request.getfixturevalue(request.param)
    return request.param, v, f, lm, build_rig(v, f, lm, FULL_FACE_CHANNELS), head


def _near(v, point, among=None):
    """The vertex (of ``among``, default all) nearest ``point``."""
    ids = np.arange(len(v)) if among is None else np.asarray(among)
    return int(ids[np.argmin(np.linalg.norm(v[ids] - point, axis=1))])


def _s(v, lm):
    return float(np.linalg.norm(v[lm["eye_L"]] - v[lm["eye_R"]]))


def test_every_channel_has_a_finite_basis(case):
    name, v, _, lm, rig, _ = case
    assert rig.channels == FULL_FACE_CHANNELS
    assert rig.bases.shape == (55, len(v), 3) and np.isfinite(rig.bases).all()
    for c in ARKIT_CHANNELS:
        mag = np.linalg.norm(rig.basis(c), axis=1).max()
        assert 0.001 < mag < 0.04, (name, c, mag)
    for c in HEAD_ROTATION_CHANNELS:
        assert not rig.basis(c).any(), c
    pivot_y = (v[lm["jaw_pivot_L"], 1] + v[lm["jaw_pivot_R"], 1]) / 2
    back = v[:, 1] > pivot_y + 0.02
    assert back.sum() > 200 and np.abs(rig.bases[:, back]).max() < 1e-7
    weights = np.random.default_rng(1).uniform(0, 1, (3, 55)).astype(np.float32)
    assert rig.apply(weights).shape == (3, len(v), 3)  # a full 55-channel motion


def test_gaze_turns_the_eye(case):
    name, v, _, lm, rig, _ = case
    for sfx, side, sign in SIDES:
        other = "eye_R" if sfx == "L" else "eye_L"
        eye = lm[f"eye_{sfx}"]  # on the eyeball's front (the pupil)
        moves = {d: rig.basis(f"eyeLook{d}{side}")[eye] for d in ("Up", "Down", "In", "Out")}
        assert moves["Up"][2] > 0.002 and moves["Down"][2] < -0.002, (name, side, moves)
        assert sign * moves["Out"][0] > 0.002 and sign * moves["In"][0] < -0.002, (name, side)
        assert abs(moves["Up"][0]) < 5e-4 and abs(moves["Out"][2]) < 5e-4
        for d in moves:  # the other eye stays
            assert np.linalg.norm(rig.basis(f"eyeLook{d}{side}")[lm[other]]) < 1e-9
        # the lids follow a vertical look a little
        assert rig.basis(f"eyeLookUp{side}")[lm[f"eye_upper_{sfx}"], 2] > 3e-4
        assert rig.basis(f"eyeLookDown{side}")[lm[f"eye_upper_{sfx}"], 2] < -3e-4


def test_eyeballs_turn_rigidly(demo):
    v, f, lm, head = demo
    rig = build_rig(v, f, lm, ("eyeLookOutLeft", "eyeLookUpRight"))
    for channel, part in (("eyeLookOutLeft", "eyeball_L"), ("eyeLookUpRight", "eyeball_R")):
        ids = head.groups[part]
        moved = v[ids] + rig.basis(channel)[ids]
        a, b = ids[:30], ids[-30:]
        assert np.allclose(np.linalg.norm(moved[:30] - moved[-30:], axis=1),
                           np.linalg.norm(v[a] - v[b], axis=1), atol=1e-6)
    assert not rig.basis("eyeLookOutLeft")[head.groups["eyeball_R"]].any()


def test_gaze_without_separate_eyeballs(flame, monkeypatch):
    """A mesh whose eyes are skin: the iris region turns instead (an approximation)."""
    v, f, lm, _ = flame
    monkeypatch.setattr(rig_gaze, "eyeball", lambda fields, sfx: None)
    rig = build_rig(v, f, lm, ("eyeLookUpLeft", "eyeLookInRight"))
    assert np.isfinite(rig.bases).all()
    up = rig.basis("eyeLookUpLeft")
    near_eye = np.linalg.norm(v - v[lm["eye_L"]], axis=1) < 0.3 * _s(v, lm)
    assert up[near_eye, 2].max() > 0.001
    assert np.abs(up[np.linalg.norm(v - v[lm["eye_R"]], axis=1) < 0.3 * _s(v, lm)]).max() < 1e-9


def test_lids_squint_and_widen(case):
    name, v, _, lm, rig, _ = case
    s = _s(v, lm)
    for sfx, side, _sign in SIDES:
        lower, upper = lm[f"eye_lower_{sfx}"], lm[f"eye_upper_{sfx}"]
        squint = rig.basis(f"eyeSquint{side}")
        assert squint[lower, 2] > 5e-4, (name, side, squint[lower])
        assert abs(squint[upper, 2]) < 2e-4
        cheek = _near(v, v[lower] - [0.0, 0.0, 0.35 * s])
        assert squint[cheek, 2] > 5e-4
        assert rig.basis(f"eyeWide{side}")[upper, 2] > 0.001
        assert abs(rig.basis(f"eyeWide{side}")[lower, 2]) < 2e-4
        cheek_squint = rig.basis(f"cheekSquint{side}")
        assert cheek_squint[cheek, 2] > 0.0015, (name, side, cheek_squint[cheek])
        other = lm["eye_lower_R" if sfx == "L" else "eye_lower_L"]
        for c in (f"eyeSquint{side}", f"eyeWide{side}", f"cheekSquint{side}"):
            assert np.linalg.norm(rig.basis(c)[other]) < 1e-9, c


def test_mouth_sideways_frown_dimple(case):
    name, v, _, lm, rig, _ = case
    lips = [lm[k] for k in ("upper_lip_outer", "lower_lip_outer", "mouth_corner_L",
                            "mouth_corner_R")]
    assert (rig.basis("mouthLeft")[lips, 0] > 0.003).all()
    assert (rig.basis("mouthRight")[lips, 0] < -0.003).all()
    for sfx, side, sign in SIDES:
        corner, far = lm[f"mouth_corner_{sfx}"], lm["mouth_corner_R" if sfx == "L" else "mouth_corner_L"]
        frown, dimple = rig.basis(f"mouthFrown{side}"), rig.basis(f"mouthDimple{side}")
        assert frown[corner, 2] < -0.003 and sign * frown[corner, 0] > 0, (name, side)
        assert dimple[corner, 1] > 0.002 and sign * dimple[corner, 0] > 0  # back (+Y), out
        assert np.linalg.norm(frown[far]) < 1e-9 and np.linalg.norm(dimple[far]) < 1e-9


def test_shrugs(case):
    name, v, _, lm, rig, _ = case
    lower = rig.basis("mouthShrugLower")
    assert lower[lm["lower_lip_outer"], 2] > 0.0015 and lower[lm["lower_lip_outer"], 1] < -0.001
    assert lower[lm["chin"], 2] > 0.001
    upper = rig.basis("mouthShrugUpper")
    assert upper[lm["upper_lip_outer"], 2] > 0.0015
    assert abs(upper[lm["lower_lip_outer"], 2]) < 2e-4 and abs(upper[lm["chin"], 2]) < 1e-9


def test_nose_sneer_lifts_its_own_wing(case):
    name, v, _, lm, rig, _ = case
    s, tip = _s(v, lm), v[lm["nose_tip"]]
    for _sfx, side, sign in SIDES:
        wing = _near(v, tip + [sign * 0.3 * s, 0.25 * s, -0.1 * s])
        far_wing = _near(v, tip + [-sign * 0.3 * s, 0.25 * s, -0.1 * s])
        sneer = rig.basis(f"noseSneer{side}")
        assert sneer[wing, 2] > 0.002, (name, side, sneer[wing])
        assert np.linalg.norm(sneer[far_wing]) < 1e-9
        assert sneer[wing, 2] > 2 * abs(sneer[lm["nose_tip"], 2])


def test_tongue_out_between_the_lips(demo):
    v, f, lm, head = demo
    rig = build_rig(v, f, lm, ("tongueOut",))
    out = v + rig.basis("tongueOut")
    tongue = head.groups["tongue"]
    tip = tongue[np.argmin(out[tongue, 1])]
    up, lo = out[lm["upper_lip_outer"]], out[lm["lower_lip_outer"]]
    assert out[tip, 1] < min(up[1], lo[1]) - 0.005  # in front of both lips
    assert lo[2] < out[tip, 2] < up[2]  # between them
    assert np.abs(rig.basis("tongueOut")[head.groups["teeth_upper"]]).max() == 0.0


def test_tongue_out_without_a_tongue_pushes_the_lower_lip(flame):
    v, f, lm, _ = flame
    rig = build_rig(v, f, lm, ("tongueOut",))
    push = rig.basis("tongueOut")
    assert push[lm["lower_lip_inner"], 1] < -0.002  # forward (-Y)
    assert np.linalg.norm(push[lm["upper_lip_outer"]]) < 2e-4


def _mirror_map(v):
    """For each vertex, the vertex at its mirror image (x -> -x), or -1 (or when ambiguous)."""
    keys = {tuple(np.round(p * 1e5).astype(np.int64)): i for i, p in enumerate(v)}
    counts: dict = {}
    for p in v:
        k = tuple(np.round(p * 1e5).astype(np.int64))
        counts[k] = counts.get(k, 0) + 1
    out = np.full(len(v), -1)
    for i, p in enumerate(v):
        k = tuple(np.round(p * 1e5).astype(np.int64))
        m = (-k[0], k[1], k[2])
        if counts[k] == 1 and counts.get(m) == 1:
            out[i] = keys[m]
    return out


PAIRS = [(f"{a}Left", f"{a}Right") for a in (
    "eyeLookDown", "eyeLookIn", "eyeLookOut", "eyeLookUp", "eyeSquint", "eyeWide",
    "mouthFrown", "mouthDimple", "cheekSquint", "noseSneer")] + [("mouthLeft", "mouthRight")]


def test_pairs_mirror_each_other(demo):
    """The demo head is symmetric: each Left shape is its Right shape seen in a mirror."""
    v, f, lm, _ = demo
    mirror = _mirror_map(v)
    ok = mirror >= 0
    assert ok.sum() > 0.8 * len(v)
    rig = build_rig(v, f, lm, [c for pair in PAIRS for c in pair])
    flip = np.array([-1.0, 1.0, 1.0])
    for left, right in PAIRS:
        a = rig.basis(left)[ok]
        b = rig.basis(right)[mirror[ok]] * flip
        assert np.abs(a - b).max() < 2e-5, (left, np.abs(a - b).max())


def test_new_mouth_shapes_keep_the_lips_apart(demo):
    """At the demo head's slit, no new mouth shape pushes the lower lip through the upper."""
    v, f, lm, head = demo
    lower = head.groups["lower_lip"]
    pairs = []
    for i in head.groups["upper_lip"]:
        twin = lower[np.all(v[lower] == v[i], axis=1)]
        if len(twin):
            pairs.append((i, twin[0]))
    assert len(pairs) >= 5
    channels = ("mouthLeft", "mouthRight", "mouthFrownLeft", "mouthDimpleRight",
                "mouthShrugLower", "mouthShrugUpper", "tongueOut")
    rig = build_rig(v, f, lm, channels)
    for c in channels:
        off = rig.basis(c)
        for i, j in pairs:
            assert off[i, 2] - off[j, 2] >= -5e-4, (c, i, j)
