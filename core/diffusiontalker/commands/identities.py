"""``diffusiontalker identities`` (also ``diffusiontalker identity list``): the model's identity
library, one name per line; ``--match AUDIO`` ranks them by the voice."""

from __future__ import annotations

import argparse

HELP = "list the talking identities of a model"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", help="model checkpoint (default: the shipped model)")
    parser.add_argument("--match", metavar="AUDIO", help="rank identities by match to this voice")
    parser.add_argument("--top-k", type=int, default=3)


def run(args: argparse.Namespace) -> int:
    from ..runtime.loader import load_talker

    # torch where it imports, else the model's ONNX export: works on a plain install too
    talker = load_talker(args.checkpoint, "cpu")
    if args.match:
        for name, score in talker.match_identity(args.match, top_k=args.top_k):
            print(f"{name}\t{score:.3f}")
        return 0
    for name in talker.identities:
        print(name)
    return 0
