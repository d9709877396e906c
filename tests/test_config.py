"""The torch-free configs: strict round trips, clear errors, resume checks, newer formats."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from diffusiontalker.config import ModelConfig, TrainConfig, check_resume
from diffusiontalker.errors import CheckpointError, ConfigError


def _model_dict() -> dict:
    from diffusiontalker.network.factory import random_model

    return random_model().config.to_dict()


def test_model_config_round_trips_exactly():
    d = _model_dict()
    again = ModelConfig.from_dict(json.loads(json.dumps(d)))
    assert again.to_dict() == d
    assert again.diffusion.default_steps == 4 and again.motion.space == "channels"


def test_unknown_missing_and_wrong_keys_are_clear_errors():
    d = _model_dict()
    d["denoiser"]["flash"] = True
    with pytest.raises(ConfigError, match=r"DenoiserConfig has unknown keys \['flash'\].*upgrade"):
        ModelConfig.from_dict(d)
    d = _model_dict()
    del d["motion"]["space"]
    with pytest.raises(ConfigError, match=r"MotionSpec lacks the required keys \['space'\]"):
        ModelConfig.from_dict(d)
    d = _model_dict()
    d["diffusion"]["default_steps"] = 0
    with pytest.raises(ConfigError, match="default_steps must be a whole number >= 1"):
        ModelConfig.from_dict(d)
    with pytest.raises(ConfigError, match="must be a JSON object"):
        ModelConfig.from_dict([1, 2])


def test_configs_import_without_torch():
    code = ("import sys; import diffusiontalker.config, diffusiontalker.identity_choice, "
            "diffusiontalker.runtime.talker; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_resume_refuses_changed_settings_and_allows_longer_runs():
    saved = TrainConfig(data="d", out="o", steps=100, lr=2e-4)
    check_resume(saved, TrainConfig(data="d", out="o", steps=500, lr=2e-4, log_every=5))
    with pytest.raises(ConfigError, match=r"cannot resume with different settings \(lr: saved"):
        check_resume(saved, TrainConfig(data="d", out="o", steps=500, lr=1e-3))


def test_a_checkpoint_from_a_newer_format_says_to_upgrade(tmp_path):
    from safetensors.torch import save_file

    from diffusiontalker.network import checkpoint
    from diffusiontalker.network.factory import random_model

    path = checkpoint.save_model(random_model(), tmp_path / "m.safetensors")
    _, meta = checkpoint.read_header(path)
    tensors = checkpoint.load_state(path, checkpoint.FORMAT)[0]
    save_file(tensors, str(tmp_path / "new.safetensors"), metadata={**meta, "format_version": "99"})
    with pytest.raises(CheckpointError, match="newer diffusiontalker.*upgrade"):
        checkpoint.load_model(tmp_path / "new.safetensors")
