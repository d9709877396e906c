"""Device choice: the auto chain, half precision only where safe, CPU fallback, ORT providers."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from diffusiontalker.errors import AudioError
from diffusiontalker.runtime.device import (
    DeviceChoice,
    DeviceError,
    choose_device,
    choose_ort_providers,
    run_with_cpu_fallback,
)


class FakeTensor:
    def __matmul__(self, other):
        return self

    def sum(self):
        return SimpleNamespace(item=lambda: 64.0)


def fake_torch(cuda=False, mps=False, bf16=False, capability=(8, 0), fail=None):
    """A stand-in for the torch module; ``fail`` names a device whose first use raises."""

    def ones(shape, device):
        if fail and device.startswith(fail):
            raise RuntimeError(f"{fail} error: no kernel image is available")
        return FakeTensor()

    return SimpleNamespace(
        ones=ones,
        cuda=SimpleNamespace(is_available=lambda: cuda, device_count=lambda: int(cuda),
                             get_device_name=lambda i: "Fake GPU", is_bf16_supported=lambda: bf16,
                             get_device_capability=lambda i: capability),
        backends=SimpleNamespace(mps=SimpleNamespace(is_available=lambda: mps)),
    )


def test_auto_walks_cuda_then_mps_then_cpu():
    assert choose_device("auto", torch_module=fake_torch(cuda=True, mps=True)).device == "cuda:0"
    mps = choose_device("auto", torch_module=fake_torch(mps=True))
    assert mps.device == "mps" and mps.dtype == "float32"
    cpu = choose_device("auto", torch_module=fake_torch())
    assert cpu.device == "cpu" and "CUDA is not available" in cpu.reason
    assert "MPS is not available" in cpu.reason


def test_half_precision_only_where_safe():
    torch = fake_torch(cuda=True, bf16=True)
    assert choose_device("cuda", "float32", torch_module=torch).dtype == "float32"
    assert choose_device("cuda", "half", torch_module=torch).dtype == "bfloat16"
    assert choose_device("cuda", "half", torch_module=fake_torch(cuda=True, capability=(7, 5))).dtype == "float16"
    old = choose_device("cuda", "half", torch_module=fake_torch(cuda=True, capability=(6, 1)))
    assert old.dtype == "float32" and "no safe half precision" in old.reason
    mps = choose_device("mps", "half", torch_module=fake_torch(mps=True))
    assert mps.dtype == "float32" and "not used on MPS" in mps.reason
    cpu = choose_device("cpu", "half", torch_module=torch)
    assert cpu.device == "cpu" and cpu.dtype == "float32"


def test_a_failing_device_falls_back_cleanly():
    choice = choose_device("auto", torch_module=fake_torch(cuda=True, mps=True, fail="cuda"))
    assert choice.device == "mps" and "CUDA failed (RuntimeError" in choice.describe()
    choice = choose_device("cuda", torch_module=fake_torch(cuda=True, fail="cuda"))
    assert choice.device == "cpu" and "CUDA failed" in choice.reason and "using the CPU" in choice.reason
    assert choose_device("cuda:3", torch_module=fake_torch(cuda=True)).device == "cpu"


def test_simulated_cuda_in_the_real_torch_falls_back(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    choice = choose_device("auto", "half")
    assert choice.device == "cpu" and choice.dtype == "float32"
    assert "CUDA failed" in choice.reason


def test_unknown_names_are_clear_errors():
    with pytest.raises(DeviceError, match="unknown device 'tpu'; this build can use: auto, cpu, cuda, mps"):
        choose_device("tpu", torch_module=fake_torch())
    with pytest.raises(DeviceError, match="unknown precision 'int8'"):
        choose_device("cpu", "int8")
    with pytest.raises(DeviceError, match="unknown ONNX Runtime device 'vulkan'; this build can use: auto, cpu"):
        choose_ort_providers("vulkan")


def test_run_with_cpu_fallback():
    gpu = DeviceChoice("cuda:0", "bfloat16", "Fake GPU", "CUDA")
    calls = []

    def run(choice):
        calls.append(choice.device)
        if choice.kind == "cuda":
            raise RuntimeError("CUDA out of memory")
        if choice.reason == "test":
            raise RuntimeError("cpu broke")
        return "motion"

    result, used = run_with_cpu_fallback(run, gpu)
    assert result == "motion" and calls == ["cuda:0", "cpu"]
    assert used.dtype == "float32" and "out of memory" in used.reason and "fell back" in used.reason

    def bad_audio(choice):
        raise AudioError("the audio is silent")

    with pytest.raises(AudioError):  # user errors are not device errors: no retry
        run_with_cpu_fallback(bad_audio, gpu)
    with pytest.raises(RuntimeError):  # a CPU failure is not hidden
        run_with_cpu_fallback(run, DeviceChoice("cpu", "float32", "CPU", "test"))


def test_ort_providers_are_explicit_with_cpu_last():
    cpu = "CPUExecutionProvider"
    assert choose_ort_providers() == [cpu]
    assert choose_ort_providers("auto", ["CUDAExecutionProvider", cpu]) == ["CUDAExecutionProvider", cpu]
    assert choose_ort_providers("gpu", ["DmlExecutionProvider", cpu]) == ["DmlExecutionProvider", cpu]
    assert choose_ort_providers("auto", ["CoreMLExecutionProvider", cpu]) == [cpu]  # on request only
    assert choose_ort_providers("coreml", ["CoreMLExecutionProvider", cpu]) == ["CoreMLExecutionProvider", cpu]
    assert choose_ort_providers("auto", ["AzureExecutionProvider", cpu]) == [cpu]
    with pytest.raises(DeviceError, match="no CUDAExecutionProvider; this build can use: auto, cpu, directml"):
        choose_ort_providers("cuda", ["DmlExecutionProvider", cpu])
    # the real onnxruntime here (CPU build)
    assert choose_ort_providers("auto")[-1] == cpu
