"""Directing a take in Blender: the animator's keys as constraints, and re-taking a range.

**Keep my keys.** The animator's keys on the channel shape keys inside the strip are read on
the main thread (:func:`user_keys`): keys in their own action on the shape keys, and keys in
our playing take whose keyframe type is *Keyframe* — ours are written as *Generated* (small
dots in the timeline) and the values we keyed are remembered on the action
(``actions.remember_written``), so a key the animator inserts, edits or retypes there is
theirs. In the
worker they become the core's keys (``direction.keys``: hard, at the model frame heard at
that scene frame; :func:`model_keys`) and the new take passes through them; the written
take marks those frames as the animator's keys again, so they survive the next Generate.

**Re-take range.** Frames from the scene's preview range, else two selected markers
(:func:`retake_range`). The playing take's values are read back (:func:`read_take`), the
core re-takes the model frames inside the range (``runtime.retake``: held outside, eased in),
and only the keys inside the range are rewritten (:func:`rewrite_range`): outside, the
F-curves stay exactly as they were.
"""

from __future__ import annotations

import numpy as np

from diffusiontalker.bake.timing import StripTiming, motion_frames_of, scene_frames_of
from diffusiontalker.errors import DiffusionTalkerError

from . import compat, layering
from .actions import KEY_TYPE_KEYFRAME, channel_of, remember_written, written_values
from .takes import playing_holder


def _key_datablock(obj):
    return obj.data.shape_keys if obj is not None and obj.type == "MESH" else None


def playing_action(obj):
    """``(action, slot)`` of our take that plays on ``obj``, or ``(None, None)``."""
    holder, _ = playing_holder(_key_datablock(obj))
    if holder is None:
        return None, None
    return holder.action, getattr(holder, "action_slot", None)


def _curves(action, slot) -> dict[str, object]:
    return {c: fc for fc in compat.action_fcurves(action, slot)
            if (c := channel_of(fc.data_path)) is not None}


def _points(fc) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(frames, values, types)`` of an F-curve's keyframes, read in bulk."""
    n = len(fc.keyframe_points)
    co = np.empty(2 * n, np.float32)
    fc.keyframe_points.foreach_get("co", co)
    types = np.empty(n, np.int32)
    fc.keyframe_points.foreach_get("type", types)
    return co[0::2].copy(), co[1::2].copy(), types


def _edited(action, channel: str, frames: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Keys whose value is not the one we keyed there (edited or inserted by the animator)."""
    written = written_values(action, channel)
    if written is None:
        return np.zeros(frames.size, bool)
    start, ours = written
    index = np.rint(frames).astype(np.int64) - start
    known = (index >= 0) & (index < ours.size) & (np.abs(frames - np.rint(frames)) < 1e-3)
    edited = ~known
    edited[known] = np.abs(values[known] - ours[index[known]]) > 1e-5
    return edited


def user_keys(obj, first: int, last: int) -> dict[str, list[tuple[float, float]]]:
    """The animator's keys on shape keys between scene frames ``first`` and ``last``:
    ``{channel: [(frame, value), ...]}`` from their own action and from keys typed Keyframe
    in our playing take (theirs win on the same frame)."""
    key = _key_datablock(obj)
    found: dict[str, dict[float, float]] = {}
    ours, our_slot = playing_action(obj)
    if ours is not None:
        for channel, fc in _curves(ours, our_slot).items():
            frames, values, types = _points(fc)
            pick = (types == KEY_TYPE_KEYFRAME) | _edited(ours, channel, frames, values)
            pick &= (frames >= first) & (frames <= last)
            found.setdefault(channel, {}).update(
                zip(frames[pick].tolist(), values[pick].tolist(), strict=True))
    action, slot = layering.user_action(key)
    if action is not None:
        for channel, fc in _curves(action, slot).items():
            frames, values, _ = _points(fc)
            pick = (frames >= first) & (frames <= last)
            found.setdefault(channel, {}).update(
                zip(frames[pick].tolist(), values[pick].tolist(), strict=True))
    return {c: sorted(v.items()) for c, v in found.items() if v}


def model_keys(user: dict[str, list[tuple[float, float]]], channels, timing: StripTiming,
               fps: float, start_s: float, model_fps: float, num_frames: int) -> list[dict]:
    """The animator's keys as the core's keys (``direction.keys`` format), at the model frame
    heard at each key's scene frame; channels the model lacks are left out."""
    keys: dict[int, dict[str, float]] = {}
    for channel, points in user.items():
        if channel not in channels:
            continue
        frames = np.array([f for f, _ in points], np.float64)
        at = np.rint(motion_frames_of(frames, timing, fps, start_s, model_fps)).astype(int)
        for frame, (_, value) in zip(at.tolist(), points, strict=True):
            if 0 <= frame < num_frames:
                keys.setdefault(frame, {})[channel] = float(value)
    return [{"frame": f, "channels": c} for f, c in sorted(keys.items())]


def user_frames(user: dict[str, list[tuple[float, float]]], frames: np.ndarray) -> dict:
    """``{channel: bool per written frame}``: where the animator had a key (typed Keyframe
    when written again)."""
    out = {}
    for channel, points in user.items():
        keyed = {round(f) for f, _ in points if abs(f - round(f)) < 1e-3}
        out[channel] = np.isin(np.asarray(frames), list(keyed))
    return out


def retake_range(scene) -> tuple[int, int]:
    """``(first, last)`` scene frames to re-take: the preview range when it is on, else the
    two selected timeline markers; a clear error otherwise."""
    if scene.use_preview_range:
        return int(scene.frame_preview_start), int(scene.frame_preview_end)
    chosen = sorted(m.frame for m in scene.timeline_markers if m.select)
    if len(chosen) == 2:
        return int(chosen[0]), int(chosen[1])
    raise DiffusionTalkerError("Re-take Range needs a range: turn on the timeline's preview "
                               "range (Ctrl+Alt+P) around the frames to redo, or select two "
                               f"markers ({len(chosen)} selected)")


def read_take(obj, channels, frames: np.ndarray) -> np.ndarray:
    """The playing take's values ``(len(frames), C)`` at integer scene ``frames`` (its keys);
    an error when it is not a channel take of these channels."""
    action, slot = playing_action(obj)
    if action is None:
        raise DiffusionTalkerError(f"'{obj.name}' has no generated take to re-take: Generate "
                                   "first")
    curves = _curves(action, slot)
    missing = [c for c in channels if c not in curves]
    if missing:
        raise DiffusionTalkerError(f"the take on '{obj.name}' has no keys for {missing[0]}: "
                                   "a re-take needs a take written as channel keys; Generate "
                                   "with Output 'Channel Keys' first")
    out = np.empty((len(frames), len(channels)), np.float32)
    for k, channel in enumerate(channels):
        fc = curves[channel]
        out[:, k] = [fc.evaluate(float(f)) for f in frames]
    return out


def take_at_model_frames(values: np.ndarray, frames: np.ndarray, timing: StripTiming,
                         fps: float, start_s: float, model_fps: float, count: int) -> np.ndarray:
    """Scene-frame values (linear between keys, as they play) at model frames ``0..count-1``."""
    at = scene_frames_of(np.arange(count), timing, fps, start_s, model_fps)
    return np.stack([np.interp(at, frames, values[:, k]) for k in range(values.shape[1])],
                    axis=1).astype(np.float32)


def model_range(first: int, last: int, timing: StripTiming, fps: float, start_s: float,
                model_fps: float, count: int) -> tuple[int, int]:
    """Model frames ``[a, b)`` inside scene frames ``first..last``; an error when the range
    misses the strip."""
    lo, hi = motion_frames_of(np.array([first, last], np.float64), timing, fps, start_s, model_fps)
    a, b = max(0, int(np.ceil(lo - 1e-6))), min(count, int(np.floor(hi + 1e-6)) + 1)
    if b - a < 2:
        raise DiffusionTalkerError(f"frames {first}-{last} do not cover the strip's audible "
                                   "part: set the range over the frames to redo")
    return a, b


def rewrite_range(obj, channels, frames: np.ndarray, values: np.ndarray, first: int,
                  last: int) -> int:
    """Write ``values`` into the playing take's existing keys at ``frames`` within
    ``first..last``; every other key stays as it was. Returns the number of frames rewritten."""
    action, slot = playing_action(obj)
    curves = _curves(action, slot)
    inside = (frames >= first) & (frames <= last)
    wanted = dict(zip(np.asarray(frames)[inside].tolist(), np.flatnonzero(inside).tolist(),
                      strict=True))
    for k, channel in enumerate(channels):
        fc = curves.get(channel)
        if fc is None:  # read_take checked every channel has its curve
            continue
        key_frames, key_values, _ = _points(fc)
        for i, f in enumerate(key_frames.tolist()):
            row = wanted.get(int(round(f)))
            if row is not None and abs(f - round(f)) < 1e-3:
                key_values[i] = values[row, k]
        co = np.empty(2 * key_frames.size, np.float32)
        co[0::2], co[1::2] = key_frames, key_values
        fc.keyframe_points.foreach_set("co", co)
        fc.update()
    kept = [written_values(action, c) for c in channels]
    if all(w is not None and w[0] == int(frames[0]) and w[1].size == len(frames) for w in kept):
        merged = np.stack([w[1] for w in kept], axis=1)
        merged[inside] = values[inside]
        remember_written(action, channels, frames, merged)
    return int(inside.sum())
