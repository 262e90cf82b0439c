"""Completeness markers: an artefact is trusted only with a matching ``<artefact>.done.json``.

Every stage writes its artefacts atomically (:mod:`twolevel.io.atomic`), so a
file is never half-written by us. Files can still be damaged afterwards (a
full disk during a copy, a truncated rsync, a person editing the run
directory), and a task can be killed between writing two artefacts. So after a
task has written its artefacts the pipeline writes, last and atomically, one
marker beside each::

    glass.h5
    glass.h5.done.json   {"sha256": ..., "size": ..., "task": ..., "fingerprint": ..., "written": ...}

A task is done when each of its artefacts has a marker whose size and SHA-256
match the file and whose fingerprint (a hash of the task's identity,
parameters, seed and upstream fingerprints) matches the current one. Anything
else -- file missing, marker missing or unreadable, size or checksum
mismatch, stale fingerprint -- makes the task run again; before it runs, the
damaged artefacts are removed, so no stage ever reads them. Markers are JSON:
no pickle is ever loaded from a run directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Iterable

from ..io.atomic import atomic_open, sha256_file

__all__ = [
    "MARKER_SUFFIX",
    "marker_path",
    "sha256_file",
    "write_marker",
    "read_marker",
    "verify",
    "check_artefacts",
    "check_manifest",
    "discard",
    "fingerprint",
    "write_json",
    "read_json",
]

MARKER_SUFFIX = ".done.json"


def marker_path(path: str | os.PathLike) -> Path:
    p = Path(path)
    return p.with_name(p.name + MARKER_SUFFIX)


def fingerprint(obj: Any) -> str:
    """SHA-256 of the canonical JSON of ``obj`` (sorted keys): a task's identity and inputs."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write JSON atomically (indented, sorted keys)."""
    p = Path(path)
    with atomic_open(p, "w") as fh:
        json.dump(data, fh, indent=1, sort_keys=True, default=_json_default)
        fh.write("\n")
    return p


def _json_default(o: Any):
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(o, Path):
        return str(o)
    return str(o)


def read_json(path: str | os.PathLike) -> Any | None:
    """JSON from a file, or None if it is missing or not valid JSON."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def write_marker(path: str | os.PathLike, *, task: str | None = None, fingerprint: str | None = None,
                 extra: dict | None = None, sha256: str | None = None) -> dict:
    """Checksum ``path`` and write its marker (atomically, after the artefact).

    ``sha256``: the checksum when the caller has just computed it (saves a second read).
    """
    p = Path(path)
    st = p.stat()
    rec = {
        "artefact": p.name,
        "size": st.st_size,
        "sha256": sha256 or sha256_file(p),
        "task": task,
        "fingerprint": fingerprint,
        "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if extra:
        rec.update(extra)
    write_json(marker_path(p), rec)
    return rec


def read_marker(path: str | os.PathLike) -> dict | None:
    m = read_json(marker_path(path))
    if not isinstance(m, dict) or not isinstance(m.get("size"), int) or not isinstance(m.get("sha256"), str):
        return None
    return m


def verify(path: str | os.PathLike, fingerprint: str | None = None, mode: str = "sha256") -> tuple[bool, str]:
    """(ok, reason): is ``path`` complete, intact and made by the task with this fingerprint?"""
    p = Path(path)
    if not p.exists():
        return False, "missing"
    m = read_marker(p)
    if m is None:
        return False, "no completeness marker" if not marker_path(p).exists() else "marker unreadable"
    size = p.stat().st_size
    if size != m["size"]:
        return False, f"size {size} bytes, marker says {m['size']} (truncated or changed)"
    if fingerprint is not None and m.get("fingerprint") != fingerprint:
        return False, "stale (made with other parameters or inputs)"
    if mode == "sha256" and sha256_file(p) != m["sha256"]:
        return False, "checksum mismatch (corrupt)"
    return True, "ok"


def check_artefacts(paths: Iterable[str | os.PathLike], fingerprint: str | None = None,
                    mode: str = "sha256") -> dict[str, str]:
    """{path: reason} for every artefact that is not verified (empty dict: all good)."""
    bad = {}
    for p in paths:
        ok, why = verify(p, fingerprint, mode)
        if not ok:
            bad[str(p)] = why
    return bad


def check_manifest(directory: str | os.PathLike, marker_of: str | os.PathLike, fingerprint: str | None = None,
                   mode: str = "sha256") -> dict[str, str]:
    """{name: reason} for every artefact listed in the manifest of ``marker_of``'s marker that does not verify.

    A task's declared outputs carry, in their markers, the manifest of every
    artefact the task wrote (name, size, SHA-256): checkpoints, bands,
    libraries. A rerun reads any of them, so each is checked against both its
    own marker and the manifest -- a deleted marker or a changed file is found
    even when the declared outputs are intact.
    """
    d = Path(directory)
    m = read_marker(d / marker_of)
    man = m.get("manifest") if m else None
    if not isinstance(man, dict):
        return {}
    bad = {}
    for name, rec in sorted(man.items()):
        p = d / name
        ok, why = verify(p, fingerprint, mode)
        if ok and isinstance(rec, dict):
            if p.stat().st_size != rec.get("size"):
                ok, why = False, "size differs from the task's manifest"
            elif mode == "sha256" and read_marker(p)["sha256"] != rec.get("sha256"):
                ok, why = False, "marker differs from the task's manifest"
        if not ok:
            bad[name] = why
    return bad


def discard(path: str | os.PathLike) -> None:
    """Remove an artefact and its marker (the marker first: never a marker without its file)."""
    p = Path(path)
    for q in (marker_path(p), p):
        try:
            if q.is_dir():
                import shutil

                shutil.rmtree(q)
            else:
                q.unlink()
        except FileNotFoundError:
            pass
