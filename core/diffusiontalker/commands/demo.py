"""``diffusiontalker demo``: a talking head in a .blend, headless (through the ``bpy`` module).

Builds the demo head, adds a speech clip (the bundled eSpeak NG sentence unless ``--audio``)
as a sound strip, runs Generate through the add-on exactly as the sidebar button does
(blocking), and saves the .blend; ``--render`` also writes a Workbench video with sound and
a still of the head mid-speech.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import AudioError, CheckpointError, DiffusionTalkerError
from ..paths import DATA_DIR, DEFAULT_CHECKPOINT

HELP = "headless demo: demo head + speech -> talking head in a .blend (needs bpy)"
DEMO_AUDIO = DATA_DIR / "demo_speech.wav"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--audio", help="speech file (default: the bundled demo sentence)")
    parser.add_argument("-o", "--output", default="demo.blend", help="the .blend to write")
    parser.add_argument("--render", action="store_true",
                        help="also render a Workbench video with sound and a still beside it")
    parser.add_argument("--checkpoint", help="model .safetensors (default: the shipped one)")
    parser.add_argument("--identity", help="library identity name (default: neutral)")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fps", type=int, default=30, help="scene frame rate")
    parser.add_argument("--output-mode", default="AUTO",
                        choices=["AUTO", "CHANNEL_KEYS", "BASIS", "PER_FRAME", "POINT_CACHE"])


def _checkpoint(arg: str | None) -> str:
    path = Path(arg) if arg else DEFAULT_CHECKPOINT
    if not path.is_file():
        which = "the checkpoint" if arg else "the shipped default model"
        raise CheckpointError(f"{which} was not found at {path}; pass --checkpoint FILE")
    return str(path.resolve())


def run(args: argparse.Namespace) -> int:
    checkpoint = _checkpoint(args.checkpoint)
    audio = Path(args.audio) if args.audio else DEMO_AUDIO
    if not audio.is_file():
        raise AudioError(f"the audio file was not found: {audio}")
    from ._addon import import_addon

    addon = import_addon()
    addon.register()
    import bpy
    from diffusiontalker_blender import demo_scene

    output = Path(args.output).resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    head, strip = demo_scene.build_demo_scene(str(audio.resolve()), fps=args.fps)
    bpy.ops.wm.save_as_mainfile(filepath=str(output))  # point caches go beside it
    print(f"generating with {checkpoint} ...")
    try:
        result = bpy.ops.diffusiontalker.generate(
            blocking=True, target=head.name, strip=strip.name, steps=args.steps, seed=args.seed,
            identity_mode="SINGLE" if args.identity else "NONE", identity=args.identity or "",
            output_mode=args.output_mode, checkpoint=checkpoint)
    except RuntimeError as exc:  # the operator already reported the user-ready message
        raise DiffusionTalkerError(str(exc).split("Error: ", 1)[-1].strip()) from None
    if result != {"FINISHED"}:
        return 1
    print(bpy.context.scene.diffusiontalker.status)
    bpy.ops.wm.save_as_mainfile(filepath=str(output))
    print(f"saved {output}")
    if args.render:
        scene = bpy.context.scene
        mid = (scene.frame_start + scene.frame_end) // 2
        still = demo_scene.render_still(str(output.with_suffix("")) + "_still.png", mid)
        print(f"rendered {still}")
        video = demo_scene.render_video(str(output.with_suffix("")) + "_", size=360)
        print(f"rendered {video}")
    return 0
