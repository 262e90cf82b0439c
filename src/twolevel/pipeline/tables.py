"""Study-wide tables: one tidy, hive-partitioned Parquet dataset per level (IS, double wells, TLS).

``RUN/tables/<level>/model=<label>/T_f=<T_f>/sample=<k>/part-0.parquet``, so that one line opens a
whole study with any Parquet reader::

    import pandas as pd
    tls = pd.read_parquet("RUN/tables/tls")                   # every TLS row, with model, T_f, sample
    tls = pd.read_parquet("RUN/tables/tls", filters=[("T_f", "=", "0.062")])  # one T_f, read alone

(pandas gives the partition columns as categoricals, T_f as the text of the directory name;
:func:`read_table` returns them as str / float / int.) Levels:

=====================  ========================================  =====================================
level                  per-sample source                          units
=====================  ========================================  =====================================
inherent_structures    explore/inherent_structures.parquet       ``units = "reduced"``: energies in
double_wells           paths/double_wells.parquet                epsilon, lengths in sigma (the model's)
tls                    quantum/tls.parquet                        its own ``units`` column: the unit
                                                                  system of the ``*_K``/``*_Hz`` columns
=====================  ========================================  =====================================

Only artefacts whose completeness marker verifies (:func:`twolevel.pipeline.artifacts.verify`)
are read; the others are listed as skipped. :func:`write_tables` works on any run directory
(it reads the tree, not the config) and is called at the end of every ``twolevel run``. Each
level is built in a hidden directory beside its target and swapped in, so a reader sees the old
table or the new one, never half of one; a level whose source artefacts (path, SHA-256, size)
are unchanged is not rewritten (``_sources.json`` in its directory, which Parquet readers skip).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path

from ..errors import InputError
from ..layout import DOUBLE_WELLS, EXPLORE, INHERENT_STRUCTURES, PATHS, QUANTUM, TABLES, TLS
from .artifacts import read_json, read_marker, verify, write_json

__all__ = ["LEVELS", "TABLES_DIR", "read_table", "write_tables"]

TABLES_DIR = TABLES
#: level -> (stage directory, artefact, units value written when the table has no ``units`` column)
LEVELS: dict[str, tuple[str, str, str | None]] = {
    "inherent_structures": (EXPLORE, INHERENT_STRUCTURES, "reduced"),
    "double_wells": (PATHS, DOUBLE_WELLS, "reduced"),
    "tls": (QUANTUM, TLS, None),
}
_TF = re.compile(r"Tf_(.+)\Z")
_VERSION = 1
_SOURCES = "_sources.json"  # the artefacts (path, sha256, size) a table was built from: rebuilt when they change
_ROWS = "_rows.json"
_SAMPLE = re.compile(r"sample_(\d+)\Z")


def _samples(run_dir: Path) -> list[tuple[str, str, int, Path]]:
    """(label, T_f text, sample, directory) of every sample directory of the run tree."""
    out = []
    for label_dir in sorted(p for p in run_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for tf_dir in sorted(label_dir.iterdir()):
            m = _TF.match(tf_dir.name)
            if not (m and tf_dir.is_dir()):
                continue
            try:
                float(m.group(1))
            except ValueError:
                continue
            for sd in sorted(tf_dir.iterdir()):
                s = _SAMPLE.match(sd.name)
                if s and sd.is_dir():
                    out.append((label_dir.name, m.group(1), int(s.group(1)), sd))
    return sorted(out, key=lambda r: (r[0], float(r[1]), r[2]))


def _swap(tmp: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}.{secrets.token_hex(6)}.old")
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def _write_level(run_dir: Path, level: str, samples, mode: str) -> dict:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    stage, name, units = LEVELS[level]
    parts, skipped, sources, verified = [], [], [], []
    target = run_dir / TABLES_DIR / level
    for label, tf, k, sd in samples:
        p = sd / stage / name
        ok, why = verify(p, None, mode)
        if not ok:
            skipped.append(f"{p.relative_to(run_dir)}: {why}")
            continue
        marker = read_marker(p) or {}
        sources.append([str(p.relative_to(run_dir)), marker.get("sha256"), marker.get("size")])
        verified.append((label, tf, k, p))
    stamp = {"version": _VERSION, "sources": sources}
    if not sources:  # nothing verified: no table (an old one would describe artefacts that are gone)
        shutil.rmtree(target, ignore_errors=True)
        return {"path": None, "rows": 0, "samples": 0, "skipped": skipped}
    if read_json(target / _SOURCES) == stamp:  # same inputs: the table is up to date
        return {"path": f"{TABLES_DIR}/{level}", "rows": (read_json(target / _ROWS) or {}).get("rows", 0),
                "samples": len(sources), "skipped": skipped}
    for label, tf, k, p in verified:
        df = pd.read_parquet(p)
        if units is not None and "units" not in df.columns:
            df["units"] = units
        parts.append((label, tf, k, pa.Table.from_pandas(df, preserve_index=False)))
    out = {"path": None, "rows": sum(t.num_rows for *_, t in parts), "samples": len(parts), "skipped": skipped}
    # one schema for every part (a column that is all-null in one sample has type null there), so
    # that the dataset reads as one table; empty parts add no rows, only a schema to disagree with
    keep = [q for q in parts if q[3].num_rows] or parts[:1]
    schema = pa.unify_schemas([t.schema.remove_metadata() for *_, t in keep], promote_options="permissive")
    root = run_dir / TABLES_DIR
    root.mkdir(exist_ok=True)
    tmp = root / f".{level}.{secrets.token_hex(6)}.tmp"
    try:
        for label, tf, k, table in keep:
            part = tmp / f"model={label}" / f"T_f={tf}" / f"sample={k}"
            part.mkdir(parents=True)
            pq.write_table(table.select(schema.names).cast(schema), part / "part-0.parquet")
        # names starting with "_" are not data to Parquet readers (pyarrow's ignore_prefixes)
        write_json(tmp / _ROWS, {"rows": out["rows"]})
        write_json(tmp / _SOURCES, stamp)
        _swap(tmp, root / level)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out["path"] = f"{TABLES_DIR}/{level}"
    return out


def write_tables(run_dir: str | os.PathLike, mode: str = "sha256") -> dict[str, dict]:
    """Write ``RUN/tables/<level>`` for every level with at least one verified sample artefact.

    Returns {level: {"path" (relative to the run, None when nothing was written), "rows", "samples",
    "skipped" (["artefact: reason", ...])}}. ``mode``: the artefact check (``"sha256"`` or ``"size"``).
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: no such run directory")
    samples = _samples(run_dir)
    return {level: _write_level(run_dir, level, samples, mode) for level in LEVELS}


def read_table(run_dir: str | os.PathLike, level: str):
    """The study-wide table of ``level`` with ``model`` (str), ``T_f`` (float) and ``sample`` (int) first."""
    import pandas as pd

    if level not in LEVELS:
        raise InputError(f"unknown table {level!r}; use one of {', '.join(LEVELS)}")
    path = Path(run_dir) / TABLES_DIR / level
    if not path.is_dir():
        raise InputError(f"{path}: no such table (run `twolevel run` to the end, or "
                         "twolevel.pipeline.tables.write_tables on the run)")
    df = pd.read_parquet(path)
    df["model"] = df["model"].astype(str)
    df["T_f"] = df["T_f"].astype(str).astype(float)
    df["sample"] = df["sample"].astype(int)
    front = ["model", "T_f", "sample"]
    return df[front + [c for c in df.columns if c not in front]].sort_values(front, kind="stable",
                                                                            ignore_index=True)
