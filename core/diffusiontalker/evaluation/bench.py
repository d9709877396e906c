"""Timing helpers: median wall-clock time of ``Talker.generate`` at given step counts, and its
ratio to this core's matrix-multiply limit.

The limit of a setting is the time its matrix-multiply FLOPs would take at the best
``torch.matmul`` rate measured in the same run and at the same thread count
(:func:`matmul_rate`). The FLOPs are counted, not estimated: one ``generate`` at 1 and at 2
steps runs under ``torch.utils.flop_counter.FlopCounterMode`` (linear layers, convolutions,
batched products and attention, 2 FLOPs per multiply-add), which splits them into a fixed part
(audio encoder and adapter) and a per-step part (one denoiser pass over every window), so a
setting of ``s`` steps needs ``fixed + s · per_step``. A ratio of 1 would mean the CPU did
nothing but matrix products at full speed; elementwise work, softmax and overheads are what
the rest measures. The shipped model's audio encoder runs in int8 (``runtime.onnx_frontend``):
its products count as the float encoder's, and run faster than the float limit.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

from ..audio.loading import SAMPLE_RATE

# (m, k, n) products representative of the shipped model on a 10 s window: the denoiser's
# feed-forward (300 frames, d 128, 4x) and the Whisper-tiny encoder's (500 states, d 384, 4x)
MATMUL_SHAPES = ((300, 128, 512), (300, 512, 128), (500, 384, 1536))


def test_speech(seconds: float, seed: int = 0) -> np.ndarray:
    """A deterministic voiced, syllable-modulated buzz of ``seconds`` (no file needed)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    envelope = np.clip(np.sin(2 * np.pi * 3.5 * t), 0, None)
    buzz = sum(np.sin(2 * np.pi * 140.0 * k * t) / k for k in range(1, 6))
    return (0.25 * envelope * buzz + 0.002 * rng.standard_normal(t.size)).astype(np.float32)


def time_generate(talker, wave: np.ndarray, steps: int, name: str, repeats: int = 3,
                  warmup: int = 1) -> dict:
    """``{"name", "steps", "median_s", "min_s", "cpu_median_s", "repeats", "realtime_factor"}``
    for one setting; ``cpu_median_s`` is this process's CPU time (all its threads), which other
    load on a shared machine inflates less than the wall-clock ``median_s``."""
    for _ in range(warmup):
        talker.generate(wave, SAMPLE_RATE, steps=steps)
    times, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        talker.generate(wave, SAMPLE_RATE, steps=steps)
        cpu.append(time.process_time() - start_cpu)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {"name": name, "steps": int(steps), "median_s": round(median, 4),
            "min_s": round(min(times), 4), "cpu_median_s": round(statistics.median(cpu), 4),
            "repeats": repeats, "realtime_factor": round(wave.shape[0] / SAMPLE_RATE / median, 2)}


def time_takes(talker, wave: np.ndarray, steps: int, count: int, repeats: int = 3) -> dict:
    """``count`` takes sampled together (``generate_takes``) against ``count`` single
    generates, interleaved in one run: ``{"takes", "together_s", "singles_s", "ratio"}``
    (medians; ratio = together / singles, below 1 when batching pays)."""
    seeds = list(range(count))
    talker.generate_takes(wave, SAMPLE_RATE, seeds=seeds, steps=steps)  # warm-up
    together, singles = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        talker.generate_takes(wave, SAMPLE_RATE, seeds=seeds, steps=steps)
        together.append(time.perf_counter() - start)
        start = time.perf_counter()
        for seed in seeds:
            talker.generate(wave, SAMPLE_RATE, seed=seed, steps=steps)
        singles.append(time.perf_counter() - start)
    t, s = statistics.median(together), statistics.median(singles)
    return {"takes": count, "steps": int(steps), "together_s": round(t, 4),
            "singles_s": round(s, 4), "ratio": round(t / s, 3)}


def matmul_rate(shapes=MATMUL_SHAPES, repeats: int = 30) -> dict[str, Any]:
    """This core's float32 ``torch.matmul`` speed at torch's current thread count:
    ``{"gflops", "shape"}`` of the fastest of ``shapes`` (median of ``repeats`` calls each)."""
    import torch

    best = (0.0, shapes[0])
    gen = torch.Generator().manual_seed(0)
    for m, k, n in shapes:
        a, b = torch.randn(m, k, generator=gen), torch.randn(k, n, generator=gen)
        for _ in range(3):
            a @ b
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            times.append(time.perf_counter() - start)
        best = max(best, (2.0 * m * k * n / statistics.median(times) / 1e9, (m, k, n)))
    return {"gflops": round(best[0], 1), "shape": list(best[1])}


def count_flops(fn) -> int:
    """Matrix-multiply FLOPs of ``fn()`` (``FlopCounterMode``; CPU attention counted too)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

    def cpu_attention_flops(query_shape, key_shape, value_shape, *args, **kwargs) -> int:
        return sdpa_flop_count(query_shape, key_shape, value_shape)

    cpu_attention = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
    with FlopCounterMode(display=False, custom_mapping={cpu_attention: cpu_attention_flops}) as counter:
        fn()
    return int(counter.get_total_flops())


def generate_flops(talker, wave: np.ndarray) -> tuple[int, int]:
    """``(fixed, per_step)`` FLOPs of ``talker.generate(wave)``: encoder + adapter, and one
    denoiser pass over all windows (from counted runs at 1 and 2 steps).

    Where the talker reads audio with its export's int8 encoder (ONNX Runtime, which torch's
    counter cannot see), the encoder's products are counted on the float encoder they
    quantise: the same multiply-adds, done in int8, so such a row may beat the float limit."""
    from ..runtime.onnx_frontend import ExportedFrontend

    one = count_flops(lambda: talker.generate(wave, SAMPLE_RATE, steps=1))
    two = count_flops(lambda: talker.generate(wave, SAMPLE_RATE, steps=2))
    fixed = 2 * one - two
    if isinstance(getattr(talker, "frontend", None), ExportedFrontend):
        from ..audio.build import build_frontend

        float_encoder = build_frontend(talker.config.audio)
        fixed += count_flops(lambda: float_encoder(wave))
    return fixed, two - one


def add_limit_ratio(row: dict, flops: tuple[int, int], gflops: float) -> dict:
    """``row`` with ``gflop`` (its counted FLOPs), ``limit_s`` (their time at ``gflops``),
    ``limit_ratio`` (``median_s / limit_s``) and, where the row has ``cpu_median_s``,
    ``cpu_limit_ratio`` (the same from CPU time: at one thread, the ratio a loaded machine
    would show if idle)."""
    fixed, per_step = flops
    total = fixed + row["steps"] * per_step
    limit = total / (gflops * 1e9)
    ratios = {"limit_ratio": round(row["median_s"] / limit, 2) if limit > 0 else None}
    if "cpu_median_s" in row:
        ratios["cpu_limit_ratio"] = round(row["cpu_median_s"] / limit, 2) if limit > 0 else None
    return {**row, "gflop": float(f"{total / 1e9:.4g}"), "limit_s": float(f"{limit:.4g}"), **ratios}


def model_role(talker) -> str:
    """``student`` for a distilled checkpoint, ``teacher`` for a trained teacher, else ``model``."""
    kind = talker.config.provenance.get("kind")
    if talker.config.diffusion.distilled_from or kind == "student":
        return "student"
    return "teacher" if kind == "teacher" else "model"
