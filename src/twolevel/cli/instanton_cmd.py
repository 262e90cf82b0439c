"""``twolevel instanton``: multidimensional splittings (instanton, adiabatic) of a sample's TLS."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import app
from ..errors import InputError
from ..instanton.stage import InstantonParams


def _d(name: str):
    """The schema's default of an [instanton] key (one owner: twolevel.instanton.stage.InstantonParams)."""
    return InstantonParams.model_fields[name].default


@app.command("instanton")
def instanton_cmd(
    sample: Path = typer.Argument(..., help="Sample directory (…/sample_k) with prepare/, paths/ and quantum/."),
    units: Optional[str] = typer.Option(_d("units"), "--units", "-u", help="Unit system of the quantum table (e.g. pss-ar); default its first."),
    e_max: Optional[float] = typer.Option(_d("e_max"), "--e-max", help="Run every doublet with 1D E below this (epsilon) instead of the TLS only."),
    limit: Optional[int] = typer.Option(_d("limit"), "--limit", help="At most this many double wells, lowest 1D E first."),
    beads: int = typer.Option(_d("n_beads"), "--beads", help="Beads of the open-chain instanton."),
    tau_factor: float = typer.Option(_d("tau_factor"), "--tau-factor", help="Imaginary time in units of 1/omega_t."),
    adiabatic: bool = typer.Option(_d("adiabatic"), "--adiabatic/--no-adiabatic", help="Also the vibrationally adiabatic 1D problem."),
    active_radius: Optional[float] = typer.Option(_d("active_radius"), "--active-radius", help="R (sigma) of the active-space prefactor; default R = 3 above 300 particles, the full determinant below."),
    zpe_points: Optional[int] = typer.Option(_d("zpe_points"), "--zpe-points", help="Adiabatic correction: diagonalise at this many images and interpolate (default every image; 33 halves the cost)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output table (.parquet or .csv), one row per double well."),
) -> None:
    """E and Delta_0 per double well from the 1D MEP, the adiabatic 1D problem and the ring-polymer instanton."""
    from ..instanton.stage import run_sample

    if out.suffix.lower() not in (".parquet", ".csv"):
        raise InputError(f"{out}: output must end in .parquet or .csv")
    if not sample.is_dir():
        raise InputError(f"{sample}: sample directory not found")
    out.parent.mkdir(parents=True, exist_ok=True)

    def show(rec):
        print(f"dw {rec['dw_id']}: E_1d {rec['E_1d']:.4g}  E_ad {rec.get('E_ad', float('nan')):.4g}  "
              f"E_inst {rec['E_inst']:.4g} ({rec['status_inst']}, {rec['cpu_inst']:.0f} s CPU)", flush=True)

    df = run_sample(sample, units=units, e_max=e_max, limit=limit, n_beads=beads, tau_factor=tau_factor,
                    adiabatic=adiabatic, active_radius=active_radius, zpe_points=zpe_points, out=out,
                    progress=show)
    n_ok = int((df["status_inst"] == "ok").sum()) if len(df) else 0
    n_act = int((df["status_inst"] == "active_space").sum()) if len(df) else 0
    print(f"{len(df)} double wells, {n_ok} instantons converged"
          + (f", {n_act} more with an active-space prefactor (Delta_0 an estimate; E_best keeps 1D)" if n_act else "")
          + f" -> {out}")
