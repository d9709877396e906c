"""Learn a talking identity from synthetic face capture and score it on held-out takes.

The actor is a held-out speaker of the synthetic corpus (the shipped model never trained on
them; evaluation/synthetic_actor.py), written as Live Link Face takes. The identity is fitted
on the first 10 / 30 / 60 / 120 s of their takes (training/personalize.py) and every fit is
scored on the same held-out takes (evaluation/capture_eval.py) against the neutral and the
voice-matched identity of the shipped library. Prints markdown tables for docs/capture.md.

Usage: OMP_NUM_THREADS=1 python scripts/measure_identity_from_capture.py [--actor kiri]
       [--lengths 10 30 60 120] [--held 10] [--contrastive 0.1] [--per-channel]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))

from diffusiontalker.channels import channel_region  # noqa: E402
from diffusiontalker.evaluation.capture_eval import (  # noqa: E402
    evaluate_capture,
    first_seconds,
    format_scores,
)
from diffusiontalker.evaluation.synthetic_actor import (  # noqa: E402
    ACTOR,
    load_actor_takes,
    write_actor_takes,
)
from diffusiontalker.runtime.threads import use_torch_threads  # noqa: E402
from diffusiontalker.runtime.torch_talker import Talker  # noqa: E402
from diffusiontalker.training.personalize import (  # noqa: E402
    FitSettings,
    capture_tracks,
    fit_identity,
    load_base,
)


def fit_and_score(pool, held, seconds: float, settings: FitSettings) -> tuple[dict, float]:
    """Fit ``actor`` on the first ``seconds`` of ``pool``; the scores on ``held`` and fit time."""
    model = load_base()
    began = time.perf_counter()
    tracks = capture_tracks(model, first_seconds(pool, seconds))
    fit_identity(model, tracks, "actor", settings)
    took = time.perf_counter() - began
    return evaluate_capture(Talker(model), held, "actor"), took


def _row(name: str, scores, took: str) -> str:
    """One markdown row; the regions are ``channels.channel_region``'s, as
    ``capture_eval.format_scores`` prints them."""
    names = list(scores.channels)
    cells = [scores.region(group) for group in (
        names, [n for n in names if channel_region(n) == "mouth"],
        [n for n in names if channel_region(n) == "upper"])]
    return (f"| {name} | " + " | ".join(f"{c:.3f} | {e:.4f}" for c, e in cells)
            + f" | {took} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actor", default=ACTOR, help="a held-out synthetic speaker (kiri, pavel)")
    parser.add_argument("--lengths", type=float, nargs="+", default=[10, 30, 60, 120])
    parser.add_argument("--takes", type=int, default=48, help="takes written (about 5 s each)")
    parser.add_argument("--held", type=int, default=10, help="the last takes, held out")
    parser.add_argument("--steps", type=int, default=FitSettings.steps)
    parser.add_argument("--contrastive", type=float, default=None,
                        help="also fit the longest length with this contrastive weight λ")
    parser.add_argument("--per-channel", action="store_true")
    args = parser.parse_args()
    use_torch_threads(1)
    with tempfile.TemporaryDirectory() as work:
        takes = load_actor_takes(write_actor_takes(work, args.takes, args.actor))
    pool, held = takes[:-args.held], takes[-args.held:]
    held_s = sum(t.duration for t in held)
    print(f"actor {args.actor}: {sum(t.duration for t in pool):.0f} s of takes to fit on, "
          f"{len(held)} held-out takes ({held_s:.0f} s)\n")
    rows, baselines = [], None
    for seconds in args.lengths:
        result, took = fit_and_score(pool, held, seconds, FitSettings(steps=args.steps))
        scores = result["scores"]
        baselines = baselines or result
        rows.append((f"{seconds:g} s", scores["learned"], took))
        print(f"-- fitted on {seconds:g} s in {took:.0f} s (1 thread)")
        print("\n".join(format_scores(scores, per_channel=args.per_channel)) + "\n")
    if args.contrastive is not None:
        settings = FitSettings(steps=args.steps, contrastive_weight=args.contrastive)
        result, took = fit_and_score(pool, held, max(args.lengths), settings)
        rows.append((f"{max(args.lengths):g} s, λ={args.contrastive:g}",
                     result["scores"]["learned"], took))
        print(f"-- with the contrastive term: match picks {result['match_full']}")
    scores = baselines["scores"]
    print("| identity | correlation ↑ | error (MAE) ↓ | mouth corr. | mouth MAE | upper-face "
          "corr. | upper-face MAE | fit time |")
    print("|---|---|---|---|---|---|---|---|")
    for label in ("neutral", "match"):
        print(_row(f"{label} ({scores[label].identity})", scores[label], "–"))
    for length, s, took in rows:
        print(_row(f"learned from {length}", s, f"{took:.0f} s"))
    print(f"\n{scores['learned'].frames} held-out frames scored "
          f"({baselines['excluded_frames']} of digital silence left out)")


if __name__ == "__main__":
    main()
