"""Shared helpers of the synthetic-corpus tests."""

from __future__ import annotations

import pytest

pytest.importorskip("espeakng_loader")
