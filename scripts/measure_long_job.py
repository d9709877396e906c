"""Time a long generate on ONNX Runtime: time to the first progress > 0, the whole job, peak
RSS, and how long a cancel takes to stop it (cancel 3 s into a second job).

Usage: OMP_NUM_THREADS=1 python scripts/measure_long_job.py CORE_DIR [HOURS]
(CORE_DIR: a checkout's core/ folder, so an older release can be measured the same way; the
audio is the bundled demo sentence tiled to HOURS, default 1; 1 ONNX Runtime thread.)
"""
import json
import resource
import sys
import threading
import time
from pathlib import Path

core = sys.argv[1]
sys.path.insert(0, core)
import numpy as np  # noqa: E402

try:
    from diffusiontalker.audio.loading import load_audio
except ImportError:  # releases before the subpackage layout
    from diffusiontalker.audio import load_audio
try:
    from diffusiontalker.runtime.onnx_talker import load_onnx_model
except ImportError:
    from diffusiontalker.runtime.ort_sampler import load_onnx_model
from diffusiontalker.errors import CancelledError  # noqa: E402

demo = load_audio(str(Path(core) / "diffusiontalker/data/demo_speech.wav"))
hours = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
piece = np.concatenate([demo, np.zeros(8000, np.float32)])
samples = int(hours * 3600 * 16000)
wave = np.tile(piece, samples // piece.size + 1)[:samples]
talker = load_onnx_model(Path(core) / "diffusiontalker/weights/default.onnx", threads=1)
start, first = time.perf_counter(), [None]


def progress(fraction: float) -> None:
    if fraction > 0 and first[0] is None:
        first[0] = time.perf_counter() - start


talker.generate(wave, 16000, seed=0, progress=progress)
total = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
flag, stopped = threading.Event(), {}


def job() -> None:
    try:
        talker.generate(wave, 16000, seed=0, cancel=flag.is_set)
    except CancelledError:
        stopped["at"] = time.perf_counter()


thread = threading.Thread(target=job)
thread.start()
time.sleep(3.0)
asked = time.perf_counter()
flag.set()
thread.join()
print(json.dumps({"audio_hours": hours, "first_progress_s": first[0], "total_s": total,
                  "peak_rss_mb": peak, "cancel_latency_s": stopped.get("at", float("nan")) - asked}))
