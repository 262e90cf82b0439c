"""``twolevel tables RUN``: (re)write the study-wide tables of a run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import app


@app.command("tables")
def tables_cmd(
    run: Annotated[Path, typer.Argument(help="Run directory (the output of `twolevel run`).")],
) -> None:
    """Write RUN/tables/{inherent_structures,double_wells,tls}: one hive-partitioned Parquet dataset each
    (`twolevel run` does this at its end; this is for runs made before, or after copying artefacts)."""
    from ..pipeline.artifacts import read_json
    from ..pipeline.tables import write_tables

    cfg = read_json(run / "config.json") or {}
    mode = (cfg.get("execution") or {}).get("integrity", "sha256")
    for level, res in write_tables(run, mode).items():
        where = res["path"] or "not written (no verified sample artefact)"
        skipped = f", {len(res['skipped'])} artefact(s) skipped (not verified)" if res["skipped"] else ""
        typer.echo(f"{level}: {where} ({res['rows']} rows from {res['samples']} samples{skipped})")
