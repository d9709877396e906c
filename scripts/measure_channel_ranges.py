"""How far each channel of the default model moves on real speech: per channel the 5th-95th
percentile span over all frames of the given clips (check-speech's clips.json format), so the
full face's every channel can be seen to be driven (issue 13).

Usage: OMP_NUM_THREADS=1 python scripts/measure_channel_ranges.py CLIPS.json [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))

from diffusiontalker.api import load_model  # noqa: E402
from diffusiontalker.channels import channel_region  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    talker = load_model()
    root = Path(args.clips).parent
    frames = [talker.generate(str(root / c["file"]), seed=args.seed).data
              for c in json.loads(Path(args.clips).read_text())]
    data = np.concatenate(frames)
    span = np.percentile(data, 95, axis=0) - np.percentile(data, 5, axis=0)
    print(f"{len(frames)} clips, {len(data)} frames; 5-95 % span per channel (head: radians)")
    for k in np.argsort(span):
        name = talker.channels[k]
        print(f"  {name:<22} {channel_region(name):<6} {span[k]:.3f}")


if __name__ == "__main__":
    main()
