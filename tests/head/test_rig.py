"""The landmark rig on the demo head and on the FLAME fixture."""

from __future__ import annotations

import numpy as np
import pytest

from diffusiontalker.channels import CHANNELS
from diffusiontalker.errors import TopologyError
from diffusiontalker.head import (
    Rig,
    build_demo_head,
    build_rig,
    find_landmarks,
    flame_to_blender,
    read_mesh,
)

MOUTH_CLOSING = ["mouthPressLeft", "mouthPressRight", "mouthRollLower", "mouthRollUpper",
                 "mouthPucker", "mouthFunnel"]


@pytest.fixture(scope="module")
def demo():
    head = build_demo_head()
    return head.vertices, head.faces, head.landmarks, head


@pytest.fixture(scope="module")
def flame(flame_fixture):
    v, f = read_mesh(flame_fixture)
    v = flame_to_blender(v)
    return v, f, find_landmarks(v, f), None


@pytest.fixture(scope="module", params=["demo", "flame"])
def case(request):
    v, f, lm, head = request.getfixturevalue(request.param)
    return request.param, v, f, lm, build_rig(v, f, lm), head


def _weights(rig, **named):
    w = np.zeros(len(rig.channels), np.float32)
    for k, x in named.items():
        w[rig.channels.index(k)] = x
    return w


def test_one_basis_per_channel(case):
    _, v, _, _, rig, _ = case
    assert rig.channels == CHANNELS
    assert rig.bases.shape == (len(CHANNELS), len(v), 3)
    assert np.isfinite(rig.bases).all()
    for c in CHANNELS:  # every channel moves something, by a plausible amount (< 4 cm)
        mag = np.linalg.norm(rig.basis(c), axis=1).max()
        assert 0.001 < mag < 0.04, (c, mag)


def test_jaw_open_moves_chin_down_and_lips_apart(case):
    _, v, _, lm, rig, _ = case
    jaw = rig.basis("jawOpen")
    assert jaw[lm["chin"], 2] < -0.012  # chin down by more than 12 mm
    assert jaw[lm["lower_lip_outer"], 2] < -0.008
    assert abs(jaw[lm["upper_lip_outer"], 2]) < 0.002
    assert np.linalg.norm(jaw[lm["nose_tip"]]) < 1e-4


def test_back_of_skull_is_still(case):
    _, v, _, lm, rig, _ = case
    pivot_y = (v[lm["jaw_pivot_L"], 1] + v[lm["jaw_pivot_R"], 1]) / 2
    back = v[:, 1] > pivot_y + 0.02
    assert back.sum() > 200
    assert np.abs(rig.bases[:, back]).max() < 1e-7


def test_lips_move(case):
    _, v, _, lm, rig, _ = case
    for c in ("mouthFunnel", "mouthPucker", "mouthSmileLeft", "mouthStretchRight",
              "mouthLowerDownLeft", "mouthUpperUpRight"):
        moved = max(np.linalg.norm(rig.basis(c)[lm[k]]) for k in
                    ("upper_lip_outer", "lower_lip_outer", "mouth_corner_L", "mouth_corner_R"))
        assert moved > 0.002, c
    smile = rig.basis("mouthSmileLeft")[lm["mouth_corner_L"]]
    assert smile[2] > 0.004 and smile[0] > 0.002  # up and out toward the subject's left
    assert np.linalg.norm(rig.basis("mouthSmileLeft")[lm["mouth_corner_R"]]) < 1e-4


def _seam_gap(v, lm, offsets):
    up = v[lm["upper_lip_inner"]] + offsets[lm["upper_lip_inner"]]
    lo = v[lm["lower_lip_inner"]] + offsets[lm["lower_lip_inner"]]
    return up[2] - lo[2]


def test_closed_lips_do_not_cross(case):
    name, v, _, lm, rig, head = case
    neutral_gap = v[lm["upper_lip_inner"], 2] - v[lm["lower_lip_inner"], 2]
    pairs = []
    if head is not None:  # the demo head's slit: every upper seam vertex has a lower twin
        lower = head.groups["lower_lip"]
        for i in head.groups["upper_lip"]:
            twin = lower[np.all(v[lower] == v[i], axis=1)]
            if len(twin):
                pairs.append((i, twin[0]))
        assert len(pairs) >= 5
    pairs.append((lm["upper_lip_inner"], lm["lower_lip_inner"]))
    cases = [_weights(rig, jawOpen=a, mouthClose=a) for a in (0.2, 0.5, 1.0)]
    cases += [_weights(rig, **{c: 1.0}) for c in MOUTH_CLOSING]
    cases.append(_weights(rig, mouthPressLeft=1, mouthPressRight=1, mouthRollLower=1,
                          mouthRollUpper=1))
    for w in cases:
        off = rig.apply(w)
        for i, j in pairs:
            gap = (v[i, 2] + off[i, 2]) - (v[j, 2] + off[j, 2])
            base = v[i, 2] - v[j, 2]
            assert gap >= min(base, 0.0) - 5e-4, (name, w.nonzero(), i, j, gap)
    # jaw open with mouthClose at the same weight: the lips meet again
    closed = _seam_gap(v, lm, rig.apply(_weights(rig, jawOpen=1, mouthClose=1)))
    opened = _seam_gap(v, lm, rig.apply(_weights(rig, jawOpen=1)))
    assert opened - neutral_gap > 0.012
    assert abs(closed - neutral_gap) < 0.003


def test_blink_closes_the_lid(case):
    _, v, _, lm, rig, _ = case
    for sfx, ch in (("L", "eyeBlinkLeft"), ("R", "eyeBlinkRight")):
        off = rig.basis(ch)
        before = v[lm[f"eye_upper_{sfx}"], 2] - v[lm[f"eye_lower_{sfx}"], 2]
        up = v[lm[f"eye_upper_{sfx}"]] + off[lm[f"eye_upper_{sfx}"]]
        lo = v[lm[f"eye_lower_{sfx}"]] + off[lm[f"eye_lower_{sfx}"]]
        assert before > 0.004
        assert abs(up[2] - lo[2]) < 0.15 * before  # the lid margins meet (vertically)
        assert np.linalg.norm(up - lo) < 0.5 * before
        other = "eye_upper_R" if sfx == "L" else "eye_upper_L"
        assert np.linalg.norm(off[lm[other]]) < 1e-6


def test_brows(case):
    _, v, _, lm, rig, _ = case
    assert rig.basis("browInnerUp")[lm["brow_inner_L"], 2] > 0.003
    assert rig.basis("browOuterUpLeft")[lm["brow_outer_L"], 2] > 0.003
    assert rig.basis("browDownRight")[lm["brow_inner_R"], 2] < -0.002


def test_apply_is_the_weighted_sum(demo):
    v, f, lm, _ = demo
    rig = build_rig(v, f, lm)
    w = np.random.default_rng(0).uniform(0, 1, (4, len(rig.channels))).astype(np.float32)
    expected = np.stack([sum(w[t, k] * rig.bases[k] for k in range(len(rig.channels)))
                         for t in range(4)])
    assert np.allclose(rig.apply(w), expected, atol=1e-6)
    assert np.allclose(rig.apply(w[0]), expected[0], atol=1e-6)
    with pytest.raises(TopologyError, match="weights must be"):
        rig.apply(np.zeros((3, 5)))
    again = Rig.from_arrays(rig.to_arrays())
    assert again.channels == rig.channels and np.array_equal(again.bases, rig.bases)


def test_subset_of_channels_and_errors(demo):
    v, f, lm, _ = demo
    rig = build_rig(v, f, lm, channels=("jawOpen", "eyeBlinkLeft"))
    assert rig.bases.shape == (2, len(v), 3)
    with pytest.raises(TopologyError, match="cannot build channels"):
        build_rig(v, f, lm, channels=("jawOpen", "noSuchChannel"))
    partial = {k: i for k, i in lm.items() if k != "chin"}
    with pytest.raises(TopologyError, match="missing: chin"):
        build_rig(v, f, partial)


# --- the mouth: hinge, oval opening, what moves with the jaw --------------------------------
JAW_CHANNELS = ("jawOpen", "jawForward", "jawLeft", "jawRight")


@pytest.fixture(scope="module")
def jaw_case(case):
    """The case with a rig that also has the jaw channels ARKit adds (forward, sideways)."""
    name, v, f, lm, _, head = case
    rig = build_rig(v, f, lm, CHANNELS + JAW_CHANNELS[1:])
    return name, np.asarray(v, np.float64), f, lm, rig, head


def _lip_pairs(v, f, lm):
    """Upper and lower lip-edge vertex ids along the lip line, where the lips meet: the slit's
    twin vertices (demo head), or the skin within 2 mm of the rig's lip line in front of the
    mouth opening (FLAME), told apart as the rig tells them (geodesic side)."""
    from diffusiontalker.head.rig_fields import FaceFields
    from diffusiontalker.head.rig_jaw import jaw_of

    fields = FaceFields(v, f, lm)
    near = np.flatnonzero(np.abs(jaw_of(fields).t) < 0.002)
    keys = np.round(v[near] * 1e6).astype(np.int64)
    _, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    ids = near[counts[inverse.ravel()] > 1]
    if len(ids) < 6:  # no slit: where the lips touch, in front of the opening (the lip line
        # curves back toward the corners)
        x0 = (v[lm["mouth_corner_L"], 0] + v[lm["mouth_corner_R"], 0]) / 2
        w_m = (v[lm["mouth_corner_L"], 0] - v[lm["mouth_corner_R"], 0]) / 2
        r2 = np.clip((v[near, 0] - x0) / w_m, -1, 1) ** 2
        inner, corner = v[lm["upper_lip_inner"], 1], v[lm["mouth_corner_L"], 1]
        ids = near[v[near, 1] < inner + 0.003 + (corner - inner) * r2]
    return ids[fields.side[ids] > 0.5], ids[fields.side[ids] < -0.5]


def _gap_profile(v, f, lm, offsets, samples):
    """How much wider the lip gap is (m) at lateral positions ``samples`` (in mouth
    half-widths from the midline) under ``offsets``: at each, the most forward upper and lower
    lip-edge vertices among the nearest there (within 1 mm of the nearest)."""
    up, lo = _lip_pairs(v, f, lm)
    x0 = (v[lm["mouth_corner_L"], 0] + v[lm["mouth_corner_R"], 0]) / 2
    w_m = (v[lm["mouth_corner_L"], 0] - v[lm["mouth_corner_R"], 0]) / 2
    gaps = []
    for x in x0 + np.asarray(samples) * w_m:
        pick = [ids[np.abs(v[ids, 0] - x) <= np.abs(v[ids, 0] - x).min() + 0.001]
                for ids in (up, lo)]
        a, b = (p[np.argmin(v[p, 1])] for p in pick)
        gaps.append(offsets[a, 2] - offsets[b, 2])
    return np.asarray(gaps)


def test_jaw_open_is_a_rotation_about_the_hinge(jaw_case):
    """At jawOpen = 1 the chin swings down and back on an arc about the pivots' axis, by
    JAW_ANGLE, as a rigid rotation (its distance to the axis is kept)."""
    from diffusiontalker.head.rig_jaw import JAW_ANGLE

    _, v, _, lm, rig, _ = jaw_case
    pivot = (v[lm["jaw_pivot_L"]] + v[lm["jaw_pivot_R"]]) / 2
    chin = v[lm["chin"]]
    moved = chin + rig.basis("jawOpen")[lm["chin"]]
    assert moved[2] - chin[2] < -0.012 and moved[1] - chin[1] > 0.005  # down and back (+y)
    before, after = (chin - pivot)[1:], (moved - pivot)[1:]
    assert abs(np.linalg.norm(after) - np.linalg.norm(before)) < 5e-5  # on the arc
    swept = np.arctan2(before[0] * after[1] - before[1] * after[0], before @ after)
    assert abs(abs(swept) - JAW_ANGLE) < 0.01


def test_the_opening_is_an_oval(jaw_case):
    """At jawOpen 0.3 the lips part most at the centre and less and less toward the corners,
    smoothly: an oval with soft corners, not a slot."""
    _, v, f, lm, rig, _ = jaw_case
    x = np.linspace(0.0, 0.9, 10)
    gap = _gap_profile(v, f, lm, rig.apply(_weights(rig, jawOpen=0.3)), x)
    assert gap[0] > 0.003
    assert (np.diff(gap) <= 2e-4).all(), np.round(gap * 1000, 2)  # within a vertex's noise
    half = np.interp(0.5, x, gap) / gap[0]
    assert 0.75 < half < 0.97, half  # a slot would keep ~1.0
    assert np.interp(0.85, x, gap) / gap[0] < 0.72
    assert np.abs(np.diff(gap, 2)).max() < 0.25 * gap[0]  # no steps


def test_corners_follow_the_jaw_less_than_the_lip_centre(jaw_case):
    _, v, _, lm, rig, _ = jaw_case
    jaw = rig.basis("jawOpen")
    centre = np.linalg.norm(jaw[lm["lower_lip_inner"]])
    corner = np.linalg.norm(jaw[lm["mouth_corner_L"]])
    assert 0.15 * centre < corner < 0.6 * centre


def test_nothing_above_the_upper_lip_moves_with_the_jaw(jaw_case):
    _, v, _, lm, rig, _ = jaw_case
    x0 = (v[lm["mouth_corner_L"], 0] + v[lm["mouth_corner_R"], 0]) / 2
    w_m = (v[lm["mouth_corner_L"], 0] - v[lm["mouth_corner_R"], 0]) / 2
    above = ((v[:, 2] > v[lm["upper_lip_outer"], 2] + 0.005) & (np.abs(v[:, 0] - x0) < w_m)
             & (v[:, 1] < v[lm["nose_tip"], 1] + 0.06))
    assert above.sum() > 100
    for channel in JAW_CHANNELS:
        assert np.abs(rig.basis(channel)[above]).max() < 1e-6, channel
    # the upper lip's middle stays too (only its ends follow the corners a little)
    jaw = rig.basis("jawOpen")
    for name in ("upper_lip_inner", "upper_lip_outer"):
        assert np.linalg.norm(jaw[lm[name]]) < 2e-4, name


def test_mouth_close_seals_the_lips_over_the_open_jaw(jaw_case):
    _, v, f, lm, rig, _ = jaw_case
    x = np.linspace(0.0, 0.95, 12)
    opened = _gap_profile(v, f, lm, rig.apply(_weights(rig, jawOpen=0.5)), x)
    sealed = _gap_profile(v, f, lm, rig.apply(_weights(rig, jawOpen=0.5, mouthClose=0.5)), x)
    assert opened[0] > 0.005
    # sealed to a fraction of a millimetre (what is left: the two lips' contact points are
    # not exactly above one another on FLAME, so the hinge moves them a little differently)
    assert abs(sealed[0]) < 2e-4 and np.abs(sealed).max() < 6e-4, np.round(sealed * 1000, 2)
    assert np.abs(sealed).mean() < 0.1 * opened.mean()
    # the jaw stays open: the chin is still down
    chin = rig.apply(_weights(rig, jawOpen=0.5, mouthClose=0.5))[lm["chin"]]
    assert chin[2] < -0.006


def test_jaw_forward_and_sideways(jaw_case):
    _, v, _, lm, rig, _ = jaw_case
    chin = {c: rig.basis(c)[lm["chin"]] for c in JAW_CHANNELS[1:]}
    assert chin["jawForward"][1] < -0.004  # toward the face's front (-Y)
    assert chin["jawLeft"][0] > 0.004 and chin["jawRight"][0] < -0.004  # the subject's sides
    for c in JAW_CHANNELS[1:]:
        assert np.linalg.norm(rig.basis(c)[lm["nose_tip"]]) < 1e-9
        assert np.linalg.norm(rig.basis(c)[lm["upper_lip_inner"]]) < 2e-4


def test_lower_teeth_and_tongue_follow_the_jaw(demo):
    v, f, lm, head = demo
    rig = build_rig(v, f, lm, ("jawOpen", "jawLeft", "mouthClose"))
    jaw = rig.basis("jawOpen")
    for part in ("teeth_lower", "tongue"):
        ids = head.groups[part]
        moved = v[ids] + jaw[ids]
        assert np.linalg.norm(jaw[ids], axis=1).min() > 0.005, part  # every point moves
        a, b = ids[:40], ids[-40:]  # rigidly: distances inside the part are kept
        assert np.allclose(np.linalg.norm(moved[:40] - moved[-40:], axis=1),
                           np.linalg.norm(v[a] - v[b], axis=1), atol=1e-6)
        assert np.abs(rig.basis("mouthClose")[ids]).max() == 0.0  # lips only
        assert np.abs(rig.basis("jawLeft")[ids, 0]).min() > 0.004
    for part in ("teeth_upper", "eyeball_L", "eyeball_R"):
        assert np.abs(rig.bases[:, head.groups[part]]).max() == 0.0, part


def test_blink_closes_the_whole_eye(demo):
    """At eyeBlink = 1 the lid margins meet all along the eye opening (no iris shows through):
    the upper margin comes down onto the lower one at every lateral position. (FLAME's lids
    have no opening in the mesh: the rig's elliptical stand-in closes them, see
    test_blink_closes_the_lid.)"""
    from diffusiontalker.head.geometry import boundary_loops

    v, f, lm, _ = demo
    v = np.asarray(v, np.float64)
    rig = build_rig(v, f, lm, ("eyeBlinkLeft", "eyeBlinkRight"))
    for sfx, channel in (("L", "eyeBlinkLeft"), ("R", "eyeBlinkRight")):
        eye = v[lm[f"eye_{sfx}"]]
        loop = min((np.asarray(lp) for lp in boundary_loops(f)),
                   key=lambda lp: np.linalg.norm(v[lp].mean(axis=0)[[0, 2]] - eye[[0, 2]]))
        mid = 0.5 * (v[lm[f"eye_upper_{sfx}"], 2] + v[lm[f"eye_lower_{sfx}"], 2])
        upper, lower = loop[v[loop, 2] > mid], loop[v[loop, 2] <= mid]
        closed = v + rig.basis(channel)
        inner = np.sort(v[loop, 0])[[2, -3]]  # away from the corners' last vertices
        for ids in (upper,):
            ids = ids[(v[ids, 0] > inner[0]) & (v[ids, 0] < inner[1])]
            order = np.argsort(closed[lower, 0])
            below = np.interp(closed[ids, 0], closed[lower[order], 0], closed[lower[order], 2])
            gap = closed[ids, 2] - below
            open_gap = v[ids, 2] - np.interp(v[ids, 0], *_sorted_xz(v, lower))
            assert open_gap.min() > 0.002, sfx
            assert np.abs(gap).max() < 0.15 * open_gap.max(), (sfx, np.round(gap * 1000, 2))


def _sorted_xz(v, ids):
    order = np.argsort(v[ids, 0])
    return v[ids[order], 0], v[ids[order], 2]


def test_teeth_in_an_object_of_their_own_follow_the_jaw(demo):
    """build_part_rig: the lower teeth given as a separate part get exactly the bases the
    head's own lower teeth get; the upper teeth and a point far away get none."""
    from diffusiontalker.head.rig import build_part_rig

    v, f, lm, head = demo
    channels = ("jawOpen", "jawForward", "jawLeft", "mouthClose", "eyeBlinkLeft")
    whole = build_rig(v, f, lm, channels)
    lower = head.groups["teeth_lower"]
    part = build_part_rig(v, f, lm, v[lower], channels)
    assert part.bases.shape == (len(channels), len(lower), 3)
    assert np.allclose(part.bases, whole.bases[:, lower], atol=1e-7)
    upper = build_part_rig(v, f, lm, v[head.groups["teeth_upper"]], channels)
    assert np.abs(upper.bases).max() == 0.0
    assert np.abs(build_part_rig(v, f, lm, [[0.0, 0.3, 0.0]], channels).bases).max() == 0.0
