"""Teacher training: the diffusion loss plus the contrastive identity loss.

Loss (DiffusionTalker, arXiv 2311.16565 § 3): ``‖x̂ − x‖²`` for the
x-parameterisation (or ``‖v̂ − v‖²`` for v) over real frames (and captured channels), plus
``λ · InfoNCE`` between the style encoder's pooled audio and the identity library. Time ``u``
is continuous (``u ~ U(0,1]``) or on a power-of-two grid (``u = i/N``), so the teacher can be
distilled by halving. Seeded and resumable: the training state (weights, Adam moments, step,
RNG states) is a safetensors file beside the output, never a pickle.

``init`` fine-tunes an existing checkpoint instead of a new model: its architecture, audio
frontend, motion normalisation and diffusion settings are kept; the data is mapped onto its
channels; its identity rows keep their names and new speakers get new rows
(:func:`.data.extend_library`). Under ``torchrun`` the global batch is split over the
processes with DistributedDataParallel (:mod:`.distributed`).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from ..audio.build import build_frontend
from ..config import AudioEncoderConfig, ModelConfig, MotionSpec, TrainConfig, check_resume  # noqa: F401
from ..diffusion.schedule import diffuse, v_target
from ..errors import CheckpointError, ConfigError
from ..network import checkpoint
from ..network.factory import new_model
from ..network.model import DiffusionTalker
from . import lip_loss
from .data import (
    JsonlLog,
    batch_conditioning,
    cosine_lr,
    data_label,
    extend_library,
    fit_normalizer,
    load_init,
    masked_mse,
    open_corpus,
    prefixed,
    restore_rng,
    rng_metadata,
    unprefixed,
)
from .distributed import Precision, Ranks, session

STATE_KIND = "diffusiontalker-train-state"
# TrainConfig fields that shape a new model; a fine-tuned one keeps its checkpoint's
NEW_MODEL_SETTINGS = ("out", "preset", "audio", "prediction", "teacher_steps", "pca_components")


def sample_time(batch: int, grid: int, generator: torch.Generator) -> torch.Tensor:
    """Training times: ``U(0, 1]`` or ``i/N`` with ``i ~ U{1..N}``."""
    if grid:
        return torch.randint(1, grid + 1, (batch,), generator=generator).double() / grid
    return 1.0 - torch.rand(batch, generator=generator, dtype=torch.float64)


def teacher_loss(model: DiffusionTalker, batch, u: torch.Tensor, noise: torch.Tensor,
                 identity_weight: float, lip_weight: float = 0.0
                 ) -> tuple[torch.Tensor, dict[str, float]]:
    """Diffusion loss (x- or v-MSE) + λ·InfoNCE (+ λ_lip · the lip contact loss of
    :mod:`.lip_loss`) for one batch at times ``u``."""
    device = noise.device
    x, cond = batch_conditioning(model, batch, device)
    z = diffuse(x, u, noise)  # u stays float64 on the CPU; the schedule moves its values
    out = model.network_output(z, u.float().to(device), cond).float()
    target = v_target(x, noise, u) if model.prediction == "v" else x
    diffusion = masked_mse(out, target, cond.mask, channel_mask=batch.channel_mask)
    ident = model.identity.info_nce(cond.audio, batch.speaker.to(device), cond.mask)
    loss = diffusion + identity_weight * ident
    parts = {"diffusion": diffusion.item(), "identity": ident.item()}
    if lip_weight:
        lip = _lip_term(model, batch, out, x, cond.mask)
        loss = loss + lip_weight * lip
        parts["lip"] = lip.item()
    return loss, {"loss": loss.item(), **parts}


def _lip_term(model: DiffusionTalker, batch, x_hat: torch.Tensor, x: torch.Tensor,
              mask: torch.Tensor) -> torch.Tensor:
    """The lip contact loss on the decoded prediction, over the clips that captured the
    opening's channels."""
    columns = lip_loss.opening_columns(model.config.motion.channels or [])
    if columns is None or model.prediction != "x":
        raise ConfigError("the lip contact loss needs an x-prediction channel model with "
                          f"{', '.join(lip_loss.OPENING_CHANNELS)}")
    if batch.channel_mask is not None:  # capture takes: only clips that have them all
        mask = mask * batch.channel_mask[:, columns].all(-1).to(mask.device)[:, None]
    return lip_loss.lip_contact_loss(model.decode_motion(x_hat), model.decode_motion(x), mask,
                                     columns)


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
            errors.append(float(masked_mse(x_hat, x, cond.mask,
                                           channel_mask=batch.channel_mask)))
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
                          "kind": "teacher", "data": data_label(cfg.data),
                          "dataset_kind": corpus.kind,
                          "train": {k: v for k, v in cfg.to_dict().items() if k != "out"}})
    fit_normalizer(model.normalizer, corpus, seed=cfg.seed)
    model.config.diffusion.teacher_steps = cfg.teacher_steps
    model.config.diffusion.default_steps = cfg.teacher_steps
    return model


class TeacherStep(nn.Module):
    """The teacher's loss as a module's forward, so DistributedDataParallel can wrap it."""

    def __init__(self, model: DiffusionTalker, identity_weight: float, lip_weight: float = 0.0):
        super().__init__()
        self.model = model
        self.identity_weight = identity_weight
        self.lip_weight = lip_weight

    def forward(self, batch, u: torch.Tensor, noise: torch.Tensor):
        return teacher_loss(self.model, batch, u, noise, self.identity_weight, self.lip_weight)


def fine_tuned(base: DiffusionTalker, cfg: TrainConfig, corpus) -> DiffusionTalker:
    """``base`` (the ``--init`` model) with rows for the data's new speakers and the run's
    provenance; everything else as it was."""
    added = extend_library(base, corpus.speakers, seed=cfg.seed)
    before = base.config.provenance
    base.config.provenance = {
        "kind": "fine-tuned", "init": str(cfg.init), "init_kind": before.get("kind"),
        "data": data_label(cfg.data),
        "dataset_kind": corpus.kind, "added_identities": added,
        "train": {k: v for k, v in cfg.to_dict().items() if k not in NEW_MODEL_SETTINGS}}
    return base


def train(cfg: TrainConfig, resume: bool = False, show_progress: bool = True,
          stop_at: int | None = None) -> Path:
    """Train a teacher on ``cfg.data`` (or fine-tune ``cfg.init``) and save it to ``cfg.out``;
    returns the path. Under ``torchrun``, every process calls this; rank 0 writes.

    ``stop_at``: end this run after that step (a time-boxed run) with the state saved, so
    ``resume=True`` continues exactly where it stopped; the checkpoint is then not written.
    """
    with session(cfg.device) as ranks:
        return _train(cfg, ranks, resume, show_progress, stop_at)


def _train(cfg: TrainConfig, ranks: Ranks, resume: bool, show_progress: bool,
           stop_at: int | None) -> Path:
    precision = Precision(cfg.precision, ranks.device)
    share = ranks.share(cfg.batch_size)
    tensors: dict = {}
    state_meta: dict[str, str] = {}
    base = None
    if resume:
        if not cfg.state_path.exists():
            raise CheckpointError(f"nothing to resume: no training state at {cfg.state_path}")
        tensors, state_meta = checkpoint.load_state(cfg.state_path, STATE_KIND)
        if "train_config" in state_meta:  # the run's own settings must not change on resume
            check_resume(TrainConfig.from_dict(json.loads(state_meta["train_config"])), cfg)
        base = DiffusionTalker(ModelConfig.from_dict(json.loads(state_meta["config"])))
        base.load_state_dict(unprefixed("model/", tensors))
    elif cfg.init:
        base = load_init(cfg.init)
    audio = base.config.audio if base else AudioEncoderConfig.from_dict(cfg.audio)
    frontend = build_frontend(audio, str(ranks.device))
    corpus, sampler, val_sampler = open_corpus(
        cfg.data, frontend, cfg.window_seconds, cfg.seed, cfg.cache_dir,
        like=base.config if base else None, library=base.identity.names if base else None,
        speaker=cfg.speaker)
    if base is None:
        model = build_teacher(cfg, corpus, frontend)
    elif resume:
        if corpus.speakers != base.identity.names:
            raise ConfigError(f"the data has speakers the run did not start with "
                              f"({', '.join(corpus.speakers[len(base.identity.names):])}); "
                              "resume with the run's own data")
        model = base
    else:
        model = fine_tuned(base, cfg, corpus)
    model.to(ranks.device).train()
    step_loss = ranks.wrap(TeacherStep(model, cfg.identity_weight, cfg.lip_weight))
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    start_step = int(state_meta.get("step", 0))
    if state_meta:
        checkpoint.optimizer_from_tensors(optimizer, tensors, state_meta["param_groups"])
        restore_rng(sampler, state_meta)
        gen.set_state(tensors["rng/time_noise"])
        precision.load_state(state_meta)
    log = JsonlLog(cfg.log_path, fresh=start_step == 0) if ranks.main else None
    bar = tqdm(range(start_step, cfg.steps), initial=start_step, total=cfg.steps,
               disable=not (show_progress and ranks.main), desc="teacher", unit="step")
    params = list(model.parameters())
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(step, cfg.steps, cfg.lr, cfg.warmup)
        batch = sampler.batch(cfg.batch_size, ranks.part)
        # the global batch's times and noise, drawn as one process would; this rank's rows
        u = sample_time(cfg.batch_size, cfg.time_grid, gen)[share]
        noise = torch.randn(cfg.batch_size, batch.motion.shape[1], model.normalizer.model_dim,
                            generator=gen)[share].to(ranks.device)
        with precision.autocast():
            loss, parts = step_loss(batch, u, noise)
        precision.step(loss, optimizer, params, cfg.grad_clip)
        done = step + 1
        if done % cfg.log_every == 0 or done == cfg.steps:
            parts = ranks.mean(parts)
            if log is not None:
                log.write(step=done, lr=optimizer.param_groups[0]["lr"], **parts)
                bar.set_postfix(loss=f"{parts['loss']:.4f}")
        if log is not None and val_sampler is not None and (done % cfg.val_every == 0
                                                            or done == cfg.steps):
            log.write(step=done, **validate(model, val_sampler, cfg.seed))
        if ranks.main and (done % cfg.save_every == 0 or done == cfg.steps or done == stop_at):
            _save_state(cfg, model, optimizer, sampler, gen, done, precision)
        if done == stop_at:
            return cfg.state_path
    model.eval()
    model.config.provenance["trained_steps"] = cfg.steps
    if ranks.main:
        checkpoint.save_model(model, cfg.out)
    return Path(cfg.out)


def _save_state(cfg: TrainConfig, model, optimizer, sampler, gen, step: int,
                precision: Precision) -> None:
    optim_tensors, groups = checkpoint.optimizer_to_tensors(optimizer)
    tensors = {**prefixed("model/", model.state_dict()), **optim_tensors,
               "rng/time_noise": gen.get_state()}
    meta = {"config": json.dumps(model.config.to_dict()), "train_config": json.dumps(cfg.to_dict()),
            "step": str(step), "param_groups": groups, **rng_metadata(sampler),
            **precision.state()}
    checkpoint.save_state(cfg.state_path, tensors, meta, STATE_KIND)
