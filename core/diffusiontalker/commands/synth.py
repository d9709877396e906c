"""`diffusiontalker synth OUT_DIR`: write a synthetic talking-face corpus (see
docs/synthetic-corpus.md)."""

from __future__ import annotations

import argparse
import time

HELP = "generate a synthetic corpus: eSpeak NG speech + articulated channel motion"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out_dir", metavar="OUT_DIR", help="new (or empty) output folder")
    parser.add_argument("--identities", type=int, default=16,
                        help="number of speaking identities, 1-16 (default 16)")
    parser.add_argument("--utterances", type=int, default=20,
                        help="clips per identity (default 20; ignored with --hours)")
    parser.add_argument("--hours", type=float, default=None,
                        help="generate until this many hours of speech in total")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes (default 1; eSpeak runs one per process)")
    parser.add_argument("--vertices", action="store_true",
                        help="also write per-frame offsets on the demo head (large: ~58 kB "
                             "per frame)")
    parser.add_argument("--no-augment", action="store_true",
                        help="write the clean synthesised audio")


def run(args: argparse.Namespace) -> int:
    from . import require_extra

    require_extra("synth", "synth", "scipy", "espeakng_loader")
    from ..synth.corpus import write_corpus

    start = time.perf_counter()
    manifest = write_corpus(args.out_dir, identities=args.identities,
                            utterances=args.utterances, seed=args.seed, hours=args.hours,
                            workers=args.workers, augment_audio=not args.no_augment,
                            vertices=args.vertices)
    elapsed = time.perf_counter() - start
    seconds = manifest["total_seconds"]
    print(f"wrote {len(manifest['clips'])} clips, {seconds / 3600:.3f} h of speech, "
          f"{len(manifest['speakers'])} identities to {args.out_dir} in {elapsed:.1f} s "
          f"({seconds / max(elapsed, 1e-9):.0f}x real time)")
    return 0
