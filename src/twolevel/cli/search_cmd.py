"""``twolevel search``: learned pair selection in a closed loop over all IS pairs of one glass."""

from __future__ import annotations

from pathlib import Path

import typer

from ..ml.loop import SearchParams
from ..paths import PathsParams
from . import app


def _d(name: str):
    """The schema's default of a [search] key (one owner: twolevel.ml.SearchParams)."""
    return SearchParams.model_fields[name].default


def _p(name: str):
    """The schema's default of a [paths] key (one owner: twolevel.paths.PathsParams)."""
    return PathsParams.model_fields[name].default


@app.command("search")
def search(
    library: Path = typer.Argument(..., help="Exploration directory: inherent_structures.parquet, is_configs.h5, "
                                             "transitions.parquet."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (the search/ stage directory)."),
    units: str | None = typer.Option(_d("units"), "--units", "-u", help="Unit system whose m~ and k_B T_Q define a TLS "
                                     "(default: the glass model's first, e.g. pss-ar)."),
    batch: int = typer.Option(_d("batch"), "--batch", "-k", help="Pairs computed per batch (top K by expected TLS yield)."),
    bootstrap: int = typer.Option(_d("bootstrap"), "--bootstrap", help="First batch, in exhaustive order, while no model can be trained."),
    min_hit_rate: float = typer.Option(_d("min_hit_rate"), "--min-hit-rate", help="Stop when new TLS per pair over the last "
                                       "--window batches falls below this."),
    window: int = typer.Option(_d("window"), "--window", help="Batches over which the hit rate is measured."),
    min_batches: int = typer.Option(_d("min_batches"), "--min-batches", help="Never stop on the hit rate before this many batches."),
    max_batches: int = typer.Option(_d("max_batches"), "--max-batches", help="Stop after this many batches."),
    cpu_budget: float | None = typer.Option(_d("cpu_budget_s"), "--cpu-budget", help="CPU seconds for paths + quantum + learning."),
    max_delta_e: float | None = typer.Option(_d("max_delta_e"), "--max-delta-e", help="Feature cut on the total energy difference (eps)."),
    max_d: float | None = typer.Option(_d("max_d"), "--max-d", help="Feature cut on the total displacement d (002 Eq. (7), sigma)."),
    model: Path | None = typer.Option(_d("prior_model"), "--prior-model", help="Saved model directory (OUT/model of an earlier search) to start from."),
    max_iter: int = typer.Option(_d("max_iter"), "--max-iter", help="Boosting iterations of the classifier and the regressor."),
    images: int = typer.Option(_p("images"), "--images", help="Images per band (002: 64)."),
    ftol: float = typer.Option(_p("ftol"), "--ftol", help="Band convergence: largest per-particle perpendicular force."),
    scheme: str = typer.Option(_p("scheme"), "--scheme", help="Band scheme: fire2 or frozen (docs/paths.md)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No per-batch lines."),
) -> None:
    """Predict every IS pair, run paths + quantum on the most promising, retrain, repeat (docs/ml.md)."""
    from ..ml.loop import search_glass

    s = search_glass(library, out, units=units, batch=batch, bootstrap=bootstrap, window=window,
                     min_batches=min_batches, min_hit_rate=min_hit_rate, max_batches=max_batches,
                     cpu_budget_s=cpu_budget, max_delta_e=max_delta_e, max_d=max_d,
                     prior_model=None if model is None else str(model), max_iter=max_iter,
                     path_kw={"images": images, "ftol": ftol, "scheme": scheme},
                     progress=None if quiet else print)
    print(f"{s['pairs_computed']}/{s['pairs_total']} pairs computed -> {s['double_wells']} double wells, "
          f"{s['tls_found']} TLS in {s['cpu_total_s']:.1f} CPU-s ({s['stop']}) -> {out}")
