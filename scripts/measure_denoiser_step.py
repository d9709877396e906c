"""Time one denoiser step of the shipped model on 300 frames (10 s), 1 thread, interleaved:
the dense masked reference (tests/network/test_banded_attention.py), the banded denoiser on
tokens and on prepared audio (torch), and the shipped ONNX export's denoiser step (ONNX
Runtime, spinning off; its window context computed once beforehand, as the sampler does),
and, given OLD_EXPORT, a format-1 export's single denoiser graph that rebuilds the context at
every step. Medians of CPU time over ROUNDS runs each.

Usage: python scripts/measure_denoiser_step.py [ROUNDS] [OLD_EXPORT]
"""
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "core"), str(ROOT / "tests" / "network")]
import numpy as np  # noqa: E402
import torch  # noqa: E402
from test_banded_attention import dense_forward  # noqa: E402

from diffusiontalker.network import checkpoint  # noqa: E402
from diffusiontalker.paths import DEFAULT_CHECKPOINT  # noqa: E402
from diffusiontalker.runtime.onnx_talker import load_onnx_model  # noqa: E402

torch.set_num_threads(1)
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
net = checkpoint.load_model(DEFAULT_CHECKPOINT, "cpu").denoiser.eval()
ort = load_onnx_model(DEFAULT_CHECKPOINT.with_suffix(".onnx"), threads=1)
old = load_onnx_model(sys.argv[2], threads=1) if len(sys.argv) > 2 else None
g = torch.Generator().manual_seed(0)
z = torch.randn(1, 300, net.config.in_dim, generator=g)
audio = torch.randn(1, 300, net.config.audio_dim, generator=g)
ident = torch.randn(1, net.config.id_dim, generator=g)
u = torch.tensor([0.6])
with torch.no_grad():
    prepared = net.prepare_audio(audio)
    context = ort.condition(audio.numpy(), ident.numpy()[0])
    runs = {
        "torch, dense reference": lambda: dense_forward(net, z, u, audio, ident),
        "torch, banded": lambda: net(z, u, audio, ident),
        "torch, banded + prepare_audio": lambda: net(z, u, prepared, ident),
        "ONNX Runtime (shipped export)": lambda: ort.denoise(z.numpy(), u.numpy(), context),
    }
    if old is not None:
        old_context = old.condition(audio.numpy(), ident.numpy()[0])
        runs["ONNX Runtime (format-1 export)"] = lambda: old.denoise(z.numpy(), u.numpy(), old_context)
    diff = (net(z, u, prepared, ident) - dense_forward(net, z, u, audio, ident)).abs().max()
    diff_ort = np.abs(runs["ONNX Runtime (shipped export)"]() - net(z, u, audio, ident).numpy()).max()
    times = {name: [] for name in runs}
    for run in runs.values():
        run()
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.thread_time()
            run()
            times[name].append(time.thread_time() - start)
for name, values in times.items():
    print(f"{name:32s} {1e3 * statistics.median(values):6.2f} ms per step (1 thread)")
print(f"max |banded - dense| {float(diff):.1e}; max |ONNX - torch| {float(diff_ort):.1e}")
