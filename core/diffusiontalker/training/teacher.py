"""Teacher training: the diffusion loss plus the contrastive identity loss.

Loss (DiffusionTalker, arXiv 2311.16565 § 3): ``‖x̂ − x‖²`` for the
x-parameterisation (or ``‖v̂ − v‖²`` for v) over real frames, plus ``λ · InfoNCE`` between the
style encoder's pooled audio and the identity library. Time ``u`` is continuous (``u ~ U(0,1]``)
or on a power-of-two grid (``u = i/N``), so the teacher can be distilled by halving.
Seeded and resumable: the training state (weights, Adam moments, step, RNG states) is a
safetensors file beside the output, never a pickle.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from tqdm import tqdm

from ..audio.build import build_frontend
from ..config import AudioEncoderConfig, ModelConfig, MotionSpec, TrainConfig, check_resume  # noqa: F401
from ..diffusion.schedule import diffuse, v_target
from ..errors import CheckpointError
from ..network import checkpoint
from ..network.factory import new_model
from ..network.model import DiffusionTalker
from .data import (
    JsonlLog,
    batch_conditioning,
    cosine_lr,
    masked_mse,
    open_corpus,
    prefixed,
    restore_rng,
    rng_metadata,
    training_frames,
    unprefixed,
)

STATE_KIND = "diffusiontalker-train-state"


def sample_time(batch: int, grid: int, generator: torch.Generator) -> torch.Tensor:
    """Training times: ``U(0, 1]`` or ``i/N`` with ``i ~ U{1..N}``."""
    if grid:
        return torch.randint(1, grid + 1, (batch,), generator=generator).double() / grid
    return 1.0 - torch.rand(batch, generator=generator, dtype=torch.float64)


def teacher_loss(model: DiffusionTalker, batch, u: torch.Tensor, noise: torch.Tensor,
                 identity_weight: float) -> tuple[torch.Tensor, dict[str, float]]:
    """Diffusion loss (x- or v-MSE) + λ·InfoNCE for one batch at times ``u``."""
    device = noise.device
    x, cond = batch_conditioning(model, batch, device)
    z = diffuse(x, u, noise)  # u stays float64 on the CPU; the schedule moves its values
    out = model.network_output(z, u.float().to(device), cond)
    target = v_target(x, noise, u) if model.prediction == "v" else x
    diffusion = masked_mse(out, target, cond.mask)
    ident = model.identity.info_nce(cond.audio, batch.speaker.to(device), cond.mask)
    loss = diffusion + identity_weight * ident
    return loss, {"loss": loss.item(), "diffusion": diffusion.item(), "identity": ident.item()}


@torch.no_grad()
def validate(model: DiffusionTalker, sampler, seed: int, batches: int = 2,
             batch_size: int = 8) -> dict[str, float]:
    """x-MSE of x̂ at u ∈ {0.25, 0.5, 0.75} on val windows, and identity top-1 on val clips."""
    model.eval()
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    state = sampler.rng.bit_generator.state
    errors = []
    for _ in range(batches):
        batch = sampler.batch(batch_size)
        x, cond = batch_conditioning(model, batch, device)
        for u_value in (0.25, 0.5, 0.75):
            u = torch.full((x.shape[0],), u_value)
            noise = torch.randn(x.shape, generator=gen).to(device)
            x_hat = model.denoise(diffuse(x, u, noise), u, cond)
            errors.append(float(masked_mse(x_hat, x, cond.mask)))
    sampler.rng.bit_generator.state = state
    hits = []
    for _, clip_batch in sampler.iter_clips():
        _, cond = batch_conditioning(model, clip_batch, device)
        sims = model.identity.similarities(cond.audio, cond.mask)
        hits.append(float(sims.argmax(1).cpu() == clip_batch.speaker))
    model.train()
    return {"val_x_mse": sum(errors) / len(errors),
            "val_identity_top1": sum(hits) / len(hits) if hits else float("nan")}


def build_teacher(cfg: TrainConfig, corpus, frontend) -> DiffusionTalker:
    """A fresh teacher for a corpus, with normalisation fitted on its training motion."""
    pca = cfg.pca_components
    if pca < 0:
        pca = 128 if corpus.space == "vertices" and corpus.motion_dim > 600 else 0
    motion = MotionSpec(corpus.space, float(corpus.fps),
                        channels=list(corpus.channels) if corpus.channels else None,
                        num_vertices=corpus.num_vertices, pca_components=pca or None)
    template = None
    if corpus.space == "vertices" and corpus.templates:
        template = sum(corpus.templates.values()) / len(corpus.templates)
    torch.manual_seed(cfg.seed)
    model = new_model(motion, corpus.speakers, frontend.config, cfg.preset, cfg.prediction,
                      template=template, provenance={
                          "kind": "teacher", "data": str(cfg.data), "dataset_kind": corpus.kind,
                          "train": {k: v for k, v in cfg.to_dict().items() if k != "out"}})
    model.normalizer.fit(training_frames(corpus, seed=cfg.seed))
    model.config.diffusion.teacher_steps = cfg.teacher_steps
    model.config.diffusion.default_steps = cfg.teacher_steps
    return model


def train(cfg: TrainConfig, resume: bool = False, show_progress: bool = True,
          stop_at: int | None = None) -> Path:
    """Train a teacher on ``cfg.data`` and save it to ``cfg.out``; returns the path.

    ``stop_at``: end this run after that step (a time-boxed run) with the state saved, so
    ``resume=True`` continues exactly where it stopped; the checkpoint is then not written.
    """
    frontend = build_frontend(AudioEncoderConfig.from_dict(cfg.audio), cfg.device)
    corpus, sampler, val_sampler = open_corpus(cfg.data, frontend, cfg.window_seconds, cfg.seed,
                                               cfg.cache_dir)
    device = torch.device(cfg.device)
    start_step = 0
    state_meta: dict[str, str] = {}
    if resume and cfg.state_path.exists():
        tensors, state_meta = checkpoint.load_state(cfg.state_path, STATE_KIND)
        if "train_config" in state_meta:  # the run's own settings must not change on resume
            check_resume(TrainConfig.from_dict(json.loads(state_meta["train_config"])), cfg)
        model = DiffusionTalker(ModelConfig.from_dict(json.loads(state_meta["config"])))
        model.load_state_dict(unprefixed("model/", tensors))
        start_step = int(state_meta["step"])
    elif resume:
        raise CheckpointError(f"nothing to resume: no training state at {cfg.state_path}")
    else:
        model = build_teacher(cfg, corpus, frontend)
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    if state_meta:
        checkpoint.optimizer_from_tensors(optimizer, tensors, state_meta["param_groups"])
        restore_rng(sampler, state_meta)
        gen.set_state(tensors["rng/time_noise"])
    log = JsonlLog(cfg.log_path, fresh=start_step == 0)
    bar = tqdm(range(start_step, cfg.steps), initial=start_step, total=cfg.steps,
               disable=not show_progress, desc="teacher", unit="step")
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(step, cfg.steps, cfg.lr, cfg.warmup)
        batch = sampler.batch(cfg.batch_size)
        u = sample_time(cfg.batch_size, cfg.time_grid, gen)
        noise = torch.randn(batch.motion.shape[0], batch.motion.shape[1],
                            model.normalizer.model_dim, generator=gen).to(device)
        loss, parts = teacher_loss(model, batch, u, noise, cfg.identity_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        done = step + 1
        if done % cfg.log_every == 0 or done == cfg.steps:
            log.write(step=done, lr=optimizer.param_groups[0]["lr"], **parts)
            bar.set_postfix(loss=f"{parts['loss']:.4f}")
        if val_sampler is not None and (done % cfg.val_every == 0 or done == cfg.steps):
            log.write(step=done, **validate(model, val_sampler, cfg.seed))
        if done % cfg.save_every == 0 or done == cfg.steps or done == stop_at:
            _save_state(cfg, model, optimizer, sampler, gen, done)
        if done == stop_at:
            return cfg.state_path
    model.eval()
    model.config.provenance["trained_steps"] = cfg.steps
    return checkpoint.save_model(model, cfg.out)


def _save_state(cfg: TrainConfig, model, optimizer, sampler, gen, step: int) -> None:
    optim_tensors, groups = checkpoint.optimizer_to_tensors(optimizer)
    tensors = {**prefixed("model/", model.state_dict()), **optim_tensors,
               "rng/time_noise": gen.get_state()}
    meta = {"config": json.dumps(model.config.to_dict()), "train_config": json.dumps(cfg.to_dict()),
            "step": str(step), "param_groups": groups, **rng_metadata(sampler)}
    checkpoint.save_state(cfg.state_path, tensors, meta, STATE_KIND)
