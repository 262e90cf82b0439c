"""``twolevel lattice``: DPLM kinetic Monte Carlo (cooling) and its exact low-T theory.

000_ac86d19d448073de.txt; user guide: docs/lattice.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from . import app
from ..errors import InputError

lattice_app = typer.Typer(help="Distinguishable-particle lattice model: cooling runs and exact TLS theory.",
                          no_args_is_help=True)
app.add_typer(lattice_app, name="lattice")


@lattice_app.command("cool")
def cool_cmd(
    config: Path = typer.Argument(..., help="TOML configuration (see examples/lattice_*.toml)."),
    output: Optional[Path] = typer.Option(None, "--out", "-o", help="Run directory (overrides run.output)."),
    samples: Optional[int] = typer.Option(None, "--samples", help="Independent samples (overrides run.samples)."),
    output_old: Optional[Path] = typer.Option(None, "--output", hidden=True, help="Old name of --out."),
    samples_old: Optional[int] = typer.Option(None, "-n", hidden=True, help="Old short name of --samples."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    figures: bool = typer.Option(True, "--figures/--no-figures", help="Write figures."),
) -> None:
    """Cool equilibrium samples from T_I and measure C_v, c1, c3, D, return probabilities and TLS."""
    from ..lattice.config import load_config
    from ..lattice.runner import run_cooling

    if output_old is not None:
        if output is not None:
            raise InputError("give --out only (--output is its old name)")
        output = output_old
    samples = samples if samples is not None else samples_old
    cfg = load_config(config)
    if samples is not None:
        if samples < 1:
            raise InputError("--samples: must be at least 1")
        cfg.run.samples = samples
    cfg.run.progress = progress
    cfg.run.figures = figures
    from ._output import locked_output

    with locked_output(Path(output or cfg.run.output), "lattice cool"):
        res = run_cooling(cfg, output, config_path=config)
    r = res["results"]
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"lattice cool: {res['outdir']}")
    t.add_column("quantity")
    t.add_column("value")
    ff, fd = r["fit_fluctuation"], r["fit_derivative"]
    t.add_row("samples, N, phi_v, T_I", f"{r['samples']}, {r['N']}, {r['phi_v']:.4g}, {r['T_I']}")
    t.add_row("fit window", f"{r['fit_window'][0]:.3g} <= T <= {r['fit_window'][1]:.3g}")
    t.add_row("c1 (Var E / N T^2)", f"{ff['c1']:.4g} +- {ff['c1_err']:.2g}")
    t.add_row("c3 (Var E / N T^2)", f"{ff['c3']:.4g} +- {ff['c3_err']:.2g}")
    t.add_row("c1 (dE/dT)", f"{fd['c1']:.4g} +- {fd['c1_err']:.2g}")
    t.add_row("c3 (dE/dT)", f"{fd['c3']:.4g} +- {fd['c3_err']:.2g}")
    th = r["theory_A13_convolution"]
    t.add_row("theory Eq. (A13), convolution", f"c1 = {th['c1']:.4g}, c3 = {th['c3']:.4g}")
    if "theory_closed_form" in r:
        cf = r["theory_closed_form"]
        t.add_row(f"theory Eq. ({cf['equation']})", f"c1 = {cf['c1']:.4g}, c3 = {cf['c3']:.4g}")
    gt = r.get("glass_transition", {})
    if gt.get("Tg") == gt.get("Tg"):
        t.add_row("T_g (D = D_r), m_k", f"{gt['Tg']:.4g}, {gt['m_k']:.3g}")
    ss = r.get("sample_statistics")
    if ss:
        nd = ss["samples_needed_10pct"]
        t.add_row("samples for +-10 % (exact scatter)", f"c1: {nd['c1']}, c3: {nd['c3']}")
    ev = sum(s["events"] for s in res["provenance"]["samples"])
    wall = sum(s["wall_s"] for s in res["provenance"]["samples"])
    t.add_row("events, events/s", f"{ev:.4g}, {ev / max(wall, 1e-9):.3g}")
    con = Console()
    con.print(t)
    for w in r.get("warnings", []):
        con.print(f"[yellow]WARNING[/yellow] {w}", soft_wrap=True)


@lattice_app.command("theory")
def theory_cmd(
    T_I: float = typer.Option(0.05, "--T-I", help="Equilibrium (fictive) temperature of the ultrastable glass."),
    phi_v: float = typer.Option(0.005, "--phi-v", help="Void density."),
    z: int = typer.Option(4, "--z", help="Coordination number (4: square; 6: triangular or simple cubic)."),
    family: str = typer.Option("uniform", "--g", help="g(V): uniform, linear, uniform_delta, fermi_gauss."),
    V0: float = typer.Option(0.0, "--V0", help="Lower edge of uniform/linear g."),
    dV: float = typer.Option(1.0, "--dV", help="Width Delta V."),
    G0: Optional[float] = typer.Option(None, "--G0", help="G0 of Eqs. (12)-(13)."),
    sigma_V: Optional[float] = typer.Option(None, "--sigma-V", help="sigma_V of Eqs. (13)-(15)."),
    nu: float = typer.Option(1e-4, "--nu", help="Cooling rate for q of Eqs. (4)-(5)."),
    T: Optional[str] = typer.Option(None, "--T", help="Comma-separated T values: print C_v of Eq. (A5) there."),
    glycerol: bool = typer.Option(False, "--glycerol", help="Also print the glycerol unit conversion of Sec. VI."),
    figure: Optional[Path] = typer.Option(None, "--figure", help="Write P(Delta E) (like 000 Fig. 8) to this PNG."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
) -> None:
    """P(Delta E) by convolution (Eq. (A16)), c1 and c3 (Eq. (A13)), closed forms (A18)-(A21), q (Eqs. (4)-(5))."""
    import numpy as np

    from ..lattice import gdist
    from ..lattice import theory as th

    if z < 2:
        raise InputError("--z: must be at least 2")
    if T_I <= 0:
        raise InputError("--T-I: must be positive")
    if not 0 < phi_v < 1:
        raise InputError("--phi-v: must be in (0, 1)")
    g = gdist.from_params(family, V0=V0, dV=dV, G0=G0, sigma_V=sigma_V)
    r = th.c1_c3(g, T_I, phi_v, z)
    out = {"g": g.describe(), "z": z, "T_I": T_I, "phi_v": phi_v, "P0": r["P0"], "P2": r["P2"], "c1": r["c1"],
           "c3": r["c3"], "q_at_T_I": float(th.q_hop(g, [T_I], nu, z)[0]), "nu": nu,
           "dE_max_at_T_I": float(th.delta_e_max(T_I, nu))}
    out["phi_TLS_estimate"] = z * out["q_at_T_I"] * phi_v
    if family == "uniform" and V0 == 0.0 and z in (4, 6):
        P0c, P2c = th.closed_form_P(T_I, z, dV)
        c1c, c3c = th.closed_form_c(T_I, phi_v, z, dV)
        out["closed_form"] = {"equations": "A18/A19" if z == 4 else "A20/A21", "P0": P0c, "P2": P2c, "c1": c1c,
                              "c3": c3c}
    if T:
        try:
            Ts = np.array([float(x) for x in T.split(",")])
        except ValueError:
            raise InputError(f"--T: not a comma-separated list of numbers: {T!r}") from None
        out["Cv_A5"] = dict(zip([float(x) for x in Ts], th.cv_exact(r["dist"], Ts, phi_v).tolist()))
    if glycerol:
        out["glycerol"] = th.glycerol_example()
    if figure is not None:
        from ..lattice.figures import fig_delta_e

        fig_delta_e({g.describe(): r["dist"]}, figure)
    if json_out:
        print(json.dumps(out))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title="DPLM exact low-T theory (000 App. A)")
    t.add_column("quantity")
    t.add_column("value")
    for k, v in out.items():
        t.add_row(k, json.dumps(v) if isinstance(v, dict) else str(v))
    Console().print(t)
