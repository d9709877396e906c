"""The full face in Blender (issue 13): a 55-channel motion writes the 52 ARKit shape keys and,
with Head Motion on, head rotation as rotation keys (the head object's delta transform about
a neck pivot, or a pose bone); never a shape key named after head rotation; the user's own
transform keys stay; Remove Generated removes the head keys too."""

from __future__ import annotations

import bpy
import numpy as np
import pytest
from fakes import SpeechTalker, _Base
from scene_utils import add_strip, write_speech_wav

from diffusiontalker.channels import ARKIT_CHANNELS, FULL_FACE_CHANNELS, HEAD_ROTATION_CHANNELS
from diffusiontalker.config import MotionSpec
from diffusiontalker.motion import Motion


class FullFaceTalker(SpeechTalker):
    """All 52 ARKit channels + head rotation: jawOpen follows loudness, the head turns."""

    def __init__(self):
        _Base.__init__(self, MotionSpec("channels", 30.0, channels=list(FULL_FACE_CHANNELS)))

    def generate(self, audio, sample_rate=None, *, seed=0, **_kw):
        t = self._frames(np.asarray(audio), sample_rate)
        i = np.arange(t, dtype=np.float32)
        w = np.zeros((t, len(self.channels)), np.float32)
        col = {c: k for k, c in enumerate(self.channels)}
        w[:, col["jawOpen"]] = 0.3 + 0.2 * np.sin(i / 3)
        w[:, col["eyeLookUpLeft"]] = 0.2
        w[:, col["headYaw"]] = 0.2 * np.sin(i / 8)
        w[:, col["headPitch"]] = 0.1 + 0.05 * np.cos(i / 5)
        w[:, col["headRoll"]] = 0.05
        return Motion(self.fps, "channels", w + 0.01 * seed, self.channels)

    def generate_takes(self, audio, sample_rate=None, *, seeds, **kw):
        return [self.generate(audio, sample_rate, seed=s) for s in seeds]


@pytest.fixture
def full_face(fresh, tmp_path):
    from diffusiontalker_blender import model_cache
    from diffusiontalker_blender.demo_scene import add_demo_head

    model_cache.use_talker(FullFaceTalker())
    head = add_demo_head(bpy.context)
    add_strip(write_speech_wav(tmp_path / "s.wav"), frame=10, trim=0)
    return head


def _object_fcurves(obj) -> dict:
    """``{(data_path, index): fcurve}`` of every action playing on ``obj`` (active or NLA)."""
    from bpy_extras.anim_utils import action_get_channelbag_for_slot

    anim = obj.animation_data
    found = {}
    if anim is None:
        return found
    pairs = [(anim.action, anim.action_slot)] if anim.action else []
    pairs += [(s.action, s.action_slot) for t in anim.nla_tracks for s in t.strips]
    for action, slot in pairs:
        bag = action_get_channelbag_for_slot(action, slot)
        for fc in bag.fcurves if bag else ():
            found[(action.name, fc.data_path, fc.array_index)] = fc
    return found


def test_demo_head_has_every_arkit_key(full_face):
    blocks = full_face.data.shape_keys.key_blocks
    assert all(c in blocks for c in ARKIT_CHANNELS)
    assert not any(c in blocks for c in HEAD_ROTATION_CHANNELS)


def test_head_motion_off_writes_no_rotation(full_face):
    head = full_face
    assert bpy.context.scene.diffusiontalker.head_motion is False  # off in the panel
    assert bpy.ops.diffusiontalker.generate(blocking=True) == {"FINISHED"}
    blocks = head.data.shape_keys.key_blocks
    assert all(c in blocks for c in ARKIT_CHANNELS)
    assert not any(c in blocks for c in HEAD_ROTATION_CHANNELS)
    assert head.animation_data is None or not _object_fcurves(head)
    assert tuple(head.delta_rotation_euler) == (0.0, 0.0, 0.0)


def test_head_motion_turns_about_the_neck_and_keeps_user_keys(full_face):

    head = full_face
    head.location = (0.5, 0.0, 0.0)
    head.keyframe_insert("location", frame=1)
    head.location = (0.7, 0.0, 0.0)
    head.keyframe_insert("location", frame=60)
    user_action = head.animation_data.action
    assert bpy.ops.diffusiontalker.generate(blocking=True, head_motion=True) == {"FINISHED"}
    blocks = head.data.shape_keys.key_blocks
    assert all(c in blocks for c in ARKIT_CHANNELS) and "headYaw" not in blocks
    assert head.animation_data.action == user_action  # theirs stays active, ours in the NLA
    curves = _object_fcurves(head)
    ours = {(p, i) for (a, p, i) in curves if a != user_action.name}
    assert {("delta_rotation_euler", i) for i in range(3)} <= ours
    assert {("delta_location", i) for i in range(3)} <= ours
    theirs = [fc for (a, p, i), fc in curves.items() if a == user_action.name]
    assert len(theirs) == 3 and all(len(fc.keyframe_points) == 2 for fc in theirs)
    bpy.context.scene.frame_set(30)
    assert np.abs(np.array(head.delta_rotation_euler)).max() > 0.02
    _check_pivot_still(head, frame=30)


def _check_pivot_still(head, frame: int):
    """The face's neck pivot (in the mesh's space) lands where it would without our delta
    transform: the head turns about it."""
    from diffusiontalker_blender import head_motion
    from diffusiontalker_blender.targets import stored_landmarks
    from mathutils import Matrix

    scene = bpy.context.scene
    scene.frame_set(frame)
    with_delta = np.array(head.matrix_world)
    basis = np.array(head.matrix_basis)
    without = with_delta @ np.linalg.inv(basis) @ np.array(
        Matrix.LocRotScale(head.location, head.rotation_euler, head.scale))
    verts = np.array([v.co for v in head.data.vertices])
    faces = [tuple(p.vertices) for p in head.data.polygons]
    pivot_world, _ = head_motion.face_pivot(verts, faces, stored_landmarks(head) or None,
                                            without)
    pivot_local = np.linalg.inv(without) @ np.append(pivot_world, 1.0)
    assert np.allclose((with_delta @ pivot_local)[:3], pivot_world, atol=1e-5)
    nose = verts[np.argmin(verts[:, 1])]  # the face's front (-Y) moves: the head is turned
    assert np.linalg.norm((with_delta - without) @ np.append(nose, 1.0)) > 1e-3


def test_remove_generated_removes_the_head_keys(full_face):
    head = full_face
    head.delta_rotation_euler = (0.0, 0.0, 0.1)  # the user's own still delta comes back
    assert bpy.ops.diffusiontalker.generate(blocking=True, head_motion=True) == {"FINISHED"}
    assert head.animation_data.action is not None  # ours (no user action on the object)
    assert bpy.ops.diffusiontalker.remove_generated() == {"FINISHED"}
    assert head.animation_data is None or head.animation_data.action is None
    assert not [a for a in bpy.data.actions if a.get("diffusiontalker")]
    assert np.allclose(tuple(head.delta_rotation_euler), (0.0, 0.0, 0.1))
    assert np.allclose(tuple(head.delta_location), (0.0, 0.0, 0.0))
    assert "dt_head_motion" not in head


def test_regenerate_leaves_one_set_of_head_keys(full_face):
    for _ in range(2):
        assert bpy.ops.diffusiontalker.generate(blocking=True, head_motion=True) == {"FINISHED"}
    ours = [a for a in bpy.data.actions if a.get("diffusiontalker") and a.name.endswith("head")]
    assert len(ours) == 1
    assert bpy.ops.diffusiontalker.generate(blocking=True, head_motion=False) == {"FINISHED"}
    assert not [a for a in bpy.data.actions if a.get("diffusiontalker")
                and a.name.endswith("head")]


def _rig_with_head_bone(head):
    arm_data = bpy.data.armatures.new("Rig")
    arm = bpy.data.objects.new("Rig", arm_data)
    bpy.context.scene.collection.objects.link(arm)
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    bone = arm_data.edit_bones.new("Head")
    bone.head, bone.tail = (0.0, 0.05, -0.1), (0.0, 0.05, 0.1)
    bpy.ops.object.mode_set(mode="OBJECT")
    head.parent = arm
    bpy.context.view_layer.objects.active = head
    return arm


def test_head_bone_turns_instead_of_the_object(full_face):
    head = full_face
    arm = _rig_with_head_bone(head)
    assert bpy.ops.diffusiontalker.generate(blocking=True, head_motion=True,
                                            head_bone="Head") == {"FINISHED"}
    assert head.animation_data is None or not _object_fcurves(head)
    paths = {p for (_a, p, _i) in _object_fcurves(arm)}
    assert paths == {'pose.bones["Head"].rotation_quaternion'}
    bpy.context.scene.frame_set(30)
    assert abs(arm.pose.bones["Head"].rotation_quaternion.angle) > 0.02
    assert bpy.ops.diffusiontalker.remove_generated() == {"FINISHED"}
    assert not _object_fcurves(arm)
    assert np.allclose(tuple(arm.pose.bones["Head"].rotation_quaternion), (1, 0, 0, 0))


def test_unknown_head_bone_is_a_clear_error(full_face):
    with pytest.raises(RuntimeError, match="Head Bone 'Neck'"):
        bpy.ops.diffusiontalker.generate(blocking=True, head_motion=True, head_bone="Neck")
    assert not [a for a in bpy.data.actions if a.get("diffusiontalker")]


def _playing_head_action(head):
    from diffusiontalker_blender import ownership

    anim, owned = head.animation_data, ownership.owned_actions(head)
    if anim.action is not None and anim.action in owned:
        return anim.action
    return next(s.action for t in anim.nla_tracks for s in t.strips if s.action in owned)


def test_each_take_keeps_its_own_head_motion(full_face):
    """Takes store shape-key actions and, with Head Motion, a head rotation action each; Use
    Take plays both of the chosen take (the head turns as that take's seed made it)."""
    from diffusiontalker_blender import takes

    head = full_face
    assert bpy.ops.diffusiontalker.generate(blocking=True, head_motion=True, takes=2) \
        == {"FINISHED"}
    key = head.data.shape_keys
    assert len(takes.takes(key)) == 2 and "headYaw" not in key.key_blocks
    first, second = takes.head_action(key, 0), takes.head_action(key, 1)
    assert first is not None and second is not None and first != second
    assert _playing_head_action(head) == first and second.use_fake_user
    bpy.context.scene.frame_set(30)
    before = tuple(head.matrix_world.to_euler())
    assert "with its head motion" in takes.use_take(head, 1)
    assert _playing_head_action(head) == second and first.use_fake_user
    bpy.context.scene.frame_set(30)
    after = tuple(head.matrix_world.to_euler())
    assert max(abs(a - b) for a, b in zip(before, after, strict=True)) > 1e-3  # yaw + 0.01
    takes.use_take(head, 0)
    bpy.context.scene.frame_set(30)
    assert np.allclose(tuple(head.matrix_world.to_euler()), before, atol=1e-6)
    assert bpy.ops.diffusiontalker.remove_generated() == {"FINISHED"}
    assert not [a for a in bpy.data.actions if a.get("diffusiontalker")]


def test_takes_without_head_motion_record_no_head_actions(full_face):
    from diffusiontalker_blender import takes

    assert bpy.ops.diffusiontalker.generate(blocking=True, takes=2) == {"FINISHED"}
    key = full_face.data.shape_keys
    assert takes.head_action(key, 0) is None and takes.head_action(key, 1) is None
    assert "head motion" not in takes.use_take(full_face, 1)


def test_each_take_turns_the_head_bone_its_own_way(full_face):
    from diffusiontalker_blender import takes

    head = full_face
    arm = _rig_with_head_bone(head)
    assert bpy.ops.diffusiontalker.generate(blocking=True, head_motion=True, head_bone="Head",
                                            takes=2) == {"FINISHED"}
    bpy.context.scene.frame_set(30)
    before = tuple(arm.pose.bones["Head"].rotation_quaternion)
    assert "with its head motion" in takes.use_take(head, 1)
    bpy.context.scene.frame_set(30)
    after = tuple(arm.pose.bones["Head"].rotation_quaternion)
    assert max(abs(a - b) for a, b in zip(before, after, strict=True)) > 1e-3
    assert bpy.ops.diffusiontalker.remove_generated() == {"FINISHED"}
    assert not _object_fcurves(arm) and not [a for a in bpy.data.actions if a.get("diffusiontalker")]


@pytest.fixture
def full_face_model(fresh, tmp_path):
    """A tiny random model of the full face (its output layer drawn, so the head turns), run
    by the real generate loop: a re-take needs one."""
    import torch
    from diffusiontalker_blender import model_cache
    from diffusiontalker_blender.demo_scene import add_demo_head

    from diffusiontalker.network.factory import new_model
    from diffusiontalker.runtime.torch_talker import Talker

    torch.manual_seed(0)
    model = new_model(MotionSpec("channels", 30.0, channels=list(FULL_FACE_CHANNELS)),
                      ["ada", "bo"], preset="tiny")
    torch.nn.init.normal_(model.denoiser.out.weight, std=0.3)
    model_cache.use_talker(Talker(model))
    head = add_demo_head(bpy.context)
    add_strip(write_speech_wav(tmp_path / "s.wav"), frame=10, trim=0)
    return head


def _head_keys(head) -> dict:
    from diffusiontalker_blender.compat import action_fcurves

    action = _playing_head_action(head)
    found = {}
    for fc in action_fcurves(action, head.animation_data.action_slot):
        co = np.empty(2 * len(fc.keyframe_points), np.float32)
        fc.keyframe_points.foreach_get("co", co)
        found[(fc.data_path, fc.array_index)] = co.reshape(-1, 2)
    return found


def test_a_retake_retakes_the_head_motion_inside_the_range_only(full_face_model):
    from diffusiontalker_blender import head_motion

    head, scene = full_face_model, bpy.context.scene
    assert bpy.ops.diffusiontalker.generate(blocking=True, head_motion=True, seed=0,
                                            steps=3) == {"FINISHED"}
    before = _head_keys(head)
    names, raw = head_motion.read_take(head, np.arange(10, 60))
    assert names == list(HEAD_ROTATION_CHANNELS) and np.abs(raw).max() > 1e-3
    scene.use_preview_range = True
    scene.frame_preview_start, scene.frame_preview_end = 30, 50
    assert bpy.ops.diffusiontalker.generate(blocking=True, retake=True, seed=7,
                                            steps=3) == {"FINISHED"}
    after = _head_keys(head)
    assert after.keys() == before.keys()
    moved = 0.0
    for path, old in before.items():
        new = after[path]
        assert np.array_equal(new[:, 0], old[:, 0])
        outside = (old[:, 0] < 30) | (old[:, 0] > 50)
        assert np.array_equal(new[outside], old[outside])
        inside = (old[:, 0] >= 36) & (old[:, 0] <= 44)
        moved = max(moved, float(np.abs(new[inside, 1] - old[inside, 1]).max()))
    assert moved > 1e-3  # the head was sampled again inside the range
    _, again = head_motion.read_take(head, np.arange(10, 60))
    np.testing.assert_array_equal(again[:20], raw[:20])  # frames 10-29: as they were
    assert bpy.ops.diffusiontalker.remove_generated() == {"FINISHED"}
    assert not [a for a in bpy.data.actions if a.get("diffusiontalker")]


def test_a_regenerate_plans_from_the_still_head_not_the_turned_one(full_face):
    """While the last take's head keys play, the head is turned at the current frame; a new
    Generate plans about the still head (same pivot, axes and still transform as the first),
    and Remove Generated puts back the values from before the first Generate."""
    from diffusiontalker_blender.head_motion import RECORD

    head = full_face
    assert bpy.ops.diffusiontalker.generate(blocking=True, head_motion=True) == {"FINISHED"}
    first = head[RECORD]["frame"].to_dict()
    bpy.context.scene.frame_set(30)  # the head is turned here
    assert max(abs(x) for x in head.delta_rotation_euler) > 0.02
    assert bpy.ops.diffusiontalker.generate(blocking=True, head_motion=True,
                                            seed=3) == {"FINISHED"}
    second = head[RECORD]["frame"].to_dict()
    for key in ("a", "pivot", "still", "still_location", "location"):
        np.testing.assert_allclose(np.asarray(second[key]), np.asarray(first[key]), atol=1e-5)
    assert bpy.ops.diffusiontalker.remove_generated() == {"FINISHED"}
    assert np.allclose(tuple(head.delta_rotation_euler), 0)
    assert np.allclose(tuple(head.delta_location), 0)
