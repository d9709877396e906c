"""Workbench renders of the demo head for the docs (headless through the ``bpy`` module).

Writes ``head_front.png``, ``head_three_quarter.png``, ``channels.png`` (every rig channel at
full weight, one head each, labelled) and ``motion_strip.png`` (a hand-driven "ba-pa-oo"
sequence of jaw and lip weights). All geometry comes from the core
(``render_direction.py`` adds the picture of directing a take).
"""

from __future__ import annotations

import math
from pathlib import Path

import bpy
import numpy as np

from .demo_scene import setup_workbench
from .head_object import create_head_object

SIZE = 400


def _reset_scene() -> bpy.types.Scene:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    setup_workbench(scene, SIZE)  # the demo's look: studio light, material colours, cavity
    scene.display.shading.show_specular_highlight = True
    scene.display.render_aa = "8"
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.render.image_settings.compression = 100
    return scene


def _camera(scene, target, distance, yaw_deg, ortho_scale, pitch_deg=0.0):
    cam = bpy.data.cameras.new("DT_cam")
    cam.type = "ORTHO"
    cam.ortho_scale = ortho_scale
    obj = bpy.data.objects.new("DT_cam", cam)
    scene.collection.objects.link(obj)
    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    direction = np.array([math.sin(yaw) * math.cos(pitch), -math.cos(yaw) * math.cos(pitch),
                          math.sin(pitch)])
    obj.location = tuple(np.asarray(target) + distance * direction)
    obj.rotation_euler = (math.pi / 2 - pitch, 0.0, yaw)
    scene.camera = obj
    return obj


def _label(scene, text, location, size=0.018):
    curve = bpy.data.curves.new(f"DT_label_{text}", "FONT")
    curve.body = text
    curve.size = size
    curve.align_x = "CENTER"
    obj = bpy.data.objects.new(curve.name, curve)
    obj.location = location
    obj.rotation_euler = (math.pi / 2, 0.0, 0.0)
    mat = bpy.data.materials.get("DT_label") or bpy.data.materials.new("DT_label")
    mat.diffuse_color = (0.05, 0.05, 0.05, 1.0)
    curve.materials.append(mat)
    scene.collection.objects.link(obj)


def _render(scene, path: Path, width: int, height: int) -> None:
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.resolution_percentage = 100
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    _posterize(path)


def _posterize(path: Path, levels: int = 32) -> None:
    """Quantise colours (invisible at this level) so that the PNGs stay small for the docs."""
    image = bpy.data.images.load(str(path))
    px = np.empty(len(image.pixels), np.float32)
    image.pixels.foreach_get(px)
    px = np.round(px * (levels - 1)) / (levels - 1)
    image.pixels.foreach_set(px)
    image.filepath_raw = str(path)
    image.file_format = "PNG"
    image.save()
    bpy.data.images.remove(image)


def _posed(scene, head, rig, weights: dict[str, float], offset, name):
    """A copy of the head with the rig applied (baked offsets), moved by ``offset``."""
    w = np.zeros(len(rig.channels), np.float32)
    for k, x in weights.items():
        w[rig.channels.index(k)] = x
    posed = head.__class__(**{**head.__dict__, "vertices": head.vertices + rig.apply(w)})
    obj = create_head_object(scene.collection, posed, None, name=name)
    obj.location = offset
    return obj


def render_docs(out_dir: str | Path, size: int = SIZE) -> list[Path]:
    """Render the doc images into ``out_dir``; returns the written paths."""
    from diffusiontalker.head import build_demo_head, build_rig

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    head = build_demo_head()
    rig = build_rig(head.vertices, head.faces, head.landmarks)
    written = []
    centre = (0.0, 0.0, -0.01)

    for name, yaw in (("head_front", 0.0), ("head_three_quarter", -35.0)):
        scene = _reset_scene()
        create_head_object(scene.collection, head, rig)
        _camera(scene, centre, 1.0, yaw, 0.30)
        written.append(out / f"{name}.png")
        _render(scene, written[-1], size, size)

    scene = _reset_scene()
    names = ["neutral", *rig.channels]
    cols = 5
    step_x, step_z = 0.2, 0.26
    rows = math.ceil(len(names) / cols)
    for k, ch in enumerate(names):
        r, c = divmod(k, cols)
        pos = (c * step_x, 0.0, -r * step_z)
        weights = {} if ch == "neutral" else {ch: 1.0}
        if ch == "mouthClose":  # ARKit meaning: lips closed relative to an open jaw
            weights["jawOpen"] = 1.0
        _posed(scene, head, rig, weights, pos, f"H_{ch}")
        # no 3D labels here: the necks hide them; docs/head-and-rig.md lists the order
    mid = ((cols - 1) * step_x / 2, 0.0, -(rows - 1) * step_z / 2 - 0.01)
    _camera(scene, mid, 1.0, 0.0, rows * step_z + 0.02)
    written.append(out / "channels.png")
    _render(scene, written[-1], int(size * 1.15), int(size * 1.15 * rows * step_z / (cols * step_x)))

    scene = _reset_scene()
    frames = [
        ("rest", {}),
        ("b", {"jawOpen": 0.15, "mouthClose": 0.15, "mouthPressLeft": 0.4,
               "mouthPressRight": 0.4}),
        ("a", {"jawOpen": 0.7, "mouthLowerDownLeft": 0.3, "mouthLowerDownRight": 0.3,
               "browInnerUp": 0.4}),
        ("p", {"jawOpen": 0.1, "mouthClose": 0.1, "mouthRollLower": 0.3, "mouthRollUpper": 0.3}),
        ("a", {"jawOpen": 0.55, "mouthStretchLeft": 0.3, "mouthStretchRight": 0.3}),
        ("oo", {"jawOpen": 0.2, "mouthPucker": 0.9, "mouthFunnel": 0.4}),
        ("ee", {"jawOpen": 0.15, "mouthSmileLeft": 0.6, "mouthSmileRight": 0.6,
                "eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0}),
        ("rest", {"browOuterUpLeft": 0.5}),
    ]
    step = 0.16
    for k, (label, w) in enumerate(frames):
        _posed(scene, head, rig, w, (k * step, 0.0, 0.0), f"F{k}")
        _label(scene, f"{k}: {label}", (k * step, -0.3, -0.135), size=0.02)
    _camera(scene, ((len(frames) - 1) * step / 2, 0.0, -0.01), 1.0, -12.0, len(frames) * step)
    written.append(out / "motion_strip.png")
    _render(scene, written[-1], int(size * 2.0), int(size * 2.0 * 0.3 / (len(frames) * step)))
    return written
