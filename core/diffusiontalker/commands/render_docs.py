"""`diffusiontalker render-docs -o docs/images`: EEVEE renders of the demo head, its rig and the shipped model (engine: DIFFUSIONTALKER_RENDER_ENGINE=EEVEE|CYCLES|WORKBENCH).

A launcher like ``demo``: it runs ``python -m blender_addon.cli render-docs ...`` (the
add-on's ``render_docs.py`` does the Blender work) in a subprocess with this Python; the core
never imports the add-on.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .demo import run_addon_cli

HELP = "render the docs pictures: the demo head, its rig channels, the jaw, speech (EEVEE) to PNGs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", default="docs/images", help="output folder")
    parser.add_argument("--size", type=int, default=400, help="edge of the single views (px)")


def run(args: argparse.Namespace) -> int:
    return run_addon_cli("render-docs",
                         ["-o", str(Path(args.output).resolve()), "--size", str(args.size)],
                         debug=getattr(args, "debug", False))
