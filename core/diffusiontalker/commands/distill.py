"""``diffusiontalker distill TEACHER -o STUDENT``: progressive distillation down to 8 steps."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "distil a teacher into a few-step student (progressive distillation)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("teacher", help="teacher checkpoint")
    parser.add_argument("-o", "--output", required=True, help="student checkpoint .safetensors")
    parser.add_argument("--data", required=True, help="the dataset the teacher was trained on")
    parser.add_argument("--to", type=int, default=8, dest="to_steps", help="final steps (8, 4 or 2)")
    parser.add_argument("--from-steps", type=int, default=0,
                        help="teacher steps to start from (default: the teacher's)")
    parser.add_argument("--steps-per-round", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--window", type=float, default=4.0)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--weighting", default="truncated_snr", choices=("truncated_snr", "snr_plus_one"))
    parser.add_argument("--data-weight", type=float, default=0.0,
                        help="λ in [0, 1): pull the student's target towards the clean data, "
                             "x̃ + λ (x − x̃) (0: plain progressive distillation)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--resume", action="store_true")


def run(args: argparse.Namespace) -> int:
    from ..training.distill import DistillConfig, distill

    cfg = DistillConfig(teacher=args.teacher, out=args.output, data=args.data,
                        to_steps=args.to_steps, from_steps=args.from_steps,
                        steps_per_round=args.steps_per_round, batch_size=args.batch_size,
                        window_seconds=args.window, lr=args.lr, weighting=args.weighting,
                        data_weight=args.data_weight, seed=args.seed, cache_dir=args.cache_dir,
                        device=args.device)
    path = distill(cfg, resume=args.resume)
    print(json.dumps({"output": str(path), "log": str(cfg.log_path)}), file=sys.stderr)
    return 0
