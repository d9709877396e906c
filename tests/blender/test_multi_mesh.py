"""Characters made of several meshes (bpy module): the demo head with all its channel shape
keys exported to glTF, re-imported with Blender's importer and split into head, teeth, tongue
and eye meshes. Generate drives every mesh of the character -- chosen by selection, by the
active collection or by their armature -- on the channels each has; the rig builds shapes
only on the main head; a re-take and Remove Generated reach them all."""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np
import pytest
from fakes import VertexTalker
from scene_utils import add_strip, ours_fcurve, write_speech_wav
from test_ui import _draw

from diffusiontalker.channels import CHANNELS, MOUTH_CHANNELS

TINY = Path(__file__).resolve().parents[1] / "runtime" / "data" / "tiny_channels.safetensors"


@pytest.fixture(scope="module")
def glb(addon, tmp_path_factory) -> str:
    """The demo head with every channel key, exported once as glTF binary."""
    from diffusiontalker_blender.demo_scene import add_demo_head

    bpy.ops.wm.read_factory_settings(use_empty=True)
    add_demo_head(bpy.context)
    path = str(tmp_path_factory.mktemp("glb") / "demo.glb")
    assert bpy.ops.export_scene.gltf(filepath=path, export_format="GLB", use_selection=True,
                                     export_morph=True, export_morph_normal=False) == {"FINISHED"}
    return path


def _character(glb: str, tmp_path) -> dict:
    """Import, split into loose parts: ``Head`` (largest), ``EyeLeft``/``EyeRight`` (off the
    midline; only the upper-face channel keys kept), ``Inner N`` (teeth, tongue)."""
    add_strip(write_speech_wav(tmp_path / "s.wav"))
    assert bpy.ops.import_scene.gltf(filepath=glb, merge_vertices=True) == {"FINISHED"}
    imported = bpy.context.selected_objects[0]
    bpy.context.view_layer.objects.active = imported
    bpy.ops.object.mode_set(mode="EDIT")
    bpy.ops.mesh.select_all(action="SELECT")
    bpy.ops.mesh.separate(type="LOOSE")
    bpy.ops.object.mode_set(mode="OBJECT")
    parts = sorted((o for o in bpy.context.scene.objects if o.type == "MESH"),
                   key=lambda o: -len(o.data.vertices))
    parts[0].name = "Head"
    inner = 0
    for obj in parts[1:]:
        x = np.mean([v.co.x for v in obj.data.vertices])
        if abs(x) > 0.01:
            obj.name = "EyeLeft" if x > 0 else "EyeRight"
            for name in MOUTH_CHANNELS:  # eyes carry only eye and brow keys (as in RPM)
                obj.shape_key_remove(obj.data.shape_keys.key_blocks[name])
        else:
            inner += 1
            obj.name = f"Inner {inner}"
    found = {o.name: o for o in parts}
    assert {"Head", "EyeLeft", "EyeRight", "Inner 1"} <= set(found)
    for obj in found.values():
        obj.select_set(False)
    return found


def _driven(obj) -> dict[str, np.ndarray]:
    """Our keyed values per channel on ``obj`` (``{}`` when nothing of ours plays)."""
    from diffusiontalker_blender import direction

    action, slot = direction.playing_action(obj)
    if action is None:
        return {}
    return {c: np.array([k.co[1] for k in fc.keyframe_points])
            for c, fc in direction._curves(action, slot).items()}


def _check_all_driven(parts: dict, head) -> None:
    ours = _driven(head)
    assert set(ours) == set(CHANNELS) and ours["jawOpen"].max() > 0.1
    for obj in parts.values():
        curves = _driven(obj)
        keys = set(obj.data.shape_keys.key_blocks.keys())
        assert set(curves) == set(CHANNELS) & keys, obj.name
        for channel, values in curves.items():
            assert np.array_equal(values, ours[channel]), (obj.name, channel)


def _generate(**options) -> None:
    assert bpy.ops.diffusiontalker.generate(blocking=True, **options) == {"FINISHED"}


def test_selected_meshes_are_driven_and_removed_together(fresh, glb, tmp_path):
    from diffusiontalker_blender.panel import DT_PT_talker

    parts = _character(glb, tmp_path)
    keys_before = {n: list(o.data.shape_keys.key_blocks.keys()) for n, o in parts.items()}
    for obj in parts.values():
        obj.select_set(True)
    bpy.context.view_layer.objects.active = parts["Head"]
    log = _draw(DT_PT_talker, bpy.context)
    assert any(kind == "label" and f"Also drives {len(parts) - 1} more meshes" in str(what)
               for kind, what in log)
    _generate()
    assert f"and {len(parts) - 1} more meshes" in bpy.context.scene.diffusiontalker.status
    _check_all_driven(parts, parts["Head"])
    assert set(_driven(parts["EyeLeft"])) == {c for c in CHANNELS if c not in MOUTH_CHANNELS}
    _generate()  # again: one set of ours on each mesh
    for obj in parts.values():
        ours_fcurve(obj, "eyeBlinkLeft")  # asserts exactly one action of ours
    bpy.ops.diffusiontalker.remove_generated()
    assert not bpy.data.actions
    assert {n: list(o.data.shape_keys.key_blocks.keys()) for n, o in parts.items()} == keys_before


def test_the_active_collection_or_the_armature_is_the_character(fresh, glb, tmp_path):
    parts = _character(glb, tmp_path)
    group = bpy.data.collections.new("Character")
    bpy.context.scene.collection.children.link(group)
    for obj in parts.values():
        group.objects.link(obj)
        bpy.context.scene.collection.objects.unlink(obj)
    layer = bpy.context.view_layer
    layer.active_layer_collection = layer.layer_collection.children["Character"]
    layer.objects.active = parts["Head"]  # nothing selected: the collection says it
    _generate()
    _check_all_driven(parts, parts["Head"])
    bpy.ops.diffusiontalker.remove_generated()
    assert not bpy.data.actions

    layer.active_layer_collection = layer.layer_collection  # the scene's: no collection rule
    armature = bpy.data.objects.new("Rig", bpy.data.armatures.new("Rig"))
    group.objects.link(armature)
    for obj in parts.values():
        obj.parent = armature
    layer.objects.active = armature  # the armature stands for its meshes; Head is the main
    _generate()
    _check_all_driven(parts, parts["Head"])
    assert parts["Head"].get("dt_followers")


def test_the_rig_builds_only_on_the_main_head(fresh, glb, tmp_path):
    from diffusiontalker_blender.head_object import create_head_object

    from diffusiontalker.head import build_demo_head

    parts = _character(glb, tmp_path)
    head = parts.pop("Head")
    bpy.data.objects.remove(head)
    bare = create_head_object(bpy.context, build_demo_head(), None, name="Bare")  # no keys
    keys_before = {n: list(o.data.shape_keys.key_blocks.keys()) for n, o in parts.items()}
    parts["Inner 1"].shape_key_remove(parts["Inner 1"].data.shape_keys.key_blocks["mouthClose"])
    keys_before["Inner 1"].remove("mouthClose")
    for obj in [*parts.values(), bare]:
        obj.select_set(True)
    layer = bpy.context.view_layer
    layer.objects.active = bare
    _generate()
    assert set(CHANNELS) <= set(bare.data.shape_keys.key_blocks.keys())  # built on the head
    assert {n: list(o.data.shape_keys.key_blocks.keys()) for n, o in parts.items()} == keys_before
    _check_all_driven(parts, bare)
    assert "mouthClose" not in _driven(parts["Inner 1"])


def test_basis_shapes_on_every_mesh(fresh, glb, tmp_path):
    parts = _character(glb, tmp_path)
    for obj in parts.values():
        obj.select_set(True)
    bpy.context.view_layer.objects.active = parts["Head"]
    _generate(output_mode="BASIS")
    for obj in parts.values():
        names = obj.data.shape_keys.key_blocks.keys()
        assert any(n.startswith("DT basis") for n in names), obj.name
    bpy.ops.diffusiontalker.remove_generated()
    for obj in parts.values():
        assert not any(n.startswith("DT ") for n in obj.data.shape_keys.key_blocks.keys())


def test_takes_and_a_retake_reach_every_mesh(fresh, glb, tmp_path):
    from diffusiontalker_blender import character, model_cache, takes

    from diffusiontalker.runtime.loader import load_talker

    model_cache.use_talker(load_talker(TINY, "cpu", "onnx"))
    parts = _character(glb, tmp_path)
    for obj in parts.values():
        obj.select_set(True)
    head, inner = parts["Head"], parts["Inner 1"]
    bpy.context.view_layer.objects.active = head
    _generate(steps=3, seed=0, takes=2)
    first = _driven(head)
    assert _driven(inner)["jawOpen"].tolist() == first["jawOpen"].tolist()  # the playing take
    takes.use_take(head, 1)  # the second take plays on the head ...
    assert character.follow_playing_take(head) == len(parts) - 1  # ... and on the others
    second = _driven(head)
    assert not np.array_equal(second["jawOpen"], first["jawOpen"])
    for channel, values in _driven(inner).items():
        assert np.allclose(values, second[channel], atol=1e-6), channel

    _generate(steps=3, seed=0)
    before = _driven(inner)
    scene = bpy.context.scene
    scene.use_preview_range = True
    scene.frame_preview_start, scene.frame_preview_end = 30, 50
    _generate(steps=3, seed=7, retake=True)
    assert "more meshes" in scene.diffusiontalker.status
    ours, after = _driven(head), _driven(inner)
    for channel in before:
        assert np.array_equal(after[channel], ours[channel]), channel
    assert any(not np.array_equal(after[c], before[c]) for c in before)


def test_a_vertex_model_drives_only_the_head(fresh, glb, tmp_path):
    from diffusiontalker_blender import model_cache

    parts = _character(glb, tmp_path)
    model_cache.use_talker(VertexTalker(len(parts["Head"].data.vertices)))
    for obj in parts.values():
        obj.select_set(True)
    bpy.context.view_layer.objects.active = parts["Head"]
    _generate()
    assert "drives only the head 'Head'" in bpy.context.scene.diffusiontalker.warning
    assert all(not _driven(o) for n, o in parts.items() if n != "Head")
