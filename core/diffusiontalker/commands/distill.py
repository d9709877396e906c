"""``diffusiontalker distill TEACHER -o STUDENT``: progressive distillation down to 8 steps, on
a dataset or capture takes; on one or many GPUs under ``torchrun`` (docs/training.md)."""

from __future__ import annotations

import argparse
import json
import re
import sys

from ..errors import ConfigError, DeviceError
from .train import add_data_arguments, data_argument, is_main_process

HELP = "distil a teacher into a few-step student (progressive distillation)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("teacher", help="teacher checkpoint")
    parser.add_argument("-o", "--output", required=True, help="student checkpoint .safetensors")
    add_data_arguments(parser, "--data")
    parser.add_argument("--to", type=int, default=8, dest="to_steps", help="final steps (8, 4 or 2)")
    parser.add_argument("--from-steps", type=int, default=0,
                        help="teacher steps to start from (default: the teacher's)")
    parser.add_argument("--steps-per-round", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=16,
                        help="global batch (split over the processes under torchrun)")
    parser.add_argument("--window", type=float, default=4.0)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--weighting", default="truncated_snr", choices=("truncated_snr", "snr_plus_one"))
    parser.add_argument("--data-weight", type=float, default=0.0,
                        help="λ in [0, 1): pull the student's target towards the clean data, "
                             "x̃ + λ (x − x̃) (0: plain progressive distillation)")
    parser.add_argument("--lip-weight", type=float, default=0.0,
                        help="λ of the lip contact loss between the student's and the target's "
                             "lip aperture (channel models; default 0: off)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir")
    parser.add_argument("--device", default="cpu",
                        help="cpu, cuda (under torchrun: each process's own GPU), cuda:N, mps")
    parser.add_argument("--resume", action="store_true")


def _power_of_two(n: int) -> bool:
    return n >= 1 and not n & (n - 1)


def _teacher_steps(teacher: str) -> int | None:
    """The teacher checkpoint's ``diffusion.teacher_steps`` (read from its header only)."""
    from ..network.checkpoint import read_header  # a missing or corrupt file: CheckpointError

    _, metadata = read_header(teacher)
    try:
        return int(json.loads(metadata["config"])["diffusion"]["teacher_steps"])
    except (KeyError, TypeError, ValueError):
        return None  # a broken config: loading the teacher reports it


def _check_device(device: str) -> None:
    if not re.fullmatch(r"cpu|mps|cuda(:\d+)?", device):
        raise DeviceError(f"unknown --device {device!r}; use cpu, cuda, cuda:N or mps")
    if device == "cpu":
        return
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(f"--device {device}: torch sees no CUDA GPU here; use --device cpu")
    if device == "mps" and not torch.backends.mps.is_available():
        raise DeviceError("--device mps: Apple MPS is not available here; use --device cpu")


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse settings the distillation cannot run with, before any training code runs.

    Each round halves the student's steps (training.distill.round_schedule): the teacher's
    steps (``--from-steps``, else the checkpoint's ``diffusion.teacher_steps``) and ``--to``
    must be powers of two, with ``--to`` smaller, so that ``--to`` divides the teacher's steps.
    """
    if not _power_of_two(args.to_steps):
        raise ConfigError(f"--to must be a power of two (8, 4 or 2): each distillation round "
                          f"halves the steps; got {args.to_steps}")
    if args.from_steps < 0 or (args.from_steps and not _power_of_two(args.from_steps)):
        raise ConfigError(f"--from-steps must be a power of two (e.g. 256), or 0 for the "
                          f"teacher's own; got {args.from_steps}")
    from_steps, source = args.from_steps, "--from-steps"
    if not from_steps:
        from_steps, source = _teacher_steps(args.teacher), f"the teacher_steps of {args.teacher}"
        if from_steps is not None and not _power_of_two(from_steps):
            raise ConfigError(f"the teacher's steps ({source}) are {from_steps}, not a power of "
                              "two; pass --from-steps N with N a power of two")
    if from_steps is not None and args.to_steps >= from_steps:
        raise ConfigError(f"--to {args.to_steps} must be fewer steps than the teacher's "
                          f"{from_steps} ({source}); pass a smaller power of two")
    for flag, value in (("--steps-per-round", args.steps_per_round),
                        ("--batch-size", args.batch_size)):
        if value < 1:
            raise ConfigError(f"{flag} must be at least 1, got {value}")
    for flag, value in (("--window", args.window), ("--lr", args.lr)):
        if not value > 0:
            raise ConfigError(f"{flag} must be positive, got {value}")
    if not 0.0 <= args.data_weight < 1.0:
        raise ConfigError(f"--data-weight must be in [0, 1), got {args.data_weight}")
    _check_device(args.device)


def run(args: argparse.Namespace) -> int:
    from . import require_torch

    require_torch("distill")
    check_arguments(args)
    from ..training.distill import DistillConfig, distill

    cfg = DistillConfig(teacher=args.teacher, out=args.output, data=data_argument(args.data),
                        to_steps=args.to_steps, from_steps=args.from_steps,
                        steps_per_round=args.steps_per_round, batch_size=args.batch_size,
                        window_seconds=args.window, lr=args.lr, weighting=args.weighting,
                        data_weight=args.data_weight, lip_weight=args.lip_weight, seed=args.seed, cache_dir=args.cache_dir,
                        device=args.device, speaker=args.speaker, precision=args.precision)
    path = distill(cfg, resume=args.resume)
    if is_main_process():
        print(json.dumps({"output": str(path), "log": str(cfg.log_path)}), file=sys.stderr)
    return 0
