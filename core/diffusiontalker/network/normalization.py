"""Motion normalisation: per-dimension mean/std, optionally through a fixed PCA basis.

The denoiser works in a normalised model space. For channel weights ``(T, K)`` and narrow
vertex data this is ``(m − μ)/s`` per dimension. For wide vertex data (``V*3`` in the
thousands) a fixed linear basis ``B ∈ R^{D×P}`` (the principal components of the training
motion) maps offsets to ``P`` coefficients, each scaled to unit variance, so the network's
output is ``P``-wide (measured: the wide output layer dominated the cost; docs/model.md).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class MotionNormalizer(nn.Module):
    """``encode: (…, D) -> (…, P)`` and ``decode: (…, P) -> (…, D)``; buffers saved with the model."""

    def __init__(self, dim: int, components: int | None = None):
        super().__init__()
        self.dim = dim
        self.components = components
        width = components or dim
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(width))
        self.register_buffer("basis", torch.eye(dim, components) if components else torch.zeros(0))

    @property
    def model_dim(self) -> int:
        """Width of the normalised space the denoiser sees (P with a basis, else D)."""
        return self.components or self.dim

    @torch.no_grad()
    def fit(self, frames: Tensor, eps: float = 1e-4) -> MotionNormalizer:
        """Fit statistics on training frames ``(N, D)`` (all training clips' frames stacked)."""
        frames = frames.reshape(-1, self.dim).double()
        mean = frames.mean(0)
        centred = frames - mean
        if self.components:
            k = min(self.components, centred.shape[0], self.dim)
            if self.dim > 1024:  # wide vertex data: randomised SVD (Halko et al. 2011)
                _, _, v = torch.svd_lowrank(centred, q=min(k + 10, min(centred.shape)), niter=4)
                top = v[:, :k]
            else:
                top = torch.linalg.svd(centred, full_matrices=False)[2][:k].T
            basis = torch.zeros(self.dim, self.components, dtype=torch.float64)
            basis[:, :k] = top
            coeffs = centred @ basis
            self.basis.copy_(basis.float())
            self.scale.copy_(coeffs.std(0).clamp_min(eps).float())
        else:
            self.scale.copy_(centred.std(0).clamp_min(eps).float())
        self.mean.copy_(mean.float())
        return self

    def encode(self, motion: Tensor) -> Tensor:
        centred = motion - self.mean
        if self.components:
            centred = centred @ self.basis
        return centred / self.scale

    def decode(self, x: Tensor) -> Tensor:
        y = x * self.scale
        if self.components:
            y = y @ self.basis.T
        return y + self.mean
