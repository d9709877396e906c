"""``diffusiontalker distill-audio DATA --teacher KIND:SOURCE -o student.safetensors``.

Trains the compact student audio encoder of DiffusionTalker 2025 (arXiv 2503.18159) to
reproduce a large frozen encoder's features on a dataset's speech; train a model on it with
``diffusiontalker train DATA --audio student:student.safetensors``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "distil a compact mel audio encoder from a large frozen one (DiffusionTalker 2025)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="dataset whose speech is used (any format load_dataset reads)")
    parser.add_argument("--audio-dir", action="append", default=[],
                        help="also learn from every .wav/.flac in this folder (repeatable): the "
                             "student needs no motion, so any speech helps")
    parser.add_argument("-o", "--output", required=True, help="student .safetensors to write")
    parser.add_argument("--teacher", required=True,
                        help="frozen frontend KIND:SOURCE, e.g. whisper:openai/whisper-tiny.en, "
                             "hubert:facebook/hubert-base-ls960 or whisper:/path/model.bin")
    parser.add_argument("--split", default="train", choices=("train", "val", "test"))
    parser.add_argument("--max-clips", type=int, default=0, help="use at most this many (0: all)")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--crop", type=float, default=4.0, help="training crop in seconds")
    parser.add_argument("--hidden", type=int, default=192, help="student width")
    parser.add_argument("--n-mels", type=int, default=80)
    parser.add_argument("--mel-hop", type=int, default=320,
                        help="16 kHz samples between the student's log-mel frames (320: 50 Hz)")
    parser.add_argument("--for-model", metavar="CHECKPOINT",
                        help="task-aware loss: match the tokens this model's audio adapter makes "
                             "of the teacher's features (its frontend must be --teacher's)")
    parser.add_argument("--identity-weight", type=float, default=1.0,
                        help="with --for-model: weight of the identity-match distillation term "
                             "(0 turns it off)")
    parser.add_argument("--augment", type=int, default=0, metavar="N",
                        help="add N randomly re-recorded copies of every utterance (speed, "
                             "tilt, room, noise, gain; see audio_distill.augment_speech)")
    parser.add_argument("--level-rms", type=float, default=None, metavar="RMS",
                        help="equalise the student's input to this speech level (e.g. 0.1) "
                             "before its log-mel (0: off; default: off, or as --init has it)")
    parser.add_argument("--augment-snr", default="15,40", metavar="LO,HI",
                        help="SNR range in dB of the noise in the augmented copies")
    parser.add_argument("--augment-speed", default="0.85,1.18", metavar="LO,HI",
                        help="playback-speed range of the augmented copies")
    parser.add_argument("--init", metavar="STUDENT",
                        help="continue from this trained student (pruned to --hidden channels "
                             "if that is narrower than the student)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="device of the teacher")


def run(args: argparse.Namespace) -> int:
    from . import require_torch

    require_torch("distill-audio")
    import numpy as np

    from ..audio.build import build_frontend
    from ..audio.frontends import AudioEncoderConfig
    from ..audio.loading import load_audio
    from ..datasets import load_dataset
    from ..errors import DatasetError
    from ..training.audio_distill import AdapterTokens, augment_speech, distill_audio_encoder
    from .train import audio_config

    clips = load_dataset(args.data).split(args.split)
    if args.max_clips > 0:
        clips = clips[: args.max_clips]
    if not clips:
        raise DatasetError(f"dataset {args.data} has no clips in the {args.split!r} split")
    teacher = build_frontend(AudioEncoderConfig.from_dict(audio_config(args.teacher)), args.device)
    waves = [clip.load_audio() for clip in clips]
    for folder in args.audio_dir:
        files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in (".wav", ".flac"))
        if not files:
            raise DatasetError(f"--audio-dir {folder} holds no .wav or .flac files")
        waves += [load_audio(p) for p in files]
    rng = np.random.default_rng(args.seed + 1)
    speed = tuple(float(v) for v in args.augment_speed.split(","))
    snr = tuple(float(v) for v in args.augment_snr.split(","))
    waves += [augment_speech(w, rng, speed, snr) for _ in range(max(0, args.augment))
              for w in list(waves)]
    every = max(1, args.steps // 20)
    token_map = init = identity = None
    if args.for_model:
        from ..network.checkpoint import load_model

        model = load_model(args.for_model)
        adapter = model.adapter
        if adapter.in_dim != teacher.dim:
            raise DatasetError(f"{args.for_model}'s audio adapter reads {adapter.in_dim}-wide "
                               f"features; the teacher frontend gives {teacher.dim}")
        token_map = AdapterTokens(adapter)
        identity = model.identity if args.identity_weight > 0 else None
    if args.init:
        from ..audio.compact_encoder import CompactAudioEncoder
        from ..training.audio_distill import prune_encoder

        init = CompactAudioEncoder.load(args.init)
        if args.hidden < init.config.hidden:
            init = prune_encoder(init, args.hidden)

    def report(step: int, loss: float) -> None:
        if step % every == 0 or step == args.steps - 1:
            print(f"step {step + 1}/{args.steps}  loss {loss:.4f}", file=sys.stderr)

    student, losses = distill_audio_encoder(
        teacher, waves, steps=args.steps, batch_size=args.batch_size, crop_seconds=args.crop,
        hidden=args.hidden, n_mels=args.n_mels, mel_hop=args.mel_hop, lr=args.lr,
        token_map=token_map, identity=identity, identity_weight=args.identity_weight,
        level_rms=args.level_rms, init=init, seed=args.seed, on_step=report)
    path = student.save(args.output)
    print(json.dumps({"output": str(path), "clips": len(waves), "teacher": teacher.cache_key(),
                      "first_loss": losses[0] if losses else None,
                      "final_loss": losses[-1] if losses else None,
                      "parameters": sum(p.numel() for p in student.parameters())}))
    return 0
