"""The bench's matrix-multiply limit: counted FLOPs, the matmul rate and the ratio (no timings
are asserted, only that they are reported)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from diffusiontalker.evaluation.bench import (
    add_limit_ratio,
    count_flops,
    generate_flops,
    matmul_rate,
)
from diffusiontalker.evaluation.bench import test_speech as speech
from diffusiontalker.network.denoiser import Denoiser, DenoiserConfig

DATA = Path(__file__).resolve().parents[1] / "runtime" / "data"


def test_count_flops_counts_linear_layers_and_cpu_attention():
    linear = torch.nn.Linear(16, 8)
    x = torch.randn(5, 16)
    assert count_flops(lambda: linear(x)) == 2 * 5 * 16 * 8
    q = k = v = torch.randn(1, 2, 7, 4)
    bias = torch.zeros(1, 2, 7, 7)  # a float mask: the CPU flash kernel, unknown to torch's table
    attention = count_flops(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v, bias))
    assert attention == 2 * (2 * 2 * 7 * 7 * 4)


def test_a_denoiser_step_costs_its_analytic_flops_with_a_banded_cross_attention():
    cfg = DenoiserConfig(in_dim=6, audio_dim=8, id_dim=4, d_model=16, num_layers=2, num_heads=2,
                         ff_mult=4, align_window=2)
    net = Denoiser(cfg).eval()
    b, t, d = 1, 50, cfg.d_model
    inputs = (torch.randn(b, t, 6), torch.rand(b), torch.randn(b, t, 8), torch.randn(b, 4))
    per_frame = cfg.in_dim * d + cfg.audio_dim * d + d * cfg.in_dim + cfg.num_layers * (
        4 * d * d + 4 * d * d + 2 * cfg.ff_mult * d * d)  # self, cross and feed-forward
    per_item = 2 * d * d + cfg.id_dim * d + cfg.num_layers * 4 * d * d  # time MLP, identity, FiLM
    self_attention = cfg.num_layers * 2 * t * t * d
    expected = 2 * (b * t * per_frame + b * per_item + b * self_attention)
    with torch.no_grad():
        assert count_flops(lambda: net(*inputs)) == expected  # no T x T cross-attention product


def test_generate_flops_split_into_a_fixed_and_a_per_step_part():
    from diffusiontalker.api import load_model

    talker = load_model(DATA / "tiny_channels.safetensors")
    wave = speech(1.5)
    fixed, per_step = generate_flops(talker, wave)
    assert fixed > 0 and per_step > 0
    three = count_flops(lambda: talker.generate(wave, 16000, steps=3))
    assert three == fixed + 3 * per_step


def test_the_int8_encoders_products_count_as_those_of_the_float_encoder():
    """The shipped model reads audio with its export's int8 graph (ONNX Runtime, invisible to
    torch's counter); its products are counted on the float encoder it quantises."""
    from diffusiontalker.api import DEFAULT_CHECKPOINT, load_model
    from diffusiontalker.audio.build import build_frontend
    from diffusiontalker.runtime.onnx_frontend import ExportedFrontend

    talker = load_model(DEFAULT_CHECKPOINT)
    assert isinstance(talker.frontend, ExportedFrontend)
    wave = speech(2.0)
    fixed, _ = generate_flops(talker, wave)
    float_encoder = build_frontend(talker.config.audio)
    encoder = count_flops(lambda: float_encoder(wave))
    assert encoder > 1e9  # Whisper tiny on 2 s: ~1.9 GFLOP
    without = count_flops(lambda: talker.generate(wave, 16000, steps=1)) - (
        count_flops(lambda: talker.generate(wave, 16000, steps=2))
        - count_flops(lambda: talker.generate(wave, 16000, steps=1)))
    assert fixed == without + encoder


def test_limit_ratio_is_the_median_over_the_time_of_the_flops_at_the_rate():
    row = add_limit_ratio({"name": "s", "steps": 4, "median_s": 0.5, "cpu_median_s": 0.44},
                          (2e9, 0.5e9), 10.0)
    assert row["gflop"] == 4.0 and row["limit_s"] == 0.4 and row["limit_ratio"] == 1.25
    assert row["cpu_limit_ratio"] == 1.1
    rate = matmul_rate(((8, 16, 8), (16, 16, 16)), repeats=3)
    assert rate["gflops"] > 0 and tuple(rate["shape"]) in {(8, 16, 8), (16, 16, 16)}


def test_bench_reports_the_limit_ratio(capsys):
    from diffusiontalker.cli import main

    assert main(["bench", "--checkpoint", str(DATA / "tiny_channels.safetensors"), "--seconds", "1",
                 "--repeats", "1", "--threads", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["threads"] == 1 and report["matmul_gflops"] > 0
    (row,) = report["results"]
    assert row["gflop"] > 0 and row["limit_ratio"] == pytest.approx(
        row["median_s"] / row["limit_s"], rel=0.02)
    assert row["cpu_limit_ratio"] == pytest.approx(row["cpu_median_s"] / row["limit_s"], rel=0.02)
    assert main(["bench", "--checkpoint", str(DATA / "tiny_channels.safetensors"), "--seconds", "1",
                 "--repeats", "1"]) == 0
    assert "at the limit" in capsys.readouterr().out


def test_bench_times_takes_together_against_singles(capsys):
    from diffusiontalker.cli import main

    assert main(["bench", "--checkpoint", str(DATA / "tiny_channels.safetensors"), "--seconds", "1",
                 "--repeats", "1", "--threads", "1", "--takes", "3", "--json"]) == 0
    takes = json.loads(capsys.readouterr().out)["takes"]
    assert takes["takes"] == 3 and takes["together_s"] > 0 and takes["singles_s"] > 0
    assert takes["ratio"] == pytest.approx(takes["together_s"] / takes["singles_s"], rel=0.02)
