"""``twolevel explore``: landscape exploration of one glass (resumable)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import app


@app.command("explore")
def explore_cmd(
    glass: Path = typer.Argument(..., help="Glass configuration (twolevel .h5/.npz, LAMMPS .data, extxyz)."),
    temperature: float = typer.Option(..., "--temperature", "-T", help="Exploration temperature T_exp."),
    tau_cg: int = typer.Option(..., "--tau-cg", help="MD steps between two minimisations."),
    minimisations: Optional[int] = typer.Option(None, "--minimisations", help="Minimisations per run (required)."),
    runs: int = typer.Option(1, "--runs", "-k", help="Isoconfigurational runs (different velocities)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (the explore/ stage directory)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the velocities."),
    model: Optional[str] = typer.Option(None, "--model", help="Model, for files that name none (LAMMPS data)."),
    dt: float = typer.Option(0.0025, "--dt", help="MD time step (002 Sec. II D)."),
    thermostat: str = typer.Option("berendsen", "--thermostat", help="berendsen (002) or langevin."),
    tau_t: float = typer.Option(0.1, "--tau-t", help="Berendsen time constant."),
    e_tol: float = typer.Option(1e-6, "--e-tol", help="IS identity: total-energy tolerance."),
    d_tol: float = typer.Option(0.01, "--d-tol", help="IS identity: largest particle displacement tolerance."),
    ftol: float = typer.Option(1e-6, "--ftol", help="Minimiser tolerance on the largest particle force."),
    bisect: bool = typer.Option(False, "--bisect/--no-bisect", help="Bisect MD segments between distinct IS."),
    figures: bool = typer.Option(True, "--figures/--no-figures", help="Draw the figures into OUT/figures."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    wall: Optional[float] = typer.Option(None, "--time", help="Wall-clock budget of this call in seconds: stop "
                                         "(resumably) after the minimisation that passes it; rerun to continue."),
    n_old: Optional[int] = typer.Option(None, "-n", hidden=True, help="Old short name of --minimisations."),
) -> None:
    """MD at T_exp with a minimisation every tau_cg steps; writes the IS library, the
    transitions and the candidate double wells. Rerunning continues where it stopped."""
    from ..errors import InputError
    from ..explore import explore_glass

    if minimisations is None and n_old is None:
        raise InputError("give --minimisations (minimisations per run)")
    minimisations = minimisations if minimisations is not None else n_old

    res = explore_glass(glass, out, temperature, tau_cg, minimisations, runs, seed, model=model,
                        progress=progress, dt=dt, thermostat=thermostat, tau_t=tau_t, e_tol=e_tol,
                        d_tol=d_tol, ftol=ftol, bisect=bisect, stop_seconds=wall)
    s = res.summary
    conf = s.get("confinement", {})
    rate = s.get("timing", {}).get("minimisations_per_cpu_minute")
    print(f"{res.n_is} inherent structures, {res.n_pairs} candidate double wells, {res.n_transitions} "
          f"transitions from {res.minimisations} minimisations"
          + (f" ({rate:.0f} per CPU-minute)" if rate else "")
          + f"; confined: {conf.get('confined')} -> {out}")
    if not res.complete:
        print(f"stopped after the --time budget of {wall:g} s; run the same command again to continue")
    for w in s.get("warnings", []):
        print(f"warning: {w}")
    if figures and res.complete:
        from ..report.explore_figs import explore_figures

        paths = explore_figures(out)
        print("figures: " + ", ".join(str(p) for p in paths))
