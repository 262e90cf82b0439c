"""``twolevel paths``: minimum energy paths for every candidate pair of an IS library."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import app

from ..layout import INHERENT_STRUCTURES
from ..paths import PathsParams


def _d(name: str):
    """The schema's default of a [paths] key (one owner: twolevel.paths.PathsParams)."""
    return PathsParams.model_fields[name].default


@app.command("paths")
def paths(
    library: Path = typer.Argument(..., help="Exploration directory: pairs.parquet, is_configs.h5 "
                                             "(and inherent_structures.parquet)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (the paths/ stage directory)."),
    images: int = typer.Option(_d("images"), "--images", help="Images per band, ends included (002: 64)."),
    images_old: Optional[int] = typer.Option(None, "-n", hidden=True, help="Old short name of --images."),
    method: str = typer.Option(_d("method"), "--method", "-m", help="neb (climbing-image NEB) or string."),
    spring: float = typer.Option(_d("spring"), "--spring", help="NEB spring constant, eps/sigma^2 (002: 0.125)."),
    ftol: float = typer.Option(_d("ftol"), "--ftol", help="Largest per-particle perpendicular / climbing force."),
    max_steps: int = typer.Option(_d("max_steps"), "--max-steps", help="Optimiser steps per band (FIRE 2.0, classic FIRE or L-BFGS)."),
    scheme: str = typer.Option(_d("scheme"), "--scheme", help="fire2 (FIRE 2.0 on every image) or frozen (NEB: "
                               "converged images held and not re-evaluated; docs/paths.md)."),
    split: bool = typer.Option(_d("split"), "--split/--no-split", help="Split at intermediate minima."),
    hessian: bool = typer.Option(_d("hessian"), "--hessian/--no-hessian",
                                 help="Lowest Hessian eigenvalues at the minima and the saddle."),
    limit: Optional[int] = typer.Option(_d("limit"), "--limit", help="Only the first N pairs."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    merge: bool = typer.Option(True, "--merge/--no-merge",
                               help="Write OUT/library.parquet: LIBRARY's inherent structures plus the "
                                    "intermediate minima found by splitting."),
) -> None:
    """Climbing-image NEB (or string method) for every candidate pair, split into elementary double wells."""
    from ..explore import merge_library
    from ..paths import paths_for_library
    from ._output import locked_output

    images = images_old if images_old is not None else images
    with locked_output(out, "paths"):
        s = paths_for_library(library, out, images=images, method=method, spring=spring, ftol=ftol,
                              max_steps=max_steps, split=split, hessian=hessian, limit=limit,
                              scheme=scheme, progress=progress)
        lib_note = ""
        if merge and (Path(library) / INHERENT_STRUCTURES).is_file():
            lib = merge_library(library, out)
            lib_note = f"; library {len(lib)} IS ({s['new_minima']} added by splitting) -> {out / 'library.parquet'}"
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(s["status_counts"].items()))
    print(f"{s['pairs_done']}/{s['pairs']} pairs -> {s['double_wells']} double wells ({counts}); "
          f"{s['new_minima']} new minima -> {out}{lib_note}")
