"""The schedule's DDIM step and the DDIM loop run on numpy without torch (the ORT path)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from diffusiontalker.diffusion.samplers import sample_ddim
from diffusiontalker.diffusion.schedule import (
    alpha_sigma_value,
    ddim_step,
    log_snr_value,
    time_points,
)


def test_float_schedule_matches_the_torch_schedule():
    torch = pytest.importorskip("torch")
    from diffusiontalker.diffusion.schedule import alpha_sigma, log_snr, time_grid

    for u in (0.0, 1e-6, 0.125, 0.5, 0.875, 1.0):
        assert log_snr_value(u) == pytest.approx(float(log_snr(u)), abs=1e-12)
        a, s = alpha_sigma(u, torch.float64)
        assert alpha_sigma_value(u) == pytest.approx((float(a), float(s)), abs=1e-12)
    assert time_points(4) == time_grid(4).tolist() == [1.0, 0.75, 0.5, 0.25, 0.0]


def test_numpy_ddim_step_matches_the_tensor_time_step():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    z, x = rng.standard_normal((2, 2, 5, 3)).astype(np.float32)
    for u, s in ((1.0, 0.875), (0.5, 0.25), (0.125, 0.0)):
        ours = ddim_step(z, x, u, s)
        ref = ddim_step(torch.from_numpy(z), torch.from_numpy(x), torch.tensor(u), torch.tensor(s))
        assert isinstance(ours, np.ndarray) and ours.dtype == np.float32
        np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-6, atol=1e-6)


def test_numpy_loop_matches_the_torch_loop():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    noise = rng.standard_normal((1, 6, 4)).astype(np.float32)
    target = np.linspace(-1, 1, 24, dtype=np.float32).reshape(1, 6, 4)
    seen_u = []

    def denoise_np(z, u, cond):
        seen_u.append(u.copy())
        return target + 0.1 * np.tanh(z) * u[:, None, None]

    def denoise_torch(z, u, cond):
        return torch.from_numpy(target) + 0.1 * torch.tanh(z) * u[:, None, None]

    ours = sample_ddim(denoise_np, noise.shape, 8, noise=noise)
    ref = sample_ddim(denoise_torch, noise.shape, 8, noise=torch.from_numpy(noise))
    assert isinstance(ours, np.ndarray) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-5, atol=1e-6)
    assert [float(u[0]) for u in seen_u] == time_points(8)[:-1]


def test_the_numpy_loop_runs_where_torch_cannot_be_imported(repo_root):
    code = (
        "import sys; sys.modules['torch'] = None\n"  # makes `import torch` raise ImportError
        "import numpy as np\n"
        "from diffusiontalker.diffusion.samplers import sample_ddim\n"
        "out = sample_ddim(lambda z, u, c: 0.5 * z, (1, 3, 2), 4, noise=np.ones((1, 3, 2), np.float32))\n"
        "print(out.dtype, out.shape, 'torch' in sys.modules and sys.modules['torch'] is not None)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": str(repo_root / "core")})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["float32", "(1,", "3,", "2)", "False"]
