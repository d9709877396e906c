"""``diffusiontalker demo``: a talking head in a .blend, headless (through the ``bpy`` module).

Builds the demo head, adds a speech clip (the bundled eSpeak NG sentence unless ``--audio``)
as a sound strip, runs Generate through the add-on exactly as the sidebar button does
(blocking), and saves the .blend; ``--render`` also writes a Workbench video with sound and
a still of the head mid-speech.

The core never imports the add-on: this module checks the arguments, finds the checkout's
``blender_addon/`` folder (beside ``core/``) by path and runs
``python -m blender_addon.cli demo ...`` with this same Python in a subprocess (the add-on's
command line does the Blender work). :func:`run_addon_cli` is shared with ``render-docs``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from ..errors import AudioError, CheckpointError, DiffusionTalkerError
from ..paths import DATA_DIR, DEFAULT_CHECKPOINT

HELP = "headless demo: demo head + speech -> talking head in a .blend (needs bpy)"
DEMO_AUDIO = DATA_DIR / "demo_speech.wav"
ADDON_CLI = "blender_addon.cli"  # the add-on package's command-line module
OUTPUT_MODES = ["AUTO", "CHANNEL_KEYS", "BASIS", "PER_FRAME", "POINT_CACHE"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--audio", help="speech file (default: the bundled demo sentence)")
    parser.add_argument("-o", "--output", default="demo.blend", help="the .blend to write")
    parser.add_argument("--render", action="store_true",
                        help="also render a Workbench video with sound and a still beside it")
    parser.add_argument("--checkpoint", help="model .safetensors (default: the shipped one)")
    parser.add_argument("--identity", help="library identity name (default: neutral)")
    parser.add_argument("--steps", type=int, default=None,
                        help="denoising steps (default: the model's own, from its checkpoint)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fps", type=int, default=30, help="scene frame rate")
    parser.add_argument("--output-mode", default="AUTO", choices=OUTPUT_MODES)


def checkpoint_path(arg: str | None) -> str:
    """The model file to use (absolute); a clear error when it does not exist."""
    path = Path(arg) if arg else DEFAULT_CHECKPOINT
    if not path.is_file():
        which = "the checkpoint" if arg else "the shipped default model"
        raise CheckpointError(f"{which} was not found at {path}; pass --checkpoint FILE")
    return str(path.resolve())


def audio_path(arg: str | None) -> str:
    """The speech file to use (absolute; default: the bundled demo sentence)."""
    audio = Path(arg) if arg else DEMO_AUDIO
    if not audio.is_file():
        raise AudioError(f"the audio file was not found: {audio}")
    return str(audio.resolve())


def addon_dir() -> Path:
    """The ``blender_addon/`` folder of the checkout this core was loaded from."""
    return Path(__file__).resolve().parents[3] / "blender_addon"


def run_addon_cli(command: str, argv: list[str], debug: bool = False) -> int:
    """Run ``python -m blender_addon.cli [--debug] COMMAND ARGV...`` with this Python; its
    exit code (the add-on's command line uses the same statuses as ``diffusiontalker``).

    The subprocess finds the add-on package through ``PYTHONPATH`` (the checkout folder) and
    this same core before any installed copy; its output goes straight to ours."""
    folder = addon_dir()
    if not (folder / "cli.py").is_file():
        raise DiffusionTalkerError(
            f"the Blender add-on sources were not found at {folder}; run this command from a "
            "source checkout (./dev.sh ...), or use the extension inside Blender")
    if importlib.util.find_spec("bpy") is None:
        raise DiffusionTalkerError(
            "this command needs the 'bpy' module (pip install bpy==5.0.1 on Python 3.11)")
    core = Path(__file__).resolve().parents[2]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(core), str(folder.parent), *filter(None, [env.get("PYTHONPATH")])])
    sys.stdout.flush()
    sys.stderr.flush()
    cmd = [sys.executable, "-m", ADDON_CLI, *(["--debug"] if debug else []), command, *argv]
    return subprocess.run(cmd, env=env).returncode


def addon_argv(args: argparse.Namespace) -> list[str]:
    """The add-on command line for these arguments, checked (the checkpoint first: the usual
    missing piece), with absolute paths."""
    argv = ["--checkpoint", checkpoint_path(args.checkpoint), "--audio", audio_path(args.audio),
            "-o", str(Path(args.output).resolve()), "--seed", str(args.seed),
            "--fps", str(args.fps), "--output-mode", args.output_mode]
    if args.identity:
        argv += ["--identity", args.identity]
    if args.steps is not None:
        argv += ["--steps", str(args.steps)]
    if args.render:
        argv.append("--render")
    return argv


def run(args: argparse.Namespace) -> int:
    return run_addon_cli("demo", addon_argv(args), debug=getattr(args, "debug", False))
