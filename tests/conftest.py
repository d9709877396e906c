"""Test set-up: import the checkout's own code first, keep torch small, never "no tests ran"."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
# The checkout's core and add-on win over any installed copy (helpers work in worktrees).
for p in (ROOT, ROOT / "core"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

os.environ.setdefault("OMP_NUM_THREADS", "2")

FLAME_FIXTURE = ROOT.parent / "shared" / "fixtures" / "FLAME_sample.ply"
if not FLAME_FIXTURE.is_file():  # a helper's worktree sits one level deeper (../wt/NAME)
    FLAME_FIXTURE = ROOT.parents[1] / "shared" / "fixtures" / "FLAME_sample.ply"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def flame_fixture() -> Path:
    """The FLAME-topology template from ../shared/fixtures (tests only; never copied)."""
    if not FLAME_FIXTURE.is_file():
        pytest.skip("FLAME fixture ../shared/fixtures/FLAME_sample.ply is absent")
    return FLAME_FIXTURE


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "needs_in_ci: skips only off CI; under CI=true a skip is a failure (the "
        "environments it needs are set up by ./dev.sh test)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Under CI=true a `needs_in_ci` test that skips (its environment is missing) fails instead.
    report = (yield).get_result()
    if (report.skipped and not hasattr(report, "wasxfail") and _in_ci()
            and item.get_closest_marker("needs_in_ci") is not None):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        reason = str(reason).removeprefix("Skipped: ")
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which must run this test: {reason}"


def pytest_sessionfinish(session, exitstatus):
    # A run that collected nothing is a broken suite, not a pass: turn exit 5 into a failure.
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("\nERROR: no tests were collected; the suite is broken.", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# --- small datasets (datasets/, audio/ and training tests) --------------------------------
def make_clips(speakers=("ada", "bo"), per_speaker=3, fps=30.0, rate=22050, dim=(5,),
               seconds=(0.5, 1.2, 2.0), seed=0):
    """Clips whose motion encodes (speaker, clip, frame) so windows can be checked exactly."""
    rng = np.random.default_rng(seed)
    clips = []
    for s, speaker in enumerate(speakers):
        for k in range(per_speaker):
            duration = seconds[k % len(seconds)]
            frames = int(round(duration * fps))
            motion = np.zeros((frames, *dim), np.float32)
            motion.reshape(frames, -1)[:, 0] = np.arange(frames)  # frame index in column 0
            motion.reshape(frames, -1)[:, 1:] = s + 0.1 * k
            clips.append({
                "id": f"{speaker}_{k:02d}", "speaker": speaker,
                "split": "train" if k < per_speaker - 1 else "test",
                "text": f"sentence {k}",
                "wave": 0.1 * rng.standard_normal(int(round(duration * rate))).astype(np.float32),
                "sample_rate": rate, "motion": motion,
            })
    return clips


@pytest.fixture
def clip_maker():
    """The :func:`make_clips` builder, for tests that write their own dataset."""
    return make_clips


@pytest.fixture
def channel_dataset(tmp_path):
    channels = ["jawOpen", "mouthClose", "mouthFunnel", "browInnerUp", "eyeBlinkLeft"]
    from diffusiontalker.datasets import write_folder_dataset

    return write_folder_dataset(tmp_path / "chan", "channels", 30.0, make_clips(),
                                channels=channels)


@pytest.fixture
def vertex_dataset(tmp_path):
    templates = {"ada": np.zeros((4, 3), np.float32), "bo": np.ones((4, 3), np.float32)}
    from diffusiontalker.datasets import write_folder_dataset

    return write_folder_dataset(tmp_path / "vert", "vertices", 25.0,
                                make_clips(fps=25.0, dim=(4, 3)), templates=templates)
