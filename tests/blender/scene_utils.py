"""Helpers for the Blender tests: audio with speech and silence, a small head, snapshots."""

from __future__ import annotations

import bpy
import numpy as np
import soundfile as sf

from diffusiontalker.channels import CHANNELS

SR = 16000
SILENT_S = (0.0, 0.6)  # seconds of silence at the start of the test clip
SPEECH_S = (0.6, 1.6)  # speech-like part
TAIL_S = (1.6, 2.4)  # silence again


def write_speech_wav(path) -> str:
    """2.4 s: silence, a voiced syllable-modulated tone, silence."""
    t = np.arange(int(TAIL_S[1] * SR)) / SR
    voiced = (t >= SPEECH_S[0]) & (t < SPEECH_S[1])
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2
    wave = np.where(voiced, 0.4 * envelope * np.sin(2 * np.pi * 180 * t), 0.0)
    sf.write(str(path), wave.astype(np.float32), SR)
    return str(path)


def make_channel_head(name: str = "Head"):
    """A 7x7 grid whose shape keys are named after the channels (one moved vertex each)."""
    xs, ys = np.meshgrid(np.linspace(-1, 1, 7), np.linspace(-1, 1, 7))
    verts = np.stack([xs.ravel(), ys.ravel(), np.zeros(49)], 1)
    faces = [(r * 7 + c, r * 7 + c + 1, (r + 1) * 7 + c + 1, (r + 1) * 7 + c)
             for r in range(6) for c in range(6)]
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(verts.tolist(), [], faces)
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    obj.shape_key_add(name="Basis", from_mix=False)
    for k, channel in enumerate(CHANNELS):
        block = obj.shape_key_add(name=channel, from_mix=False)
        co = verts.copy()
        co[k % 49, 2] += 0.1 * (1 + k % 3)
        co[(k * 5 + 3) % 49, 0] += 0.05
        block.data.foreach_set("co", co.astype(np.float32).ravel())
        block.value = 0.0  # Blender 5.0 starts new keys at 1.0
    bpy.context.view_layer.objects.active = obj
    return obj


def add_strip(path: str, frame: int = 10, trim: int = 5, scene=None):
    """A sound strip whose content starts at ``frame`` with ``trim`` frames cut off its start."""
    from diffusiontalker_blender import compat  # noqa: I001  (the add-on as imported in tests)

    scene = scene or bpy.context.scene
    strip = compat.new_sound_strip(scene, "speech", path, 1, frame)
    compat.set_left_trim(strip, trim)
    scene.diffusiontalker.strip = strip.name
    return strip


def evaluated_coords(obj, frame: int) -> np.ndarray:
    scene = bpy.context.scene
    scene.frame_set(frame)
    deps = bpy.context.evaluated_depsgraph_get()
    ev = obj.evaluated_get(deps)
    mesh = ev.to_mesh()
    co = np.empty(len(mesh.vertices) * 3, np.float32)
    mesh.vertices.foreach_get("co", co)
    ev.to_mesh_clear()
    return co.reshape(-1, 3)


def snapshot(obj) -> dict:
    """Everything Generate must leave alone or fully restore on failure."""
    key = obj.data.shape_keys
    anim = key.animation_data if key else None
    return {
        "keys": [(b.name, b.value, b.slider_min, b.slider_max) for b in key.key_blocks] if key else [],
        "action": anim.action.name if anim and anim.action else None,
        "tracks": [t.name for t in anim.nla_tracks] if anim else [],
        "actions": sorted(a.name for a in bpy.data.actions),
        "modifiers": [m.name for m in obj.modifiers],
        "props": sorted(obj.keys()),
        "coords": evaluated_coords(obj, 20).round(6).tolist(),
    }


def ours_fcurve(obj, channel: str):
    """Our F-curve for ``channel`` (in the active action or our NLA strip)."""
    from bpy_extras.anim_utils import action_get_channelbag_for_slot

    anim = obj.data.shape_keys.animation_data
    candidates = []
    if anim.action is not None and anim.action.get("diffusiontalker"):
        candidates.append((anim.action, anim.action_slot))
    for track in anim.nla_tracks:
        for s in track.strips:
            if s.action.get("diffusiontalker"):
                candidates.append((s.action, s.action_slot))
    assert len(candidates) == 1, candidates
    action, slot = candidates[0]
    bag = action_get_channelbag_for_slot(action, slot)
    return bag.fcurves.find(f'key_blocks["{channel}"].value')
