"""``diffusiontalker bench``: generation timings as JSON (student vs the respaced teacher)."""

from __future__ import annotations

import argparse
import json

HELP = "time generation (JSON on stdout with --json)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", help="model to time (default: the shipped model)")
    parser.add_argument("--teacher", help="also time this teacher, at its own steps and respaced")
    parser.add_argument("--seconds", type=float, default=10.0, help="audio length to generate")
    parser.add_argument("--steps", default="", help="extra step counts, e.g. 2,4")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true", help="print JSON only")


def run(args: argparse.Namespace) -> int:
    import torch

    from ..api import load_model
    from ..bench import model_role, test_speech, time_generate

    wave = test_speech(args.seconds)
    talker = load_model(args.checkpoint, args.device)
    role = model_role(talker)
    results = [time_generate(talker, wave, talker.default_steps, role, args.repeats)]
    for steps in sorted({int(s) for s in args.steps.split(",") if s.strip()} - {talker.default_steps}):
        results.append(time_generate(talker, wave, steps, role, args.repeats))
    if args.teacher:
        teacher = load_model(args.teacher, args.device)
        results.append(time_generate(teacher, wave, talker.default_steps, "teacher-respaced", args.repeats))
        results.append(time_generate(teacher, wave, teacher.default_steps, "teacher",
                                     max(1, min(args.repeats, 2))))
    report = {"audio_seconds": args.seconds, "device": args.device,
              "threads": torch.get_num_threads(), "results": results}
    if args.json:
        print(json.dumps(report))
    else:
        for r in results:
            print(f"{r['name']:>18} {r['steps']:>4} steps  median {r['median_s']:.3f} s  "
                  f"({r['realtime_factor']}x real time)")
    return 0
