"""Each metric against values worked out by hand on tiny arrays."""

from __future__ import annotations

import numpy as np
import pytest

from diffusiontalker.evaluation.metrics import (
    MetricError,
    channel_fdd,
    channel_lve,
    channel_mse,
    diversity,
    fdd,
    lve,
    top1_retrieval,
    upper_face_dynamics,
)


def _motion(frames):
    """(T, V, 3) from per-frame lists of vertex positions."""
    return np.array(frames, dtype=np.float64)


def test_lve_by_hand():
    gt = np.zeros((2, 3, 3))
    pred = gt.copy()
    # frame 0: lip vertex 0 off by (1, 2, 2) -> 9; lip vertex 2 off by (0, 0, 1) -> 1; max 9
    pred[0, 0] = [1, 2, 2]
    pred[0, 2] = [0, 0, 1]
    # frame 1: vertex 1 (not a lip) off by 10 -> ignored; lip vertex 2 off by (0, 3, 0) -> 9
    pred[1, 1] = [10, 0, 0]
    pred[1, 2] = [0, 3, 0]
    assert lve(pred, gt, [0, 2]) == pytest.approx((9 + 9) / 2)
    pred[1, 2] = [0, 1, 0]
    assert lve(pred, gt, [0, 2]) == pytest.approx((9 + 1) / 2)
    assert lve(pred, gt, np.array([True, False, True])) == pytest.approx(5.0)
    assert lve(pred.reshape(2, 9), gt.reshape(2, 9), [0, 2]) == pytest.approx(5.0)


def test_fdd_by_hand():
    # upper vertex 0: offsets x = 0, 1, 2 over time -> squared norms 0, 1, 4
    #   mean 5/3, std = sqrt(((5/3)^2 + (2/3)^2 + (7/3)^2) / 3) = sqrt(78/27)
    # upper vertex 1: offsets (0, 0, 1) constant -> squared norm 1, 1, 1 -> std 0
    gt = _motion([[[0, 0, 0], [0, 0, 1], [5, 5, 5]],
                  [[1, 0, 0], [0, 0, 1], [0, 0, 0]],
                  [[2, 0, 0], [0, 0, 1], [9, 9, 9]]])
    expected_gt = (np.sqrt(78 / 27) + 0.0) / 2
    assert upper_face_dynamics(gt, [0, 1]) == pytest.approx(expected_gt)
    still = np.zeros_like(gt)
    assert fdd(still, gt, [0, 1]) == pytest.approx(expected_gt)  # signed: gt - pred
    assert fdd(gt, still, [0, 1]) == pytest.approx(-expected_gt)
    # with a template, inputs are absolute positions
    template = np.full((3, 3), 7.0)
    assert fdd(still + template, gt + template, [0, 1], template=template) == pytest.approx(
        expected_gt)


def test_diversity_by_hand():
    a = np.zeros((2, 2, 3))
    b = a.copy()
    b[:, :, 0] = 3.0  # every vertex 3 away from a
    c = a.copy()
    c[:, :, 1] = 4.0  # every vertex 4 away from a, 5 away from b
    assert diversity(np.stack([a, b])) == pytest.approx(3.0)
    assert diversity(np.stack([a, b, c])) == pytest.approx((3 + 4 + 5) / 3)
    weights = np.array([[[0.0, 1.0]], [[0.5, 0.0]]])  # (S=2, T=1, K=2): |diffs| 0.5 and 1
    assert diversity(weights) == pytest.approx(0.75)
    with pytest.raises(MetricError, match="S >= 2"):
        diversity(a[None])


def test_top1_retrieval_by_hand():
    similarity = np.array([[0.9, 0.1, 0.0], [0.2, 0.3, 0.5], [0.1, 0.8, 0.1], [0.4, 0.4, 0.6]])
    assert top1_retrieval(similarity, [0, 2, 1, 0]) == pytest.approx(3 / 4)
    with pytest.raises(MetricError, match="one label per row"):
        top1_retrieval(similarity, [0, 1])
    with pytest.raises(MetricError, match="must index the 3 identities"):
        top1_retrieval(similarity, [0, 1, 2, 3])


def test_channel_metrics_by_hand():
    gt = np.array([[0.0, 1.0, 0.5], [0.0, 0.0, 0.5]])
    pred = np.array([[0.5, 1.0, 0.5], [0.0, 0.5, 0.0]])
    # squared errors: [[.25, 0, 0], [0, .25, .25]] -> mean 0.75 / 6
    assert channel_mse(pred, gt) == pytest.approx(0.125)
    # mouth channels 0, 1: per-frame max .25, .25
    assert channel_lve(pred, gt, [True, True, False]) == pytest.approx(0.25)
    # upper channel 2: gt w^2 = .25, .25 -> std 0; pred w^2 = .25, 0 -> std .125
    assert channel_fdd(pred, gt, [False, False, True]) == pytest.approx(-0.125)


def test_shape_errors():
    with pytest.raises(MetricError, match="differ in shape"):
        lve(np.zeros((2, 3, 3)), np.zeros((3, 3, 3)), [0])
    with pytest.raises(MetricError, match="lip vertex indices go past the 3"):
        lve(np.zeros((2, 3, 3)), np.zeros((2, 3, 3)), [5])
    with pytest.raises(MetricError, match="index list is empty"):
        fdd(np.zeros((2, 3, 3)), np.zeros((2, 3, 3)), [])
    with pytest.raises(MetricError, match="two equal"):
        channel_mse(np.zeros((2, 3)), np.zeros((2, 4)))
