"""Keys: the KEYS format parsed strictly, turned into per-channel weights with eased edges, and
honoured by the sampler in every runtime (hard keys within 0.03, no extra jitter around them)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from diffusiontalker.direction.keys import Key, ease_weights, key_arrays, load_keys, parse_keys
from diffusiontalker.errors import ConfigError
from diffusiontalker.runtime.loader import load_talker

DATA = Path(__file__).resolve().parents[1] / "runtime" / "data"


def _wave(seconds: float = 4.0) -> np.ndarray:
    t = np.arange(int(16000 * seconds)) / 16000
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    return (0.1 * envelope * np.random.default_rng(5).standard_normal(t.size)).astype(np.float32)


def test_the_issue_example_parses():
    keys = parse_keys([{"frame": 30, "channels": {"jawOpen": 0.0}},
                       {"start": 60, "end": 70, "channels": {"mouthSmileLeft": 0.6,
                                                            "mouthSmileRight": 0.6},
                        "weight": 1.0}])
    assert keys[0] == Key(30, 30, {"jawOpen": 0.0}, 1.0)
    assert (keys[1].start, keys[1].end, keys[1].channels["mouthSmileRight"]) == (60, 70, 0.6)
    assert parse_keys([k.to_dict() for k in keys]) == keys


@pytest.mark.parametrize("bad, words", [
    ({"channels": {"jawOpen": 0}}, "needs"),
    ({"frame": -1, "channels": {"jawOpen": 0}}, "frame number"),
    ({"frame": 2.5, "channels": {"jawOpen": 0}}, "frame number"),
    ({"start": 9, "end": 3, "channels": {"jawOpen": 0}}, "before start"),
    ({"frame": 1, "start": 1, "end": 2, "channels": {"jawOpen": 0}}, "not both"),
    ({"frame": 1, "channels": {}}, "map channel names"),
    ({"frame": 1, "channels": {"jawOpen": float("nan")}}, "finite"),
    ({"frame": 1, "channels": {"jawOpen": 0}, "weight": 0}, "weight"),
    ({"frame": 1, "channels": {"jawOpen": 0}, "weight": 1.5}, "weight"),
    ({"frame": 1, "channels": {"jawOpen": 0}, "wieght": 1}, "unknown field"),
    ("frame 30", None),
])
def test_bad_keys_say_what_is_wrong(bad, words):
    with pytest.raises(ConfigError, match=words or "list"):
        parse_keys(bad if isinstance(bad, str) else [bad])


def test_load_keys_reads_json_and_reports_bad_files(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps([{"frame": 3, "channels": {"jawOpen": 0.2}}]))
    assert load_keys(path) == [Key(3, 3, {"jawOpen": 0.2})]
    path.write_text("[{")
    with pytest.raises(ConfigError, match="cannot read"):
        load_keys(path)
    with pytest.raises(ConfigError, match="not found"):
        load_keys(tmp_path / "missing.json")


def test_weights_are_full_inside_and_ease_out_symmetrically():
    weight, target = key_arrays([Key(10, 12, {"b": 0.7}, 0.5)], 30, ("a", "b"), 3)
    assert np.all(weight[:, 0] == 0) and np.all(weight[10:13, 1] == 0.5)
    assert np.allclose(weight[7:10, 1], weight[13:16, 1][::-1])
    assert 0 < weight[7, 1] < weight[8, 1] < weight[9, 1] < 0.5
    assert weight[6, 1] == 0 and weight[16, 1] == 0
    assert np.all(target[7:16, 1] == np.float32(0.7))
    assert np.allclose(ease_weights(3), [0.8535534, 0.5, 0.1464466])


def test_overlapping_keys_the_stronger_wins_and_errors_name_the_problem():
    weight, target = key_arrays([Key(5, 5, {"a": 1.0}, 1.0), Key(7, 7, {"a": 0.0}, 1.0)], 12,
                                ("a",), 3)
    assert target[5, 0] == 1.0 and target[7, 0] == 0.0 and weight[6, 0] < 1.0
    with pytest.raises(ConfigError, match="no channel mouthX"):
        key_arrays([Key(1, 1, {"mouthX": 0.0})], 10, ("a",), 3)
    with pytest.raises(ConfigError, match="only 10 frames"):
        key_arrays([Key(10, 12, {"a": 0.0})], 10, ("a",), 3)


def _jitter(data: np.ndarray) -> float:
    return float(np.abs(np.diff(data, n=2, axis=0)).mean())


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_hard_keys_are_met_and_the_motion_around_them_stays_smooth(runtime):
    talker = load_talker(DATA / "tiny_channels.safetensors", "cpu", runtime)
    channels = talker.channels
    wave = _wave()
    free = talker.generate(wave, 16000, seed=3, steps=4)
    first, second = channels[0], channels[1]
    high = float(free.data[:, 0].max()) + 0.2
    keys = [{"frame": 30, "channels": {first: high}},
            {"start": 60, "end": 70, "channels": {second: 0.0}}]
    kept = talker.generate(wave, 16000, seed=3, steps=4, keys=keys)
    assert abs(kept.data[30, 0] - high) <= 0.03
    assert np.abs(kept.data[60:71, 1]).max() <= 0.03
    assert abs(free.data[30, 0] - high) > 0.1  # the key really moved the take
    assert np.abs(kept.data[80:, 2:] - free.data[80:, 2:]).max() < np.abs(free.data[:, 2:]).max()
    around = np.r_[24:37, 54:77]
    assert _jitter(kept.data[around][:, :2]) <= 1.5 * _jitter(free.data[:, :2]) + 1e-6


def test_soft_keys_move_part_of_the_way_and_runtimes_agree():
    wave = _wave()
    takes = {}
    for runtime in ("torch", "onnx"):
        talker = load_talker(DATA / "tiny_channels.safetensors", "cpu", runtime)
        name = talker.channels[0]
        free = talker.generate(wave, 16000, seed=3, steps=4)
        goal = float(free.data[40, 0]) + 1.0
        soft = talker.generate(wave, 16000, seed=3, steps=4,
                               keys=[{"frame": 40, "channels": {name: goal}, "weight": 0.5}])
        moved = soft.data[40, 0] - free.data[40, 0]
        assert 0.2 < moved < 0.8
        takes[runtime] = soft.data
    assert np.abs(takes["torch"] - takes["onnx"]).max() <= 1e-4


def test_keys_need_a_channel_model():
    talker = load_talker(DATA / "tiny_vertices.safetensors", "cpu", "onnx")
    with pytest.raises(ConfigError, match="keys need a model of channel weights"):
        talker.generate(_wave(1.0), 16000, steps=2, keys=[{"frame": 1, "channels": {"jawOpen": 0}}])


def test_a_key_can_set_its_own_ease():
    keys = parse_keys([{"frame": 10, "channels": {"a": 1.0}, "ease": 0},
                       {"frame": 20, "channels": {"a": 1.0}, "ease": 2}])
    weight, _ = key_arrays(keys, 30, ("a",), 8)
    assert weight[9, 0] == 0 and weight[11, 0] == 0 and weight[10, 0] == 1
    assert weight[18, 0] > 0 and weight[17, 0] == 0
    assert keys[1].to_dict()["ease"] == 2
    with pytest.raises(ConfigError, match="ease"):
        parse_keys([{"frame": 1, "channels": {"a": 0}, "ease": -2}])
