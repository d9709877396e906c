"""``diffusiontalker capture import TAKE... -o FOLDER``: face capture (Live Link Face CSVs and
their audio) -> the plain folder dataset (docs/data-format.md) that ``train`` reads; and
``diffusiontalker capture synth CORPUS -o DIR``: a channel corpus -> synthetic Live Link Face
takes (CSV + WAV + takes.json). See docs/capture.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..capture.load import MODEL_FPS, clip_id
from ..errors import CaptureError, DiffusionTalkerError

HELP = "import face capture (Live Link Face CSV + audio) as a dataset, or write synthetic takes"
CHANNEL_CHOICES = ("model", "captured")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="capture_command", metavar="SUBCOMMAND", required=True)
    take = sub.add_parser("import", help="Live Link Face takes -> a dataset folder for training")
    take.add_argument("takes", nargs="+", metavar="TAKE",
                      help="a take's CSV, a take folder (its *_cal.csv), or a folder with "
                           "takes.json (every take it lists)")
    take.add_argument("-o", "--output", required=True, help="new (or empty) dataset folder")
    take.add_argument("--audio", help="the take's audio (.wav, .mov, .mp4; default: found "
                                      "beside the CSV); only with one take")
    take.add_argument("--offset", type=float, default=0.0, metavar="S",
                      help="seconds of the take before the audio starts, for trimmed audio "
                           "(negative: audio before the first frame; default 0)")
    take.add_argument("--cut-to-audio", action="store_true",
                      help="keep only the motion the audio covers (audio shorter than the "
                           "capture is otherwise an error)")
    take.add_argument("--fps", type=float, default=MODEL_FPS,
                      help=f"frame rate of the dataset (default {MODEL_FPS:g}, the shipped "
                           "model's)")
    take.add_argument("--capture-fps", type=float, default=None,
                      help="the capture's frame rate (default: from its timecodes)")
    take.add_argument("--channels", default="model",
                      help="model (default: the shipped model's full face: the 52 ARKit "
                           "channels + headYaw/headPitch/headRoll), captured (the blendshapes "
                           "every take captured) or NAME,NAME,... (ARKit names)")
    take.add_argument("--variant", choices=("cal", "raw"), default="cal",
                      help="in a take folder, the calibrated (default) or the raw CSV")
    take.add_argument("--speaker", help="speaker name (default: from takes.json, else "
                                        "'performer')")
    take.add_argument("--split", choices=("train", "val", "test"),
                      help="split of the clips (default: from takes.json, else train)")
    synth = sub.add_parser("synth", help="a channel corpus -> synthetic Live Link Face takes")
    synth.add_argument("corpus", metavar="CORPUS",
                       help="a channel corpus (e.g. written by `diffusiontalker synth`)")
    synth.add_argument("-o", "--output", required=True,
                       help="new (or empty) folder for the CSVs, WAVs and takes.json")
    synth.add_argument("--seed", type=int, default=0,
                       help="seed of the head and eye motion and timecodes (default 0)")


def run(args: argparse.Namespace) -> int:
    return _import(args) if args.capture_command == "import" else _synth(args)


def _requested_channels(choice: str, takes: list) -> tuple[str, ...]:
    from ..channels import ARKIT_CHANNELS, FULL_FACE_CHANNELS, camel_case

    if choice == "model":
        return FULL_FACE_CHANNELS
    if choice == "captured":
        shared = [n for n in ARKIT_CHANNELS if all(n in t.captured for t in takes)]
        if not shared:
            raise CaptureError("the takes have no captured channel in common")
        return tuple(shared)
    names = tuple(camel_case(n.strip()) for n in choice.split(",") if n.strip())
    unknown = [n for n in names if n not in ARKIT_CHANNELS]
    if not names or unknown:
        raise CaptureError(f"--channels: not ARKit blendshape names: {unknown or choice!r}; "
                           f"use {' or '.join(CHANNEL_CHOICES)} or names such as jawOpen")
    return names


def _new_folder(path: str) -> Path:
    out = Path(path)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise CaptureError(f"output folder {out} is not empty; choose a new folder")
    return out


def _import(args: argparse.Namespace) -> int:
    from .. import __version__
    from ..capture import load_take, take_csvs
    from ..datasets import write_folder_dataset

    if not (args.fps > 0):
        raise CaptureError(f"--fps must be positive, got {args.fps}")
    csvs = take_csvs(args.takes, args.variant)
    if args.audio and len(csvs) != 1:
        raise CaptureError(f"--audio is the audio of one take; {len(csvs)} takes were given")
    out = _new_folder(args.output)
    takes = []
    for csv_path in csvs:
        try:
            takes.append(load_take(csv_path, audio=args.audio, offset=args.offset,
                                   fps=args.capture_fps, variant=args.variant,
                                   cut_to_audio=args.cut_to_audio))
        except DiffusionTalkerError as exc:
            if csv_path.name in str(exc):
                raise
            raise type(exc)(f"{csv_path.name}: {exc}") from None
    channels = _requested_channels(args.channels, takes)
    clips, taken = [], set()
    for csv_path, take in zip(csvs, takes, strict=True):
        clip = take.to_clip(clip_id(csv_path, taken), args.fps, channels,
                            speaker=args.speaker, split=args.split)
        clips.append(clip)
        notes = "; ".join(take.report.lines())
        variant = f" ({take.report.variant})" if take.report.variant != "unknown" else ""
        print(f"{csv_path.name}{variant}: {take.num_frames} frames at {take.fps:.3f} fps -> "
              f"{clip['id']}, {len(clip['motion'])} frames at {args.fps:g} fps"
              + (f"; {notes}" if notes else ""))
    generator = {"name": "diffusiontalker capture import", "version": __version__,
                 "sources": [str(p) for p in csvs]}
    write_folder_dataset(out, "channels", args.fps, clips, channels=channels,
                         generator=generator)
    speakers = sorted({c["speaker"] for c in clips})
    print(f"wrote {len(clips)} clip(s) of {len(speakers)} speaker(s), {len(channels)} channels "
          f"at {args.fps:g} fps to {out}")
    return 0


def _synth(args: argparse.Namespace) -> int:
    from ..capture.synthetic import write_synthetic_takes
    from ..datasets import load_dataset

    corpus = load_dataset(args.corpus)
    manifest = write_synthetic_takes(corpus, _new_folder(args.output), seed=args.seed)
    print(f"wrote {len(manifest['takes'])} Live Link Face takes (CSV + WAV) of "
          f"{len(manifest['speakers'])} identities to {args.output}")
    return 0
