"""Data-parallel training with PyTorch's engine: two ``gloo`` processes under ``torchrun`` train
and distil like one process with the same global batch, resume after an interruption, and only
rank 0 writes (checkpoints, state, log)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from model_toy_data import write_toy_dataset  # noqa: E402
from safetensors.torch import load_file

from diffusiontalker.audio.build import build_frontend
from diffusiontalker.cli import main
from diffusiontalker.config import AudioEncoderConfig
from diffusiontalker.errors import ConfigError
from diffusiontalker.training.data import open_corpus
from diffusiontalker.training.distributed import Precision, Ranks, session

CORE = Path(__file__).resolve().parents[2] / "core"
TOLERANCE = 1e-5  # measured: 6e-8 (teacher, 6 steps) and 4e-8 (distillation, 2 rounds)
TRAIN = ["--config", "tiny", "--steps", "6", "--batch-size", "4", "--window", "1", "--lr", "3e-3",
         "--teacher-steps", "8"]

# Runs the CLI in each torchrun worker, noting which writers each rank called.
SPY = """
import json, os, sys
from diffusiontalker.network import checkpoint
from diffusiontalker.training import data
calls = []
def spy(name, write):
    def wrapper(*args, **kwargs):
        calls.append(name)
        return write(*args, **kwargs)
    return wrapper
checkpoint.save_state = spy("state", checkpoint.save_state)
checkpoint.save_model = spy("model", checkpoint.save_model)
data.JsonlLog.write = spy("log", data.JsonlLog.write)
from diffusiontalker.cli import main
code = main(sys.argv[1:])
with open(f"rank{os.environ['RANK']}.calls.json", "w") as f:
    json.dump(calls, f)
sys.exit(code)
"""


def torchrun(cwd: Path, *args: str) -> dict[int, list[str]]:
    """``torchrun --standalone --nproc_per_node 2`` of the CLI on the CPU (gloo); returns the
    writers each rank called."""
    (cwd / "spy.py").write_text(SPY)
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(CORE), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node", "2", "spy.py", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    calls = {r: json.loads((cwd / f"rank{r}.calls.json").read_text()) for r in (0, 1)}
    for r in (0, 1):
        (cwd / f"rank{r}.calls.json").unlink()
    return calls


def max_difference(a: Path, b: Path) -> float:
    left, right = load_file(str(a)), load_file(str(b))
    assert left.keys() == right.keys()
    return max(float((left[k].double() - right[k].double()).abs().max())
               for k in left if left[k].numel())


def losses(log: Path) -> list[float]:
    return [r["loss"] for r in map(json.loads, log.read_text().splitlines()) if "loss" in r]


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the commands below name files relative to tmp_path
    return write_toy_dataset(tmp_path / "data", "channels", clips_per_speaker=1)


def test_two_gloo_processes_train_like_one_and_only_rank_0_writes(data, tmp_path):
    assert main(["train", "data", "-o", "one.safetensors", *TRAIN]) == 0
    calls = torchrun(tmp_path, "train", "data", "-o", "two.safetensors", *TRAIN)
    assert max_difference(tmp_path / "one.safetensors", tmp_path / "two.safetensors") < TOLERANCE
    one, two = losses(tmp_path / "one.train.jsonl"), losses(tmp_path / "two.train.jsonl")
    assert len(one) == len(two) >= 1  # one record a logged step: rank 1 logged nothing
    np.testing.assert_allclose(one, two, rtol=TOLERANCE)
    assert calls[1] == []
    assert {"state", "model", "log"} <= set(calls[0])


def test_two_processes_resume_after_an_interruption(data, tmp_path):
    assert main(["train", "data", "-o", "whole.safetensors", *TRAIN]) == 0
    torchrun(tmp_path, "train", "data", "-o", "cut.safetensors", *TRAIN, "--stop-at", "3")
    assert not (tmp_path / "cut.safetensors").exists()
    state = tmp_path / "cut.train-state.safetensors"
    (tmp_path / "copy.train-state.safetensors").write_bytes(state.read_bytes())
    torchrun(tmp_path, "train", "data", "-o", "cut.safetensors", *TRAIN, "--resume")
    assert max_difference(tmp_path / "whole.safetensors", tmp_path / "cut.safetensors") < TOLERANCE
    # the state is global: the same run resumes in one process too
    assert main(["train", "data", "-o", "copy.safetensors", *TRAIN, "--resume"]) == 0
    assert max_difference(tmp_path / "whole.safetensors", tmp_path / "copy.safetensors") < TOLERANCE


def test_two_gloo_processes_distil_like_one(data, tmp_path):
    assert main(["train", "data", "-o", "t.safetensors", *TRAIN]) == 0
    distill = ["t.safetensors", "--data", "data", "--to", "2", "--steps-per-round", "4",
               "--batch-size", "4", "--window", "1", "--lr", "1e-3"]
    assert main(["distill", *distill, "-o", "one.safetensors"]) == 0
    calls = torchrun(tmp_path, "distill", *distill, "-o", "two.safetensors")
    assert max_difference(tmp_path / "one.safetensors", tmp_path / "two.safetensors") < TOLERANCE
    np.testing.assert_allclose(losses(tmp_path / "one.distill.jsonl"),
                               losses(tmp_path / "two.distill.jsonl"), rtol=1e-4)
    assert calls[1] == [] and "model" in calls[0]


def test_the_ranks_shares_make_the_global_batch(data):
    frontend = build_frontend(AudioEncoderConfig(n_mels=16))
    samplers = [open_corpus(data, frontend, 1.0, seed=3)[1] for _ in range(3)]
    whole = samplers[0].batch(4)
    parts = [samplers[1 + r].batch(4, (r, 2)) for r in range(2)]
    for name in ("features", "motion", "speaker", "mask"):
        torch.testing.assert_close(getattr(whole, name),
                                   torch.cat([getattr(p, name) for p in parts]))
    assert whole.starts == parts[0].starts + parts[1].starts
    states = [s.rng.bit_generator.state for s in samplers]
    assert states[0] == states[1] == states[2]  # every rank's RNG moves as one process's
    assert Ranks(1, 2).share(4) == slice(2, 4)
    with pytest.raises(ConfigError, match="multiple of 2"):
        samplers[0].batch(3, (0, 2))


def test_one_process_without_torchrun_and_the_precision_flags(data, tmp_path):
    with session("cpu") as ranks:
        assert (ranks.rank, ranks.world, ranks.main) == (0, 1, True)
        module = torch.nn.Linear(2, 2)
        assert ranks.wrap(module) is module
    with pytest.raises(ConfigError, match="CUDA"):
        Precision("fp16", torch.device("cpu"))
    with Precision("bf16", torch.device("cpu")).autocast():
        assert torch.nn.Linear(4, 4)(torch.ones(1, 4)).dtype == torch.bfloat16
    assert main(["train", "data", "-o", "bf16.safetensors", *TRAIN, "--precision", "bf16"]) == 0
    assert np.isfinite(losses(tmp_path / "bf16.train.jsonl")).all()
