"""Data-parallel training with PyTorch's own engine (``torchrun`` + DistributedDataParallel),
and mixed precision; both off unless asked for.

Launched by ``torchrun`` (which sets ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK`` and the
rendezvous), :func:`session` joins the process group (``nccl`` on CUDA, ``gloo`` on the CPU)
and gives each rank its device (``cuda`` becomes ``cuda:LOCAL_RANK``). The trainers then:
draw each global batch identically on every rank and build only the rank's share
(``WindowSampler.batch(n, part)``, slices of the same time and noise draws), wrap the loss
module in :class:`~torch.nn.parallel.DistributedDataParallel` (gradients averaged over ranks:
the mean over the global batch, as in one process), and checkpoint, validate and log on rank 0
only. The training state is global (every rank draws the same numbers), so a run resumes on
any number of processes. Without ``torchrun`` nothing here touches ``torch.distributed``.

:class:`Precision` is the optimisation step with ``torch.autocast`` (``bf16`` or ``fp16``)
and, for ``fp16``, a ``GradScaler``.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from ..config import PRECISIONS
from ..datasets.windows import batch_share
from ..errors import ConfigError


@dataclass(frozen=True)
class Ranks:
    """This process's place in the run: ``rank`` of ``world`` and its ``device``."""

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        """Rank 0: the one process that checkpoints, validates, logs and shows progress."""
        return self.rank == 0

    @property
    def part(self) -> tuple[int, int]:
        return self.rank, self.world

    def share(self, global_batch: int) -> slice:
        """This rank's rows of a global batch (ConfigError unless it divides evenly)."""
        return batch_share(global_batch, self.rank, self.world)

    def wrap(self, module: nn.Module) -> nn.Module:
        """``module`` in DistributedDataParallel when there are several ranks, else itself."""
        if self.world == 1:
            return module
        ddp = nn.parallel.DistributedDataParallel
        # the buffers (normalisation, template) never change: synchronised once, at the start
        once = ({"forward_sync_buffers": False}
                if "forward_sync_buffers" in inspect.signature(ddp).parameters
                else {"broadcast_buffers": False})
        return ddp(module, **once)

    def mean(self, values: dict[str, float]) -> dict[str, float]:
        """Each value averaged over the ranks (every rank must call it at the same step)."""
        if self.world == 1:
            return values
        # on the rank's device: NCCL reduces CUDA tensors only
        packed = torch.tensor([values[k] for k in values], dtype=torch.float64,
                              device=self.device)
        dist.all_reduce(packed)
        return {k: float(v) / self.world for k, v in zip(values, packed.tolist(), strict=True)}


def _rank_device(device: str, local_rank: int) -> torch.device:
    if device.startswith("cuda"):
        if device != "cuda":
            raise ConfigError(f"under torchrun each process takes the GPU of its LOCAL_RANK; "
                              f"pass --device cuda, not {device}")
        return torch.device("cuda", local_rank)
    return torch.device(device)


@contextlib.contextmanager
def session(device: str) -> Iterator[Ranks]:
    """The ranks of this run: torchrun's (``WORLD_SIZE`` > 1: its process group is joined, and
    left once the ranks meet again at the end, so rank 0's files exist when any rank returns),
    one started by the caller (used, and left to the caller), or a single process."""
    started = dist.is_available() and dist.is_initialized()
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 and not started:
        yield Ranks(device=torch.device(device))
        return
    place = _rank_device(device, int(os.environ.get("LOCAL_RANK", "0")))
    if not started:
        if place.type == "cuda":
            torch.cuda.set_device(place)
        dist.init_process_group("nccl" if place.type == "cuda" else "gloo")
    try:
        yield Ranks(dist.get_rank(), dist.get_world_size(), place)
        dist.barrier()
    finally:
        if not started:
            dist.destroy_process_group()


class Precision:
    """One optimisation step in ``fp32``, or under autocast in ``bf16`` / ``fp16`` (with a
    GradScaler for ``fp16``, whose state travels with the training state)."""

    def __init__(self, name: str, device: torch.device):
        if name not in PRECISIONS:
            raise ConfigError(f"unknown precision {name!r}; use one of {', '.join(PRECISIONS)}")
        if name == "fp16" and device.type != "cuda":
            raise ConfigError("fp16 mixed precision needs a CUDA GPU; use bf16 or fp32 here")
        self.name, self.device = name, device
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(name)
        self.scaler = torch.amp.GradScaler(device.type) if name == "fp16" else None

    def autocast(self) -> contextlib.AbstractContextManager:
        """The forward pass's context (a no-op in fp32)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer,
             params: list[torch.Tensor], grad_clip: float) -> None:
        """Backward, gradient clipping (on unscaled gradients) and the optimizer step."""
        optimizer.zero_grad(set_to_none=True)
        if self.scaler is None:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, grad_clip)
            optimizer.step()
            return
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(params, grad_clip)
        self.scaler.step(optimizer)
        self.scaler.update()

    def state(self) -> dict[str, str]:
        """Metadata for the training state (the GradScaler's, if any)."""
        return {"grad_scaler": json.dumps(self.scaler.state_dict())} if self.scaler else {}

    def load_state(self, metadata: dict[str, str]) -> None:
        if self.scaler is not None and "grad_scaler" in metadata:
            self.scaler.load_state_dict(json.loads(metadata["grad_scaler"]))
