"""Render the docs picture ``docs/images/demo_head_mid_speech.png`` (bpy module, headless).

    PYTHONPATH=core python examples/render_mid_speech.py [--checkpoint MODEL] [-o PNG]

With ``--checkpoint`` the motion comes from the model, through the add-on's Generate, as in
``diffusiontalker demo``. Without it (no trained default model ships yet) the motion is the
synthetic corpus's articulation track for the bundled demo sentence (eSpeak NG phoneme
timing -> visemes -> channel weights: the training target), written by the same add-on key
writer and strip timing. Either way the still shows the frame where the jaw is widest open.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "core"), str(ROOT)]  # the checkout's core and add-on package

import numpy as np  # noqa: E402

from diffusiontalker.commands.demo import DEMO_AUDIO  # noqa: E402

DEMO_TEXT = "Hello there! I am a talking head, animated with diffusion. Watch my lips move."


def reference_motion():
    """The articulation track of the demo sentence, padded like the bundled clip (0.4 s)."""
    from diffusiontalker.motion import Motion
    from diffusiontalker.synth.corpus import resample
    from diffusiontalker.synth.espeak import synthesize
    from diffusiontalker.synth.face import face_motion
    from diffusiontalker.synth.styles import IDENTITIES

    speech = synthesize(DEMO_TEXT, voice="en-us", rate=160)
    audio = resample(speech.audio, speech.sample_rate)
    weights = face_motion(speech.phones, audio, 16000, IDENTITIES[0].style,
                          np.random.default_rng(0), 30.0, vary=False)
    pad = np.zeros((12, weights.shape[1]), np.float32)
    from diffusiontalker.channels import CHANNELS

    return Motion(30.0, "channels", np.concatenate([pad, weights, pad]), CHANNELS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint")
    parser.add_argument("-o", "--output", default=str(ROOT / "docs/images/demo_head_mid_speech.png"))
    parser.add_argument("--size", type=int, default=400)
    args = parser.parse_args()
    import blender_addon

    blender_addon.register()
    import bpy

    from blender_addon import compat, demo_scene
    from blender_addon.generate import GenerateOptions, write_motion
    from diffusiontalker.bake.timing import motion_on_strip

    head, strip = demo_scene.build_demo_scene(str(DEMO_AUDIO))
    if args.checkpoint:
        bpy.ops.diffusiontalker.generate(blocking=True, checkpoint=args.checkpoint)
    else:
        motion = reference_motion()
        scene = bpy.context.scene
        frames, values = motion_on_strip(motion.data, motion.fps, 0.0, compat.strip_timing(strip),
                                         compat.scene_fps(scene))
        write_motion(head, motion, frames, values, {}, GenerateOptions(head.name, strip.name))
    jaw = head.data.shape_keys.key_blocks["jawOpen"]
    scene = bpy.context.scene
    best = max(range(scene.frame_start, scene.frame_end + 1),
               key=lambda f: (scene.frame_set(f), jaw.value)[1])
    print(f"frame {best}: jawOpen {(scene.frame_set(best), jaw.value)[1]:.2f}")
    print(demo_scene.render_still(args.output, best, size=args.size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
