"""jawOpen on 10 s of digital silence (the shipped model, seed 0, torch and ONNX Runtime), with
the rest constraint of diffusion/constraints.py and, for comparison, with it switched off.

Usage: OMP_NUM_THREADS=1 python scripts/measure_silence.py
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
import numpy as np  # noqa: E402

from diffusiontalker.diffusion import constraints  # noqa: E402
from diffusiontalker.runtime.loader import load_talker  # noqa: E402

silence = np.zeros(16000 * 10, np.float32)
for runtime in ("torch", "onnx"):
    talker = load_talker(None, "cpu", runtime)
    jaw = talker.channels.index("jawOpen")
    for label, threshold in (("rest constraint off", -np.inf), ("rest constraint on", None)):
        saved = constraints.REST_DBFS
        if threshold is not None:
            constraints.REST_DBFS = threshold
        try:
            values = talker.generate(silence, 16000, seed=0).data[:, jaw]
        finally:
            constraints.REST_DBFS = saved
        print(f"{runtime:5s} {label:20s} jawOpen min {values.min():.3f} median "
              f"{np.median(values):.3f} max {values.max():.3f}")
