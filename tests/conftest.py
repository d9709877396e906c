"""Test set-up: import the checkout's own code first, keep torch small, never "no tests ran"."""

from __future__ import annotations

import os
import sys
from pathlib import Path

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


def pytest_sessionfinish(session, exitstatus):
    # A run that collected nothing is a broken suite, not a pass: turn exit 5 into a failure.
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("\nERROR: no tests were collected; the suite is broken.", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
