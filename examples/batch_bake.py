"""Batch bake: every sound strip onto every chosen head, one saved .blend per pair.

Inside Blender (the extension installed and enabled):

    blender -b scene.blend --python examples/batch_bake.py -- --out bakes/ --heads "Head*"

or with the ``bpy`` module from a source checkout (the add-on is registered from the tree):

    python examples/batch_bake.py --blend scene.blend --out bakes/ --mode BASIS

Point caches (``--mode POINT_CACHE``) are written beside the open .blend as
``DT_<head>.pc2``; a later bake of the same head replaces that file, so prefer basis shapes
(the default for vertex models) or keys for batches. Every choice of the sidebar is an argument of ``bpy.ops.diffusiontalker.generate``; this
script passes ``blocking=True`` so each bake finishes before the next one starts.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
from pathlib import Path

import bpy


def _ensure_addon() -> None:
    if "generate" in dir(bpy.ops.diffusiontalker):
        return
    root = Path(__file__).resolve().parents[1]  # the checkout: core/ and blender_addon/
    sys.path[:0] = [str(root / "core"), str(root)]
    import blender_addon

    blender_addon.register()


def _args() -> argparse.Namespace:
    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    p = argparse.ArgumentParser(description="Bake every sound strip onto every head")
    p.add_argument("--blend", help="open this .blend first (bpy-module runs)")
    p.add_argument("--out", required=True, help="folder for the baked .blend files")
    p.add_argument("--heads", default="*", help="name pattern of the mesh objects to animate")
    p.add_argument("--mode", default="AUTO", help="output mode (AUTO, BASIS, POINT_CACHE, ...)")
    p.add_argument("--identity", default="", help="library identity (default: neutral)")
    p.add_argument("--steps", type=int, default=None,
                   help="denoising steps (default: the model's own, from its checkpoint)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint", default="", help="model file (default: the preferences')")
    return p.parse_args(argv)


def main() -> int:
    args = _args()
    _ensure_addon()
    if args.blend:
        bpy.ops.wm.open_mainfile(filepath=str(Path(args.blend).resolve()))
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    scene = bpy.context.scene
    ed = scene.sequence_editor
    strips = [s for s in (ed.strips_all if ed else []) if s.type == "SOUND"]
    heads = [o for o in scene.objects if o.type == "MESH" and fnmatch.fnmatch(o.name, args.heads)]
    failures = 0
    for head in heads:
        for strip in strips:
            try:
                bpy.ops.diffusiontalker.generate(
                    blocking=True, target=head.name, strip=strip.name, output_mode=args.mode,
                    identity_mode="SINGLE" if args.identity else "NONE", identity=args.identity,
                    seed=args.seed, checkpoint=args.checkpoint,
                    **({} if args.steps is None else {"steps": args.steps}))
            except RuntimeError as exc:  # the operator's message says what is wrong
                print(f"{head.name} / {strip.name}: {exc}", file=sys.stderr)
                failures += 1
                continue
            path = out / f"{bpy.path.clean_name(head.name)}__{bpy.path.clean_name(strip.name)}.blend"
            bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
            print(f"baked {path}")
    return 1 if failures else 0


if __name__ == "__main__":
    code = main()
    if not bpy.app.background or "--" not in sys.argv:
        sys.exit(code)
