"""DiffusionTalker: speech-driven 3D facial animation with diffusion.

An open implementation of DiffusionTalker (Chen et al., arXiv 2311.16565 and 2503.18159):
a speech-conditioned diffusion model of facial motion, learnable identity embeddings trained
contrastively against audio (the identity library), and progressive distillation of a
many-step teacher into an 8-step student.

This package never imports ``bpy``; importing it is cheap (torch is imported lazily by the
modules that need it).
"""

__version__ = "0.1.0"

from .errors import (  # noqa: F401  (re-exported public API)
    AudioError,
    CancelledError,
    CheckpointError,
    DatasetError,
    DiffusionTalkerError,
    IdentityError,
    TopologyError,
)
