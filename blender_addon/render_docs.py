"""The docs' pictures of the demo head (headless through the ``bpy`` module).

``render_docs(out_dir)`` writes, with EEVEE (``$DIFFUSIONTALKER_RENDER_ENGINE``, see
:mod:`.render_scene`):

- ``head_front.png``, ``head_three_quarter.png``: the neutral demo head;
- ``demo_head_mid_speech.png``: the demo head speaking the bundled demo sentence, keyed by
  the shipped default model (the README's picture);
- ``motion_strip.png``: eight frames of that take, with their times;
- ``jaw_open_side.png``: jawOpen at the levels speech reaches (0, 0.2, 0.35, 0.5), front and
  side, and mouthClose sealing the lips over the open jaw;
- ``channels.png``: every channel the rig builds, at full weight, labelled;
and the add-on's command line then adds ``direct_the_take.png`` (``render_direction.py``,
Workbench).

``channels_flame.png`` (the same sheet on a FLAME head) only when a FLAME file is given: the
FLAME template's terms allow no pictures of it in the project, so it is a local check only.
All geometry comes from the core.
"""

from __future__ import annotations

from pathlib import Path

from .head_object import create_head_object
from .render_scene import (  # noqa: F401 (render_direction.py imports these from here)
    SIZE,
    _camera,
    _label,
    _posed,
    _render,
    _reset_scene,
    docs_engine,
)


def render_docs(out_dir: str | Path, size: int = SIZE, with_model: bool = True,
                flame: str | Path | None = None) -> list[Path]:
    """Render the doc images into ``out_dir``; returns the written paths.

    ``with_model``: also the pictures of the shipped model speaking (mid-speech, the motion
    strip). ``flame``: a FLAME head (PLY/OBJ, FLAME axes) for ``channels_flame.png`` — never
    in the project's docs (the FLAME terms).
    """
    from diffusiontalker.channels import ARKIT_CHANNELS
    from diffusiontalker.head import build_demo_head, build_rig

    from . import render_sheets as sheets

    engine = docs_engine()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    head = build_demo_head()
    rig = build_rig(head.vertices, head.faces, head.landmarks, ARKIT_CHANNELS)
    written = []
    for name, yaw in (("head_front", 0.0), ("head_three_quarter", -35.0)):
        scene = _reset_scene(engine)
        create_head_object(scene.collection, head, rig)
        _camera(scene, (0.0, 0.0, -0.01), 1.0, yaw, 0.30)
        written.append(out / f"{name}.png")
        _render(scene, written[-1], size, size)
    written.append(sheets.jaw_sheet(out, engine, head, rig, size))
    written.append(sheets.channel_sheet(out / "channels.png", engine, head, rig, size))
    if flame is not None:
        written.append(sheets.flame_sheet(out / "channels_flame.png", engine, flame, size))
    if with_model:
        written += sheets.speech_pictures(out, engine, head, size)
    return written
