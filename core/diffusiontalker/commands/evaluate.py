"""``diffusiontalker evaluate CKPT --data DATA_DIR``: metrics table and JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from . import add_audio_encoder_argument

HELP = "evaluate a model on a dataset split (LVE, FDD, diversity, identity retrieval)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="model checkpoint")
    parser.add_argument("--data", required=True, help="dataset folder")
    parser.add_argument("--split", default="test", choices=("train", "val", "test"))
    parser.add_argument("--steps", type=int, help="sampling steps (default: the model's)")
    parser.add_argument("--seeds", default="0,1", help="seeds for samples (diversity), e.g. 0,1")
    parser.add_argument("--lip-mask", help=".npy of lip vertex indices (vertices space)")
    parser.add_argument("--upper-mask", help=".npy of upper-face vertex indices (for FDD)")
    parser.add_argument("--max-clips", type=int)
    parser.add_argument("--head", choices=("demo",), help="channel models: also score vertex "
                        "motion on the demo head (LVE on its lips, FDD on its upper face)")
    parser.add_argument("--identity-control", action="store_true",
                        help="channel models: also measure whether the style follows the chosen "
                             "identity rather than the voice")
    parser.add_argument("--speakers", default="all", choices=("all", "known", "heldout"),
                        help="clips of speakers in the identity library, or of held-out ones")
    parser.add_argument("--json", dest="json_out", help="write the results as JSON here")
    parser.add_argument("--device", default="cpu")
    add_audio_encoder_argument(parser)


def run(args: argparse.Namespace) -> int:
    from . import require_torch

    require_torch("evaluate")
    from ..api import load_model
    from ..datasets import load_dataset
    from ..evaluation.evaluate import evaluate_model

    def indices(path):
        return None if path is None else np.load(path, allow_pickle=False).astype(np.int64)

    talker = load_model(args.checkpoint, args.device, args.audio_encoder)
    corpus = load_dataset(args.data)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    report = evaluate_model(talker, corpus, args.split, args.steps, seeds,
                            indices(args.lip_mask), indices(args.upper_mask), args.max_clips,
                            head=args.head, speakers=args.speakers)
    if args.identity_control and talker.space == "channels":
        from ..evaluation.evaluate import identity_control

        control = identity_control(talker, corpus, args.split, args.steps,
                                   args.max_clips or 42)
        report["metrics"]["identity_control_accuracy"] = control["accuracy"]
        report["metrics"]["identity_control_voice_rate"] = control["voice_rate"]
    report = {"checkpoint": str(args.checkpoint), "data": str(args.data), **report}
    print(f"{args.checkpoint} on {args.data} [{report['split']}, {report['clips']} clips, "
          f"{report['steps']} steps, {report['speakers']} speakers]")
    for name, value in report["metrics"].items():
        print(f"  {name:<22} {value:.6g}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2))
    return 0
