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
        build_rig(v, f, lm, channels=("jawOpen", "tongueOut"))
    partial = {k: i for k, i in lm.items() if k != "chin"}
    with pytest.raises(TopologyError, match="missing: chin"):
        build_rig(v, f, partial)
