"""Shared test helpers."""

from __future__ import annotations

import os

# One BLAS thread: the test systems are small, and on a loaded 2-core machine a multi-threaded
# BLAS made small band dot products ~2000x slower (measured while the optpaths branch was built).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REFERENCE = SHARED / "reference"


@pytest.fixture
def reference_dir():
    """../shared/reference, or skip with a reason when it is not beside the checkout."""
    if not REFERENCE.is_dir():
        pytest.skip(f"reference data not found at {REFERENCE} (../shared is not beside this checkout)")
    return REFERENCE
