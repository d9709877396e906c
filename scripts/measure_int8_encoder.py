"""Measure int8 dynamic quantisation of the shipped Whisper encoder: speed, size, real voices.

Two steps, in the two environments of a checkout (the quantiser needs the ``onnx`` package,
the speech check needs pocketsphinx and torch):

    PYTHONPATH=core .venv-export/bin/python scripts/measure_int8_encoder.py prepare /tmp/q
    PYTHONPATH=core .venv-export/bin/python scripts/measure_int8_encoder.py saturation /tmp/q \\
        /tmp/real/eval/clips.json
    PYTHONPATH=core .venv/bin/python scripts/measure_int8_encoder.py measure /tmp/q \\
        /tmp/real/eval/clips.json --json /tmp/q/int8.json

``prepare OUT`` exports the shipped checkpoint ``weights/default.safetensors`` without
quantisation into ``OUT/onnx-fp32/`` (the Whisper encoder's float graph, float16-stored) and
copies it into ``OUT/onnx-<variant>/`` with ``frontend.onnx`` replaced by its ONNX Runtime
dynamic quantisation (``runtime.onnx_export.quantize_int8``: ``int8`` = QInt8 weights, one scale per
tensor; ``int8-channel`` = one per output channel; ``int8-channel-7bit`` = the same with
7-bit weights (``reduce_range``: no int16 saturation in the AVX2 kernels of CPUs without
VNNI); ``uint8`` = QUInt8 weights).

``measure OUT CLIPS`` runs, all at 1 thread: each ONNX variant, the torch model and the torch
model with ``torch.ao.quantization.quantize_dynamic`` (qint8) on its Whisper encoder's
``nn.Linear`` layers. For each: the size of the encoder file (torch: its saved state dict),
the median and minimum of five timed runs (after one warm-up run) of the encoder on the
first 10 s of the clips joined together, and of ``generate`` on those 10 s; then, for each clip of ``clips.json`` (``scripts/fetch_real_speech.py``),
``generate`` (seed 0, neutral identity, the model's default steps) and
``evaluation.speech_check.check_motion`` with the clip's PocketSphinx alignment exactly as
``diffusiontalker check-speech`` does (demo-head aperture, closed below 2 mm): mean envelope
r, /p b m/ closed, pauses at rest; the mean |Δ| of each variant's motion from its float
reference (ONNX int8 vs ONNX fp32, torch int8 vs torch fp32); and, for each ONNX variant, how
far its encoder states on the bundled demo sentence are from the float graph's (relative
RMS, per-frame cosine).

``saturation OUT CLIPS`` counts, for each int8-weight variant, the pair sums that the uint8 x
int8 kernel of x86 CPUs without VNNI would clip to int16 (see :func:`saturation`).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import time
from pathlib import Path

import numpy as np

VARIANTS = {  # quantize_int8's settings of each variant
    "int8": {"per_channel": False, "reduce_range": False},
    "int8-channel": {"per_channel": True, "reduce_range": False},
    "int8-channel-7bit": {"per_channel": True, "reduce_range": True},  # export-onnx --quantize int8
    "uint8": {"per_channel": False, "reduce_range": False, "weight_type": "QUInt8"},
}
THREADS = 1
REPEATS = 5  # the machine is shared: the median of five runs, one warm-up before
SECONDS = 10.0
CLOSED_MM = 2.0


def prepare(out: Path) -> None:
    from diffusiontalker.paths import DEFAULT_CHECKPOINT
    from diffusiontalker.runtime.onnx_export import export_onnx, quantize_int8

    floats = out / "onnx-fp32"
    shutil.rmtree(floats, ignore_errors=True)
    export_onnx(DEFAULT_CHECKPOINT, floats)  # the float export, whatever ships
    for name, settings in VARIANTS.items():
        folder = out / f"onnx-{name}"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(floats, folder)
        record = quantize_int8(floats / "frontend.onnx", folder / "frontend.onnx", **settings)
        print(name, record)


def saturation(out: Path, clips_json: Path) -> dict:
    """How many of the int16 pair sums of x86's ``vpmaddubsw`` (the uint8 x int8 kernel of CPUs
    without VNNI: adjacent products summed into int16, saturating) would overflow, per int8
    variant, on the first 10 s of the clips: each ``MatMulInteger``'s uint8 input is read back
    from the graph, and every pair sum of it with the int8 weights is counted (numpy)."""
    import wave as wavfile

    import onnx
    import onnxruntime
    from onnx import numpy_helper

    from diffusiontalker.audio.features import whisper_log_mel

    pieces = []
    for clip in json.loads(clips_json.read_text()):  # this environment reads PCM WAV only
        with wavfile.open(str(clips_json.parent / clip["file"])) as f:
            assert (f.getframerate(), f.getnchannels(), f.getsampwidth()) == (16000, 1, 2)
            pieces.append(np.frombuffer(f.readframes(f.getnframes()), "<i2") / 32768.0)
    ten = np.concatenate(pieces)[: int(SECONDS * 16000)].astype(np.float32)
    mel = whisper_log_mel(ten, 80)[: int(SECONDS * 100)].T[None]
    report = {}
    for name, settings in VARIANTS.items():
        if settings.get("weight_type", "QInt8") != "QInt8":
            continue  # uint8 x uint8 runs another kernel, which widens to int16 first
        model = onnx.load(str(out / f"onnx-{name}" / "frontend.onnx"))
        weights = {i.name: i for i in model.graph.initializer}
        products = [n for n in model.graph.node if n.op_type == "MatMulInteger"]
        for tensor in sorted({n.input[0] for n in products}):
            model.graph.output.append(onnx.helper.make_tensor_value_info(
                tensor, onnx.TensorProto.UINT8, None))
        session = onnxruntime.InferenceSession(model.SerializeToString(),
                                               providers=["CPUExecutionProvider"])
        values = dict(zip([o.name for o in session.get_outputs()],
                          session.run(None, {"mel": np.ascontiguousarray(mel)}), strict=True))
        over = total = largest = 0
        for node in products:
            a = values[node.input[0]][0].astype(np.int32)  # (rows, K) uint8
            b = numpy_helper.to_array(weights[node.input[1]]).astype(np.int32)  # (K, N) int8
            k = a.shape[1] - a.shape[1] % 2
            for row in range(0, a.shape[0], 25):
                x = a[row:row + 25, :k]
                pairs = x[:, 0::2, None] * b[None, 0:k:2] + x[:, 1::2, None] * b[None, 1:k:2]
                over += int((np.abs(pairs) > 32767).sum())
                total += pairs.size
                largest = max(largest, int(np.abs(pairs).max()))
        report[name] = {"pair_sums": total, "beyond_int16": over, "largest": largest}
        print(f"{name:18s} {over} of {total} pair sums beyond int16 ({over / total:.1e}); "
              f"largest |sum| {largest}")
    return report


def _timed(fn, *args, **kwargs) -> tuple[float, float]:
    """Median and minimum wall time of :data:`REPEATS` calls after one warm-up call."""
    fn(*args, **kwargs)  # first-call allocations
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), float(min(times))


def _clips(path: Path) -> list[tuple[str, np.ndarray, list]]:
    from diffusiontalker.audio.loading import SAMPLE_RATE, load_audio
    from diffusiontalker.evaluation.speech_check import align_phones

    out = []
    for clip in json.loads(path.read_text()):
        wave = load_audio(path.parent / clip["file"])
        words = re.sub(r"[^a-z' ]", " ", clip["text"].lower()).split()
        out.append((clip["file"], wave, align_phones(wave, SAMPLE_RATE, " ".join(words))))
    return out


def _talkers(out: Path) -> dict:
    import torch

    from diffusiontalker.api import load_model
    from diffusiontalker.runtime.onnx_talker import load_onnx_model

    talkers = {f"onnx {name}": load_onnx_model(out / f"onnx-{name}", threads=THREADS)
               for name in ("fp32", *VARIANTS)}
    talkers["torch fp32"] = load_model(threads=THREADS)
    quantized = load_model(threads=THREADS)
    frontend = quantized.frontend
    frontend.model = torch.ao.quantization.quantize_dynamic(
        frontend.model, {torch.nn.Linear}, dtype=torch.qint8)
    talkers["torch int8"] = quantized
    return talkers


def _encoder_bytes(name: str, talker, out: Path) -> int:
    if name.startswith("onnx"):
        return (out / f"onnx-{name.split()[1]}" / "frontend.onnx").stat().st_size
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(talker.frontend.model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def measure(out: Path, clips_json: Path, json_out: Path | None) -> dict:
    import torch

    from diffusiontalker.audio.loading import SAMPLE_RATE, load_audio
    from diffusiontalker.evaluation.speech_check import check_motion, demo_head_aperture
    from diffusiontalker.paths import DEFAULT_CHECKPOINT

    torch.set_num_threads(THREADS)
    clips = _clips(clips_json)
    ten = np.concatenate([w for _, w, _ in clips])[: int(SECONDS * SAMPLE_RATE)]
    assert ten.shape[0] == int(SECONDS * SAMPLE_RATE), "the clips last less than 10 s"
    talkers = _talkers(out)
    aperture_of = demo_head_aperture(next(iter(talkers.values())).channels)
    report, motions = {}, {}
    for name, talker in talkers.items():
        encode = talker.features if name.startswith("onnx") else talker.frontend
        encoder_s, encoder_min = _timed(encode, ten)
        generate_s, generate_min = _timed(talker.generate, ten, SAMPLE_RATE, seed=0)
        rows, motions[name] = [], []
        for clip, wave, phones in clips:
            motion = talker.generate(wave, SAMPLE_RATE, seed=0)
            motions[name].append(motion.data)
            result = check_motion(wave, SAMPLE_RATE, motion.fps, aperture_of(motion.data), phones,
                                  CLOSED_MM / 1000.0)
            rows.append({"clip": clip, **result.to_dict()})
        report[name] = {
            "encoder_bytes": _encoder_bytes(name, talker, out),
            "encoder_10s_s": encoder_s, "encoder_10s_min_s": encoder_min,
            "generate_10s_s": generate_s, "generate_10s_min_s": generate_min,
            "envelope_r_mean": float(np.mean([r["envelope_corr"] for r in rows])),
            "bilabials_closed": sum(r["bilabials_closed"] for r in rows),
            "bilabials": sum(r["bilabials"] for r in rows),
            "rests_closed": sum(bool(r["rests_closed_in_silence"]) for r in rows),
            "clips_with_pauses": sum(r["silence_frames"] > 0 for r in rows),
            "clips": [{k: r[k] for k in ("clip", "envelope_corr", "bilabials", "bilabials_closed",
                                         "rests_closed_in_silence")} for r in rows],
        }
    for name in report:
        reference = "torch fp32" if name.startswith("torch") else "onnx fp32"
        both = list(zip(motions[name], motions[reference], strict=True))
        report[name]["mean_abs_delta"] = float(np.mean(np.concatenate(
            [np.abs(a - b).ravel() for a, b in both])))
        report[name]["max_abs_delta"] = float(max(np.abs(a - b).max() for a, b in both))
        report[name]["motion_mean_abs"] = float(np.mean(np.concatenate(
            [np.abs(b).ravel() for _, b in both])))
    demo = load_audio(DEFAULT_CHECKPOINT.parents[1] / "data" / "demo_speech.wav")
    floats = talkers["onnx fp32"].features(demo)
    for name in (n for n in report if n.startswith("onnx ")):
        ours = talkers[name].features(demo)
        cos = (ours * floats).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(floats, axis=1)
        report[name]["demo_features"] = {
            "relative_rms": float(np.sqrt(((ours - floats) ** 2).mean() / (floats ** 2).mean())),
            "median_cosine": float(np.median(cos)), "lowest_cosine": float(cos.min()),
            "frames_below_0.95": int((cos < 0.95).sum()), "frames": int(cos.size)}
    for name, r in report.items():
        print(f"{name:18s} encoder {r['encoder_bytes'] / 1e6:5.1f} MB  10 s: encoder "
              f"{r['encoder_10s_s']:.3f} s (min {r['encoder_10s_min_s']:.3f}), generate "
              f"{r['generate_10s_s']:.3f} s (min {r['generate_10s_min_s']:.3f})  envelope r "
              f"{r['envelope_r_mean']:.3f}  /p b m/ {r['bilabials_closed']}/{r['bilabials']}  "
              f"rests {r['rests_closed']}/{r['clips_with_pauses']}  mean |Δ| "
              f"{r['mean_abs_delta']:.4f} (max {r['max_abs_delta']:.3f}; motion mean |x| "
              f"{r['motion_mean_abs']:.3f})")
        if "demo_features" in r:
            print(f"{'':18s} demo sentence states vs float: {r['demo_features']}")
    if json_out:
        json_out.write_text(json.dumps(report, indent=1))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    sub.add_parser("prepare").add_argument("out", type=Path)
    m = sub.add_parser("measure")
    m.add_argument("out", type=Path)
    m.add_argument("clips", type=Path, help="clips.json of scripts/fetch_real_speech.py")
    m.add_argument("--json", type=Path, default=None)
    t = sub.add_parser("saturation")
    t.add_argument("out", type=Path)
    t.add_argument("clips", type=Path)
    args = parser.parse_args()
    if args.step == "prepare":
        prepare(args.out)
    elif args.step == "saturation":
        saturation(args.out, args.clips)
    else:
        measure(args.out, args.clips, args.json)


if __name__ == "__main__":
    main()
