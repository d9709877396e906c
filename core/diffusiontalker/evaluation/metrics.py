"""Evaluation metrics of speech-driven 3D face animation, as the peers' code computes them
(as FaceFormer and CodeTalker compute them; docs/model.md), plus channel-space analogues.

- LVE (lip vertex error; FaceFormer, CodeTalker): per frame the maximum over lip vertices of
  the squared L2 distance, averaged over frames. VOCASET reports x1e-5 (metres), BIWI x1e-4.
- FDD (upper-face dynamics deviation; CodeTalker): per upper-face vertex, the standard
  deviation over time of the per-frame squared norm of the motion (vertices - template);
  averaged over vertices; ground truth minus prediction (signed).
- Diversity (DiffusionTalker): mean pairwise per-vertex L2 distance between samples of the
  same audio generated with different seeds or identities.
- Identity top-1 retrieval (DiffusionTalker's identity library): fraction of clips whose most
  similar identity is their own speaker.
All functions take numpy arrays (or CPU tensors) and return Python floats.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import MetricError


def _vertices(array, name: str) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 2 and array.shape[1] % 3 == 0:
        array = array.reshape(array.shape[0], -1, 3)
    if array.ndim != 3 or array.shape[2] != 3 or array.shape[0] == 0:
        raise MetricError(f"{name} must be (T, V, 3) vertex motion with T > 0, got {array.shape}")
    return array


def _pair(pred, gt) -> tuple[np.ndarray, np.ndarray]:
    pred, gt = _vertices(pred, "prediction"), _vertices(gt, "ground truth")
    if pred.shape != gt.shape:
        raise MetricError(f"prediction {pred.shape} and ground truth {gt.shape} differ in shape")
    return pred, gt


def _indices(index: Sequence[int] | np.ndarray, count: int, what: str) -> np.ndarray:
    index = np.asarray(index)
    if index.dtype == bool:
        index = np.flatnonzero(index)
    index = index.astype(np.int64).reshape(-1)
    if index.size == 0:
        raise MetricError(f"the {what} index list is empty")
    if index.min() < -count or index.max() >= count:
        raise MetricError(f"{what} indices go past the {count} vertices/channels")
    return index


def lve(pred, gt, lip_idx: Sequence[int] | np.ndarray) -> float:
    """Lip vertex error: mean over frames of the max over lip vertices of ``||pred - gt||^2``."""
    pred, gt = _pair(pred, gt)
    lips = _indices(lip_idx, pred.shape[1], "lip vertex")
    squared = np.sum((pred[:, lips] - gt[:, lips]) ** 2, axis=-1)  # (T, L)
    return float(np.mean(np.max(squared, axis=1)))


def upper_face_dynamics(motion, upper_idx: Sequence[int] | np.ndarray,
                        template: np.ndarray | None = None) -> float:
    """Mean over upper-face vertices of the std over time of ``||motion_t||^2``.

    ``motion`` is offsets ``(T, V, 3)``; with ``template`` it is absolute positions and the
    template is subtracted first.
    """
    motion = _vertices(motion, "motion")
    if template is not None:
        motion = motion - np.asarray(template, np.float64).reshape(1, -1, 3)
    upper = _indices(upper_idx, motion.shape[1], "upper-face vertex")
    squared_norm = np.sum(motion[:, upper] ** 2, axis=-1)  # (T, U)
    return float(np.mean(np.std(squared_norm, axis=0)))


def fdd(pred, gt, upper_idx: Sequence[int] | np.ndarray,
        template: np.ndarray | None = None) -> float:
    """Upper-face dynamics deviation, signed: dynamics(gt) - dynamics(pred). Report |FDD| too."""
    pred, gt = _pair(pred, gt)
    return upper_face_dynamics(gt, upper_idx, template) - upper_face_dynamics(pred, upper_idx,
                                                                              template)


def diversity(samples) -> float:
    """Mean over sample pairs of the mean per-vertex L2 distance between them.

    ``samples``: ``(S, T, V, 3)`` vertex motion, or ``(S, T, K)`` channel weights (each channel
    a 1-D "vertex", so the distance is ``|a - b|``), with ``S >= 2``.
    """
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim == 3:
        samples = samples[..., None]
    if samples.ndim != 4 or samples.shape[0] < 2:
        raise MetricError(f"diversity needs (S, T, V, 3) or (S, T, K) with S >= 2 samples, "
                          f"got {samples.shape}")
    count = samples.shape[0]
    distances = [np.mean(np.linalg.norm(samples[i] - samples[j], axis=-1))
                 for i in range(count) for j in range(i + 1, count)]
    return float(np.mean(distances))


def top1_retrieval(similarity, labels) -> float:
    """Fraction of rows of ``similarity (N, K)`` whose argmax is ``labels (N,)``."""
    similarity, labels = np.asarray(similarity), np.asarray(labels).reshape(-1)
    if similarity.ndim != 2 or similarity.shape[0] != labels.shape[0] or labels.size == 0:
        raise MetricError(f"similarity must be (N, K) with one label per row, got "
                          f"{similarity.shape} and {labels.shape[0]} labels")
    if labels.min() < 0 or labels.max() >= similarity.shape[1]:
        raise MetricError(f"labels must index the {similarity.shape[1]} identities")
    return float(np.mean(np.argmax(similarity, axis=1) == labels))


def _channels_pair(pred, gt) -> tuple[np.ndarray, np.ndarray]:
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    if pred.shape != gt.shape or pred.ndim != 2 or pred.shape[0] == 0:
        raise MetricError(f"channel motion must be two equal (T, K) arrays, got "
                          f"{pred.shape} and {gt.shape}")
    return pred, gt


def channel_mse(pred, gt) -> float:
    """Mean squared error over frames and channels of ``(T, K)`` weights."""
    pred, gt = _channels_pair(pred, gt)
    return float(np.mean((pred - gt) ** 2))


def channel_lve(pred, gt, mouth_mask: Sequence[bool] | np.ndarray) -> float:
    """LVE's channel analogue: mean over frames of the max squared error over mouth channels."""
    pred, gt = _channels_pair(pred, gt)
    mouth = _indices(mouth_mask, pred.shape[1], "mouth channel")
    return float(np.mean(np.max((pred[:, mouth] - gt[:, mouth]) ** 2, axis=1)))


def channel_fdd(pred, gt, upper_mask: Sequence[bool] | np.ndarray) -> float:
    """FDD's channel analogue: each upper-face channel is a 1-D motion (weight - 0), so its
    per-frame squared norm is ``w^2``; std over time, mean over channels, gt - pred."""
    pred, gt = _channels_pair(pred, gt)
    upper = _indices(upper_mask, pred.shape[1], "upper-face channel")

    def dynamics(weights: np.ndarray) -> float:
        return float(np.mean(np.std(weights[:, upper] ** 2, axis=0)))

    return dynamics(gt) - dynamics(pred)
