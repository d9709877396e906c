"""Phone-aware checks on the real clips joined into one long file: streamed window tokens vs
whole-file tokens, and each clip generated alone. Shipped model, ONNX Runtime, seed 0.

Usage: OMP_NUM_THREADS=1 python scripts/measure_stream_quality.py EVAL_DIR
(EVAL_DIR: the eval/ folder written by scripts/fetch_real_speech.py, with clips.json.)
"""
import json
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from diffusiontalker.audio.loading import load_audio  # noqa: E402
from diffusiontalker.errors import AudioError  # noqa: E402
from diffusiontalker.evaluation.speech_check import (  # noqa: E402
    align_phones,
    check_motion,
    demo_head_aperture,
)
from diffusiontalker.runtime.loader import load_talker  # noqa: E402
from diffusiontalker.runtime.talker import motion_frames  # noqa: E402

root = Path(sys.argv[1])
clips = [(root / c["file"], c["text"]) for c in json.loads((root / "clips.json").read_text())]
gap = np.zeros(4800, np.float32)
waves = [load_audio(str(p)) for p, _ in clips]
offsets = np.cumsum([0] + [w.size + gap.size for w in waves])[:-1]
long = np.concatenate([np.concatenate([w, gap]) for w in waves])
talker = load_talker(None, "cpu", "onnx")
aperture = demo_head_aperture(talker.channels)
takes = {"streamed": talker.generate(long, 16000, seed=0).data}
whole = talker.audio_tokens(long)
plain = talker.window_tokens
talker.window_tokens = lambda w, a, b: whole[:, a:b]
takes["whole-file tokens"] = talker.generate(long, 16000, seed=0).data
talker.window_tokens = plain
rows = {k: [] for k in (*takes, "each clip alone")}
for (path, text), w, off in zip(clips, waves, offsets, strict=True):
    words = re.sub(r"[^a-z' ]", " ", text.lower()).split()
    try:
        phones = align_phones(w, 16000, " ".join(words))
    except AudioError as exc:  # a partial alignment would bias the closure count
        print("skip", path.name, exc)
        continue
    n = motion_frames(w.size, talker.fps)
    f0 = int(round(off / 16000 * talker.fps))
    alone = talker.generate(w, 16000, seed=0).data
    for k, data in (*takes.items(), ("each clip alone", None)):
        motion = alone if data is None else data[f0:f0 + n]
        rows[k].append(check_motion(w, 16000, talker.fps, aperture(motion), phones, 0.002))
for k, rs in rows.items():
    b, c = sum(r.bilabials for r in rs), sum(r.bilabials_closed for r in rs)
    rests = sum(bool(r.rests_closed_in_silence) for r in rs)
    print(f"{k:18s} clips {len(rs)}  envelope r {np.mean([r.envelope_corr for r in rs]):.2f}  "
          f"/p b m/ closed {c}/{b} ({100 * c / b:.0f} %)  rest in pauses {rests}/"
          f"{sum(r.silence_frames > 0 for r in rs)}")
