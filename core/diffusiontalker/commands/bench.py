"""``diffusiontalker bench``: generation timings as JSON (student vs the respaced teacher)."""

from __future__ import annotations

import argparse
import json

from . import add_audio_encoder_argument

HELP = "time generation (JSON on stdout with --json)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", help="model to time (default: the shipped model)")
    parser.add_argument("--teacher", help="also time this teacher, at its own steps and respaced")
    parser.add_argument("--seconds", type=float, default=10.0, help="audio length to generate")
    parser.add_argument("--steps", default="", help="extra step counts, e.g. 2,4")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--runtimes", default="",
                        help="compare runtimes, e.g. torch,onnx: each model and runtime in a fresh "
                             "process, with load time, first-call latency and peak memory (the "
                             "ONNX export of NAME.safetensors is read from NAME.onnx)")
    parser.add_argument("--threads", default="",
                        help="CPU thread counts for --runtimes, e.g. 1,2 (default: each library's own)")
    parser.add_argument("--lengths", default="",
                        help="audio lengths in seconds for --runtimes, e.g. 10,60 (default: --seconds)")
    add_audio_encoder_argument(parser)  # times the model a second time, reading this encoder


def run(args: argparse.Namespace) -> int:
    if args.runtimes:
        return _compare_runtimes(args)
    import torch

    from ..api import load_model
    from ..evaluation.bench import model_role, test_speech, time_generate

    wave = test_speech(args.seconds)
    talker = load_model(args.checkpoint, args.device)
    role = model_role(talker)
    results = [time_generate(talker, wave, talker.default_steps, role, args.repeats)]
    for steps in sorted({int(s) for s in args.steps.split(",") if s.strip()} - {talker.default_steps}):
        results.append(time_generate(talker, wave, steps, role, args.repeats))
    if args.audio_encoder:
        fast = load_model(args.checkpoint, args.device, args.audio_encoder)
        results.append(time_generate(fast, wave, fast.default_steps,
                                     f"{role}, {args.audio_encoder} audio encoder", args.repeats))
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


def _compare_runtimes(args: argparse.Namespace) -> int:
    """torch vs ONNX Runtime (and student vs teacher) rows, each from a fresh process."""
    from ..evaluation.bench_runtime import machine, measure_isolated

    lengths = [float(x) for x in args.lengths.split(",") if x.strip()] or [args.seconds]
    models = [("student", args.checkpoint, args.repeats)]
    if args.teacher:
        models.append(("teacher", args.teacher, max(1, min(args.repeats, 1))))
    threads = [int(x) for x in args.threads.split(",") if x.strip()] or [None]
    rows = []
    for name, model, repeats in models:
        for runtime in [r.strip() for r in args.runtimes.split(",") if r.strip()]:
            for n in threads:
                spec = {"name": name, "runtime": runtime, "model": model, "lengths": lengths,
                        "steps": None, "repeats": repeats, "device": args.device, "threads": n}
                rows.extend(measure_isolated(spec))
    report = {"audio_seconds": lengths, "machine": machine(), "results": rows}
    if args.json:
        print(json.dumps(report))
        return 0
    for r in rows:
        if "error" in r:
            print(f"{r['name']:>8} {r['runtime']:>5}  error: {r['error']}")
            continue
        print(f"{r['name']:>8} {r['runtime']:>5} {r['steps']:>4} steps {r['threads']} threads "
              f"{r['audio_seconds']:>5.0f} s audio: "
              f"median {r['median_s']:.3f} s, first call {r['first_call_s']:.3f} s, "
              f"load {r['load_s']:.2f} s, peak RSS {r['peak_rss_mb']} MiB")
    return 0
