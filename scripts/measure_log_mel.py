"""Time Whisper's log-mel for SECONDS of the bench's test speech, one thread, interleaved:
transformers' ``WhisperFeatureExtractor`` (what the torch frontend used before; always the
padded 30 s window), ``features.whisper_log_mel`` of the whole window (what ONNX Runtime's
path computed), and ``whisper_log_mel(frames=…)``, only the frames the trimmed encoder reads
(what both runtimes compute now). Medians of CPU time over ROUNDS runs each; also checks that
the trimmed rows equal the whole window's.

Usage: OMP_NUM_THREADS=1 python scripts/measure_log_mel.py [SECONDS] [ROUNDS]
"""
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import WhisperFeatureExtractor  # noqa: E402

from diffusiontalker.audio.features import whisper_log_mel  # noqa: E402
from diffusiontalker.evaluation.bench import test_speech  # noqa: E402

torch.set_num_threads(1)
seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 30
wave = test_speech(seconds)
frames = 2 * -(-wave.size // 320)
extractor = WhisperFeatureExtractor(feature_size=80)
runs = {
    "transformers WhisperFeatureExtractor (30 s window)":
        lambda: extractor(wave, sampling_rate=16000, return_tensors="pt"),
    "whisper_log_mel, the whole 30 s window": lambda: whisper_log_mel(wave),
    f"whisper_log_mel(frames={frames})": lambda: whisper_log_mel(wave, frames=frames),
}
assert np.array_equal(whisper_log_mel(wave, frames=frames), whisper_log_mel(wave)[:frames])
times = {name: [] for name in runs}
for run in runs.values():
    run()
for _ in range(rounds):
    for name, run in runs.items():
        start = time.thread_time()
        run()
        times[name].append(time.thread_time() - start)
print(f"{seconds:g} s of speech, 1 thread, median of {rounds}:")
for name, values in times.items():
    print(f"  {name:52s} {1e3 * statistics.median(values):6.2f} ms")
