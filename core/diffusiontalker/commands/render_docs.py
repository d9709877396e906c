"""`diffusiontalker render-docs -o docs/images`: Workbench renders of the demo head and rig."""

from __future__ import annotations

import argparse
import importlib

from ._addon import import_addon

HELP = "render the demo head, its rig channels and a motion strip (Blender Workbench) to PNGs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", default="docs/images", help="output folder")
    parser.add_argument("--size", type=int, default=400, help="edge of the single views (px)")


def run(args: argparse.Namespace) -> int:
    addon = import_addon()
    module = importlib.import_module(addon.__name__ + ".render_docs")
    for path in module.render_docs(args.output, size=args.size):
        print(path)
    return 0
