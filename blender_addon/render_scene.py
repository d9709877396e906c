"""Scenes, cameras, labels and renders for the docs' pictures (``render_docs.py``,
``render_sheets.py``; ``render_direction.py`` imports them through ``render_docs``).

The engine is EEVEE unless ``$DIFFUSIONTALKER_RENDER_ENGINE`` says ``CYCLES`` (CPU, few
samples) or ``WORKBENCH``; ``_reset_scene()`` without an engine keeps the Workbench look of
``diffusiontalker demo --render``.
"""

from __future__ import annotations

import math
import os
import struct
import zlib
from pathlib import Path

import bpy
import numpy as np

from .demo_scene import add_light_rig, setup_workbench
from .head_object import create_head_object

SIZE = 400
ENGINE_VARIABLE = "DIFFUSIONTALKER_RENDER_ENGINE"  # EEVEE (default), CYCLES or WORKBENCH
ENGINES = {"EEVEE": "BLENDER_EEVEE", "CYCLES": "CYCLES", "WORKBENCH": "BLENDER_WORKBENCH"}
SAMPLES = {"EEVEE": 32, "CYCLES": 24}
BACKGROUND = (0.80, 0.82, 0.85)  # film colour of the shaded engines (flat, not lit)
JAW_LEVELS = (0.0, 0.2, 0.35, 0.5)


def docs_engine() -> str:
    """The engine of the docs' pictures: ``$DIFFUSIONTALKER_RENDER_ENGINE`` or EEVEE."""
    name = os.environ.get(ENGINE_VARIABLE, "EEVEE").strip().upper() or "EEVEE"
    if name not in ENGINES:
        raise ValueError(f"{ENGINE_VARIABLE}={name!r}: use one of {', '.join(ENGINES)}")
    return name


def _reset_scene(engine: str = "WORKBENCH") -> bpy.types.Scene:
    """An empty scene rendering PNGs with ``engine``: Workbench (studio light, material
    colours, cavity: the look of ``diffusiontalker demo --render``) or EEVEE/Cycles with the
    demo scene's light rig and the materials' Principled shading."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    setup_workbench(scene, SIZE)
    scene.display.shading.show_specular_highlight = True
    scene.display.render_aa = "8"
    if engine != "WORKBENCH":
        _shaded(scene, engine)
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.render.image_settings.compression = 100
    return scene


def _shaded(scene: bpy.types.Scene, engine: str) -> None:
    """EEVEE or Cycles (CPU) with few samples, AgX, the light rig and a flat backdrop."""
    scene.render.engine = ENGINES[engine]
    if engine == "CYCLES":
        scene.cycles.device = "CPU"
        scene.cycles.samples = SAMPLES[engine]
        scene.cycles.use_denoising = True
        scene.cycles.max_bounces = 4
    else:
        scene.eevee.taa_render_samples = SAMPLES[engine]
    scene.view_settings.view_transform = "AgX"
    scene.view_settings.look = "AgX - Medium High Contrast"
    add_light_rig(scene)
    scene.render.film_transparent = True
    scene["dt_backdrop"] = BACKGROUND


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
    mat = bpy.data.materials.get("DT_label") or _flat_material("DT_label", (0.05, 0.05, 0.05))
    curve.materials.append(mat)
    scene.collection.objects.link(obj)


def _flat_material(name: str, colour) -> bpy.types.Material:
    """An unlit colour (emission) for labels and marks, the same in every engine."""
    mat = bpy.data.materials.new(name)
    mat.diffuse_color = (*colour, 1.0)
    if not mat.use_nodes:
        mat.use_nodes = True
    nodes = mat.node_tree.nodes
    for node in list(nodes):
        if node.bl_idname != "ShaderNodeOutputMaterial":
            nodes.remove(node)
    emission = nodes.new("ShaderNodeEmission")
    emission.inputs["Color"].default_value = (*colour, 1.0)
    output = next(n for n in nodes if n.bl_idname == "ShaderNodeOutputMaterial")
    mat.node_tree.links.new(emission.outputs["Emission"], output.inputs["Surface"])
    return mat


def _render(scene, path: Path, width: int, height: int, levels: int = 64) -> None:
    """Render the scene's camera to the PNG ``path`` (``levels`` colour levels a channel)."""
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.resolution_percentage = 100
    scene.render.filepath = str(path)
    settings = scene.render.image_settings
    settings.color_mode = "RGBA" if scene.render.film_transparent else "RGB"
    bpy.ops.render.render(write_still=True)
    settings.color_mode = "RGB"
    _finish(path, scene.get("dt_backdrop"), levels)


def _finish(path: Path, backdrop, levels: int = 64) -> None:
    """Lay a transparent render over the flat backdrop, and quantise colours (invisible at
    this level) so that the PNGs stay small for the docs; saved as RGB."""
    image = bpy.data.images.load(str(path))
    size = tuple(image.size)
    px = np.empty(len(image.pixels), np.float32)
    image.pixels.foreach_get(px)
    bpy.data.images.remove(image)
    px = px.reshape(-1, 4)
    if backdrop is not None:
        alpha = px[:, 3:4]
        px[:, :3] = px[:, :3] * alpha + np.asarray(backdrop, np.float32) * (1 - alpha)
        px[:, 3] = 1.0
    px = np.round(px * (levels - 1)) / (levels - 1)
    save_png(path, px, size)


def save_png(path: Path, pixels: np.ndarray, size: tuple[int, int]) -> None:
    """Write RGBA pixels (rows bottom to top, values 0..1, display space) as an 8-bit RGB PNG,
    deflated at the highest level (the quantised pictures compress far better so than with
    Blender's own writer)."""
    width, height = size
    rgb = np.asarray(pixels, np.float32).reshape(height, width, 4)[::-1, :, :3]
    rows = np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8).reshape(height, width * 3)
    raw = np.hstack([np.zeros((height, 1), np.uint8), rows]).tobytes()  # filter 0 each row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def _posed(scene, head, rig, weights: dict[str, float], offset, name):
    """A copy of the head with the rig applied (baked offsets), moved by ``offset``."""
    w = np.zeros(len(rig.channels), np.float32)
    for k, x in weights.items():
        w[rig.channels.index(k)] = x
    posed = head.__class__(**{**head.__dict__, "vertices": head.vertices + rig.apply(w)})
    obj = create_head_object(scene.collection, posed, None, name=name)
    obj.location = offset
    return obj
