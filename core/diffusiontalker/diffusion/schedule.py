"""Cosine variance-preserving diffusion schedule in continuous time, and the DDIM step.

Notation of docs/model.md (Kingma et al. 2021; Salimans & Ho 2022, arXiv 2202.00512):
time ``u ∈ [0, 1]``, ``z_u = α_u x + σ_u ε`` with ``α_u² + σ_u² = 1``. The cosine schedule
``α_u = cos(πu/2)``, ``σ_u = sin(πu/2)`` is used through its log-SNR
``λ_u = log(α_u²/σ_u²)``, clipped to ``[−20, 20]`` so that ``σ_0`` and ``α_1`` stay finite and
positive: ``α² = sigmoid(λ)``, ``σ² = sigmoid(−λ)``.

The schedule values at plain-float times (``log_snr_value``, ``alpha_sigma_value``,
``time_points``) and ``ddim_step`` with float times need no torch: the step's arithmetic works
on numpy arrays too, so the torch-free ONNX Runtime sampler (``runtime/onnx_talker.py``)
runs this same maths. Everything else needs torch.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError


class _LazyTorch:
    """``torch``, imported on first use: the float-time functions never touch it, so the
    ONNX Runtime path neither needs torch nor pays for importing it."""

    def __getattr__(self, name: str) -> Any:
        import torch as real_torch

        return getattr(real_torch, name)


torch = _LazyTorch()

if TYPE_CHECKING:
    from torch import Tensor

LOGSNR_MIN = -20.0
LOGSNR_MAX = 20.0

TimeLike = Any  # a float, or a torch Tensor of times


def log_snr_value(u: float) -> float:
    """``λ_u`` of :func:`log_snr` at a plain-float time (float64 maths, no torch)."""
    u = min(max(float(u), 0.0), 1.0)
    half_pi_u = 0.5 * math.pi * u
    lam = 2.0 * (math.log(max(math.cos(half_pi_u), 1e-300))
                 - math.log(max(math.sin(half_pi_u), 1e-300)))
    return min(max(lam, LOGSNR_MIN), LOGSNR_MAX)


def alpha_sigma_value(u: float) -> tuple[float, float]:
    """``(α_u, σ_u)`` of :func:`alpha_sigma` at a plain-float time (no torch)."""
    lam = log_snr_value(u)
    return math.sqrt(1.0 / (1.0 + math.exp(-lam))), math.sqrt(1.0 / (1.0 + math.exp(lam)))


def _as_tensor(u: TimeLike, like: Tensor | None = None) -> Tensor:
    """Times as float64 on the CPU (the schedule maths is tiny, and MPS has no float64);
    :func:`_expand` moves the results to the data's device and dtype."""
    if isinstance(u, torch.Tensor):
        return u.detach().to("cpu").to(torch.float64)
    return torch.tensor(float(u), dtype=torch.float64)


def log_snr(u: TimeLike) -> Tensor:
    """Clipped log-SNR of the cosine schedule: ``λ_u = −2 log tan(πu/2)`` in ``[−20, 20]``."""
    u64 = _as_tensor(u).clamp(0.0, 1.0)
    half_pi_u = 0.5 * math.pi * u64
    lam = 2.0 * (torch.log(torch.cos(half_pi_u).clamp_min(1e-300))
                 - torch.log(torch.sin(half_pi_u).clamp_min(1e-300)))
    return lam.clamp(LOGSNR_MIN, LOGSNR_MAX)


def alpha_sigma(u: TimeLike, dtype: torch.dtype | None = None) -> tuple[Tensor, Tensor]:
    """``(α_u, σ_u)`` from the clipped log-SNR (``α² = sigmoid(λ)``, ``σ² = sigmoid(−λ)``);
    ``dtype`` defaults to float32."""
    dtype = dtype or torch.float32
    lam = log_snr(u)
    return torch.sigmoid(lam).sqrt().to(dtype), torch.sigmoid(-lam).sqrt().to(dtype)


def snr(u: TimeLike) -> Tensor:
    """Signal-to-noise ratio ``α²/σ² = exp(λ)`` (clipped)."""
    return torch.exp(log_snr(u))


def _expand(t: Tensor, like: Tensor) -> Tensor:
    """Broadcast a scalar or per-batch ``(B,)`` tensor against ``like`` ``(B, ...)``."""
    t = t.to(like.dtype).to(like.device)
    if t.ndim == 0:
        return t
    return t.reshape(t.shape[0], *([1] * (like.ndim - 1)))


def diffuse(x: Tensor, u: TimeLike, noise: Tensor) -> Tensor:
    """Forward process ``z_u = α_u x + σ_u ε``."""
    a, s = alpha_sigma(_as_tensor(u, x), torch.float64)
    return _expand(a, x) * x + _expand(s, x) * noise


def v_target(x: Tensor, noise: Tensor, u: TimeLike) -> Tensor:
    """Velocity ``v ≡ α ε − σ x`` (Salimans & Ho 2022, eq. in § 4)."""
    a, s = alpha_sigma(_as_tensor(u, x), torch.float64)
    return _expand(a, x) * noise - _expand(s, x) * x


def x_from_v(z: Tensor, v: Tensor, u: TimeLike) -> Tensor:
    """``x̂ = α z − σ v̂``."""
    a, s = alpha_sigma(_as_tensor(u, z), torch.float64)
    return _expand(a, z) * z - _expand(s, z) * v


def v_from_x(z: Tensor, x: Tensor, u: TimeLike) -> Tensor:
    """The ``v`` consistent with ``z`` and ``x̂``: ``v = (α z − x̂)/σ``."""
    a, s = alpha_sigma(_as_tensor(u, z), torch.float64)
    return (_expand(a, z) * z - x) / _expand(s, z)


def eps_from_x(z: Tensor, x: Tensor, u: TimeLike) -> Tensor:
    """``ε̂ = (z − α x̂)/σ``."""
    a, s = alpha_sigma(_as_tensor(u, z), torch.float64)
    return (z - _expand(a, z) * x) / _expand(s, z)


def ddim_step(z_u: Tensor, x_hat: Tensor, u: TimeLike, s: TimeLike) -> Tensor:
    """One deterministic DDIM step (η = 0) from ``u`` to ``s < u``.

    ``z_s = α_s x̂ + (σ_s/σ_u)(z_u − α_u x̂)`` (Song et al. 2021, eq. 12, in VP form). At
    ``s = 0`` it returns ``x̂`` exactly (the clean-data end of the chain). With plain-float
    ``u`` and ``s`` (the samplers' case) the arrays may be numpy or torch.
    """
    if _is_number(u) and _is_number(s):
        if s <= 0:
            return x_hat
        a_u, sig_u = alpha_sigma_value(u)
        a_s, sig_s = alpha_sigma_value(s)
        return a_s * x_hat + (sig_s / sig_u) * (z_u - a_u * x_hat)
    s_t = _as_tensor(s, z_u)
    a_u, sig_u = alpha_sigma(_as_tensor(u, z_u), torch.float64)
    a_s, sig_s = alpha_sigma(s_t, torch.float64)
    a_u, sig_u, a_s, sig_s = (_expand(t, z_u) for t in (a_u, sig_u, a_s, sig_s))
    z_s = a_s * x_hat + (sig_s / sig_u) * (z_u - a_u * x_hat)
    at_zero = _expand((s_t <= 0).to(z_u.dtype), z_u)
    return torch.where(at_zero > 0, x_hat, z_s)


def distillation_target(z_u: Tensor, z_target: Tensor, x_hat_last: Tensor,
                        u: TimeLike, s: TimeLike) -> Tensor:
    """The student's target ``x̃`` for one DDIM step ``u → s`` to land on ``z_target``.

    Progressive distillation (Salimans & Ho 2022, Alg. 2):
    ``x̃ = (z_s − (σ_s/σ_u) z_u) / (α_s − (σ_s/σ_u) α_u)``; on the last interval (``s = 0``)
    this is the teacher's second ``x̂`` (``x_hat_last``), since a DDIM step to 0 returns ``x̂``.
    """
    s_t = _as_tensor(s, z_u)
    a_u, sig_u = alpha_sigma(_as_tensor(u, z_u), torch.float64)
    a_s, sig_s = alpha_sigma(s_t, torch.float64)
    a_u, sig_u, a_s, sig_s = (_expand(t, z_u) for t in (a_u, sig_u, a_s, sig_s))
    ratio = sig_s / sig_u
    x_tilde = (z_target - ratio * z_u) / (a_s - ratio * a_u)
    at_zero = _expand((s_t <= 0).to(z_u.dtype), z_u)
    return torch.where(at_zero > 0, x_hat_last, x_tilde)


def _is_number(u: Any) -> bool:
    return isinstance(u, (int, float))


def time_points(steps: int) -> list[float]:
    """Trailing time grid ``u_i = i/N`` for ``i = N … 0`` as floats (starts at ``u = 1``)."""
    if steps < 1:
        raise ConfigError(f"the number of sampling steps must be at least 1, got {steps}")
    return [i / steps for i in range(steps, -1, -1)]


def time_grid(steps: int) -> Tensor:
    """:func:`time_points` as a float64 tensor."""
    return torch.tensor(time_points(steps), dtype=torch.float64)


def loss_weight(u: TimeLike, kind: str = "truncated_snr") -> Tensor:
    """Distillation loss weight ``w(λ_u)``: ``max(SNR, 1)`` or ``1 + SNR`` (never ``SNR``)."""
    ratio = snr(u)
    if kind == "truncated_snr":
        return ratio.clamp_min(1.0)
    if kind == "snr_plus_one":
        return 1.0 + ratio
    if kind == "constant":
        return torch.ones_like(ratio)
    raise ConfigError(f"unknown loss weighting {kind!r}; use truncated_snr, snr_plus_one or constant")
