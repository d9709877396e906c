"""The lip contact loss (training/lip_loss.py): what it measures and that training uses it."""

from __future__ import annotations

import json

import pytest
import torch
from model_toy_data import write_toy_dataset  # noqa: E402

from diffusiontalker.channels import CHANNELS
from diffusiontalker.errors import ConfigError
from diffusiontalker.training.lip_loss import lip_contact_loss, lip_opening, opening_columns
from diffusiontalker.training.teacher import TrainConfig, train

COLUMNS = opening_columns(CHANNELS)


def motion_with_opening(jaw: list[float], close: list[float]) -> torch.Tensor:
    m = torch.zeros(1, len(jaw), len(CHANNELS))
    m[0, :, CHANNELS.index("jawOpen")] = torch.tensor(jaw)
    m[0, :, CHANNELS.index("mouthClose")] = torch.tensor(close)
    return m


def test_the_opening_is_the_jaw_not_cancelled_by_mouth_close_plus_the_lips():
    m = motion_with_opening([0.3, 0.2, 0.1], [0.1, 0.3, 0.1])
    m[0, 2, CHANNELS.index("mouthLowerDownLeft")] = 0.2
    torch.testing.assert_close(lip_opening(m, COLUMNS)[0], torch.tensor([0.2, 0.0, 0.1]))
    assert opening_columns(["jawOpen", "mouthClose"]) is None


def test_a_missed_closure_costs_more_than_the_same_error_on_an_open_mouth():
    target = motion_with_opening([0.3, 0.06], [0.0, 0.06])  # open, then lips touching
    mask = torch.ones(1, 2)
    miss_closure = motion_with_opening([0.3, 0.16], [0.0, 0.06])  # 0.1 off at the closure
    miss_open = motion_with_opening([0.4, 0.06], [0.0, 0.06])  # 0.1 off on the open frame
    assert lip_contact_loss(target, target, mask, COLUMNS) == 0
    closure = lip_contact_loss(miss_closure, target, mask, COLUMNS, boost=4.0)
    opened = lip_contact_loss(miss_open, target, mask, COLUMNS, boost=4.0)
    torch.testing.assert_close(closure, 5 * opened)
    padded = lip_contact_loss(miss_closure, target, torch.tensor([[1.0, 0.0]]), COLUMNS)
    assert padded == 0  # padding frames never count


def test_training_with_the_lip_loss_logs_it_and_needs_x_prediction(tmp_path):
    data = write_toy_dataset(tmp_path / "data", "channels")
    cfg = TrainConfig(data=str(data), out=str(tmp_path / "t.safetensors"), preset="tiny",
                      steps=4, batch_size=4, window_seconds=1.0, log_every=2, val_every=100,
                      save_every=100, lip_weight=5.0)
    train(cfg, show_progress=False)
    records = [json.loads(line) for line in open(tmp_path / "t.train.jsonl")]
    logged = [r for r in records if "lip" in r]
    assert logged and all(r["lip"] >= 0 for r in logged)
    with pytest.raises(ConfigError, match="x-prediction"):
        train(TrainConfig(data=str(data), out=str(tmp_path / "v.safetensors"), preset="tiny",
                          steps=2, batch_size=4, window_seconds=1.0, prediction="v",
                          lip_weight=5.0), show_progress=False)
