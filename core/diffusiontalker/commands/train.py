"""``diffusiontalker train DATA_DIR -o CKPT``: train the many-step teacher."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "train a teacher model on a dataset folder"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="dataset (plain folder format, VOCASET, FaceFormer layout, BIWI)")
    parser.add_argument("-o", "--output", required=True, help="output checkpoint .safetensors")
    parser.add_argument("--config", default="small", choices=("tiny", "small", "base"),
                        help="model size preset")
    parser.add_argument("--audio", default="mel",
                        help="audio frontend: mel, mel+cmvn (per-clip normalised), whisper+trim:SOURCE "
                             "(no 30 s padding), or KIND:SOURCE e.g. "
                             "wav2vec2:facebook/wav2vec2-base-960h")
    parser.add_argument("--prediction", default="x", choices=("x", "v"))
    parser.add_argument("--steps", type=int, default=2000, help="optimisation steps")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--window", type=float, default=4.0, help="training window in seconds")
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--identity-weight", type=float, default=0.1, help="λ of the InfoNCE loss")
    parser.add_argument("--time-grid", type=int, default=0,
                        help="0: continuous time; N (power of two): train on u = i/N")
    parser.add_argument("--teacher-steps", type=int, default=256,
                        help="steps the teacher samples with (distillation starts here)")
    parser.add_argument("--pca", type=int, default=-1,
                        help="PCA size for vertex data (-1 automatic, 0 none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", help="cache frontend features here")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--resume", action="store_true", help="continue from the saved training state")
    parser.add_argument("--stop-at", type=int, help="stop after this step (state saved; --resume continues)")


def audio_config(text: str) -> dict:
    kind, _, source = text.partition(":")
    if kind == "mel+cmvn":
        return {"kind": "mel", "normalize": "cmvn"}
    if kind == "whisper+trim":
        return {"kind": "whisper", "source": source, "trim": True}
    return {"kind": kind, **({"source": source} if source else {})}


def run(args: argparse.Namespace) -> int:
    from . import require_torch

    require_torch("train")
    from ..training.teacher import TrainConfig, train

    cfg = TrainConfig(data=args.data, out=args.output, preset=args.config,
                      audio=audio_config(args.audio), prediction=args.prediction,
                      steps=args.steps, batch_size=args.batch_size, window_seconds=args.window,
                      lr=args.lr, identity_weight=args.identity_weight, time_grid=args.time_grid,
                      teacher_steps=args.teacher_steps, pca_components=args.pca, seed=args.seed,
                      cache_dir=args.cache_dir, device=args.device)
    path = train(cfg, resume=args.resume, stop_at=args.stop_at)
    print(json.dumps({"output": str(path), "log": str(cfg.log_path)}), file=sys.stderr)
    return 0
