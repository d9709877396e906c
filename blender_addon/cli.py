"""The add-on's command line, for headless runs with the ``bpy`` module (source checkout).

    python -m blender_addon.cli demo [--audio A] [-o demo.blend] [--render] [--checkpoint F] ...
    python -m blender_addon.cli render-docs [-o docs/images] [--size N]

with the checkout folder and ``core/`` on ``PYTHONPATH``. ``diffusiontalker demo`` and
``diffusiontalker render-docs`` run exactly this in a subprocess (the core never imports the
add-on); the arguments are those of the core's launchers (``diffusiontalker.commands.demo``
and ``render_docs``), so both command lines stay one. ``main(argv)`` returns the exit code
the ``diffusiontalker`` command would: 0 done, its user-error status for an error (printed as
one line ``error: ...`` on stderr; ``--debug`` before the command shows the traceback), 130
interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from diffusiontalker import cli as core_cli
from diffusiontalker.commands import demo as demo_command
from diffusiontalker.commands import render_docs as render_docs_command
from diffusiontalker.errors import DiffusionTalkerError

USER_ERROR = getattr(core_cli, "USER_ERROR", 1)  # the core command line's status for errors


def _register() -> None:
    """Register the add-on's classes (under the ``bpy`` module, not through add-on prefs)."""
    try:
        import bpy  # noqa: F401
    except ImportError as exc:
        raise DiffusionTalkerError(
            "this command needs the 'bpy' module (pip install bpy==5.0.1 on Python 3.11)"
        ) from exc
    from . import register

    register()


def run_demo(args: argparse.Namespace) -> int:
    """Demo head + speech strip -> Generate (blocking, as the sidebar button) -> .blend."""
    checkpoint = demo_command.checkpoint_path(args.checkpoint)
    audio = demo_command.audio_path(args.audio)
    _register()
    import bpy

    from . import demo_scene

    output = Path(args.output).resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    head, strip = demo_scene.build_demo_scene(audio, fps=args.fps)
    # Saved under a temporary name in the output's folder first (point caches go beside the
    # .blend), renamed to the output only after Generate succeeded: a failed run leaves none.
    partial = output.with_name(f".{output.name}.partial-{os.getpid()}.blend")
    bpy.ops.wm.save_as_mainfile(filepath=str(partial))
    try:
        _generate_and_save(args, checkpoint, head, strip, partial)
        os.replace(partial, output)
    finally:
        for leftover in (partial, Path(f"{partial}1")):  # and Blender's .blend1 backup
            leftover.unlink(missing_ok=True)
    print(f"saved {output}", flush=True)
    if args.render:
        scene = bpy.context.scene
        mid = (scene.frame_start + scene.frame_end) // 2
        still = demo_scene.render_still(str(output.with_suffix("")) + "_still.png", mid)
        print(f"rendered {still}", flush=True)
        video = demo_scene.render_video(str(output.with_suffix("")) + "_", size=360)
        print(f"rendered {video}", flush=True)
    return 0


def _generate_and_save(args: argparse.Namespace, checkpoint: str, head, strip,
                       partial: Path) -> None:
    """Generate (blocking, as the sidebar button) on the demo scene, then save it to
    ``partial``; a DiffusionTalkerError when Generate fails."""
    import bpy

    print(f"generating with {checkpoint} ...", flush=True)
    # No --steps: the model's own step count (its checkpoint's default_steps).
    steps = {"use_model_steps": True} if args.steps is None else {
        "use_model_steps": False, "steps": args.steps}
    try:
        result = bpy.ops.diffusiontalker.generate(
            blocking=True, target=head.name, strip=strip.name, seed=args.seed,
            identity_mode="SINGLE" if args.identity else "NONE", identity=args.identity or "",
            output_mode=args.output_mode, checkpoint=checkpoint, head_motion=True, **steps)
    except RuntimeError as exc:  # the operator already reported the user-ready message
        raise DiffusionTalkerError(str(exc).split("Error: ", 1)[-1].strip()) from None
    if result != {"FINISHED"}:
        raise DiffusionTalkerError(f"Generate ended with {sorted(result)}; nothing was saved")
    print(bpy.context.scene.diffusiontalker.status, flush=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(partial))


def run_render_docs(args: argparse.Namespace) -> int:
    """The docs' Workbench renders of the demo head and its rig."""
    _register()
    from .render_direction import render_direction
    from .render_docs import render_docs

    for path in render_docs(args.output, size=args.size):
        print(path, flush=True)
    print(render_direction(args.output, size=args.size), flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m blender_addon.cli",
        description="Headless DiffusionTalker jobs in Blender (the bpy module).")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error instead of one line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command, run in (("demo", demo_command, run_demo),
                               ("render-docs", render_docs_command, run_render_docs)):
        p = sub.add_parser(name, help=command.HELP)
        command.add_arguments(p)
        p.set_defaults(_run=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except DiffusionTalkerError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return USER_ERROR
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr, flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
