"""Distilling the compact audio encoder (DiffusionTalker 2025, arXiv 2503.18159 § 3.3).

The student (:class:`~diffusiontalker.audio.compact_encoder.CompactAudioEncoder`) regresses a
frozen large frontend's features (feature MSE), optionally through a model's adapter
(task-aware token MSE) and with an identity-match KL term; trained on re-recorded copies of
the speech (:func:`augment_speech`); :func:`prune_encoder` narrows a trained one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ..audio.compact_encoder import CompactAudioEncoder
from ..audio.features import (
    fit_length,
)
from ..audio.frontends import Frontend
from ..audio.loading import SAMPLE_RATE, resample
from ..config import StudentConfig
from ..errors import AudioEncoderError
from .data import cosine_lr


def augment_speech(wave: np.ndarray, rng: np.random.Generator,
                   speed: tuple[float, float] = (0.85, 1.18),
                   snr_db: tuple[float, float] = (15.0, 40.0)) -> np.ndarray:
    """A randomly "re-recorded" variant of a 16 kHz utterance, for frontend distillation.

    Encoder distillation needs no labels (the teacher reads the variant too), so voice and
    channel variety is free: a playback-speed change drawn log-uniformly from ``speed``
    (default 0.85-1.18x; pitch and vocal-tract length move together, as in VTLP, Jaitly &
    Hinton 2013), a first-order spectral tilt (microphone colour), with probability 0.5 a
    synthetic room (an exponentially decaying noise impulse response, RT60 0.1-0.6 s), with
    probability 0.6 white or brown noise at an SNR drawn from ``snr_db`` (default 15-40 dB),
    and a gain of -18 to +3 dB (peaks limited to 0.99).
    """
    x = np.asarray(wave, np.float64).reshape(-1)
    factor = float(np.exp(rng.uniform(np.log(speed[0]), np.log(speed[1]))))
    x = resample(x.astype(np.float32), int(round(SAMPLE_RATE * factor))).astype(np.float64)
    rms = float(np.sqrt(np.mean(x ** 2))) + 1e-9
    tilt = rng.uniform(-0.6, 0.6)
    x[1:] = x[1:] + tilt * x[:-1]
    if rng.random() < 0.5:
        rt60 = rng.uniform(0.1, 0.6)
        t = np.arange(int(rt60 * SAMPLE_RATE)) / SAMPLE_RATE
        tail = rng.standard_normal(t.size) * np.exp(-6.9 * t / rt60)
        tail *= rng.uniform(0.2, 0.7) / (np.sqrt(np.sum(tail ** 2)) + 1e-9)
        n = x.size + tail.size
        wet = np.fft.irfft(np.fft.rfft(x, n) * np.fft.rfft(tail, n), n)[: x.size]
        x = x + wet
    x *= rms / (float(np.sqrt(np.mean(x ** 2))) + 1e-9)
    if rng.random() < 0.6:
        noise = rng.standard_normal(x.size)
        if rng.random() < 0.5:  # brown: integrated white noise, mean removed
            noise = np.cumsum(noise)
            noise -= np.convolve(noise, np.ones(801) / 801, mode="same")
        noise *= rms / (np.sqrt(np.mean(noise ** 2)) + 1e-9) / 10 ** (rng.uniform(*snr_db) / 20)
        x = x + noise
    x *= 10 ** (rng.uniform(-18, 3) / 20)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak > 0.99:
        x *= 0.99 / peak
    return x.astype(np.float32)


def prune_encoder(encoder: CompactAudioEncoder, hidden: int) -> CompactAudioEncoder:
    """A narrower copy keeping the ``hidden`` residual channels of largest weight norm.

    Every block adds to the same residual stream, so a channel is scored by the L2 norm of
    everything that writes it or reads it (input conv rows, block rows and columns, head
    columns) and the rest are cut (structured magnitude pruning, Li et al. 2017, arXiv
    1608.08710); a short distillation run then recovers what the cut channels carried.
    """
    if not 0 < hidden <= encoder.config.hidden:
        raise AudioEncoderError(f"cannot prune a {encoder.config.hidden}-wide encoder to {hidden}")
    score = (encoder.inp.weight.detach().pow(2).sum((1, 2))
             + encoder.head.weight.detach().pow(2).sum(0))
    for conv in encoder.blocks:
        w = conv.weight.detach().pow(2)
        score = score + w.sum((1, 2)) + w.sum((0, 2))
    keep = torch.argsort(score, descending=True)[:hidden].sort().values
    config = copy.deepcopy(encoder.config)
    config.hidden = hidden
    pruned = CompactAudioEncoder(config)
    state = {k: v.clone() for k, v in encoder.state_dict().items()}
    state["inp.weight"], state["inp.bias"] = state["inp.weight"][keep], state["inp.bias"][keep]
    for i in range(len(encoder.blocks)):
        state[f"blocks.{i}.weight"] = state[f"blocks.{i}.weight"][keep][:, keep]
        state[f"blocks.{i}.bias"] = state[f"blocks.{i}.bias"][keep]
    state["head.weight"] = state["head.weight"][:, keep]
    pruned.load_state_dict(state, strict=True)
    return pruned.eval().requires_grad_(False)


class AdapterTokens(nn.Module):
    """A trained model's audio adapter as a ``token_map``: features -> its tokens, at the
    feature rate (``AudioAdapter.encode``), for the task-aware distillation loss."""

    def __init__(self, adapter: nn.Module) -> None:
        super().__init__()
        self.adapter = adapter

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.adapter.encode(features)


def distill_audio_encoder(teacher: Frontend, waves: Sequence[np.ndarray], *, steps: int = 2000,
                          batch_size: int = 16, crop_seconds: float = 4.0, hidden: int = 192,
                          n_mels: int = 80, mel_hop: int = 320,
                          dilations: Sequence[int] = (1, 2, 4, 8, 16, 1), lr: float = 1e-3,
                          seed: int = 0, token_map: nn.Module | None = None,
                          feature_weight: float = 0.1, init: CompactAudioEncoder | None = None,
                          identity: nn.Module | None = None, identity_weight: float = 1.0,
                          level_rms: float | None = None,
                          on_step: Callable[[int, float], None] | None = None,
                          ) -> tuple[CompactAudioEncoder, list[float]]:
    """Train a compact mel student to regress ``teacher``'s features (feature MSE).

    The teacher runs once per wave (frozen); training draws random aligned crops of
    ``crop_seconds``. The loss is the MSE between the student's output and the teacher's
    features standardised per dimension; Adam's learning rate follows a cosine to 0.

    ``token_map`` (frozen; e.g. a trained model's audio adapter ``encode``) makes the loss
    task-aware: the MSE between ``token_map`` of the student's and of the teacher's features
    (each token dimension standardised), plus ``feature_weight`` times the feature MSE, so the
    student spends its capacity on what the motion model reads. ``identity`` (frozen; the
    model's :class:`~diffusiontalker.network.identity.IdentityLibrary`, with ``token_map``) adds
    ``identity_weight`` times the KL divergence from the library-match distribution
    ``softmax(cos(g(a), E_j)/τ)`` of the teacher's tokens to the student's (Hinton et al. 2015
    distillation on the identity lookup), so "match identity from the voice" keeps naming the
    same speakers: the mean/std pooling of the style encoder is sensitive to small, consistent
    token offsets that the token MSE barely sees. ``init`` continues from a trained student
    instead of a new one. ``level_rms`` sets the student's input level equalisation
    (``StudentConfig.level_rms``; None: off for a new student, unchanged for ``init``).
    Returns the student (eval mode) and the loss per step.
    """
    if not waves:
        raise AudioEncoderError("distillation needs at least one wave")
    if identity is not None and token_map is None:
        raise AudioEncoderError("the identity loss reads tokens: it needs a token_map")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    if init is None:
        config = StudentConfig(n_mels, teacher.dim, teacher.rate_hz, hidden, teacher.cache_key(),
                               mel_hop, tuple(dilations), level_rms or 0.0)
        student = CompactAudioEncoder(config)
    else:
        student = copy.deepcopy(init).requires_grad_(True)
        config = student.config
        if level_rms is not None:
            config.level_rms = float(level_rms)
    targets = [np.asarray(teacher(np.asarray(w, np.float32)), np.float32) for w in waves]
    mels = [student.mel(np.asarray(w, np.float32)) for w in waves]
    if init is None:
        stacked = np.concatenate(targets)
        student.target_mean.copy_(torch.from_numpy(stacked.mean(0)))
        student.target_std.copy_(torch.from_numpy(stacked.std(0) + 1e-5))
        del stacked
    token_scale = None
    if token_map is not None:
        token_map = token_map.eval().requires_grad_(False)
        with torch.no_grad():
            tokens = torch.cat([token_map(torch.from_numpy(t)[None])[0] for t in targets])
        token_mean, token_std = tokens.mean(0), tokens.std(0) + 1e-5
        token_scale = (token_mean, token_std)
        del tokens
    if identity is not None:
        identity = identity.eval().requires_grad_(False)
    ratio = config.mel_rate_hz / teacher.rate_hz
    crop_out = max(1, int(round(crop_seconds * teacher.rate_hz)))
    crop_mel = int(round(crop_out * ratio))
    optimizer = torch.optim.AdamW(student.parameters(), lr=lr, weight_decay=0.0)
    losses: list[float] = []
    student.train()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(step, steps, lr)
        mel_batch, target_batch = [], []
        for index in rng.integers(0, len(waves), size=batch_size):
            start = int(rng.integers(0, max(1, targets[index].shape[0] - crop_out) + 1))
            mel_start = int(round(start * ratio))
            mel_batch.append(fit_length(mels[index][mel_start:mel_start + crop_mel]
                                        if mel_start < mels[index].shape[0] else mels[index][-1:],
                                        crop_mel))
            target_batch.append(fit_length(targets[index][start:start + crop_out], crop_out))
        mel_t = torch.from_numpy(np.stack(mel_batch))
        target_t = torch.from_numpy(np.stack(target_batch))
        pred = student.forward_normalized(mel_t, crop_out)
        loss = nn.functional.mse_loss(pred, (target_t - student.target_mean) / student.target_std)
        if token_scale is not None:
            mean, std = token_scale
            pred_tokens = token_map(pred * student.target_std + student.target_mean)
            with torch.no_grad():
                target_tokens = token_map(target_t)
            token_loss = nn.functional.mse_loss((pred_tokens - mean) / std,
                                                (target_tokens - mean) / std)
            loss = token_loss + feature_weight * loss
            if identity is not None:
                with torch.no_grad():
                    target_match = identity.logits(target_tokens).softmax(-1)
                loss = loss + identity_weight * nn.functional.kl_div(
                    identity.logits(pred_tokens).log_softmax(-1), target_match,
                    reduction="batchmean")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if on_step is not None:
            on_step(step, losses[-1])
    return student.eval().requires_grad_(False), losses
