"""`diffusiontalker worker`: serve the worker protocol on stdin/stdout (see runtime/worker.py).

Normally started by the Blender add-on's worker client, not by hand; docs/runtime.md
describes the protocol.
"""

from __future__ import annotations

import argparse

HELP = "serve generation requests on stdin/stdout (the worker process protocol)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..runtime.worker import add_arguments as add_worker_arguments

    add_worker_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from ..runtime.worker import WorkerServer, protocol_streams

    inp, out = protocol_streams()
    return WorkerServer(out, loader=args.loader).serve(inp)
