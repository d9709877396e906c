"""The docs' picture sheets: channels at full weight, jaw levels, the model speaking.

Helpers of :mod:`.render_docs`; scenes, cameras, labels and renders come from
:mod:`.render_scene`.
Every sheet is one scene under one orthographic camera: heads side by side, rows pushed back
in depth so that a row's label plates hide the crowns of the row below.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from . import render_scene as rd

PLATE = (0.80, 0.82, 0.85)  # label plates: the backdrop's colour
SHEET_LEVELS = 32  # colour levels of the big sheets (small files; the heads are small there)


def _plate(scene, location, width: float, height: float, name: str) -> None:
    """A flat rectangle (backdrop colour) facing the camera, behind a label."""
    import bpy

    mesh = bpy.data.meshes.new(name)
    x, z = width / 2, height / 2
    mesh.from_pydata([(-x, 0, -z), (x, 0, -z), (x, 0, z), (-x, 0, z)], [], [(0, 1, 2, 3)])
    mat = bpy.data.materials.get("DT_plate") or rd._flat_material("DT_plate", PLATE)
    mesh.materials.append(mat)
    obj = bpy.data.objects.new(name, mesh)
    obj.location = location
    scene.collection.objects.link(obj)


def channel_sheet(path: Path, engine: str, head, rig, size: int) -> Path:
    """Every rig channel at full weight (mouthClose over jawOpen 1), labelled: one render per
    row of heads, the rows stacked (so no head's neck or shadow falls on the row below)."""
    tiles = [("neutral", {})]
    for ch in rig.channels:
        tiles.append(("mouthClose+jawOpen", {ch: 1.0, "jawOpen": 1.0}) if ch == "mouthClose"
                     else (ch, {ch: 1.0}))
    cols, step = 7, 0.19  # no two heads touch (nor shade each other)
    v, lm = head.vertices, head.landmarks
    top = float(v[lm["brow_inner_L"], 2]) + 0.03
    chin = float(v[lm["chin"], 2])
    bottom = chin - 0.045
    width_px = int(size * 2.2)
    bands = []
    for r in range(math.ceil(len(tiles) / cols)):
        scene = rd._reset_scene(engine)
        for c, (label, weights) in enumerate(tiles[r * cols:(r + 1) * cols]):
            x, depth = c * step, 0.0
            rd._posed(scene, head, rig, weights, (x, depth, 0.0), f"T{c}")
            plate_z = chin - 0.026
            _plate(scene, (x, depth - 0.25, plate_z), step, 0.034, f"plate{c}")
            rd._label(scene, label, (x, depth - 0.26, plate_z - 0.004), size=0.0125)
        rd._camera(scene, ((cols - 1) * step / 2, 0.0, (top + bottom) / 2), 2.0, 0.0,
                   cols * step)
        band = _scratch(path, f"row{r}")
        rd._render(scene, band, width_px, int(width_px * (top - bottom) / (cols * step)),
                   levels=SHEET_LEVELS)
        bands.append(band)
    _stack(path, bands)
    return path


def _scratch(path: Path, part: str) -> Path:
    """Where a part of the picture ``path`` is rendered before it is assembled: the system's
    temporary folder, never the docs' folder."""
    import tempfile

    return Path(tempfile.gettempdir()) / f"diffusiontalker-{os.getpid()}-{path.stem}-{part}.png"


def _stack(path: Path, bands: list[Path]) -> None:
    """One picture of equally wide pictures, top to bottom (the parts are removed)."""
    rows = [_pixels(band) for band in bands]
    rd.save_png(path, np.concatenate(rows[::-1], axis=0), (rows[0].shape[1],
                                                           sum(r.shape[0] for r in rows)))


def _pixels(png: Path) -> np.ndarray:
    """The pixels ``(h, w, 4)`` of a PNG (row 0 at the bottom); the file is removed."""
    import bpy

    image = bpy.data.images.load(str(png))
    w, h = image.size
    px = np.empty(w * h * 4, np.float32)
    image.pixels.foreach_get(px)
    bpy.data.images.remove(image)
    png.unlink()
    return px.reshape(h, w, 4)


def jaw_sheet(out: Path, engine: str, head, rig, size: int, name: str = "jaw_open_side.png"
              ) -> Path:
    """jawOpen at speech levels and mouthClose over it: the lower face from the front (top row)
    and from the side (bottom row). One render per row, framed on the row's band of close-ups
    (the heads stand far enough apart that none reaches into another's square)."""
    levels = [(f"jawOpen {a:g}", {"jawOpen": a}) for a in rd.JAW_LEVELS]
    levels.append(("+ mouthClose 0.5", {"jawOpen": 0.5, "mouthClose": 0.5}))
    lm, v = head.landmarks, head.vertices
    mouth = (v[lm["upper_lip_inner"]] + v[lm["lower_lip_inner"]]) / 2 + [0.0, 0.0, -0.012]
    window = 0.105
    tile = max(int(size * 0.55), 24)
    bands = []
    for yaw, spacing in ((0.0, 0.16), (90.0, 0.28)):
        scene = rd._reset_scene(engine)
        turn = math.radians(yaw)
        c, s = math.cos(turn), math.sin(turn)
        at = np.array([c * mouth[0] - s * mouth[1], s * mouth[0] + c * mouth[1], mouth[2]])
        for k, (label, weights) in enumerate(levels):
            obj = rd._posed(scene, head, rig, weights, (0.0, 0.0, 0.0), f"J{k}")
            obj.rotation_euler = (0.0, 0.0, turn)
            obj.location = tuple(np.array([k * spacing, 0.0, 0.0]) - at)
            if yaw == 0.0:
                top = window / 2 - 0.0075
                _plate(scene, (k * spacing, -0.3, top), window, 0.015, f"plate{k}")
                rd._label(scene, label, (k * spacing, -0.31, top - 0.0035), size=0.0095)
        width = len(levels) * spacing
        rd._camera(scene, ((len(levels) - 1) * spacing / 2, 0.0, 0.0), 2.0, 0.0, width)
        path = _scratch(out / name, f"band{len(bands)}")
        rd._render(scene, path, int(round(width / window * tile)), tile, levels=SHEET_LEVELS)
        ahead = 0.014 if yaw else 0.0  # side views: the profile toward the middle
        bands.append((path, [k * spacing - (len(levels) - 1) * spacing / 2 + ahead
                             for k in range(len(levels))], tile / window))
    path = out / name
    _compose(path, bands, tile)
    return path


def _compose(path: Path, bands, tile: int) -> None:
    """One sheet from rendered bands: from each band ``(png, tile centres in metres from the
    band's centre, pixels per metre)`` the squares around the centres, a row per band."""
    rows = []
    for band, centres, scale in bands:
        px = _pixels(band)
        w = px.shape[1]
        starts = [int(round(w / 2 + x * scale)) - tile // 2 for x in centres]
        row = np.concatenate([px[:tile, x0:x0 + tile] for x0 in starts], axis=1)
        row[:, tile - 1::tile][:, :-1] = 1.0  # a white line between the squares
        rows.append(row)
    sheet = np.concatenate(rows[::-1], axis=0)  # Blender's rows run bottom to top
    sheet[tile - 1::tile][:-1] = 1.0
    rd.save_png(path, sheet, (sheet.shape[1], sheet.shape[0]))


def flame_sheet(path: Path, engine: str, flame: str | Path, size: int) -> Path:
    """The channel sheet on a FLAME head (a local check: never a docs picture)."""
    from diffusiontalker.channels import ARKIT_CHANNELS
    from diffusiontalker.head import (
        HeadMesh,
        build_rig,
        find_landmarks,
        flame_to_blender,
        read_mesh,
    )

    v, f = read_mesh(str(flame))
    v = flame_to_blender(v)
    head = HeadMesh(v, [tuple(int(i) for i in face) for face in f],
                    np.zeros(len(f), np.int32), ("skin",), {}, find_landmarks(v, f))
    rig = build_rig(head.vertices, head.faces, head.landmarks, ARKIT_CHANNELS)
    channel_sheet(path, engine, head, rig, size)
    jaw_sheet(path.parent, engine, head, rig, size, name=path.stem + "_jaw.png")
    return path


def speech_pictures(out: Path, engine: str, head, size: int) -> list[Path]:
    """The demo sentence keyed by the shipped model: the README's mid-speech picture and a
    strip of eight frames."""
    from diffusiontalker.audio.loading import load_audio
    from diffusiontalker.head import build_rig
    from diffusiontalker.paths import DATA_DIR
    from diffusiontalker.runtime.loader import load_talker

    talker = load_talker(None, "cpu", "auto", threads=1)
    motion = talker.generate(load_audio(str(DATA_DIR / "demo_speech.wav")), 16000, seed=0)
    channels = tuple(talker.channels)
    rig = build_rig(head.vertices, head.faces, head.landmarks, channels)
    data = motion.data
    jaw = data[:, channels.index("jawOpen")]

    def weights(frame: int) -> dict[str, float]:
        return {name: float(data[frame, k]) for k, name in enumerate(channels)}

    scene = rd._reset_scene(engine)
    best = int(np.argmin(np.abs(jaw - np.percentile(jaw, 90))))  # a well open, usual frame
    rd._posed(scene, head, rig, weights(best), (0.0, 0.0, 0.0), "Speaking")
    rd._camera(scene, (0.0, 0.0, -0.01), 1.0, -25.0, 0.30, pitch_deg=4.0)
    mid = out / "demo_head_mid_speech.png"
    rd._render(scene, mid, size, size)

    speaking = np.flatnonzero(jaw > 0.08)
    spans = np.array_split(np.arange(speaking[0], speaking[-1] + 1), 8)
    frames = [int(span[np.argmax(jaw[span])]) for span in spans]  # each span's widest opening
    scene = rd._reset_scene(engine)
    step = 0.19
    for k, frame in enumerate(frames):
        rd._posed(scene, head, rig, weights(frame), (k * step, 0.0, 0.0), f"F{k}")
        _plate(scene, (k * step, -0.25, -0.128), step, 0.034, f"plate{k}")
        rd._label(scene, f"{frame / motion.fps:.2f} s", (k * step, -0.26, -0.132), size=0.016)
    rd._camera(scene, ((len(frames) - 1) * step / 2, 0.0, -0.035), 2.0, 0.0, len(frames) * step)
    strip = out / "motion_strip.png"
    rd._render(scene, strip, int(size * 2.4), int(size * 2.4 * 0.21 / (len(frames) * step)))
    return [mid, strip]
