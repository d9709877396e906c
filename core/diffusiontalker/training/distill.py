"""Progressive distillation (Salimans & Ho 2022, arXiv 2202.00512, Alg. 2): 2N steps -> N.

One round (Salimans & Ho 2022, arXiv 2202.00512, Algorithm 2): draw ``i ∈ {1..N}``, ``u = i/N``,
``u′ = u − 1/(2N)``, ``u″ = u − 1/N``; two DDIM steps of the frozen teacher ``u → u′ → u″``;
the student's target ``x̃`` is the x for which one DDIM step ``u → u″`` lands on ``z_{u″}``
(``schedule.distillation_target``; the teacher's second ``x̂`` on the last interval); loss
``w(λ_u)·‖x̃ − x̂_student‖²`` with ``w = max(SNR, 1)`` or ``1 + SNR`` (never ``SNR``). The
student starts as a copy of the teacher; the audio adapter, identity library and style encoder
are frozen (identical for both); Adam with the LR annealed to 0 in each round. Then the
student becomes the teacher and N halves, down to ``to_steps`` (8, optionally 4 or 2).
The data may be capture takes (read at the teacher's rate, mapped onto its channels); under
``torchrun`` the global batch is split over the processes with DistributedDataParallel
(:mod:`.distributed`), rank 0 writing the state, the log and the student.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from ..audio.build import build_frontend
from ..config import DistillConfig, ModelConfig  # noqa: F401  (DistillConfig re-exported)
from ..diffusion.samplers import sample_ddim
from ..diffusion.schedule import ddim_step, diffuse, distillation_target, loss_weight
from ..errors import CheckpointError, ConfigError
from ..network import checkpoint
from ..network.model import DiffusionTalker
from . import lip_loss
from .data import (
    JsonlLog,
    batch_conditioning,
    cosine_lr,
    masked_mse,
    open_corpus,
    prefixed,
    restore_rng,
    rng_metadata,
    unprefixed,
)
from .distributed import Precision, Ranks, session

STATE_KIND = "diffusiontalker-distill-state"


def round_schedule(from_steps: int, to_steps: int) -> list[int]:
    """Student step counts of each round, e.g. 256 -> 8 gives [128, 64, 32, 16, 8]."""
    if from_steps < 2 or to_steps < 1 or from_steps & (from_steps - 1) or to_steps & (to_steps - 1):
        raise ConfigError(f"distillation halves powers of two: the teacher's steps and --to must be "
                          f"powers of two; got {from_steps} -> {to_steps}")
    if to_steps >= from_steps:
        raise ConfigError(f"the student ({to_steps} steps) must use fewer steps than the "
                          f"teacher ({from_steps}); pass a smaller power of two to --to")
    return [from_steps >> k for k in range(1, int(math.log2(from_steps // to_steps)) + 1)]


def freeze_conditioning(model: DiffusionTalker) -> None:
    """Audio adapter, identity library and style encoder stay as the teacher had them."""
    for module in (model.adapter, model.identity):
        for p in module.parameters():
            p.requires_grad_(False)


def distillation_loss(student: DiffusionTalker, teacher: DiffusionTalker, batch, n_steps: int,
                      generator: torch.Generator, weighting: str,
                      data_weight: float = 0.0, share: slice | None = None,
                      batch_size: int | None = None, lip_weight: float = 0.0
                      ) -> tuple[torch.Tensor, dict]:
    """One batch of a round whose student takes ``n_steps`` steps (teacher: 2N).

    ``data_weight`` λ moves the target from the teacher's two-step ``x̃`` towards the clean
    data: ``x̃ + λ (x − x̃)``, i.e. the distillation loss plus λ/(1−λ) times the ordinary
    x-prediction loss at the student's own times (up to a constant factor); on channels a clip
    did not capture the target stays ``x̃``. ``batch`` may be one rank's ``share`` of a global
    batch of ``batch_size``: times and noise are drawn for the whole batch, as in one process.
    ``lip_weight`` adds the lip contact loss (:mod:`.lip_loss`) between the student's and the
    target's decoded lip aperture, so the student keeps the teacher's closures.
    """
    device = next(student.parameters()).device
    with torch.no_grad():
        x, cond = batch_conditioning(teacher, batch, device)
        b = batch_size or x.shape[0]
        rows = share or slice(None)
        i = torch.randint(1, n_steps + 1, (b,), generator=generator).double()[rows]
        u, u_mid, u_next = i / n_steps, (i - 0.5) / n_steps, (i - 1.0) / n_steps
        noise = torch.randn((b, *x.shape[1:]), generator=generator)[rows].to(device)
        z_u = diffuse(x, u, noise)
        x_hat1 = teacher.denoise(z_u, u.float().to(device), cond).float()
        z_mid = ddim_step(z_u, x_hat1, u, u_mid)
        x_hat2 = teacher.denoise(z_mid, u_mid.float().to(device), cond).float()
        z_next = ddim_step(z_mid, x_hat2, u_mid, u_next)
        x_tilde = distillation_target(z_u, z_next, x_hat2, u, u_next)
        if data_weight:
            pull = data_weight * (x - x_tilde)
            if batch.channel_mask is not None:
                pull = pull * batch.channel_mask.to(device)[:, None, :]
            x_tilde = x_tilde + pull
        w = loss_weight(u, weighting).float().to(device)
    x_student = student.denoise(z_u, u.float().to(device), cond).float()
    loss = masked_mse(x_student, x_tilde, cond.mask, weight=w)
    if not lip_weight:
        return loss, {"loss": loss.item()}
    columns = lip_loss.opening_columns(student.config.motion.channels or [])
    if columns is None:
        raise ConfigError("the lip contact loss needs a channel model with "
                          f"{', '.join(lip_loss.OPENING_CHANNELS)}")
    lip = lip_loss.lip_contact_loss(student.decode_motion(x_student),
                                    student.decode_motion(x_tilde), cond.mask, columns)
    total = loss + lip_weight * lip
    return total, {"loss": total.item(), "lip": lip.item()}


class DistillStep(nn.Module):
    """A round's loss as the student's forward, so DistributedDataParallel can wrap it; the
    frozen teacher is held outside the module (never synchronised)."""

    def __init__(self, student: DiffusionTalker, teacher: DiffusionTalker, n_steps: int,
                 cfg: DistillConfig, share: slice):
        super().__init__()
        self.student = student
        self._teacher = (teacher,)
        self.n_steps, self.cfg, self.share = n_steps, cfg, share

    def forward(self, batch, generator: torch.Generator):
        cfg = self.cfg
        return distillation_loss(self.student, self._teacher[0], batch, self.n_steps, generator,
                                 cfg.weighting, cfg.data_weight, self.share, cfg.batch_size,
                                 cfg.lip_weight)


@torch.no_grad()
def sample_mse(model: DiffusionTalker, sampler, steps: int, seed: int, batch_size: int = 8) -> float:
    """x-MSE (normalised space) of full DDIM samples against the data on fixed windows."""
    device = next(model.parameters()).device
    state = sampler.rng.bit_generator.state
    batch = sampler.batch(batch_size)
    sampler.rng.bit_generator.state = state
    x, cond = batch_conditioning(model, batch, device)
    gen = torch.Generator().manual_seed(seed)
    out = sample_ddim(model.denoise, tuple(x.shape), steps, generator=gen, cond=cond)
    return float(masked_mse(out, x, cond.mask, channel_mask=batch.channel_mask))


def distill(cfg: DistillConfig, resume: bool = False, show_progress: bool = True,
            stop_at: int | None = None) -> Path:
    """Run the rounds from the teacher checkpoint; save the final student to ``cfg.out``.
    Under ``torchrun``, every process calls this; rank 0 writes.

    ``stop_at``: end this run after that many optimisation steps counted over all rounds,
    with the state saved (``resume=True`` continues exactly); no student is written then.
    """
    with session(cfg.device) as ranks:
        return _distill(cfg, ranks, resume, show_progress, stop_at)


def _distill(cfg: DistillConfig, ranks: Ranks, resume: bool, show_progress: bool,
             stop_at: int | None) -> Path:
    precision = Precision(cfg.precision, ranks.device)
    share = ranks.share(cfg.batch_size)
    device = ranks.device
    original = checkpoint.load_model(cfg.teacher, device)
    from_steps = cfg.from_steps or int(original.config.diffusion.teacher_steps)
    rounds = round_schedule(from_steps, cfg.to_steps)
    frontend = build_frontend(original.config.audio, str(device))
    corpus, sampler, val_sampler = open_corpus(cfg.data, frontend, cfg.window_seconds, cfg.seed,
                                               cfg.cache_dir, like=original.config,
                                               speaker=cfg.speaker)
    # Batches index the speakers that have training clips; a teacher whose library has more
    # rows (never-trained ones) is aligned to them, and one that lacks a speaker is refused.
    original.identity.keep(corpus.speakers)
    eval_sampler = val_sampler or sampler
    teacher = original
    start_round, start_step, meta, tensors = 0, 0, {}, {}
    if resume:
        if not cfg.state_path.exists():
            raise CheckpointError(f"nothing to resume: no distillation state at {cfg.state_path}")
        tensors, meta = checkpoint.load_state(cfg.state_path, STATE_KIND)
        teacher = DiffusionTalker(ModelConfig.from_dict(json.loads(meta["config"])))
        teacher.load_state_dict(unprefixed("teacher/", tensors))
        start_round, start_step = int(meta["round"]), int(meta["step"])
    log = JsonlLog(cfg.log_path, fresh=not resume) if ranks.main else None
    gen = torch.Generator().manual_seed(cfg.seed)
    for r in range(start_round, len(rounds)):
        n_steps = rounds[r]
        teacher = teacher.to(device).eval().requires_grad_(False)
        student = copy.deepcopy(teacher).train().requires_grad_(True)
        freeze_conditioning(student)
        params = [p for p in student.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(params, lr=cfg.lr)
        first = 0
        if meta and r == start_round:
            student.load_state_dict(unprefixed("student/", tensors))
            if start_step:  # a fresh round starts with fresh Adam moments
                checkpoint.optimizer_from_tensors(optimizer, tensors, meta["param_groups"])
                precision.load_state(meta)
            restore_rng(sampler, meta)
            gen.set_state(tensors["rng/time_noise"])
            first = start_step
        step_loss = ranks.wrap(DistillStep(student, teacher, n_steps, cfg, share))
        bar = tqdm(range(first, cfg.steps_per_round), initial=first, total=cfg.steps_per_round,
                   disable=not (show_progress and ranks.main),
                   desc=f"distill {2 * n_steps}->{n_steps}", unit="step")
        for step in bar:
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(step, cfg.steps_per_round, cfg.lr)
            with precision.autocast():
                loss, parts = step_loss(sampler.batch(cfg.batch_size, ranks.part), gen)
            precision.step(loss, optimizer, params, cfg.grad_clip)
            done = step + 1
            stopping = stop_at is not None and r * cfg.steps_per_round + done >= stop_at
            if done % cfg.log_every == 0 or done == cfg.steps_per_round or stopping:
                parts = ranks.mean(parts)
                if log is not None:
                    log.write(round=r + 1, student_steps=n_steps, step=done, **parts)
                    bar.set_postfix(loss=f"{parts['loss']:.4f}")
                    _save_state(cfg, teacher, student, optimizer, sampler, gen, r, done, precision)
            if stopping:
                return cfg.state_path
        student.eval()
        if log is not None:
            log.write(round=r + 1, student_steps=n_steps, step=cfg.steps_per_round,
                      val_student_sample_mse=sample_mse(student, eval_sampler, n_steps, cfg.seed),
                      val_teacher_respaced_sample_mse=sample_mse(original, eval_sampler, n_steps,
                                                                 cfg.seed))
        diffusion = student.config.diffusion
        diffusion.distilled_from = [*diffusion.distilled_from, 2 * n_steps]
        diffusion.default_steps = n_steps
        teacher = student
        if ranks.main:
            _save_state(cfg, teacher, teacher, optimizer, sampler, gen, r + 1, 0, precision)
    teacher.requires_grad_(True).eval()
    teacher.config.provenance = {**teacher.config.provenance, "kind": "student",
                                 "teacher_checkpoint": str(cfg.teacher),
                                 "distill": {k: v for k, v in cfg.to_dict().items() if k != "out"}}
    if ranks.main:
        checkpoint.save_model(teacher, cfg.out)
    return Path(cfg.out)


def _save_state(cfg, teacher, student, optimizer, sampler, gen, round_index: int, step: int,
                precision: Precision) -> None:
    optim_tensors, groups = checkpoint.optimizer_to_tensors(optimizer)
    tensors = {**prefixed("teacher/", teacher.state_dict()),
               **prefixed("student/", student.state_dict()), **optim_tensors,
               "rng/time_noise": gen.get_state()}
    meta = {"config": json.dumps(teacher.config.to_dict()), "round": str(round_index),
            "step": str(step), "param_groups": groups, **rng_metadata(sampler),
            **precision.state()}
    checkpoint.save_state(cfg.state_path, tensors, meta, STATE_KIND)
