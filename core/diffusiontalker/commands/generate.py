"""``diffusiontalker generate AUDIO... -o OUT``: speech -> the motion `.npz` of the contract.

One input and ``-o take.npz`` writes that file (``.npz`` is added to a name without it, and the
message names the file actually written). Several inputs, a folder of audio files, or ``-o`` an
existing folder (or a name ending in ``/``) write one ``NAME.npz`` per input into that folder,
named after it, loading the model once for the whole batch, with a progress line per file.

Everything about the output is checked before any work (the folder exists, is a folder, can be
written; a file name is not a folder; no two inputs share a name), and each file is written
atomically (``Motion.save_npz``), so a failure leaves no half-written ``.npz``. In a batch an
input that is not usable audio is reported and skipped; the command then ends with an error.

``--runtime auto`` on the CPU takes the light ONNX Runtime path when the checkpoint's export
exists and was made from it (the shipped model has one), unless torch is needed
(``--audio-encoder``): it starts faster and the same seed gives the same take.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from ..errors import AudioError, ConfigError, DiffusionTalkerError, OutputError
from ..identity_choice import MATCH, parse_blend
from ..motion import Motion, npz_path
from ..runtime.loader import RUNTIMES
from . import add_audio_encoder_argument

HELP = "generate facial motion for audio files (or folders of them) and write .npz files"
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aif", ".aiff")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("audio", nargs="+", metavar="AUDIO",
                        help="speech files (wav, flac, ogg, mp3, ...) or folders of them")
    parser.add_argument("-o", "--output", required=True,
                        help="the .npz to write for one input, or an existing folder that gets "
                             "one NAME.npz per input (needed for several inputs or a folder)")
    parser.add_argument("--checkpoint", help="model checkpoint (default: the shipped model)")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--identity", help="talking identity by name (see `identities`)")
    who.add_argument("--blend", help="blend of identities: NAME=WEIGHT,... e.g. ada=0.7,bo=0.3")
    who.add_argument("--match", action="store_true", help="use the identity that best matches the voice")
    parser.add_argument("--style-strength", type=float, default=1.0,
                        help="0 = neutral, 1 = the identity, >1 exaggerated (default 1)")
    parser.add_argument("--steps", type=int, help="sampling steps (default: the model's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu",
                        help="cpu (default), auto, cuda, mps (ONNX Runtime also: directml, coreml)")
    parser.add_argument("--runtime", choices=RUNTIMES, default="auto",
                        help="torch, onnx (the checkpoint's ONNX export), worker (a worker process, "
                             "see --python) or auto (default: on the CPU the checkpoint's ONNX "
                             "export when it has one, else torch where it imports); the same "
                             "seed gives the same motion in each")
    parser.add_argument("--threads", type=int, default=0,
                        help="CPU threads (default 0 = automatic: the physical cores, at most 4; "
                             "or set DIFFUSIONTALKER_THREADS)")
    parser.add_argument("--python", help="the Python that runs the worker (--runtime worker; "
                                         "default: this one)")
    parser.add_argument("--retake", metavar="TAKE.npz",
                        help="an earlier take of the same audio: sample only --frames again "
                             "(with --seed), keep the rest of it exactly")
    parser.add_argument("--frames", metavar="A:B", help="with --retake: frames A to B-1")
    parser.add_argument("--keys", metavar="KEYS.json",
                        help="channel values the take must pass through: a JSON list like "
                             '[{"frame": 30, "channels": {"jawOpen": 0.0}}, {"start": 60, '
                             '"end": 70, "channels": {"mouthSmileLeft": 0.6}, "weight": 1.0}] '
                             "(frames at the model's fps from the audio start, end included; "
                             "weight 1 = hard, less = soft)")
    parser.add_argument("--takes", type=int, default=1, metavar="N",
                        help="N takes with seeds SEED..SEED+N-1, sampled together; writes "
                             "OUT_0.npz ... OUT_{N-1}.npz (one motion file per take)")
    text = parser.add_mutually_exclusive_group()
    text.add_argument("--transcript", metavar="TEXT",
                      help="what is said (English): aligned to the audio, it makes /p b m/ "
                           "close, /f v/ tuck and rounded vowels pucker; if it does not match "
                           "the audio you are told and the take is made without it")
    text.add_argument("--transcript-file", metavar="FILE", help="the transcript in a text file")
    add_audio_encoder_argument(parser)


def audio_inputs(names: list[str]) -> list[Path]:
    """The audio files named: files as given, folders as their audio files (sorted, not
    recursive). AudioError for a missing path or a folder without audio."""
    files: list[Path] = []
    for name in names:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.iterdir()
                           if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
            if not found:
                raise AudioError(f"the folder {path} holds no audio files (looked for "
                                 f"{', '.join(AUDIO_SUFFIXES)})")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif not path.exists():
            raise AudioError(f"audio file not found: {path}")
        else:
            raise AudioError(f"{path} is neither an audio file nor a folder")
    return files


def plan_outputs(inputs: list[Path], output: str, to_folder: bool = False) -> list[tuple[Path, Path]]:
    """``(input, output file)`` pairs, all checked before any work (OutputError otherwise).

    Folder mode (``to_folder``, several inputs, ``output`` an existing folder that is not named
    ``*.npz``, or ending in a separator): one ``STEM.npz`` per input in that existing folder.
    Else ``output`` is the one file (:func:`~diffusiontalker.motion.npz_path`)."""
    out = Path(output)
    ends_in_separator = output.endswith(("/", os.sep))
    if (to_folder or len(inputs) > 1 or ends_in_separator
            or (out.is_dir() and not out.name.endswith(".npz"))):
        if not out.exists():
            raise OutputError(f"the output folder {out} does not exist; create it first "
                              f"(mkdir -p {out}) or choose another")
        if not out.is_dir():
            raise OutputError(f"{out} is a file, but {len(inputs)} inputs need an output folder "
                              "to write one NAME.npz each: pass a folder with -o")
        targets = [out / f"{path.stem}.npz" for path in inputs]
        seen: dict[Path, Path] = {}
        for path, target in zip(inputs, targets, strict=True):
            if target in seen:
                raise OutputError(f"{seen[target]} and {path} would both be written to {target}; "
                                  "rename one of them or generate them separately")
            seen[target] = path
        folder = out
    else:
        target = npz_path(out)
        if target.is_dir():
            raise OutputError(f"{target} is a folder; give a file name for the motion, e.g. "
                              f"{target / (inputs[0].stem + '.npz')}")
        folder = target.parent
        if not folder.exists():
            raise OutputError(f"the folder of {target} does not exist ({folder}); create it "
                              "first or choose another output")
        if not folder.is_dir():
            raise OutputError(f"cannot write {target}: {folder} is not a folder")
        targets = [target]
    require_writable(folder)
    return list(zip(inputs, targets, strict=True))


def require_writable(folder: Path) -> None:
    """OutputError unless a file can be created in ``folder`` (tried, then removed)."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".diffusiontalker-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"cannot write in the folder {folder}: {exc.strerror or exc}; choose a "
                          "folder you can write to") from None


def load_generator(args: argparse.Namespace, threads: int | None):
    """The talker for ``args``: torch for ``--audio-encoder``, else ``load_talker`` with
    ``--runtime auto`` preferring the light ONNX path on the CPU (``resolve_runtime``)."""
    if args.audio_encoder is not None:
        if args.runtime not in ("auto", "torch"):
            raise ConfigError("--audio-encoder needs the torch runtime (--runtime torch)")
        from ..runtime.device import choose_device
        from ..runtime.threads import use_torch_threads
        from ..runtime.torch_talker import load_model

        choice = choose_device(args.device)
        threads_used = use_torch_threads(threads)
        talker = load_model(args.checkpoint, choice.device, args.audio_encoder,
                            threads=threads_used.count)
        talker.device_report = choice.describe()
        talker.threads_report = threads_used.describe()
        return talker
    from ..runtime.loader import load_talker, resolve_runtime

    light_first = str(args.device).strip().lower() == "cpu"
    runtime = resolve_runtime(args.runtime, args.checkpoint, light_first=light_first)
    return load_talker(args.checkpoint, args.device, runtime, python=args.python, threads=threads)


def _retake_request(args: argparse.Namespace, jobs: list) -> Motion | None:
    """The take to re-take (``--retake``), checked before any model is loaded."""
    if args.retake is None:
        if args.frames is not None:
            raise ConfigError("--frames needs --retake TAKE.npz (the take to re-take)")
        return None
    if args.frames is None or len(jobs) != 1:
        raise ConfigError("--retake needs --frames A:B and exactly one audio input")
    return Motion.load_npz(args.retake)


def take_paths(target: Path, count: int) -> list[Path]:
    """``OUT.npz`` for one take, else ``OUT_0.npz`` ... ``OUT_{count-1}.npz``."""
    if count == 1:
        return [target]
    return [target.with_name(f"{target.stem}_{i}{target.suffix}") for i in range(count)]


def _direction(args: argparse.Namespace) -> dict:
    """``keys`` and ``transcript`` options, read and checked before any model is loaded."""
    options: dict = {}
    if args.takes < 1:
        raise ConfigError(f"--takes must be at least 1, got {args.takes}")
    if args.takes > 1 and args.retake is not None:
        raise ConfigError("--takes and --retake do not combine: re-take one range at a time")
    if args.keys is not None:
        from ..direction.keys import load_keys

        options["keys"] = load_keys(args.keys)
    if args.transcript_file is not None:
        try:
            options["transcript"] = Path(args.transcript_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the transcript file {args.transcript_file}: "
                              f"{getattr(exc, 'strerror', None) or exc}") from None
    elif args.transcript is not None:
        options["transcript"] = args.transcript
    return options


def run(args: argparse.Namespace) -> int:
    from ..runtime.threads import check_threads

    identity = MATCH if args.match else parse_blend(args.blend) if args.blend else args.identity
    threads = check_threads(args.threads, "--threads")
    inputs = audio_inputs(args.audio)
    jobs = plan_outputs(inputs, args.output, to_folder=any(Path(a).is_dir() for a in args.audio))
    direction = _direction(args)
    take = _retake_request(args, jobs)
    talker = load_generator(args, threads)
    report = str(getattr(talker, "device_report", ""))
    if str(args.device).strip().lower() != "cpu" or "instead" in report:
        threads_used = getattr(talker, "threads_report", "")
        print(f"device: {report}" + (f"; {threads_used}" if threads_used else ""), file=sys.stderr)
    failed: list[str] = []
    try:
        for number, (source, target) in enumerate(jobs, 1):
            prefix = f"[{number}/{len(jobs)}] " if len(jobs) > 1 else ""
            start = time.perf_counter()
            try:
                options = dict(identity=identity, steps=args.steps,
                               style_strength=args.style_strength, **direction)
                if take is not None:
                    from ..runtime.retake import parse_frames, retake

                    motions = [retake(talker, take, str(source), frames=parse_frames(args.frames),
                                      seed=args.seed, **options)]
                elif args.takes > 1:
                    motions = talker.generate_takes(
                        str(source), seeds=range(args.seed, args.seed + args.takes), **options)
                else:
                    motions = [talker.generate(str(source), seed=args.seed, **options)]
            except AudioError as exc:
                if len(jobs) == 1:
                    raise
                failed.append(source.name)
                print(f"{prefix}skipped {source}: {exc}", file=sys.stderr)
                continue
            for note in motions[0].notes:
                print(f"{prefix}note: {note}", file=sys.stderr)
            for number_of_take, (motion, path) in enumerate(
                    zip(motions, take_paths(target, len(motions)), strict=True)):
                written = motion.save_npz(path)
                who = ", ".join(f"{k}={v:.2f}" for k, v in motion.identity.items()) or "neutral"
                took = f" in {time.perf_counter() - start:.2f} s" if len(jobs) > 1 else ""
                seed = f", seed {args.seed + number_of_take}" if len(motions) > 1 else ""
                print(f"{prefix}wrote {written}: {motion.num_frames} frames at {motion.fps:g} "
                      f"fps ({motion.space}), identity {who}{seed}{took}", file=sys.stderr)
    finally:
        if hasattr(talker, "close"):
            talker.close()
    if failed:
        raise DiffusionTalkerError(f"{len(failed)} of {len(jobs)} inputs were not usable audio "
                                   f"and were skipped ({', '.join(failed)}); the others were written")
    return 0
