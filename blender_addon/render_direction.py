"""The docs' picture of directing a take (docs/blender.md): keys, a re-take and takes.

``render_direction(out_dir)`` generates the demo sentence with the shipped model (the same
core calls Keep My Keys, Re-take Range and Takes make) and renders ``direct_the_take.png``:
rows of the demo head at the same frames — the free take; the take with two keys (lips shut
at one frame, a smile held over a range); a re-take of a range with another variation; and
takes 2 and 3 sampled together — with each row's jawOpen and smile curves drawn beside it
(keys as dots, the re-taken range as a bar).
"""

from __future__ import annotations

import math
from pathlib import Path

import bpy
import numpy as np

from .render_docs import _camera, _label, _posed, _render, _reset_scene

FRAMES = (34, 42, 48, 56, 64, 72)  # model frames shown as heads (30 fps)
KEYS = [{"frame": 48, "channels": {"jawOpen": 0.0, "mouthClose": 0.0}},
        {"start": 52, "end": 66, "channels": {"mouthSmileLeft": 0.6, "mouthSmileRight": 0.6}}]
RETAKE = (50, 80)
STEP_X, STEP_Z = 0.16, 0.34


def takes_to_show(talker, wave) -> list[tuple[str, np.ndarray]]:
    """``(label, channel weights (T, C))`` per row, made by the core's own calls."""
    from diffusiontalker.runtime.retake import retake

    free = talker.generate(wave, 16000, seed=0)
    keyed = talker.generate(wave, 16000, seed=0, keys=KEYS)
    again = retake(talker, free, wave, 16000, frames=RETAKE, seed=5)
    others = talker.generate_takes(wave, 16000, seeds=[1, 2])
    return [("free take (variation 0)", free.data), ("with keys: shut at 48, smile 52-66",
                                                     keyed.data),
            (f"re-take of {RETAKE[0]}-{RETAKE[1] - 1} (variation 5)", again.data),
            ("take 2 (variation 1)", others[0].data), ("take 3 (variation 2)", others[1].data)]


def _curve(scene, name: str, points: np.ndarray, colour, width: float = 0.0025) -> None:
    """A flat polyline (bevelled curve) through ``points`` (N, 3), in ``colour``."""
    data = bpy.data.curves.new(name, "CURVE")
    data.dimensions = "3D"
    data.bevel_depth = width
    spline = data.splines.new("POLY")
    spline.points.add(len(points) - 1)
    spline.points.foreach_set("co", np.c_[points, np.ones(len(points))].ravel().astype(np.float32))
    mat = bpy.data.materials.new(f"{name}_mat")
    mat.diffuse_color = colour
    data.materials.append(mat)
    scene.collection.objects.link(bpy.data.objects.new(name, data))


def _dot(scene, name: str, at, colour, radius: float = 0.007) -> None:
    mesh = bpy.data.meshes.new(name)
    n = 16
    ring = [(at[0] + radius * math.cos(2 * math.pi * i / n), at[1],
             at[2] + radius * math.sin(2 * math.pi * i / n)) for i in range(n)]
    mesh.from_pydata(ring, [], [list(range(n))])
    mat = bpy.data.materials.new(f"{name}_mat")
    mat.diffuse_color = colour
    mesh.materials.append(mat)
    scene.collection.objects.link(bpy.data.objects.new(name, mesh))


def _plot(scene, row: int, data: np.ndarray, channels, left: float, z: float,
          keyed: bool, retaken: bool) -> None:
    """jawOpen (dark) and mouthSmileLeft (orange) over the frames, to the right of the heads."""
    width, height = 0.9, 0.2
    t = np.arange(data.shape[0])
    x = left + t / max(1, data.shape[0] - 1) * width
    base = z - 0.12
    for channel, colour in (("jawOpen", (0.1, 0.1, 0.35, 1)), ("mouthSmileLeft", (0.9, 0.45, 0.1, 1))):
        y = base + np.clip(data[:, channels.index(channel)], 0, 1) * height
        _curve(scene, f"P{row}_{channel}", np.c_[x, np.full_like(x, -0.2), y], colour)
    _curve(scene, f"P{row}_axis", np.array([[left, -0.2, base], [left + width, -0.2, base]]),
           (0.6, 0.6, 0.6, 1), 0.001)
    for f in FRAMES:  # where the heads are
        fx = left + f / max(1, data.shape[0] - 1) * width
        _curve(scene, f"P{row}_tick{f}", np.array([[fx, -0.2, base - 0.01], [fx, -0.2, base]]),
               (0.6, 0.6, 0.6, 1), 0.001)
    if keyed:
        for key in KEYS:
            for f in range(key.get("start", key.get("frame")), key.get("end", key.get("frame")) + 1):
                for channel, value in key["channels"].items():
                    if channel in ("jawOpen", "mouthSmileLeft"):
                        fx = left + f / max(1, data.shape[0] - 1) * width
                        _dot(scene, f"P{row}_key{f}{channel}", (fx, -0.21, base + value * height),
                             (0.8, 0.1, 0.1, 1), 0.004)
    if retaken:
        a, b = (left + f / max(1, data.shape[0] - 1) * width for f in RETAKE)
        _curve(scene, f"P{row}_range", np.array([[a, -0.2, base - 0.02], [b, -0.2, base - 0.02]]),
               (0.2, 0.6, 0.2, 1), 0.003)


def render_direction(out_dir: str | Path, size: int = 400) -> Path:
    """Render ``direct_the_take.png`` into ``out_dir``; returns its path."""
    from diffusiontalker.audio.loading import load_audio
    from diffusiontalker.head import build_demo_head, build_rig
    from diffusiontalker.paths import DATA_DIR
    from diffusiontalker.runtime.loader import load_talker

    talker = load_talker(None, "cpu", "auto", threads=1)
    wave = load_audio(str(DATA_DIR / "demo_speech.wav"))
    rows = takes_to_show(talker, wave)
    head = build_demo_head()
    channels = list(talker.channels)
    rig = build_rig(head.vertices, head.faces, head.landmarks, channels=tuple(channels))
    scene = _reset_scene()
    for r, (label, data) in enumerate(rows):
        z = -r * STEP_Z
        for c, frame in enumerate(FRAMES):
            weights = {name: float(data[frame, k]) for k, name in enumerate(channels)}
            _posed(scene, head, rig, weights, (c * STEP_X, 0.0, z), f"R{r}F{c}")
            if r == 0:
                _label(scene, f"frame {frame}", (c * STEP_X, -0.3, 0.13), size=0.022)
        left = len(FRAMES) * STEP_X
        _label(scene, label, (left + 0.45, -0.3, z + 0.11), size=0.026)
        _plot(scene, r, data, channels, left, z, keyed=r == 1, retaken=r == 2)
    span_x = len(FRAMES) * STEP_X + 0.95
    span_z = len(rows) * STEP_Z
    _camera(scene, (span_x / 2 - STEP_X / 2, 0.0, -span_z / 2 + STEP_Z / 2), 1.0, 0.0, span_x)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "direct_the_take.png"
    _render(scene, path, int(size * 2.4), int(size * 2.4 * span_z / span_x))
    return path
