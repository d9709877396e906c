"""A checkpoint whose tensors hold NaN or infinity is refused at load, naming the tensor."""

from __future__ import annotations

import pytest
import torch

from diffusiontalker.errors import CheckpointError
from diffusiontalker.network.checkpoint import load_model, save_model
from diffusiontalker.network.factory import random_model


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused_by_name(tmp_path, bad):
    model = random_model("channels")
    name, tensor = next((n, t) for n, t in model.state_dict().items() if t.is_floating_point() and t.numel())
    with torch.no_grad():
        tensor.view(-1)[0] = bad
    path = save_model(model, tmp_path / "broken.safetensors")
    with pytest.raises(CheckpointError, match=rf"broken.safetensors: tensor '{name}' contains 1 "
                                              r".* value of \d+ .*training diverged"):
        load_model(path)
    fine = save_model(random_model("channels"), tmp_path / "fine.safetensors")
    assert load_model(fine) is not None
