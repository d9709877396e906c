"""Rows added after training (a learnt identity) leave the neutral identity, and so every
other take, unchanged; the record survives the config round trip and removal."""

import torch

from diffusiontalker.config import IdentityConfig
from diffusiontalker.network.identity import IdentityLibrary


def test_adding_a_row_keeps_the_neutral_identity():
    library = IdentityLibrary(IdentityConfig(names=["ada", "bo", "cy"], dim=8, audio_dim=16,
                                             hidden=16))
    before = library.neutral().clone()
    library.add("mia", torch.full((8,), 5.0))
    assert torch.equal(library.neutral(), before)
    assert library.config.learned == ["mia"]
    again = IdentityConfig.from_dict(library.config.to_dict())
    assert again.learned == ["mia"]
    library.remove("mia")
    assert library.config.learned == [] and torch.equal(library.neutral(), before)
