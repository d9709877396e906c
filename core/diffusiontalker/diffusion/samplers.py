"""Samplers: plain functions over any ``denoise(z, u, cond) -> x̂`` callable.

A sampler never knows which network it drives (k-diffusion style). DDIM with η = 0 on the
trailing grid ``u_i = i/N`` (``schedule.time_grid``): the teacher respaced to few steps is
this same function with a smaller ``steps``.

Given ``noise`` as a numpy array and a numpy ``denoise``, the loop runs without torch (the
ONNX Runtime path, ``runtime/onnx_talker.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import CancelledError
from .schedule import ddim_step, time_points

if TYPE_CHECKING:
    import torch
    from torch import Tensor

Denoise = Callable[[Any, Any, Any], Any]  # (z, u (B,), cond) -> x_hat, torch or numpy


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
    dtype: torch.dtype | None = None,
) -> Tensor:
    """Deterministic DDIM (Song et al. 2021, η = 0) from pure noise at ``u = 1`` to ``u = 0``.

    ``noise`` (shape ``shape``) fixes the start; otherwise it is drawn with ``generator``, so
    a seeded generator gives the same result every time. ``progress(fraction)`` is called
    after each step; ``cancel()`` is checked before each step and raises ``CancelledError``.
    """
    if noise is None:
        import torch

        noise = torch.randn(shape, generator=generator, device=device,
                            dtype=dtype or torch.float32)
    elif tuple(noise.shape) != tuple(shape):
        raise ValueError(f"noise has shape {tuple(noise.shape)}, expected {tuple(shape)}")
    grid = time_points(steps)
    z = noise
    batch = shape[0]
    for i in range(steps):
        if cancel is not None and cancel():
            raise CancelledError("generation was cancelled")
        u, s = grid[i], grid[i + 1]
        if isinstance(z, np.ndarray):
            u_batch = np.full((batch,), u, dtype=z.dtype)
        else:
            import torch

            u_batch = torch.full((batch,), u, device=z.device, dtype=z.dtype)
        x_hat = denoise(z, u_batch, cond)
        z = ddim_step(z, x_hat, u, s)
        if progress is not None:
            progress((i + 1) / steps)
    return z
