"""Keys in the sampler, measured on real speech to choose the falloff (direction/keys.py).

For each clip of the real-speech set (``scripts/fetch_real_speech.py``) and three seeds, random
keys are set on the shipped model's take: single-frame poses (jawOpen 0 = a closure, jawOpen
0.45, a smile of 0.6) and held ranges of 6–12 frames. For each falloff (the keys' ``ease``):
- adherence: the largest |value − target| on the keyed frames and channels (hard keys);
- jitter: mean |second difference| of the keyed channels within 6 frames of a key, as a ratio
  to the same frames of the free take (1 = as smooth as the model's own motion);
- pop: the largest frame-to-frame step of a keyed channel near a key, as a ratio to the
  largest step of any channel in the free take;
- speech-following: correlation of jawOpen with the loudness envelope on frames further than
  12 frames from any key, keyed take vs free take.

Usage: OMP_NUM_THREADS=1 python scripts/measure_keys.py /tmp/real/eval [--runtime onnx]
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
import numpy as np  # noqa: E402

from diffusiontalker.audio.loading import load_audio  # noqa: E402
from diffusiontalker.evaluation.speech_check import _corr, loudness_envelope  # noqa: E402
from diffusiontalker.runtime.loader import load_talker  # noqa: E402


def random_keys(rng: np.random.Generator, num_frames: int) -> list[dict]:
    keys, used = [], np.zeros(num_frames, bool)
    for kind in ("close", "open", "smile", "hold_close", "hold_smile"):
        for _ in range(20):
            length = 1 if kind in ("close", "open", "smile") else int(rng.integers(6, 13))
            start = int(rng.integers(15, num_frames - 15 - length))
            if not used[max(0, start - 12): start + length + 12].any():
                break
        else:
            continue
        used[start: start + length] = True
        channels = ({"jawOpen": 0.0} if "close" in kind else {"jawOpen": 0.45} if kind == "open"
                    else {"mouthSmileLeft": 0.6, "mouthSmileRight": 0.6})
        span = {"frame": start} if length == 1 else {"start": start, "end": start + length - 1}
        keys.append({**span, "channels": channels})
    return keys


def jitter(data: np.ndarray) -> np.ndarray:
    return np.abs(np.diff(data, n=2, axis=0))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--runtime", default="onnx")
    parser.add_argument("--eases", default="0,3,5,8,12")
    args = parser.parse_args()
    talker = load_talker(None, "cpu", args.runtime, threads=1)
    names = list(talker.channels)
    jaw = names.index("jawOpen")
    clips = sorted(args.folder.glob("*.wav"))
    eases = [int(e) for e in args.eases.split(",")]
    rows = {e: {"err": [], "jit": [], "free_jit": [], "corr": [], "free_corr": [], "pop": []}
            for e in eases}
    for clip in clips:
        wave = load_audio(str(clip))
        for seed in range(3):
            rng = np.random.default_rng(seed + 100 * len(clip.name))
            free = talker.generate(wave, 16000, seed=seed).data
            n = free.shape[0]
            if n < 90:
                break
            keys = random_keys(rng, n)
            env = loudness_envelope(wave, 16000, talker.fps, n)
            near = np.zeros(n, bool)
            far = np.ones(n, bool)
            for k in keys:
                a, b = k.get("start", k.get("frame")), k.get("end", k.get("frame"))
                near[max(0, a - 6): b + 7] = True
                far[max(0, a - 12): b + 13] = False
            for ease in eases:
                eased = [{**k, "ease": ease} for k in keys]
                kept = talker.generate(wave, 16000, seed=seed, keys=eased).data
                err = 0.0
                cols = set()
                for k in keys:
                    a, b = k.get("start", k.get("frame")), k.get("end", k.get("frame"))
                    for name, value in k["channels"].items():
                        c = names.index(name)
                        cols.add(c)
                        err = max(err, float(np.abs(kept[a:b + 1, c] - value).max()))
                cols = sorted(cols)
                mid = near[1:-1]
                r = rows[ease]
                r["err"].append(err)
                r["jit"].append(float(jitter(kept[:, cols])[mid].mean()))
                r["free_jit"].append(float(jitter(free[:, cols])[mid].mean()))
                steps_near = np.abs(np.diff(kept[:, cols], axis=0))[near[1:]].max(0)
                steps_free = np.abs(np.diff(free, axis=0)).max()
                r["pop"].append(float((steps_near / np.maximum(steps_free, 1e-9)).max()))
                r["corr"].append(_corr(kept[far, jaw], env[far]))
                r["free_corr"].append(_corr(free[far, jaw], env[far]))
        print(f"done {clip.name}", file=sys.stderr)
    print(f"{len(clips)} clips x 3 seeds, runtime {args.runtime}, 1 thread")
    print("ease | max keyed error | jitter near keys / free | largest step near keys / largest "
          "free step (median, max) | env corr away from keys (free)")
    for ease in eases:
        r = rows[ease]
        ratio = np.array(r["jit"]) / np.maximum(np.array(r["free_jit"]), 1e-9)
        print(f"{ease:4d} | {max(r['err']):.4f} | median {np.median(ratio):.2f} "
              f"(max {ratio.max():.2f}) | {np.median(r['pop']):.2f}, {max(r['pop']):.2f} | {np.mean(r['corr']):.3f} ({np.mean(r['free_corr']):.3f})")


if __name__ == "__main__":
    main()
