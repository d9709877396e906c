"""``diffusiontalker evaluate-capture PERSONAL.safetensors --capture HELD_OUT.csv [--audio ...]``:
a learnt identity against capture it was not fitted on, beside the neutral and the
voice-matched identity (``evaluation.capture_eval``; docs/capture.md).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .identity import add_capture_arguments, load_capture_takes

HELP = "score a learnt identity on held-out face capture (channel correlation and error)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a personal checkpoint (from `identity add`)")
    add_capture_arguments(parser, "held-out capture of the actor")
    parser.add_argument("--identity", metavar="NAME",
                        help="the identity to score (default: the last one learnt from capture)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0],
                        help="seeds to generate with (more seeds: more frames; default 0)")
    parser.add_argument("--steps", type=int, default=None,
                        help="sampling steps (default: the model's own)")
    parser.add_argument("--runtime", choices=("auto", "torch", "onnx"), default="auto")
    parser.add_argument("--per-channel", action="store_true", help="also print each channel")
    parser.add_argument("--json", metavar="FILE", help="also write the scores as JSON")


def default_identity(talker) -> str:
    """The identity learnt last from capture (recorded in the checkpoint's provenance)."""
    from ..errors import IdentityError
    from ..training.personalize import learned_identities

    learned = list(learned_identities(talker.config))
    if not learned:
        raise IdentityError("this checkpoint has no identity learnt from capture; name the "
                            "one to score with --identity")
    return learned[-1]


def run(args: argparse.Namespace) -> int:
    from . import require_torch

    require_torch("evaluate-capture")
    from ..evaluation.capture_eval import evaluate_capture, format_scores
    from ..runtime.loader import load_talker

    talker = load_talker(args.checkpoint, "cpu", args.runtime)
    identity = args.identity or default_identity(talker)
    takes = load_capture_takes(args)
    result = evaluate_capture(talker, takes, identity, seeds=args.seeds, steps=args.steps)
    scores = result["scores"]
    print("\n".join(format_scores(scores, per_channel=args.per_channel)))
    print(f"{scores['learned'].frames} frames of {len(takes)} held-out take(s), "
          f"{len(result['channels'])} channels ({result['excluded_frames']} frames of digital "
          f"silence left out); 'match' over the whole library picks "
          + ", ".join(f"{n} ({c})" for n, c in result["match_full"].items()))
    if args.json:
        record = {label: {"identity": s.identity, "mean_correlation": s.mean_correlation,
                          "mean_mae": s.mean_mae, "frames": s.frames,
                          "correlation": dict(zip(s.channels, map(_number, s.correlation),
                                                  strict=True)),
                          "mae": dict(zip(s.channels, map(float, s.mae), strict=True))}
                  for label, s in scores.items()}
        record["match_full"] = result["match_full"]
        Path(args.json).write_text(json.dumps(record, indent=1) + "\n")
    return 0


def _number(value: float) -> float | None:
    return None if value != value else float(value)  # NaN (a constant channel) -> null
