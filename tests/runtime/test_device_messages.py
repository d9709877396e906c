"""Device messages: a device this build can never use is a one-line error naming the ones it
can; a supported device that is absent falls back to the CPU and the report says so; a
missing checkpoint says it is missing."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from diffusiontalker.errors import CheckpointError, DeviceError
from diffusiontalker.runtime.device import choose_device, choose_ort_providers, ort_build_devices
from diffusiontalker.runtime.loader import load_talker
from diffusiontalker.runtime.onnx_talker import load_onnx_model

DATA = Path(__file__).parent / "data"


def torch_build(cuda_built: bool, mps_built: bool, cuda_present: bool = False):
    """A stand-in torch module of a build with or without CUDA / MPS support."""
    return SimpleNamespace(
        __version__="9.9+test",
        cuda=SimpleNamespace(is_available=lambda: cuda_present, device_count=lambda: 0),
        backends=SimpleNamespace(
            cuda=SimpleNamespace(is_built=lambda: cuda_built),
            mps=SimpleNamespace(is_built=lambda: mps_built, is_available=lambda: False)))


def test_a_device_the_build_lacks_is_an_error_naming_the_usable_ones():
    cpu_build = torch_build(cuda_built=False, mps_built=False)
    with pytest.raises(DeviceError, match=r"9.9\+test\) has no CUDA support; this build can use: auto, cpu \("):
        choose_device("cuda", torch_module=cpu_build)
    with pytest.raises(DeviceError, match="no Apple MPS support; this build can use: auto, cpu"):
        choose_device("mps", torch_module=cpu_build)
    with pytest.raises(DeviceError, match="unknown device 'tpu'; this build can use: auto, cpu"):
        choose_device("tpu", torch_module=cpu_build)
    with pytest.raises(DeviceError, match="unknown device 'cuda:x'"):
        choose_device("cuda:x", torch_module=torch_build(True, False))
    assert choose_device("auto", torch_module=cpu_build).device == "cpu"


def test_a_supported_but_absent_device_falls_back_and_says_why():
    choice = choose_device("CUDA", torch_module=torch_build(cuda_built=True, mps_built=False))
    assert choice.device == "cpu"
    assert "cuda was requested but CUDA is not available; using the CPU instead" in choice.describe()


def test_the_real_torch_build(monkeypatch):
    torch = pytest.importorskip("torch")
    if torch.backends.cuda.is_built():
        pytest.skip("this torch has CUDA; the CPU-only build's message cannot be checked here")
    with pytest.raises(DeviceError, match="this build can use: auto, cpu"):
        load_talker(DATA / "tiny_channels.safetensors", "cuda", "torch")
    # a CUDA build on a machine without a GPU: the CPU, with the reason in device_report
    monkeypatch.setattr(torch.backends.cuda, "is_built", lambda: True)
    talker = load_talker(DATA / "tiny_channels.safetensors", "CUDA", "torch")
    assert talker.device.type == "cpu"
    assert "cuda was requested but CUDA is not available; using the CPU instead" in talker.device_report


def test_onnx_runtime_names_its_providers():
    with pytest.raises(DeviceError, match=r"no CUDAExecutionProvider; this build can use: auto, cpu \("):
        choose_ort_providers("cuda", ["CPUExecutionProvider"])
    assert ort_build_devices(["CUDAExecutionProvider", "CPUExecutionProvider"]) == ["auto", "cpu", "cuda"]
    if "CUDAExecutionProvider" not in ort_build_devices():
        with pytest.raises(DeviceError, match="this build can use: auto, cpu"):
            load_talker(DATA / "tiny_channels.onnx", "cuda")
    with pytest.raises(DeviceError, match="unknown device 'tpu' for ONNX Runtime; this build can use: auto, cpu"):
        load_talker(DATA / "tiny_channels.onnx", "tpu")


def test_a_missing_checkpoint_says_it_is_missing(tmp_path):
    for runtime in ("onnx", "auto"):
        with pytest.raises(CheckpointError, match="checkpoint not found: .*nope.safetensors"):
            load_talker(tmp_path / "nope.safetensors", "cpu", runtime)
    real = tmp_path / "real.safetensors"
    shutil.copy(DATA / "tiny_channels.safetensors", real)  # exists, but has no export
    with pytest.raises(CheckpointError, match="no ONNX export found at .*real.onnx; .*export-onnx"):
        load_talker(real, "cpu", "onnx")


def test_an_export_with_non_finite_arrays_is_refused(tmp_path):
    broken = tmp_path / "broken.onnx"
    shutil.copytree(DATA / "tiny_channels.onnx", broken)
    with np.load(broken / "arrays.npz") as f:
        arrays = {k: f[k] for k in f.files}
    arrays["norm_mean"] = arrays["norm_mean"].copy()
    arrays["norm_mean"].reshape(-1)[1] = np.nan
    np.savez(broken / "arrays.npz", **arrays)
    with pytest.raises(CheckpointError, match=r"arrays.npz: array 'norm_mean' contains 1 NaN value.*export it again"):
        load_onnx_model(broken)
