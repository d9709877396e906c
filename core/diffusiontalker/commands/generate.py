"""``diffusiontalker generate AUDIO -o OUT.npz``: speech -> the motion `.npz` of the contract."""

from __future__ import annotations

import argparse
import sys

from ..errors import ConfigError
from ..identity_choice import MATCH, parse_blend
from ..runtime.loader import RUNTIMES
from . import add_audio_encoder_argument

HELP = "generate facial motion for an audio file and write it as .npz"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("audio", help="speech file (wav, flac, ogg, mp3, ...)")
    parser.add_argument("-o", "--output", required=True, help="output .npz path")
    parser.add_argument("--checkpoint", help="model checkpoint (default: the shipped model)")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--identity", help="talking identity by name (see `identities`)")
    who.add_argument("--blend", help="blend of identities: NAME=WEIGHT,... e.g. ada=0.7,bo=0.3")
    who.add_argument("--match", action="store_true", help="use the identity that best matches the voice")
    parser.add_argument("--style-strength", type=float, default=1.0,
                        help="0 = neutral, 1 = the identity, >1 exaggerated (default 1)")
    parser.add_argument("--steps", type=int, help="sampling steps (default: the model's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu",
                        help="cpu (default), auto, cuda, mps (ONNX Runtime also: directml, coreml)")
    parser.add_argument("--runtime", choices=RUNTIMES, default="auto",
                        help="torch, onnx (the checkpoint's ONNX export), worker (a worker process, "
                             "see --python) or auto (default: torch where it imports); the same "
                             "seed gives the same motion in each")
    parser.add_argument("--python", help="the Python that runs the worker (--runtime worker; "
                                         "default: this one)")
    add_audio_encoder_argument(parser)


def run(args: argparse.Namespace) -> int:
    identity = MATCH if args.match else parse_blend(args.blend) if args.blend else args.identity
    if args.audio_encoder is not None:
        if args.runtime not in ("auto", "torch"):
            raise ConfigError("--audio-encoder needs the torch runtime (--runtime torch)")
        from ..runtime.torch_talker import load_model

        talker = load_model(args.checkpoint, args.device, args.audio_encoder)
    else:
        from ..runtime.loader import load_talker

        talker = load_talker(args.checkpoint, args.device, args.runtime, python=args.python)
    try:
        motion = talker.generate(args.audio, identity=identity, steps=args.steps, seed=args.seed,
                                 style_strength=args.style_strength)
    finally:
        if hasattr(talker, "close"):
            talker.close()
    motion.save_npz(args.output)
    who = ", ".join(f"{k}={v:.2f}" for k, v in motion.identity.items()) or "neutral"
    print(f"wrote {args.output}: {motion.num_frames} frames at {motion.fps:g} fps "
          f"({motion.space}), identity {who}", file=sys.stderr)
    return 0
