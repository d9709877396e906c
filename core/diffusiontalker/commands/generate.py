"""``diffusiontalker generate AUDIO -o OUT.npz``: speech -> the motion `.npz` of the contract."""

from __future__ import annotations

import argparse
import sys

from ..errors import IdentityError
from . import add_audio_encoder_argument

HELP = "generate facial motion for an audio file and write it as .npz"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("audio", help="speech file (wav, flac, ogg, mp3, ...)")
    parser.add_argument("-o", "--output", required=True, help="output .npz path")
    parser.add_argument("--checkpoint", help="model checkpoint (default: the shipped model)")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--identity", help="talking identity by name (see `identities`)")
    who.add_argument("--blend", help="blend of identities, e.g. ada=0.5,bo=0.5")
    who.add_argument("--match", action="store_true", help="use the identity that best matches the voice")
    parser.add_argument("--style-strength", type=float, default=1.0,
                        help="0 = neutral, 1 = the identity, >1 exaggerated (default 1)")
    parser.add_argument("--steps", type=int, help="sampling steps (default: the model's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    add_audio_encoder_argument(parser)


def parse_blend(text: str) -> dict[str, float]:
    """``"ada=0.5,bo=0.5"`` -> ``{"ada": 0.5, "bo": 0.5}``."""
    blend: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, weight = part.partition("=")
        try:
            blend[name.strip()] = float(weight) if sep else 1.0
        except ValueError:
            raise IdentityError(f"bad blend weight in {part!r}; write NAME=WEIGHT,NAME=WEIGHT") from None
    if not blend:
        raise IdentityError("empty --blend; write NAME=WEIGHT,NAME=WEIGHT")
    return blend


def run(args: argparse.Namespace) -> int:
    from ..api import load_model

    talker = load_model(args.checkpoint, args.device, args.audio_encoder)
    identity = "match" if args.match else parse_blend(args.blend) if args.blend else args.identity
    motion = talker.generate(args.audio, identity=identity, steps=args.steps, seed=args.seed,
                             style_strength=args.style_strength)
    motion.save_npz(args.output)
    who = ", ".join(f"{k}={v:.2f}" for k, v in motion.identity.items()) or "neutral"
    print(f"wrote {args.output}: {motion.num_frames} frames at {motion.fps:g} fps "
          f"({motion.space}), identity {who}", file=sys.stderr)
    return 0
