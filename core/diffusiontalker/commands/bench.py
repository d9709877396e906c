"""``diffusiontalker bench``: generation timings as JSON (student vs the respaced teacher).

Each in-process row also reports its counted matrix-multiply FLOPs and its ratio to the time
they take at this core's matmul speed measured in the same run (``evaluation.bench``)."""

from __future__ import annotations

import argparse
import json

from ..errors import ConfigError
from . import add_audio_encoder_argument

HELP = "time generation (JSON on stdout with --json)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", help="model to time (default: the shipped model)")
    parser.add_argument("--teacher", help="also time this teacher, at its own steps and respaced")
    parser.add_argument("--seconds", type=float, default=10.0, help="audio length to generate")
    parser.add_argument("--steps", default="",
                        help="extra step counts, e.g. 2,4 (with --runtimes: the student's, each "
                             "in its own fresh process)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--runtimes", default="",
                        help="compare runtimes, e.g. torch,onnx: each model and runtime in a fresh "
                             "process, with load time, first-call latency and peak memory (the "
                             "ONNX export of NAME.safetensors is read from NAME.onnx)")
    parser.add_argument("--threads", default="",
                        help="CPU thread counts for --runtimes, e.g. 1,2 (default: each library's "
                             "own); without --runtimes, one count sets torch's threads")
    parser.add_argument("--lengths", default="",
                        help="audio lengths in seconds for --runtimes, e.g. 10,60 (default: --seconds)")
    parser.add_argument("--takes", type=int, default=0,
                        help="also time N takes sampled together against N single generates")
    add_audio_encoder_argument(parser)  # times the model a second time, reading this encoder


def run(args: argparse.Namespace) -> int:
    if args.runtimes:
        return _compare_runtimes(args)
    import torch

    from ..api import load_model
    from ..evaluation.bench import (
        add_limit_ratio,
        generate_flops,
        matmul_rate,
        model_role,
        test_speech,
        time_generate,
    )

    threads = _thread_counts(args.threads)
    if len(threads) > 1:
        raise ConfigError(f"--threads takes one count without --runtimes, got {args.threads!r}")
    from ..runtime.threads import use_torch_threads

    count = use_torch_threads(threads[0] if threads and threads[0] else None).count
    wave = test_speech(args.seconds)
    before = matmul_rate()
    flops: dict[int, tuple[int, int]] = {}
    counted = []  # (row, that talker's (fixed, per-step) FLOPs)

    def timed(talker, steps: int, name: str, repeats: int) -> None:
        row = time_generate(talker, wave, steps, name, repeats)
        if id(talker) not in flops:
            flops[id(talker)] = generate_flops(talker, wave)
        counted.append((row, flops[id(talker)]))

    talker = load_model(args.checkpoint, args.device, threads=count)
    role = model_role(talker)
    timed(talker, talker.default_steps, role, args.repeats)
    for steps in sorted({int(s) for s in args.steps.split(",") if s.strip()} - {talker.default_steps}):
        timed(talker, steps, role, args.repeats)
    if args.audio_encoder:
        fast = load_model(args.checkpoint, args.device, args.audio_encoder, threads=count)
        timed(fast, fast.default_steps, f"{role}, {args.audio_encoder} audio encoder", args.repeats)
    if args.teacher:
        teacher = load_model(args.teacher, args.device, threads=count)
        timed(teacher, talker.default_steps, "teacher-respaced", args.repeats)
        timed(teacher, teacher.default_steps, "teacher", max(1, min(args.repeats, 2)))
    takes = None
    if args.takes > 1:
        from ..evaluation.bench import time_takes

        takes = time_takes(talker, wave, talker.default_steps, args.takes, args.repeats)
    # the core's speed: the better of before and after the timings (other load only slows it)
    rate = max(before, matmul_rate(), key=lambda r: r["gflops"])
    results = [add_limit_ratio(row, count, rate["gflops"]) for row, count in counted]
    report = {"audio_seconds": args.seconds, "device": args.device,
              "threads": torch.get_num_threads(), "matmul_gflops": rate["gflops"],
              "matmul_shape": rate["shape"], "results": results, "takes": takes}
    if args.json:
        print(json.dumps(report))
        return 0
    m, k, n = rate["shape"]
    print(f"matmul limit: {rate['gflops']} GFLOP/s ({m}x{k} @ {k}x{n} float32, "
          f"{report['threads']} threads)")
    for r in results:
        print(f"{r['name']:>18} {r['steps']:>4} steps  median {r['median_s']:.3f} s  "
              f"({r['realtime_factor']}x real time)  {r['gflop']:.2f} GFLOP = {r['limit_s']:.3f} s "
              f"at the limit: {r['limit_ratio']}x (CPU time {r['cpu_limit_ratio']}x)")
    if takes is not None:
        print(f"{takes['takes']} takes sampled together: median {takes['together_s']:.3f} s; "
              f"{takes['takes']} single generates: {takes['singles_s']:.3f} s "
              f"(together / singles = {takes['ratio']})")
    return 0


def _thread_counts(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _compare_runtimes(args: argparse.Namespace) -> int:
    """torch vs ONNX Runtime (and student vs teacher) rows, each from a fresh process."""
    from ..evaluation.bench_runtime import machine, measure_isolated

    lengths = [float(x) for x in args.lengths.split(",") if x.strip()] or [args.seconds]
    models = [("student", args.checkpoint, args.repeats)]
    if args.teacher:
        models.append(("teacher", args.teacher, max(1, min(args.repeats, 1))))
    threads = _thread_counts(args.threads) or [None]
    extra_steps = sorted({int(s) for s in args.steps.split(",") if s.strip()})
    before = _matmul_rates(threads, args.device)
    rows = []
    for name, model, repeats in models:
        for runtime in [r.strip() for r in args.runtimes.split(",") if r.strip()]:
            for n in threads:
                for steps in [None, *extra_steps] if name == "student" else [None]:
                    spec = {"name": name, "runtime": runtime, "model": model, "lengths": lengths,
                            "steps": steps, "repeats": repeats if steps is None else
                            max(1, min(repeats, 2)), "device": args.device, "threads": n}
                    rows.extend(measure_isolated(spec))
    rates = {n: max(before.get(n, 0.0), rate) for n, rate in _matmul_rates(threads, args.device).items()}
    rows = _with_limit_ratios(rows, models, lengths, rates)
    report = {"audio_seconds": lengths, "machine": machine(), "matmul_gflops": rates, "results": rows}
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
              f"load {r['load_s']:.2f} s, peak RSS {r['peak_rss_mb']} MiB"
              + (f"; {r['limit_ratio']}x the matmul limit ({rates[r['threads']]} GFLOP/s)"
                 if "limit_ratio" in r else ""))
    return 0


def _matmul_rates(threads: list[int | None], device: str) -> dict[int, float]:
    """This core's float32 matmul speed at each resolved thread count (``evaluation.bench``),
    measured in this process; empty off the CPU or without torch."""
    if device != "cpu":
        return {}
    try:
        import torch
    except ImportError:
        return {}
    from ..evaluation.bench import matmul_rate
    from ..runtime.threads import choose_threads

    saved, rates = torch.get_num_threads(), {}
    try:
        for n in threads:
            count = choose_threads(n).count
            torch.set_num_threads(count)
            rates[count] = matmul_rate()["gflops"]
    finally:
        torch.set_num_threads(saved)
    return rates


def _with_limit_ratios(rows: list[dict], models: list[tuple], lengths: list[float],
                       rates: dict[int, float]) -> list[dict]:
    """Each row with its counted FLOPs and ratio to the matmul limit at its thread count. The
    FLOPs are counted once per model and length on the torch model: the ONNX export runs the
    same products (its denoiser split like the torch loop's), so both runtimes' rows divide
    by the same limit."""
    if not rates:
        return rows
    from ..api import load_model
    from ..evaluation.bench import add_limit_ratio, generate_flops, test_speech

    flops = {}
    for name, model, _ in models:
        talker = load_model(model, "cpu")
        for seconds in lengths:
            flops[name, float(seconds)] = generate_flops(talker, test_speech(float(seconds)))
    return [add_limit_ratio(r, flops[r["name"], r["audio_seconds"]], rates[r["threads"]])
            if "error" not in r and r.get("threads") in rates else r for r in rows]
