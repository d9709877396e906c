"""An auxiliary lip-aperture loss with closures emphasised (a lip contact loss).

The diffusion loss weighs every channel of every frame alike, so a bilabial closure — a few
frames in which ``jawOpen − mouthClose`` and the lips' own opening must all reach zero
together — costs little when it is missed by a fraction of each channel's range, and real
voices then get lips that come close without touching. Imitator (Thambiraja et al., ICCV
2023, "Imitator: Personalized Speech-driven 3D Facial Animation", § 3.3) adds a lip contact
loss on bilabial frames for this reason. Here, for channel models, the effective lip opening

    a(m) = max(jawOpen − mouthClose, 0) + ½(mouthLowerDownL + R) + ½(mouthUpperUpL + R)

(the opening ``evaluation.phone_checks`` scores on real speech) is computed from the decoded
prediction and the target, and

    L_lip = mean_t w_t · (a(m̂_t) − a(m_t))²,   w_t = 1 + boost · [a(m_t) < closed]

over real frames: every frame's aperture counts, frames whose target lips touch count
``1 + boost`` times. The total teacher loss is ``L_diffusion + λ_id · InfoNCE + λ_lip · L_lip``.
It needs x-prediction (``x̂`` is the network's output) and the opening's channels.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

OPENING_CHANNELS = ("jawOpen", "mouthClose", "mouthLowerDownLeft", "mouthLowerDownRight",
                    "mouthUpperUpLeft", "mouthUpperUpRight")
CLOSED = 0.02  # target opening below this: the lips touch (the corpus holds ~0 at closures)


def opening_columns(channels: Sequence[str]) -> list[int] | None:
    """Columns of :data:`OPENING_CHANNELS` in ``channels``; None when any is missing."""
    index = {name: k for k, name in enumerate(channels)}
    if not all(name in index for name in OPENING_CHANNELS):
        return None
    return [index[name] for name in OPENING_CHANNELS]


def lip_opening(motion: torch.Tensor, columns: Sequence[int]) -> torch.Tensor:
    """The effective lip opening ``(…, T)`` of channel motion ``(…, T, K)``."""
    jaw, close, low_l, low_r, up_l, up_r = (motion[..., c] for c in columns)
    return torch.relu(jaw - close) + 0.5 * (low_l + low_r) + 0.5 * (up_l + up_r)


def lip_contact_loss(pred_motion: torch.Tensor, motion: torch.Tensor, mask: torch.Tensor,
                     columns: Sequence[int], boost: float = 4.0) -> torch.Tensor:
    """``L_lip`` of the module docstring for decoded channel motion ``(B, T, K)`` and the real
    frames ``mask (B, T)``."""
    target = lip_opening(motion, columns)
    weight = 1.0 + boost * (target < CLOSED).to(target.dtype)
    m = mask.to(target.dtype)
    error = weight * (lip_opening(pred_motion, columns) - target) ** 2 * m
    return error.sum() / m.sum().clamp_min(1.0)
