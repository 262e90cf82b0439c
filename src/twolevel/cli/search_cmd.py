"""``twolevel search``: learned pair selection in a closed loop over all IS pairs of one glass."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from . import app


@app.command("search")
def search(
    library: Path = typer.Argument(..., help="Exploration directory: inherent_structures.parquet, is_configs.h5, "
                                             "transitions.parquet."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (the search/ stage directory)."),
    units: str = typer.Option("Ar", "--units", "-u", help="Unit system whose m~ and k_B T_Q define a TLS."),
    batch: int = typer.Option(20, "--batch", "-k", help="Pairs computed per batch (top K by expected TLS yield)."),
    bootstrap: int = typer.Option(40, "--bootstrap", help="First batch, in exhaustive order, while no model can be trained."),
    min_hit_rate: float = typer.Option(0.02, "--min-hit-rate", help="Stop when new TLS per pair over the last "
                                       "--window batches falls below this."),
    window: int = typer.Option(2, "--window", help="Batches over which the hit rate is measured."),
    min_batches: int = typer.Option(3, "--min-batches", help="Never stop on the hit rate before this many batches."),
    max_batches: int = typer.Option(1000, "--max-batches", help="Stop after this many batches."),
    cpu_budget: float | None = typer.Option(None, "--cpu-budget", help="CPU seconds for paths + quantum + learning."),
    max_delta_e: float | None = typer.Option(None, "--max-delta-e", help="Feature cut on the total energy difference (eps)."),
    max_d: float | None = typer.Option(None, "--max-d", help="Feature cut on the total displacement d (002 Eq. (7), sigma)."),
    model: Path | None = typer.Option(None, "--prior-model", help="Saved model directory (OUT/model of an earlier search) to start from."),
    images: int = typer.Option(64, "--images", help="Images per band (002: 64)."),
    ftol: float = typer.Option(1e-4, "--ftol", help="Band convergence: largest per-particle perpendicular force."),
    scheme: str = typer.Option("fire2", "--scheme", help="Band scheme: fire2 or frozen (docs/paths.md)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No per-batch lines."),
) -> None:
    """Predict every IS pair, run paths + quantum on the most promising, retrain, repeat (docs/ml.md)."""
    from ..ml.loop import SearchParams, search_glass

    p = SearchParams(batch=batch, bootstrap=bootstrap, window=window, min_batches=min_batches,
                     min_hit_rate=min_hit_rate, max_batches=max_batches,
                     cpu_budget_s=math.inf if cpu_budget is None else cpu_budget)
    s = search_glass(library, out, p, units=units, prior_model=model,
                     max_delta_e=math.inf if max_delta_e is None else max_delta_e,
                     max_d=math.inf if max_d is None else max_d,
                     path_kw={"images": images, "ftol": ftol, "scheme": scheme},
                     progress=None if quiet else print)
    print(f"{s['pairs_computed']}/{s['pairs_total']} pairs computed -> {s['double_wells']} double wells, "
          f"{s['tls_found']} TLS in {s['cpu_total_s']:.1f} CPU-s ({s['stop']}) -> {out}")
