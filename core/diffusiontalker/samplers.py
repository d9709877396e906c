"""Samplers: plain functions over any ``denoise(z, u, cond) -> x̂`` callable.

A sampler never knows which network it drives (k-diffusion style). DDIM with η = 0 on the
trailing grid ``u_i = i/N`` (``schedule.time_grid``): the teacher respaced to few steps is
this same function with a smaller ``steps``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from .errors import CancelledError
from .schedule import ddim_step, time_grid

Denoise = Callable[[Tensor, Tensor, Any], Tensor]


def sample_ddim(
    denoise: Denoise,
    shape: tuple[int, ...],
    steps: int,
    *,
    generator: torch.Generator | None = None,
    noise: Tensor | None = None,
    cond: Any = None,
    progress: Callable[[float], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Deterministic DDIM (Song et al. 2021, η = 0) from pure noise at ``u = 1`` to ``u = 0``.

    ``noise`` (shape ``shape``) fixes the start; otherwise it is drawn with ``generator``, so
    a seeded generator gives the same result every time. ``progress(fraction)`` is called
    after each step; ``cancel()`` is checked before each step and raises ``CancelledError``.
    """
    if noise is None:
        noise = torch.randn(shape, generator=generator, device=device, dtype=dtype)
    elif tuple(noise.shape) != tuple(shape):
        raise ValueError(f"noise has shape {tuple(noise.shape)}, expected {tuple(shape)}")
    grid = time_grid(steps)
    z = noise
    batch = shape[0]
    for i in range(steps):
        if cancel is not None and cancel():
            raise CancelledError("generation was cancelled")
        u, s = float(grid[i]), float(grid[i + 1])
        u_batch = torch.full((batch,), u, device=z.device, dtype=z.dtype)
        x_hat = denoise(z, u_batch, cond)
        z = ddim_step(z, x_hat, u, s)
        if progress is not None:
            progress((i + 1) / steps)
    return z
