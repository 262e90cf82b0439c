"""``twolevel explore``: landscape exploration of one glass (resumable)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..explore import ExploreParams
from . import app


_F = ExploreParams.model_fields


def _d(name: str):
    """The schema's default of an [explore] key (one owner: twolevel.explore.ExploreParams)."""
    return _F[name].default


@app.command("explore")
def explore_cmd(
    glass: Path = typer.Argument(..., help="Glass configuration (twolevel .h5/.npz, LAMMPS .data, extxyz)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (the explore/ stage directory)."),
    temperature: Optional[float] = typer.Option(None, "--temperature", "-T", help="Exploration temperature T_exp (default: the model's, PSS 0.04, TLJ 0.4)."),
    tau_cg: float = typer.Option(_d("tau_cg"), "--tau-cg", help="MD time between two minimisations (002 Table I); round(tau_cg / dt) steps."),
    n_cg: int = typer.Option(_d("n_cg"), "--n-cg", help="Minimisations per run (N_cg of 002 Table I)."),
    runs: int = typer.Option(_d("runs"), "--runs", help="Isoconfigurational runs (different velocities)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the velocities."),
    model: Optional[str] = typer.Option(None, "--model", help="Model, for files that name none (LAMMPS data)."),
    dt: Optional[float] = typer.Option(None, "--dt", help="MD time step (default: the model's, TLJ 0.0025 (002 Sec. II D), PSS 0.01)."),
    thermostat: str = typer.Option(_d("thermostat"), "--thermostat", help="berendsen (002) or langevin."),
    tau_t: float = typer.Option(_d("tau_t"), "--tau-t", help="Berendsen time constant."),
    e_tol: float = typer.Option(_d("e_tol"), "--e-tol", help="IS identity: total-energy tolerance."),
    d_tol: float = typer.Option(_d("d_tol"), "--d-tol", help="IS identity: largest particle displacement tolerance."),
    ftol: float = typer.Option(_d("ftol"), "--ftol", help="Minimiser tolerance on the largest particle force."),
    bisect: bool = typer.Option(_d("bisect"), "--bisect/--no-bisect", help="Bisect MD segments between distinct IS."),
    figures: bool = typer.Option(True, "--figures/--no-figures", help="Draw the figures into OUT/figures."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    wall: Optional[float] = typer.Option(None, "--time", help="Wall-clock budget of this call in seconds: stop "
                                         "(resumably) after the minimisation that passes it; rerun to continue."),
) -> None:
    """MD at T_exp with a minimisation every tau_cg; writes the IS library, the transitions and
    the candidate double wells. Rerunning continues where it stopped. Defaults: those of the
    study file's explore table (docs/pipeline.md)."""
    from ..explore import explore_glass
    from ._output import locked_output

    given = dict(temperature=temperature, dt=dt)
    with locked_output(out, "explore"):
        res = explore_glass(glass, out, seed=seed, model=model, progress=progress, tau_cg=tau_cg, n_cg=n_cg,
                            runs=runs, thermostat=thermostat, tau_t=tau_t, e_tol=e_tol, d_tol=d_tol, ftol=ftol,
                            bisect=bisect, stop_seconds=wall, **{k: v for k, v in given.items() if v is not None})
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
