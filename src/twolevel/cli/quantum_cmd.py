"""``twolevel quantum``: tunnelling quantities for every double well of a catalogue."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import List, Optional

import typer

from . import app
from ..errors import InputError
from ..quantum import QuantumParams


def _d(name: str):
    """The schema's default of a [quantum] key (one owner: twolevel.quantum.QuantumParams)."""
    return QuantumParams.model_fields[name].default


@app.command("quantum")
def quantum(
    catalog: Path = typer.Argument(..., help="Double-well catalogue (Parquet): columns dw_id, d, xi, V."),
    units: Optional[List[str]] = typer.Option(
        None,
        "--units",
        "-u",
        help="Unit system: pss-ar (ar), pss-ni (ni), tlj-ar (ar-tlj), tlj-nip (nip), or a TOML file. Repeatable.",
    ),
    mass: Optional[List[float]] = typer.Option(
        None, "--mass", "-m", help="Dimensionless mass m~ (repeatable); with one --units it takes that system's epsilon."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Output table (.parquet or .csv), one row per (double well, m~)."),
    n_xi: int = typer.Option(_d("n_xi"), "--n-xi", help="Grid points of the 1D Schrödinger problem (whole domain)."),
    margin: float = typer.Option(7.0, "--margin", help="Initial extension beyond each end, in zero-point lengths of that well (grown until psi1, psi2 decay)."),
    end_curvature: str = typer.Option(_d("end_curvature"), "--end-curvature", help="Curvature beyond the end minima: catalogue (the catalogue's curv_low/curv_high, 002 App. C) or profile (fitted to V(xi)); docs/quantum.md."),
    workers: int = typer.Option(1, "--workers", "-j", help="Worker processes."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Splitting E, Delta, Delta_0, Gamma, tls_class and the TLS flag (doublet and E < k_B T_Q) per double well."""
    from ..quantum import mass_specs, read_catalogue, run_catalogue

    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise InputError(f"{out}: output must end in .parquet or .csv")
    specs = mass_specs(units, mass)
    df = read_catalogue(catalog)
    t0 = time.perf_counter()
    res = run_catalogue(df, specs, n_xi=n_xi, margin=margin, end_curvature=end_curvature, workers=workers,
                        progress=progress)
    dt = time.perf_counter() - t0
    from ..io.atomic import atomic_path

    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:  # complete file or none
        if suffix == ".parquet":
            res.to_parquet(tmp, index=False)
        else:
            res.assign(levels=res["levels"].map(json.dumps)).to_csv(tmp, index=False)
    n_tls = {s.label: int(res.loc[res["units"] == s.label, "is_tls"].sum()) for s in specs}
    summary = ", ".join(f"{k}: {v} TLS" for k, v in n_tls.items())
    print(f"{len(df)} double wells x {len(specs)} m~ in {dt:.1f} s -> {out} ({summary})")
    # rows that are not tunnelling doublets stay in the table; say how many and why
    other = res.loc[res["tls_class"] != "doublet", "tls_class"].value_counts() if len(res) else []
    if len(other):
        print("not doublets (all m~): " + ", ".join(f"{k} {v}" for k, v in other.items()))
