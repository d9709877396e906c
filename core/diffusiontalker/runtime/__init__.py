"""Running generation: device choice, the ONNX Runtime path and the worker process.

- ``device``: the torch device chain (auto -> CUDA -> MPS -> CPU) and ONNX Runtime providers.
- ``worker``: the worker protocol and its server loop (generation in another Python).
- ``client``: the side that starts a worker, streams progress and cancels.

Nothing here imports torch or onnxruntime at import time.
"""
