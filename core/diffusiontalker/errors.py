"""Exceptions with messages meant for the user.

Every error the core raises on bad input is a :class:`DiffusionTalkerError`; its message says
what is wrong and, where possible, what to do. The Blender add-on shows it as-is.
"""


class DiffusionTalkerError(Exception):
    """Base class: the message is shown to the user unchanged."""


class AudioError(DiffusionTalkerError):
    """Audio is missing, empty, silent where speech is required, or not decodable."""


class CheckpointError(DiffusionTalkerError):
    """A checkpoint is missing, truncated, not safetensors, or inconsistent."""


class TopologyError(DiffusionTalkerError):
    """A mesh or template does not match what the model drives."""


class IdentityError(DiffusionTalkerError):
    """An unknown identity name or an invalid blend."""


class DatasetError(DiffusionTalkerError):
    """A dataset folder or file is malformed."""


class CancelledError(DiffusionTalkerError):
    """A job was cancelled by the user; nothing was written."""
