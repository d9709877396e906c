"""``diffusiontalker train DATA... -o CKPT``: train the many-step teacher, or fine-tune a model
(``--init``); on one or many GPUs under ``torchrun`` (docs/training.md)."""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import ConfigError

HELP = "train a teacher model on a dataset folder or capture takes, or fine-tune one (--init)"

# settings of a new model; with --init they are the checkpoint's
MODEL_DEFAULTS = {"config": "small", "audio": "mel", "prediction": "x", "teacher_steps": 256,
                  "pca": -1}


def add_data_arguments(parser: argparse.ArgumentParser, flag: str | None = None) -> None:
    """The training data (``train``'s positional DATA or ``distill``'s ``--data``), capture
    takes' ``--speaker``, and ``--precision``: shared by both commands."""
    help_text = ("dataset (plain folder format, VOCASET, FaceFormer layout, BIWI) or Live Link "
                 "Face takes: a folder with takes.json, a take folder, a folder of take "
                 "folders, or take CSVs (several allowed)")
    if flag:
        parser.add_argument(flag, nargs="+", required=True, metavar="DATA", help=help_text)
    else:
        parser.add_argument("data", nargs="+", metavar="DATA", help=help_text)
    parser.add_argument("--speaker", help="capture takes: the identity they are of (default: "
                                          "from takes.json, else 'performer')")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"),
                        help="mixed precision on GPU: bf16 (autocast) or fp16 (autocast + "
                             "gradient scaling); default fp32")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser)
    parser.add_argument("-o", "--output", required=True, help="output checkpoint .safetensors")
    parser.add_argument("--init", metavar="CHECKPOINT",
                        help="fine-tune this checkpoint ('default': the shipped model): its "
                             "size, audio frontend and identities are kept, new speakers get "
                             "new identity rows")
    parser.add_argument("--config", choices=("tiny", "small", "medium", "base"),
                        help="model size preset (default small; not with --init)")
    parser.add_argument("--audio",
                        help="audio frontend (default mel; not with --init): mel, mel+cmvn "
                             "(per-clip normalised), whisper+trim:SOURCE (no 30 s padding), or "
                             "KIND:SOURCE e.g. wav2vec2:facebook/wav2vec2-base-960h")
    parser.add_argument("--prediction", choices=("x", "v"), help="default x; not with --init")
    parser.add_argument("--steps", type=int, default=2000, help="optimisation steps")
    parser.add_argument("--batch-size", type=int, default=16,
                        help="global batch (split over the processes under torchrun)")
    parser.add_argument("--window", type=float, default=4.0, help="training window in seconds")
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--identity-weight", type=float, default=0.1, help="λ of the InfoNCE loss")
    parser.add_argument("--lip-weight", type=float, default=0.0,
                        help="λ of the lip contact loss (closures emphasised; channel models "
                             "with the lip channels; default 0: off)")
    parser.add_argument("--time-grid", type=int, default=0,
                        help="0: continuous time; N (power of two): train on u = i/N")
    parser.add_argument("--teacher-steps", type=int,
                        help="steps the teacher samples with (default 256; not with --init)")
    parser.add_argument("--pca", type=int,
                        help="PCA size for vertex data (default -1 automatic, 0 none; not with "
                             "--init)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", help="cache frontend features here")
    parser.add_argument("--device", default="cpu",
                        help="cpu, cuda (under torchrun: each process's own GPU), cuda:N, mps")
    parser.add_argument("--resume", action="store_true", help="continue from the saved training state")
    parser.add_argument("--stop-at", type=int, help="stop after this step (state saved; --resume continues)")


def audio_config(text: str) -> dict:
    kind, _, source = text.partition(":")
    if kind == "mel+cmvn":
        return {"kind": "mel", "normalize": "cmvn"}
    if kind == "whisper+trim":
        return {"kind": "whisper", "source": source, "trim": True}
    return {"kind": kind, **({"source": source} if source else {})}


def data_argument(paths: list[str]) -> str | list[str]:
    """One dataset path as it is; several (capture takes) as a list."""
    return paths[0] if len(paths) == 1 else list(paths)


def is_main_process() -> bool:
    """Rank 0 of a torchrun launch, or a plain process: the one that reports."""
    import os

    return os.environ.get("RANK", "0") == "0"


def _model_settings(args: argparse.Namespace) -> dict:
    given = [name for name in MODEL_DEFAULTS if getattr(args, name) is not None]
    if args.init and given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise ConfigError(f"{flags}: a fine-tuned model keeps the --init checkpoint's settings; "
                          "leave them out")
    return {name: default if getattr(args, name) is None else getattr(args, name)
            for name, default in MODEL_DEFAULTS.items()}


def run(args: argparse.Namespace) -> int:
    from . import require_torch

    require_torch("train")
    model = _model_settings(args)
    from ..training.teacher import TrainConfig, train

    cfg = TrainConfig(data=data_argument(args.data), out=args.output, preset=model["config"],
                      audio=audio_config(model["audio"]), prediction=model["prediction"],
                      steps=args.steps, batch_size=args.batch_size, window_seconds=args.window,
                      lr=args.lr, identity_weight=args.identity_weight, lip_weight=args.lip_weight, time_grid=args.time_grid,
                      teacher_steps=model["teacher_steps"], pca_components=model["pca"],
                      seed=args.seed, cache_dir=args.cache_dir, device=args.device,
                      init=args.init, speaker=args.speaker, precision=args.precision)
    path = train(cfg, resume=args.resume, stop_at=args.stop_at)
    if is_main_process():
        print(json.dumps({"output": str(path), "log": str(cfg.log_path)}), file=sys.stderr)
    return 0
