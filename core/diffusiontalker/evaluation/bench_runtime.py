"""Runtime benchmarks: torch vs ONNX Runtime, each measured in a fresh process.

``measure_isolated(spec)`` runs :func:`measure` in a new Python process so that peak memory
and load time belong to one runtime and one model only (``ru_maxrss`` never goes down within a
process). A row reports the model load time, the first ``generate`` after loading
(first-call latency, including lazy set-up), the median and minimum of ``repeats`` further
calls, and the process's peak resident memory; for ONNX Runtime it also records that torch
was never imported. Used by ``diffusiontalker bench --runtimes torch,onnx``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any

from .bench import test_speech

SPEC_KEYS = ("name", "runtime", "model", "lengths", "steps", "repeats", "device", "threads")


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process in MiB (None where the OS does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1 << 20 if sys.platform == "darwin" else 1 << 10), 1)


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Load ``spec["model"]`` with ``spec["runtime"]`` and time generation at each length."""
    from ..runtime.loader import load_talker
    from ..runtime.threads import choose_threads

    threads = choose_threads(spec.get("threads")).count  # None/0: automatic (runtime.threads)
    rss_before = peak_rss_mb()
    start = time.perf_counter()
    talker = load_talker(spec["model"], spec.get("device", "cpu"), spec["runtime"], threads=threads)
    load_s = time.perf_counter() - start
    steps = int(spec.get("steps") or talker.default_steps)
    rows = []
    for seconds in spec["lengths"]:
        wave = test_speech(float(seconds))
        start = time.perf_counter()
        talker.generate(wave, 16000, steps=steps)
        first = time.perf_counter() - start
        times = []
        for _ in range(int(spec.get("repeats", 3))):
            start = time.perf_counter()
            talker.generate(wave, 16000, steps=steps)
            times.append(time.perf_counter() - start)
        median = statistics.median(times) if times else first
        rows.append({"name": spec["name"], "runtime": spec["runtime"], "steps": steps,
                     "threads": threads,
                     "audio_seconds": float(seconds), "first_call_s": round(first, 4),
                     "median_s": round(median, 4),
                     "min_s": round(min(times), 4) if times else round(first, 4),
                     "repeats": len(times), "realtime_factor": round(float(seconds) / median, 1)})
    gpu_peak = _cuda_peak_mb() if spec["runtime"] == "torch" else None
    for row in rows:
        row.update({"load_s": round(load_s, 4), "peak_rss_mb": peak_rss_mb(),
                    "rss_before_load_mb": rss_before, "device": talker.device_report,
                    "torch_imported": "torch" in sys.modules and sys.modules["torch"] is not None})
        if gpu_peak is not None:
            row["gpu_peak_mb"] = gpu_peak
    return {"rows": rows}


def _cuda_peak_mb() -> float | None:
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    return round(torch.cuda.max_memory_allocated() / (1 << 20), 1)


def measure_isolated(spec: dict[str, Any], timeout: float = 3600.0) -> list[dict[str, Any]]:
    """:func:`measure` in a fresh process of this Python; an error becomes one row saying so."""
    code = ("import json, sys; from diffusiontalker.evaluation.bench_runtime import measure; "
            "print('BENCH-JSON ' + json.dumps(measure(json.loads(sys.argv[1]))))")
    env = dict(os.environ)
    core = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [core, env.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, "-c", code, json.dumps(spec)], capture_output=True,
                          text=True, env=env, timeout=timeout)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH-JSON "):
            return json.loads(line[len("BENCH-JSON "):])["rows"]
    tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
    return [{"name": spec["name"], "runtime": spec["runtime"], "error": tail}]


def machine() -> dict[str, Any]:
    """What the numbers were measured on (CPU count, load, library versions)."""
    info: dict[str, Any] = {"platform": platform.platform(), "python": platform.python_version(),
                            "cpus": os.cpu_count()}
    if hasattr(os, "getloadavg"):
        info["load_average_1min"] = round(os.getloadavg()[0], 2)
    for module in ("torch", "onnxruntime", "numpy"):
        try:
            info[module] = __import__(module).__version__
        except ImportError:
            info[module] = None
    return info


def make_bench_models(out_dir: str, preset: str = "small", export: bool = True) -> dict[str, str]:
    """Random-weight teacher (256 steps) and student (8 steps) of one size preset, with their
    ONNX exports, for timing when no trained pair is at hand (speed does not depend on the
    weights' values). Needs torch, and ``onnx`` when ``export``."""
    from pathlib import Path

    from ..audio.frontends import AudioEncoderConfig
    from ..channels import CHANNELS
    from ..network import checkpoint
    from ..network.factory import new_model
    from ..network.model import MotionSpec
    from ..runtime.onnx_export import export_onnx

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for role, steps in (("teacher", 256), ("student", 8)):
        model = new_model(MotionSpec("channels", 30.0, channels=list(CHANNELS)), ["a", "b", "c"],
                          AudioEncoderConfig(kind="mel"), preset,
                          provenance={"kind": role, "note": "random weights, for timing only"})
        model.config.diffusion.default_steps = steps
        if role == "student":
            model.config.diffusion.distilled_from = [256, 128, 64, 32, 16]
        path = checkpoint.save_model(model, out / f"{role}.safetensors")
        if export:
            export_onnx(path, out / f"{role}.onnx")
        paths[role] = str(path)
    return paths


if __name__ == "__main__":
    print(json.dumps(make_bench_models(sys.argv[1] if len(sys.argv) > 1 else "bench-models")))
