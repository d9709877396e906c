"""Building fresh models: from a dataset's description, or tiny random ones for tests.

``random_model`` gives a small, untrained but *non-trivial* model (its zero-initialised output
layer is re-drawn so the motion moves with the audio); the Blender add-on's tests and our own
use it to make checkpoints without training.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..audio.build import build_frontend
from ..audio.frontends import AudioEncoderConfig
from ..channels import CHANNELS
from .model import DiffusionTalker, MotionSpec, build_config


def new_model(motion: MotionSpec, names: Sequence[str], audio: AudioEncoderConfig | None = None,
              preset: str = "small", prediction: str = "x", template: np.ndarray | None = None,
              provenance: dict | None = None) -> DiffusionTalker:
    """An untrained ``DiffusionTalker`` for a motion space, speakers and an audio frontend."""
    audio = audio or AudioEncoderConfig(kind="mel")
    frontend = build_frontend(audio)
    config = build_config(motion, audio, frontend.dim, frontend.rate_hz, list(names), preset,
                          prediction, provenance=provenance)
    model = DiffusionTalker(config)
    if template is not None:
        t = torch.as_tensor(np.asarray(template, dtype=np.float32))
        if tuple(t.shape) != tuple(model.template.shape):
            from ..errors import TopologyError

            raise TopologyError(f"template has shape {tuple(t.shape)}, the model needs "
                                f"{tuple(model.template.shape)}")
        model.template.copy_(t)
    return model


def random_model(space: str = "channels", *, num_vertices: int = 50,
                 channels: Sequence[str] = CHANNELS, names: Sequence[str] = ("ada", "bo", "cy"),
                 fps: float = 30.0, preset: str = "tiny", seed: int = 0,
                 pca_components: int | None = None, n_mels: int = 16,
                 default_steps: int = 4) -> DiffusionTalker:
    """A tiny model with random weights (tests, fixtures). Deterministic for a seed."""
    torch.manual_seed(seed)
    if space == "channels":
        motion = MotionSpec("channels", fps, channels=list(channels))
        template = None
    else:
        motion = MotionSpec("vertices", fps, num_vertices=num_vertices, pca_components=pca_components)
        template = np.random.default_rng(seed).normal(size=(num_vertices, 3)).astype(np.float32)
    model = new_model(motion, names, AudioEncoderConfig(kind="mel", n_mels=n_mels), preset,
                      template=template, provenance={"kind": "random", "seed": seed})
    torch.nn.init.normal_(model.denoiser.out.weight, std=0.3)
    if space == "vertices":
        model.normalizer.scale.fill_(0.01)
    model.config.diffusion.default_steps = default_steps
    return model.eval()
