"""Schedule, DDIM and the progressive-distillation identities (notes/diffusion.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from diffusiontalker.diffusion.samplers import sample_ddim
from diffusiontalker.diffusion.schedule import (
    alpha_sigma,
    ddim_step,
    diffuse,
    distillation_target,
    eps_from_x,
    log_snr,
    loss_weight,
    time_grid,
    v_target,
    x_from_v,
)
from diffusiontalker.errors import CancelledError

torch.set_default_dtype(torch.float32)


def test_cosine_schedule_values_and_clipping():
    u = torch.tensor([0.1, 0.25, 0.5, 0.9], dtype=torch.float64)
    a, s = alpha_sigma(u, dtype=torch.float64)
    assert torch.allclose(a, torch.cos(math.pi * u / 2), atol=1e-12)
    assert torch.allclose(s, torch.sin(math.pi * u / 2), atol=1e-12)
    assert torch.allclose(a**2 + s**2, torch.ones_like(u), atol=1e-12)
    assert float(log_snr(0.0)) == 20.0 and float(log_snr(1.0)) == -20.0
    a1, s1 = alpha_sigma(1.0, dtype=torch.float64)
    assert 0 < float(a1) < 1e-4 and float(s1) == pytest.approx(1.0)


def test_time_grid_is_trailing_and_includes_one():
    g = time_grid(4)
    assert g.tolist() == [1.0, 0.75, 0.5, 0.25, 0.0]
    with pytest.raises(ValueError):
        time_grid(0)


def test_v_parameterisation_round_trip():
    gen = torch.Generator().manual_seed(0)
    x, eps = torch.randn(3, 5, 4, generator=gen), torch.randn(3, 5, 4, generator=gen)
    u = torch.tensor([0.2, 0.5, 0.95])
    z = diffuse(x, u, eps)
    v = v_target(x, eps, u)
    assert torch.allclose(x_from_v(z, v, u), x, atol=1e-5)
    assert torch.allclose(eps_from_x(z, x, u), eps, atol=1e-4)


def _reference_ddim_eps_form(z_t, eps_hat, abar_t, abar_prev):
    """DDIM paper (Song et al. 2021) eq. 12 with σ=0, in ε-form and ᾱ = α² (numpy, float64)."""
    x0_pred = (z_t - np.sqrt(1 - abar_t) * eps_hat) / np.sqrt(abar_t)
    direction = np.sqrt(1 - abar_prev) * eps_hat
    return np.sqrt(abar_prev) * x0_pred + direction


@pytest.mark.parametrize("u,s", [(1.0, 0.75), (0.6, 0.35), (0.3, 0.01)])
def test_ddim_step_matches_independent_eps_form(u, s):
    rng = np.random.default_rng(1)
    x_hat = rng.standard_normal((2, 7, 3))
    z = rng.standard_normal((2, 7, 3))
    a_u, s_u = (float(t) for t in alpha_sigma(u, torch.float64))
    a_s, _ = (float(t) for t in alpha_sigma(s, torch.float64))
    eps_hat = (z - a_u * x_hat) / s_u
    ref = _reference_ddim_eps_form(z, eps_hat, a_u**2, a_s**2)
    ours = ddim_step(torch.from_numpy(z), torch.from_numpy(x_hat), u, s).numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-9)


def test_ddim_step_to_zero_returns_x_hat():
    z, x_hat = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    assert torch.equal(ddim_step(z, x_hat, 0.25, 0.0), x_hat)


def _setup(n_steps, i, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(4, 6, 3, generator=gen, dtype=torch.float64)
    eps = torch.randn(4, 6, 3, generator=gen, dtype=torch.float64)
    u = i / n_steps
    return x, eps, u, u - 0.5 / n_steps, u - 1.0 / n_steps


@pytest.mark.parametrize("i", [1, 2, 5, 8])
def test_true_x_denoiser_gives_target_equal_to_x(i):
    x, eps, u, u1, u2 = _setup(8, i)
    z_u = diffuse(x, u, eps)
    z_u1 = ddim_step(z_u, x, u, u1)
    z_u2 = ddim_step(z_u1, x, u1, u2)
    x_tilde = distillation_target(z_u, z_u2, x, u, u2)
    assert torch.allclose(x_tilde, x, atol=1e-8)


@pytest.mark.parametrize("i", [2, 3, 8])
def test_two_teacher_steps_equal_one_student_step_with_target(i):
    x, eps, u, u1, u2 = _setup(8, i, seed=3)
    teacher = lambda z, t: torch.tanh(z) * 0.7 + 0.1 * t  # noqa: E731 — any function will do
    z_u = diffuse(x, u, eps)
    z_u1 = ddim_step(z_u, teacher(z_u, u), u, u1)
    x_hat2 = teacher(z_u1, u1)
    z_u2 = ddim_step(z_u1, x_hat2, u1, u2)
    x_tilde = distillation_target(z_u, z_u2, x_hat2, u, u2)
    assert torch.allclose(ddim_step(z_u, x_tilde, u, u2), z_u2, atol=1e-9)


def test_last_interval_target_is_teachers_second_x_hat():
    x, eps, u, u1, u2 = _setup(8, 1, seed=5)
    assert u2 == 0.0
    z_u = diffuse(x, u, eps)
    x_hat1 = torch.sin(z_u)
    z_u1 = ddim_step(z_u, x_hat1, u, u1)
    x_hat2 = torch.cos(z_u1)
    z_u2 = ddim_step(z_u1, x_hat2, u1, u2)
    x_tilde = distillation_target(z_u, z_u2, x_hat2, u, u2)
    assert torch.equal(x_tilde, x_hat2)
    assert torch.equal(ddim_step(z_u, x_tilde, u, u2), z_u2)


def test_loss_weights_are_never_plain_snr():
    assert float(loss_weight(0.99)) == pytest.approx(1.0)
    assert float(loss_weight(0.99, "snr_plus_one")) > 1.0
    with pytest.raises(ValueError, match="unknown loss weighting"):
        loss_weight(0.5, "snr")


def test_sampler_is_deterministic_for_a_seed_and_reports_progress():
    target = torch.linspace(-1, 1, 12).reshape(1, 4, 3)
    denoise = lambda z, u, cond: target + 0.1 * torch.tanh(z)  # noqa: E731
    seen = []
    a = sample_ddim(denoise, (1, 4, 3), 5, generator=torch.Generator().manual_seed(7),
                    progress=seen.append)
    b = sample_ddim(denoise, (1, 4, 3), 5, generator=torch.Generator().manual_seed(7))
    c = sample_ddim(denoise, (1, 4, 3), 5, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert seen == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])


def test_sampler_with_exact_denoiser_returns_data():
    target = torch.randn(2, 5, 3)
    out = sample_ddim(lambda z, u, c: target, (2, 5, 3), 3, noise=torch.randn(2, 5, 3))
    assert torch.equal(out, target)


def test_sampler_cancel_raises():
    calls = []
    with pytest.raises(CancelledError, match="cancelled"):
        sample_ddim(lambda z, u, c: calls.append(1) or z, (1, 2, 2), 4,
                    cancel=lambda: len(calls) >= 2)
    assert len(calls) == 2
