"""Time the command line from process start: one 3 s clip (cold start, median of 5, ONNX
Runtime by `--runtime auto` and torch by `--runtime torch`), and 20 clips of 3 s as 20 calls
vs one call with all 20 inputs. Clips are cut from the bundled demo sentence. Default threads.

Usage: python scripts/measure_cli.py OUT_DIR
"""
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parents[1]
out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
wave, rate = soundfile.read(ROOT / "core/diffusiontalker/data/demo_speech.wav", dtype="float32")
clip = wave[: 3 * rate]
clips = []
for k in range(20):
    path = out / f"clip{k:02d}.wav"
    soundfile.write(path, np.roll(clip, k * rate // 10), rate)
    clips.append(path)
cli = [sys.executable, "-m", "diffusiontalker", "generate"]


def timed(args: list) -> float:
    start = time.perf_counter()
    subprocess.run([*cli, *map(str, args)], check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


for runtime in ("auto", "torch"):
    times = [timed([clips[0], "-o", out / "one.npz", "--runtime", runtime]) for _ in range(5)]
    print(f"3 s clip, --runtime {runtime}: median {statistics.median(times):.2f} s "
          f"(runs {', '.join(f'{t:.2f}' for t in times)})")
separate = sum(timed([c, "-o", out / f"{c.stem}.npz"]) for c in clips)
(out / "batch").mkdir(exist_ok=True)
together = timed([*clips, "-o", out / "batch"])
print(f"20 clips of 3 s: 20 calls {separate:.1f} s, one call {together:.1f} s")
