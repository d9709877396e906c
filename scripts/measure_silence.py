"""jawOpen on 10 s of digital silence (the shipped model, seed 0, torch and ONNX Runtime), with
the rest constraint of diffusion/constraints.py and, for comparison, with it switched off.

The drift is ``evaluation.phone_checks.silence_drift`` (what ``check-speech --silence``
reports): max and mean jawOpen over the take.

Usage: OMP_NUM_THREADS=1 python scripts/measure_silence.py
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from diffusiontalker.evaluation.phone_checks import silence_drift  # noqa: E402
from diffusiontalker.runtime.loader import load_talker  # noqa: E402

for runtime in ("torch", "onnx"):
    talker = load_talker(None, "cpu", runtime)
    for label, on in (("rest constraint off", False), ("rest constraint on", True)):
        drift = silence_drift(talker, seed=0, rest_constraint=on)
        print(f"{runtime:5s} {label:20s} jawOpen max {drift['jaw_open_max']:.3f} "
              f"mean {drift['jaw_open_mean']:.3f}")
