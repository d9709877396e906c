"""Head timings of docs/head-and-rig.md, medians of 5 runs on one thread in one process:
building the demo head, its face frame, frame + landmarks (``placement.locate``) and the whole
placed rig (``build_placed_rig``) for the demo head turned 90° about X (no stored landmarks),
and for a FLAME PLY when one is given (a local file: never part of the project).

Usage: OMP_NUM_THREADS=1 python scripts/measure_heads.py [FLAME.ply]
"""
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
import numpy as np  # noqa: E402

from diffusiontalker.head import build_demo_head  # noqa: E402
from diffusiontalker.head.face_frame import find_face_frame  # noqa: E402
from diffusiontalker.head.placement import build_placed_rig, locate  # noqa: E402


def median_s(call, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(name: str, vertices: np.ndarray, faces) -> None:
    turn = np.array([[1, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], np.float64)
    placed = vertices @ turn[:3, :3].T
    frame = median_s(lambda: find_face_frame(placed, faces))
    landmarks = median_s(lambda: locate(placed, faces))
    rig = median_s(lambda: build_placed_rig(vertices, faces, None, turn))
    print(f"{name} ({len(vertices)} vertices), turned 90° about X: face frame {frame:.3f} s, "
          f"frame + landmarks {landmarks:.3f} s, whole placed rig {rig:.3f} s")


def main() -> None:
    build = median_s(build_demo_head)
    head = build_demo_head()
    print(f"1 thread, medians of 5. demo head built in {build:.3f} s")
    report("demo head", head.vertices, head.faces)
    if len(sys.argv) > 1:
        from diffusiontalker.head import flame_to_blender, read_mesh

        v, f = read_mesh(sys.argv[1])
        report("FLAME", flame_to_blender(v), f)


if __name__ == "__main__":
    main()
