"""Provenance: what produced a run directory.

Each invocation of a study writes ``RUN/provenance/<run_id>.json`` and
``RUN/provenance.json`` (the latest), with the frozen config's hash, the
package version, the git commit of the source tree (and whether it had local
changes), the versions of the dependencies, the host, the executor, the study
seed and the seeds of all tasks (``RUN/seeds.json``), and the wall time per
stage (sum over the tasks that ran, and elapsed time).
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["collect", "git_info", "dependency_versions", "host_info", "new_run_id"]

DEPENDENCIES = ("numpy", "scipy", "numba", "h5py", "pyarrow", "pandas", "matplotlib", "pydantic", "typer",
                "rich", "dask", "distributed", "llvmlite")


def new_run_id() -> str:
    """Time-ordered id of one invocation (UTC time, pid)."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + f"-{os.getpid()}"


def dependency_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in DEPENDENCIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_info(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Commit and dirty flag of the git tree holding ``path`` (default: this package's source)."""
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    info: dict[str, Any] = {"commit": None, "dirty": None}
    try:
        top = subprocess.run(["git", "-C", str(where), "rev-parse", "--show-toplevel"], capture_output=True,
                             text=True, timeout=10)
        if top.returncode != 0:
            return info
        commit = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10)
        info["commit"] = commit.stdout.strip() or None
        st = subprocess.run(["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
                            capture_output=True, text=True, timeout=30)
        info["dirty"] = bool(st.stdout.strip()) if st.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def host_info() -> dict[str, Any]:
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "user": os.environ.get("USER") or os.environ.get("USERNAME"),
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def collect(*, run_id: str, config_hash: str, executor: dict, study_seed: int, argv: list[str] | None = None) -> dict:
    from .. import __version__

    return {
        "run_id": run_id,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "package": {"name": "twolevel", "version": __version__, **git_info()},
        "dependencies": dependency_versions(),
        "host": host_info(),
        "executor": executor,
        "config_sha256": config_hash,
        "study_seed": study_seed,
        "argv": list(argv if argv is not None else sys.argv),
        "seeds": "seeds.json",
    }
