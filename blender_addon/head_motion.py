"""Head Motion: the model's ``headYaw``/``headPitch``/``headRoll`` (radians) as rotation keys.

Head rotation is never a shape key. With the option "Head Motion" on, it is written as:

* **the head object's delta transform** (default): ``delta_rotation_euler`` (or
  ``delta_rotation_quaternion`` for a quaternion object) turns the head about a neck pivot
  below and behind the face, and ``delta_location`` moves it so the turn is about that pivot
  (``dloc = (I - D)(pivot - location) + D dloc0``, in the parent's space). The user's own
  location, rotation and their keys stay untouched. The pivot and the axes come from the
  face frame and landmarks (:func:`diffusiontalker.head.placement.locate`): yaw about the
  face's up axis, pitch about the ear-to-ear axis, roll about the front-to-back axis, each
  right-handed (ARKit's face axes: x the subject's left, y up, z out of the face; positive
  pitch nods down, positive yaw turns toward the subject's left). The compensation uses the
  object's transform at Generate time (a head whose own location or rotation is animated
  turns about a pivot that follows it only approximately).
* **a pose bone** ("Head Bone", for a rigged character): the bone of the head mesh's
  armature turns about its own head by the same rotation, composed with its current pose
  rotation (in its rotation mode); parents' poses are taken at rest.

The keys live in an action of ours on the object (or the armature), recorded by identity
(``ownership``) like the shape-key actions: when that ID has no action of the user's, ours
is the active action; otherwise ours goes into an NLA track above theirs (bone rotation
combines; an active user action keying the same bone wins, and a warning says so).
Remove Generated and the next Generate remove it and put the recorded still values back.

Each head action keeps the channel values it was keyed from (``actions.remember_written``)
and the mesh keeps the plan's frame (:func:`head_frame`: axes, pivot, still transform), so a
re-take samples the head again with the mouth (:func:`read_take`, :func:`retake_range`) and
Use Take swaps the head with the shape keys (:func:`store`, :func:`play`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import bpy
import numpy as np
from mathutils import Euler, Matrix, Quaternion

from diffusiontalker.channels import HEAD_ROTATION_CHANNELS, is_head_rotation
from diffusiontalker.errors import TopologyError

from . import ownership
from .actions import (
    MARKER,
    NLA_TRACK,
    add_track_on_top,
    key_curve,
    remember_written,
    remove_our_actions,
    swap_action,
    written_values,
)
from .compat import channelbag_for

RECORD = "dt_head_motion"  # on the head mesh object: where the head keys went and what to restore
PIVOT_DOWN, PIVOT_BACK = 0.6, 0.25  # the neck pivot from the jaw hinge, in inter-pupil distances


def split(channels) -> tuple[list[int], list[int]]:
    """Indices of the shape-key channels and of the head rotation channels in ``channels``."""
    head = [k for k, c in enumerate(channels) if is_head_rotation(c)]
    return [k for k in range(len(channels)) if k not in head], head


def face_pivot(vertices, faces, landmarks=None, matrix=None) -> tuple[np.ndarray, np.ndarray]:
    """``(pivot (3,), axes (3, 3))`` in world space for a head mesh: the neck pivot below and
    behind the jaw hinge and the face's axes as rows (subject's left, up, out of the face)."""
    from diffusiontalker.head.placement import locate, outward_faces, placed_vertices

    placed = placed_vertices(vertices, matrix)
    found, frame = locate(placed, outward_faces(placed, faces), landmarks)
    lat, back, up = (np.asarray(a, np.float64) / np.linalg.norm(a) for a in frame.axes)
    s = float(np.linalg.norm(placed[found["eye_L"]] - placed[found["eye_R"]]))
    hinge = 0.5 * (placed[found["jaw_pivot_L"]] + placed[found["jaw_pivot_R"]])
    pivot = hinge + back * PIVOT_BACK * s - up * PIVOT_DOWN * s
    fwd = np.cross(lat, up)
    return pivot, np.stack([lat, up, fwd / np.linalg.norm(fwd)])


def rotations(values: np.ndarray, channels) -> np.ndarray:
    """``(T, 3, 3)`` rotations in face coordinates (lat, up, fwd) for head rotation columns
    ``values`` named ``channels``: yaw about up, then pitch about lat, then roll about fwd."""
    t = len(values)
    angle = {c: np.asarray(values[:, k], np.float64) for k, c in enumerate(channels)}
    zero = np.zeros(t)
    yaw, pitch, roll = (angle.get(c, zero) for c in HEAD_ROTATION_CHANNELS)

    def about(axis: int, a: np.ndarray) -> np.ndarray:
        i, j = [k for k in range(3) if k != axis]
        m = np.zeros((t, 3, 3))
        m[:, axis, axis] = 1.0
        m[:, i, i] = m[:, j, j] = np.cos(a)
        m[:, j, i], m[:, i, j] = np.sin(a), -np.sin(a)
        return m

    return about(1, yaw) @ about(0, -pitch) @ about(2, roll)


@dataclass
class HeadPlan:
    """The head rotation keys of one Generate, computed before the scene changes."""

    holder: object  # the object whose animation holds the keys (the head, or its armature)
    paths: list[tuple[str, int]]  # (data path, index) per curve
    curves: np.ndarray  # (T, C) values per frame
    frames: np.ndarray
    restore: dict = field(default_factory=dict)  # RNA path -> still value, put back on removal
    bone: str = ""
    warnings: list[str] = field(default_factory=list)
    names: tuple = ()  # the head rotation channels planned, and their values (radians) per frame
    raw: np.ndarray | None = None
    frame: dict = field(default_factory=dict)  # head_frame(): kept for a re-take


def plan(obj, channels, frames, values, pivot, bone: str = "", armature=None,
         still: dict | None = None) -> HeadPlan:
    """Keys for the head rotation ``values`` (``(T, H)`` named ``channels``) on ``obj``'s
    delta transform, or on pose bone ``bone`` of ``armature`` (the head's). ``pivot``: the
    :func:`face_pivot` of the head; ``still``: :func:`recorded_still`."""
    frame, holder, warnings = head_frame(obj, pivot, bone, armature, still)
    curves = curves_of(frame, rotations(np.asarray(values), channels))
    return HeadPlan(holder, _paths(frame), curves, np.asarray(frames),
                    dict(frame["restore"]), bone, warnings, tuple(channels),
                    np.asarray(values, np.float32), frame)


def _paths(frame: dict) -> list[tuple[str, int]]:
    return [(str(x["path"]), int(x["index"])) for x in frame["paths"]]


def recorded_still(obj) -> dict:
    """The still values (RNA path -> value) an earlier Generate recorded before keying the
    head, while its keys still play (they animate the live values), else ``{}``."""
    record = obj.get(RECORD) if obj is not None else None
    if record is None:
        return {}
    restore = record["restore"]
    return {str(k): [float(x) for x in restore[k]] for k in restore.keys()}


def still_matrix(obj, matrix: np.ndarray) -> np.ndarray:
    """``obj``'s world ``matrix`` as it is without the head keys of ours that turn its delta
    transform (a new Generate's pivot and axes come from the still head, not from the pose the
    last take has at the current frame); ``matrix`` itself otherwise."""
    still = recorded_still(obj)
    record = obj.get(RECORD) if obj is not None else None
    if not still or str(record["holder"]) != obj.name or str(record["bone"]):
        return matrix
    posed = obj.matrix_basis.copy()
    live = {path: list(getattr(obj, path)) for path in still}
    try:
        for path, value in still.items():
            setattr(obj, path, value)
        rested = obj.matrix_basis.copy()
    finally:
        for path, value in live.items():
            setattr(obj, path, value)
    return np.asarray(matrix, np.float64) @ np.array(posed.inverted() @ rested)


def head_frame(obj, pivot, bone: str = "", armature=None,
               still: dict | None = None) -> tuple[dict, object, list[str]]:
    """What turning the head depends on besides the rotation itself, read from the scene
    once (Generate keeps it for a re-take): the face axes and pivot in the space the keys act
    in, and the still transform they compose with. ``(frame, holder, warnings)``; ``frame``
    holds plain numbers, strings, lists and dicts (it is kept as an ID property). ``still``:
    RNA path -> value to read instead of the live value (:func:`recorded_still`)."""
    centre, axes = (np.asarray(a, np.float64) for a in pivot)
    still_values = dict(still or {})
    if bone:
        return _bone_frame(obj, armature, bone, axes, still_values)
    if obj.rotation_mode == "AXIS_ANGLE":
        raise TopologyError(f"'{obj.name}' uses Axis Angle rotation, which has no delta "
                            "rotation to key: set its rotation mode to Euler or Quaternion, or "
                            "choose a Head Bone")
    # the parent's space (where location and delta rotation act) from the world
    to_parent = np.linalg.inv(np.array(obj.matrix_world @ obj.matrix_basis.inverted()))
    a = to_parent[:3, :3] @ axes.T  # face axes as columns, in the parent's space
    a /= np.linalg.norm(a, axis=0)
    quaternion = obj.rotation_mode == "QUATERNION"
    rotation_path = "delta_rotation_quaternion" if quaternion else "delta_rotation_euler"
    still = still_values.get(rotation_path, list(getattr(obj, rotation_path)))
    still_location = still_values.get("delta_location", list(obj.delta_location))
    frame = {"kind": "object", "mode": obj.rotation_mode, "a": a.tolist(),
             "pivot": (to_parent[:3, :3] @ centre + to_parent[:3, 3]).tolist(),
             "location": list(obj.location), "still": list(still),
             "still_location": list(still_location),
             "paths": [{"path": "delta_location", "index": i} for i in range(3)]
             + [{"path": rotation_path, "index": i} for i in range(len(still))],
             "restore": {rotation_path: list(still), "delta_location": list(still_location)}}
    return frame, obj, []


def _bone_frame(obj, arm, bone: str, axes: np.ndarray,
                still_values: dict) -> tuple[dict, object, list[str]]:
    if arm is None or bone not in arm.pose.bones:
        where = f"its armature '{arm.name}'" if arm is not None else "no armature"
        raise TopologyError(f"Head Bone '{bone}': '{obj.name}' has {where} with that bone "
                            "(clear Head Bone to turn the head object instead)")
    pb = arm.pose.bones[bone]
    to_arm = np.linalg.inv(np.array(arm.matrix_world))[:3, :3]
    a = to_arm @ axes.T
    a /= np.linalg.norm(a, axis=0)
    mode = pb.rotation_mode
    attr = {"QUATERNION": "rotation_quaternion", "AXIS_ANGLE": "rotation_axis_angle"}.get(
        mode, "rotation_euler")
    path = pb.path_from_id(attr)
    still = list(still_values.get(path, list(getattr(pb, attr))))
    frame = {"kind": "bone", "mode": mode, "a": a.tolist(),
             "rest": np.array(pb.bone.matrix_local.to_3x3().normalized()).tolist(),
             "still": still, "paths": [{"path": path, "index": i} for i in range(len(still))],
             "restore": {path: still}}
    warnings = []
    user = arm.animation_data.action if arm.animation_data else None
    if user is not None and not user.get(MARKER) and _keys_path(user, path):
        warnings.append(f"your action '{user.name}' keys the rotation of bone '{bone}': it "
                        "plays over the generated head motion")
    return frame, arm, warnings


def curves_of(frame: dict, local: np.ndarray) -> np.ndarray:
    """``(T, C)`` key values (the :func:`head_frame`'s paths) for rotations ``local``
    ``(T, 3, 3)`` in face coordinates (:func:`rotations`)."""
    a = np.asarray(frame["a"], np.float64)
    d = a @ local @ a.T  # (T, 3, 3) in the space the keys act in
    mode, still = str(frame["mode"]), [float(x) for x in frame["still"]]
    if frame["kind"] == "bone":
        rest = np.asarray(frame["rest"], np.float64)
        d = rest.T @ d @ rest  # in the bone's own space
    if mode == "QUATERNION":
        base = np.array(Quaternion(still).to_matrix())
    elif mode == "AXIS_ANGLE":
        base = np.array(Quaternion(still[1:], still[0]).to_matrix())
    else:
        base = np.array(Euler(still, mode).to_matrix())
    turned = d @ base
    if mode == "QUATERNION":
        rotation = _quaternions(turned)
    elif mode == "AXIS_ANGLE":
        rotation = np.asarray([(Quaternion(q).angle, *Quaternion(q).axis)
                               for q in _quaternions(turned)])
    else:
        eulers, prev = [], Euler(still, mode)
        for m in turned:
            prev = Matrix(m.tolist()).to_euler(mode, prev)
            eulers.append(tuple(prev))
        rotation = np.asarray(eulers)
    if frame["kind"] == "bone":
        return rotation
    lever = np.asarray(frame["pivot"]) - np.asarray(frame["location"])
    dloc = lever - d @ lever + d @ np.asarray(frame["still_location"])
    return np.concatenate([dloc, rotation], axis=1)


def _quaternions(mats: np.ndarray) -> np.ndarray:
    out, prev = [], None
    for m in mats:
        q = Matrix(m.tolist()).to_quaternion()
        if prev is not None:
            q.make_compatible(prev)
        out.append(tuple(q))
        prev = q
    return np.asarray(out)


def _keys_path(action, path: str) -> bool:
    from .compat import action_fcurves

    slots = list(getattr(action, "slots", ())) or [None]
    return any(fc.data_path == path for slot in slots for fc in action_fcurves(action, slot))


def _keyed_action(p: HeadPlan, name: str):
    """A new action of ours holding the planned keys (assigned nowhere), and its slot."""
    holder = p.holder
    action = bpy.data.actions.new(name)
    action[MARKER] = True
    ownership.record_action(holder, action)
    slotted = hasattr(action, "slots")
    slot = action.slots.new(id_type="OBJECT", name=holder.name) if slotted else None
    bag = channelbag_for(action, slot) if slotted else action
    for k, (path, index) in enumerate(p.paths):
        key_curve(bag, path, p.frames, p.curves[:, k], index=index)
    if p.raw is not None:  # the channel values themselves, for a re-take (read_take)
        remember_written(action, p.names, p.frames, p.raw)
    return action, slot


def write(obj, p: HeadPlan):
    """Key the planned head rotation (one action of ours on the holder) and record it on
    ``obj`` (the head mesh) so that :func:`remove` finds it; returns the action."""
    holder = p.holder
    action, slot = _keyed_action(p, f"DT {obj.name} head")
    anim = holder.animation_data or holder.animation_data_create()
    if anim.action is None:
        anim.action = action
        if slot is not None:
            anim.action_slot = slot
    else:
        track = add_track_on_top(anim, action, slot, NLA_TRACK, int(p.frames[0]), "NOTHING")
        strip = track.strips[0]
        strip.blend_type = "COMBINE" if p.bone else "REPLACE"
        start, end = action.frame_range
        strip.action_frame_start, strip.action_frame_end = start, end
        strip.frame_end = strip.frame_start + (end - start)
    obj[RECORD] = {"holder": holder.name, "bone": p.bone, "restore": p.restore,
                   "frame": p.frame}
    return action


def store(obj, p: HeadPlan, number: int):
    """The head rotation of take ``number`` (2..N) as an action of ours that does not play,
    kept in the file (fake user) for :func:`play` when that take is chosen; returns it."""
    action, _ = _keyed_action(p, f"DT {obj.name} head take {number}")
    action.use_fake_user = True
    return action


def _holder(obj):
    record = obj.get(RECORD) if obj is not None else None
    return bpy.data.objects.get(str(record["holder"])) if record is not None else None


def _playing_place(obj):
    """Where our head action plays on ``obj``'s holder (its animation data, or our NLA strip),
    or None."""
    holder = _holder(obj)
    anim = holder.animation_data if holder is not None else None
    if anim is None:
        return None
    owned = ownership.owned_actions(holder)
    if anim.action is not None and anim.action in owned:
        return anim
    return next((s for t in anim.nla_tracks for s in t.strips
                 if s.action is not None and s.action in owned), None)


def play(obj, action) -> bool:
    """Make ``action`` (a :func:`store`'d or :func:`write`'n head action of ``obj``) the one
    that turns the head, where ours plays now (active action or our NLA strip); the one it
    replaces is kept (fake user). False when no head action of ours plays."""
    place = _playing_place(obj)
    if place is None or action is None:
        return False
    swap_action(place, action)
    return True


def read_take(obj, frames) -> tuple[list[str], np.ndarray] | None:
    """The playing take's head rotation channels and their values (radians) at scene
    ``frames`` (linear between keyed frames), or None when no head motion of ours plays or
    it predates the stored values."""
    place = _playing_place(obj)
    if place is None:
        return None
    found = [(c, written_values(place.action, c)) for c in HEAD_ROTATION_CHANNELS]
    found = [(c, w) for c, w in found if w is not None]
    if not found:
        return None
    frames = np.asarray(frames, np.float64)
    cols = [np.interp(frames, w[0] + np.arange(w[1].size), w[1]) for _, w in found]
    return [c for c, _ in found], np.stack(cols, axis=1).astype(np.float32)


def retake_range(obj, names, frames, values, first: int, last: int) -> int:
    """Re-key the playing head rotation inside scene frames ``first..last`` from the
    re-taken channel ``values`` (``(T, H)`` at ``frames``, named ``names``); every key
    outside stays. The keys are planned as Generate planned them: about the stored pivot,
    from the still transform it recorded. Returns the number of frames re-keyed (0 when no
    head motion of ours plays)."""
    place, record = _playing_place(obj), obj.get(RECORD)
    if place is None or "frame" not in record:
        return 0
    action = place.action
    old = [written_values(action, c) for c in names]
    if any(w is None for w in old):
        return 0
    start = old[0][0]
    keyed = start + np.arange(old[0][1].size)
    merged = np.stack([w[1] for w in old], axis=1)
    inside = (keyed >= first) & (keyed <= last)
    at = np.searchsorted(np.asarray(frames), keyed[inside])
    merged[inside] = np.asarray(values, np.float32)[np.clip(at, 0, len(frames) - 1)]
    frame = record["frame"].to_dict() if hasattr(record["frame"], "to_dict") else record["frame"]
    curves = curves_of(frame, rotations(merged, names))
    from .compat import action_fcurves

    slot = getattr(place, "action_slot", None)
    found = {(fc.data_path, fc.array_index): fc for fc in action_fcurves(action, slot)}
    for k, key in enumerate(_paths(frame)):
        fc = found.get(key)
        if fc is None:
            continue
        for point in fc.keyframe_points:
            f = int(round(point.co[0]))
            if first <= f <= last and 0 <= f - start < len(keyed):
                point.co[1] = float(curves[f - start, k])
        fc.update()
    remember_written(action, names, keyed, merged)
    return int(inside.sum())


def has_head_keys(obj) -> bool:
    """Whether a Generate wrote head rotation for ``obj`` (cheap: for polls)."""
    return obj is not None and RECORD in obj


def remove(obj) -> None:
    """Remove the head rotation keys a Generate wrote for ``obj`` and put the still values
    (delta transform or bone rotation) back; the user's own keys and actions stay."""
    record = obj.get(RECORD) if obj is not None else None
    if record is None:
        return
    holder = bpy.data.objects.get(str(record["holder"]))
    if holder is not None:
        remove_our_actions(holder)
        for path, value in record["restore"].items():
            owner_path, _, attr = str(path).rpartition(".")
            owner = holder.path_resolve(owner_path) if owner_path else holder
            setattr(owner, attr, [float(x) for x in value])
        ownership.drop_if_empty(holder)
    del obj[RECORD]
