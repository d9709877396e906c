"""``diffusiontalker identity add|remove|list``: a checkpoint's identity library.

``add NAME --capture TAKE [--audio FILE] [--capture ...] [--checkpoint BASE] -o OUT`` learns a
talking identity from face capture (Live Link Face CSVs and their audio): a new library row
fitted with the shared network frozen (``training.personalize``), written with the base's
identities into a complete checkpoint. ``remove NAME`` drops one; ``list`` prints the library
(as ``diffusiontalker identities``). See docs/capture.md, "Learn an identity".
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import CaptureError, CheckpointError, DiffusionTalkerError
from . import identities

HELP = "learn a talking identity from face capture (add), remove one, or list the library"


def add_capture_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """``--capture`` (repeatable), ``--audio`` (one per ``--capture``), ``--offset``, ``--variant``."""
    parser.add_argument("--capture", action="append", required=True, metavar="TAKE",
                        help=f"{what}: a take's CSV, a take folder (its *_cal.csv) or a folder "
                             "with takes.json; repeat for more takes")
    parser.add_argument("--audio", action="append", metavar="FILE",
                        help="the take's audio (.wav, .mov, .mp4), one per --capture in order "
                             "(default: found beside each CSV)")
    parser.add_argument("--offset", type=float, default=0.0, metavar="S",
                        help="seconds of the take before the audio starts, for trimmed audio")
    parser.add_argument("--variant", choices=("cal", "raw"), default="cal",
                        help="in a take folder, the calibrated (default) or the raw CSV")


def load_capture_takes(args: argparse.Namespace) -> list:
    """The takes (with audio) that ``--capture``/``--audio``/``--offset`` name, each reported
    in one line as it is read."""
    from ..capture import load_take, take_csvs

    audios = list(args.audio or [])
    if audios and len(audios) != len(args.capture):
        raise CaptureError(f"give one --audio per --capture (got {len(audios)} for "
                           f"{len(args.capture)}), or none to use the audio beside each CSV")
    takes = []
    for number, source in enumerate(args.capture):
        csvs = take_csvs([source], args.variant)
        if audios and len(csvs) != 1:
            raise CaptureError(f"{source} holds {len(csvs)} takes; --audio names one take's audio")
        for csv_path in csvs:
            try:
                take = load_take(csv_path, audio=audios[number] if audios else None,
                                 offset=args.offset, variant=args.variant)
            except DiffusionTalkerError as exc:
                if csv_path.name in str(exc):
                    raise
                raise type(exc)(f"{csv_path.name}: {exc}") from None
            notes = "; ".join(take.report.lines())
            print(f"{csv_path.name}: {take.duration:.1f} s, {take.num_frames} frames at "
                  f"{take.fps:.3f} fps" + (f"; {notes}" if notes else ""))
            takes.append(take)
    return takes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="learn a new identity from face capture")
    add.add_argument("name", metavar="NAME", help="the new identity's name")
    add_capture_arguments(add, "the actor's capture")
    add.add_argument("--checkpoint", help="the model to personalise (default: the shipped one)")
    add.add_argument("-o", "--output", required=True, metavar="PERSONAL.safetensors",
                     help="the personal checkpoint to write (the base's identities plus NAME)")
    add.add_argument("--steps", type=int, default=None,
                     help="optimisation steps (default 300: about 20 s on one CPU thread)")
    add.add_argument("--contrastive", type=float, default=None, metavar="λ",
                     help="weight of the contrastive identity loss (default 0; > 0 makes "
                          "'match' find NAME from the actor's voice, measured slightly worse "
                          "motion, docs/capture.md)")
    add.add_argument("--seed", type=int, default=0, help="seed of the fit (default 0)")
    add.add_argument("--threads", type=int, default=None,
                     help="CPU threads (default: automatic)")
    remove = sub.add_parser("remove", help="remove an identity from a checkpoint's library")
    remove.add_argument("name", metavar="NAME")
    remove.add_argument("--checkpoint", help="the checkpoint (default: the shipped one)")
    remove.add_argument("-o", "--output", metavar="OUT.safetensors",
                        help="where to write the result (default: the --checkpoint, in place)")
    listing = sub.add_parser("list", help="the library's identities, one per line")
    identities.add_arguments(listing)


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        return identities.run(args)
    from . import require_torch

    require_torch(f"identity {args.action}")
    return _add(args) if args.action == "add" else _remove(args)


def _output(path: str | None) -> Path:
    from ..paths import DEFAULT_CHECKPOINT

    if path is None:
        raise CheckpointError("the shipped model is never changed in place; write the result "
                              "elsewhere with -o OUT.safetensors")
    out = Path(path)
    if out.resolve() == DEFAULT_CHECKPOINT.resolve():
        raise CheckpointError(f"{out} is the shipped model, which is never overwritten; "
                              "choose another -o")
    if out.suffix != ".safetensors":
        raise CheckpointError(f"the output {out} must be a .safetensors file")
    if not out.parent.is_dir():
        raise CheckpointError(f"the output folder {out.parent} does not exist")
    return out


def _add(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..runtime.threads import use_torch_threads
    from ..training.personalize import FitSettings, capture_seconds_text, learn_identity

    out = _output(args.output)
    use_torch_threads(args.threads)
    options = {k: v for k, v in (("steps", args.steps), ("contrastive_weight", args.contrastive))
               if v is not None}
    settings = FitSettings(seed=args.seed, **options)
    takes = load_capture_takes(args)
    with tqdm(total=settings.steps, desc=f"learning {args.name}", unit="step") as bar:
        def progress(fraction: float) -> None:
            bar.update(round(fraction * settings.steps) - bar.n)

        path, result = learn_identity(args.name, takes, out, args.checkpoint, settings,
                                      progress=progress, status=bar.set_postfix_str)
    print(f"wrote {path}: identity {args.name!r} learnt from "
          f"{capture_seconds_text(result.capture_seconds)} of capture ({len(takes)} take(s)) "
          f"in {result.seconds:.0f} s, starting from {result.start}; denoising loss "
          f"{result.first_loss:.4f} -> {result.final_loss:.4f}")
    export = path.with_suffix(".onnx")
    stale = " (the export there is now out of date)" if export.exists() else ""
    print(f"generate with it: diffusiontalker generate AUDIO --checkpoint {path} "
          f"--identity {args.name}; for the ONNX Runtime path: diffusiontalker export-onnx "
          f"{path} -o {export}{stale}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    from ..training.personalize import remove_identity

    out = _output(args.output or args.checkpoint)
    path = remove_identity(args.name, out, args.checkpoint)
    print(f"wrote {path} without the identity {args.name!r}")
    return 0
