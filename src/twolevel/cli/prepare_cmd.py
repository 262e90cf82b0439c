"""``twolevel prepare``: equilibrated liquids at T_f and their glasses (swap Monte Carlo)."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Optional

import typer

from . import app
from ..errors import InputError
from ..prepare import PrepareParams

_F = PrepareParams.model_fields  # the one owner of the stage's defaults


@app.command("prepare")
def prepare(
    model: str = typer.Option(..., "--model", help="Glass model: pss (swap MC), tlj, tlj-printed, ka, ka-ts (hybrid swap MC/MD)."),
    n: int = typer.Option(..., "--n", help="Number of particles."),
    tf: float = typer.Option(..., "--tf", help="Fictive (preparation) temperature T_f."),
    samples: int = typer.Option(1, "--samples", help="Number of independent samples N_g."),
    seed: int = typer.Option(0, "--seed", help="Run seed; sample k uses the seed spawned from (seed, k)."),
    out: Path = typer.Option(..., "--out", help="Run directory: writes OUT/<model>/Tf_<T_f>/sample_<k>/prepare/."),
    dim: int = typer.Option(3, "--dim", help="Dimension (2 or 3)."),
    n_tau: float = typer.Option(_F["n_tau"].default, "--n-tau", help="Required equilibrium run length in tau_alpha."),
    max_time: Optional[float] = typer.Option(None, "--max-time",
                                             help="Budget per sample (sweeps for PSS, MD time for TLJ)."),
    max_seconds: Optional[float] = typer.Option(None, "--max-seconds", help="Wall-clock budget per sample."),
    quench: str = typer.Option(_F["quench"].default, "--quench", help="md (at the exploration temperature) or minimize."),
    diameters: str = typer.Option(_F["diameters"].default, "--diameters",
                                  help="PSS diameters: quantiles (default everywhere, as the reference data) or random."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar with ETA."),
) -> None:
    """Equilibrate K samples at T_f (verdict: >= n_tau tau_alpha and a stationary energy), quench them."""
    from ..models import get_model
    from ..prepare import prepare_samples
    from ._output import locked_output

    if n < 2:
        raise InputError(f"--n must be at least 2, got {n}")
    if samples < 1:
        raise InputError(f"--samples must be at least 1, got {samples}")
    params = {"dim": dim, "n_tau": n_tau, "quench": quench, "diameters": diameters}
    if max_time is not None:
        params["max_time"] = max_time
    if max_seconds is not None:
        params["max_seconds"] = max_seconds
    get_model(model)
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from ..progressbar import progress_bar

        with progress_bar(total=float(samples), desc=f"prepare {model} N={n} T_f={tf:g}", unit="samples",
                          disable=not progress) as bar:

            def cb(k, frac, info):
                tau = info.get("tau_alpha")
                desc = f"prepare {model} N={n} T_f={tf:g} sample {k + 1}/{samples}"
                if tau:
                    desc += f" tau_a={tau:.3g} run={info.get('run_tau', 0):.1f}/{n_tau:g} tau"
                bar.set_description(desc)
                # the fraction follows the current tau_alpha estimate, which can grow: the bar
                # shows the furthest point reached and never moves backwards
                bar.update_to(k + frac)

            with locked_output(out, "prepare"):
                metas = prepare_samples(out, model, n, tf, samples, seed, progress=cb, **params)
    seen = set()
    for w in caught:
        msg = str(w.message)
        if msg not in seen:
            seen.add(msg)
            typer.echo(f"twolevel: warning: {msg}", err=True)
    n_eq = sum(bool(m["equilibrated"]) for m in metas)
    dt = time.perf_counter() - t0
    for k, m in enumerate(metas):
        tau = m.get("tau_alpha")
        state = "equilibrated" if m["equilibrated"] else f"NOT equilibrated ({m.get('reason')})"
        typer.echo(f"sample {k}: seed {m['seed']}, tau_alpha = {tau if tau is None else f'{tau:.4g}'} "
                   f"{m['time_unit']}, run {m.get('run_tau') or 0:.1f} tau_alpha, {state}")
    typer.echo(f"{n_eq}/{len(metas)} samples equilibrated in {dt:.1f} s -> {Path(out)}")
    if n_eq < len(metas):
        raise typer.Exit(code=1)
