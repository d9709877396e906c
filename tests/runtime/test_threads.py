"""One thread decision (runtime.threads): physical cores at most 4, overridable by threads= and
$DIFFUSIONTALKER_THREADS, shared by torch and every ONNX Runtime session, spinning off."""

from __future__ import annotations

from pathlib import Path

import pytest

from diffusiontalker.errors import ConfigError
from diffusiontalker.runtime import threads
from diffusiontalker.runtime.device import create_ort_session
from diffusiontalker.runtime.loader import load_talker
from diffusiontalker.runtime.threads import (
    MAX_AUTO_THREADS,
    THREADS_ENV,
    cgroup_cpu_quota,
    check_threads,
    choose_threads,
    linux_physical_cores,
    ort_session_options,
)

DATA = Path(__file__).parent / "data"


@pytest.fixture
def restore_torch_threads():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    yield torch
    torch.set_num_threads(before)


def test_requested_counts_are_checked():
    assert check_threads(None) is None and check_threads(0) is None and check_threads("auto") is None
    assert check_threads(3) == 3 and check_threads("2") == 2
    for bad, says in ((-1, "between 1 and"), (2.5, "whole number"), ("many", "whole number"),
                      (True, "whole number"), (10**6, "between 1 and")):
        with pytest.raises(ConfigError, match=says):
            check_threads(bad, "--threads")


def test_precedence_requested_then_environment_then_automatic(monkeypatch):
    monkeypatch.setattr(threads, "physical_cores", lambda: 16)
    auto = choose_threads(None, environ={})
    assert auto.count == MAX_AUTO_THREADS == 4 and auto.source == "automatic"
    assert "16 physical cores, at most 4" in auto.describe()
    env = choose_threads(None, environ={THREADS_ENV: "3"})
    assert env.count == 3 and env.source == "environment"
    assert choose_threads(2, environ={THREADS_ENV: "3"}).count == 2
    with pytest.raises(ConfigError, match=THREADS_ENV):
        choose_threads(None, environ={THREADS_ENV: "lots"})
    monkeypatch.setattr(threads, "physical_cores", lambda: 2)
    assert choose_threads(None, environ={}).count == 2


def test_unknown_physical_cores_assume_two_threads_per_core(monkeypatch):
    monkeypatch.setattr(threads, "physical_cores", lambda: None)
    monkeypatch.setattr(threads, "usable_cpus", lambda: 6)
    choice = choose_threads(None, environ={})
    assert choice.count == 3 and "physical cores unknown" in choice.reason
    monkeypatch.setattr(threads, "usable_cpus", lambda: 2)
    assert choose_threads(None, environ={}).count == 2


def _cpu(root: Path, index: int, siblings: str) -> None:
    topology = root / f"cpu{index}" / "topology"
    topology.mkdir(parents=True)
    (topology / "thread_siblings_list").write_text(siblings + "\n")


def test_linux_topology_counts_cores_not_hyperthreads(tmp_path):
    for cpu, siblings in enumerate(["0,4", "1,5", "2,6", "3,7", "0,4", "1,5", "2,6", "3,7"]):
        _cpu(tmp_path, cpu, siblings)
    (tmp_path / "cpufreq").mkdir()  # not a CPU
    assert linux_physical_cores(tmp_path, None) == 4
    assert linux_physical_cores(tmp_path, {0, 4}) == 1  # both hyper-threads of one core
    assert linux_physical_cores(tmp_path, {0, 1}) == 2
    assert linux_physical_cores(tmp_path / "absent", None) is None


def test_cgroup_quota(tmp_path):
    path = tmp_path / "cpu.max"
    path.write_text("max 100000\n")
    assert cgroup_cpu_quota(path) is None
    path.write_text("150000 100000\n")
    assert cgroup_cpu_quota(path) == 2
    assert cgroup_cpu_quota(tmp_path / "absent") is None


def test_ort_sessions_share_the_count_and_do_not_spin(monkeypatch):
    options = ort_session_options(3)
    assert options.intra_op_num_threads == 3 and options.inter_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    monkeypatch.setenv(THREADS_ENV, "2")
    session, _ = create_ort_session(str(DATA / "tiny_channels.onnx" / "denoiser.onnx"))
    used = session.get_session_options()
    assert used.intra_op_num_threads == 2
    assert used.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_load_talker_threads_reach_onnx_and_torch(restore_torch_threads):
    ort = load_talker(DATA / "tiny_channels.onnx", "cpu", threads=2)
    assert all(s.get_session_options().intra_op_num_threads == 2 for s in ort.sessions.values())
    assert ort.threads_report == "2 threads (requested)"
    torch = restore_torch_threads
    talker = load_talker(DATA / "tiny_channels.safetensors", "cpu", "torch", threads=1)
    assert torch.get_num_threads() == 1 and talker.threads_report == "1 thread (requested)"
    with pytest.raises(ConfigError, match="between 1 and"):
        load_talker(DATA / "tiny_channels.safetensors", "cpu", "torch", threads=-2)


def test_openmp_waits_passively_before_torch_loads(repo_root):
    import os
    import subprocess
    import sys

    code = ("import os, sys; import diffusiontalker.runtime.loader\n"
            "print(os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["PYTHONPATH"] = str(repo_root / "core")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.split() == ["PASSIVE", "False"], done.stderr
    env["OMP_WAIT_POLICY"] = "ACTIVE"  # the user's choice wins
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.split()[0] == "ACTIVE", done.stderr
