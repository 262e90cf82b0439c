"""``twolevel modes`` and ``twolevel softpotential``: the harmonic route (002 Sec. IV C, 004)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from . import app
from ..errors import InputError


@app.command("modes")
def modes(
    inputs: List[Path] = typer.Argument(..., help="Glass files (.h5 .npz .xyz .data) or library directories "
                                                   "(searched for glass.h5)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (resumable: glasses done are skipped)."),
    k: int = typer.Option(60, "--k", help="Lowest modes per glass for large systems (all modes up to 3000 dof)."),
    elastic: bool = typer.Option(True, "--elastic/--no-elastic", help="Shear and bulk moduli."),
    elastic_samples: int = typer.Option(4, "--elastic-samples", help="Glasses on which the moduli are measured."),
    shear: str = typer.Option("born", "--shear", help="Shear modulus by 'born' (Born minus non-affine, exact) "
                                                     "or 'aqs' (athermal quasistatic shear, refused where "
                                                     "sigma(gamma) is not linear)."),
    aqs_check: bool = typer.Option(True, "--aqs-check/--no-aqs-check", help="Also run AQS as a check of G."),
    gamma_max: float = typer.Option(1e-6, "--gamma-max", help="Largest AQS shear strain."),
    steps: int = typer.Option(5, "--steps", help="AQS strain steps."),
    nonlinear: bool = typer.Option(True, "--nonlinear/--no-nonlinear", help="Nonlinear modes from the QLMs."),
    max_nonlinear: int = typer.Option(20, "--max-nonlinear", help="At most this many QLMs per glass."),
    qlm_fraction: float = typer.Option(0.9, "--qlm-fraction", help="QLMs: omega < fraction * omega_t."),
    a4_low: float = typer.Option(0.5, "--a4-low", help="A4 window starts at this fraction of its top."),
    label: Optional[str] = typer.Option(None, "--label", help="Label of this preparation (default: out name)."),
    figures: bool = typer.Option(True, "--figures/--no-figures"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Vibrational modes, moduli, omega_D, A4 omega_D^5 and nonlinear modes of an ensemble of glasses."""
    from ..vibrations.analysis import analyse_glasses

    if k < 1 or steps < 2 or gamma_max <= 0 or not 0 < qlm_fraction or not 0 <= a4_low < 1:
        raise InputError("need k >= 1, steps >= 2, gamma_max > 0, qlm_fraction > 0 and 0 <= a4_low < 1")
    if shear not in ("born", "aqs"):
        raise InputError(f"--shear must be 'born' or 'aqs', got {shear!r}")
    s = analyse_glasses(inputs, out, label=label, k=k, elastic=elastic, nonlinear=nonlinear,
                        gamma_max=gamma_max, steps=steps, qlm_fraction=qlm_fraction,
                        a4_window=(a4_low, 1.0), max_nonlinear=max_nonlinear,
                        elastic_samples=elastic_samples, progress=progress, figures=figures,
                        shear=shear, aqs_check=aqs_check)
    parts = [f"{s['n_glasses']} glasses"]
    for key in ("G", "K", "omega_D", "omega_t", "A4_omega_D5", "c1"):
        if s.get(key) is not None:
            parts.append(f"{key} = {s[key]:.4g}")
    if s.get("n_nonlinear") is not None:
        parts.append(f"{s['n_nonlinear']} nonlinear modes")
    print(", ".join(parts) + f" -> {out / 'summary.json'}")
    ch = s.get("aqs_checks")
    if ch and ch["skipped"] < sum(ch.values()):
        print(f"AQS check of G ({s.get('shear_method')}): {ch['ok']} linear ({ch['agree']} agree), "
              f"{ch['nonlinear']} not linear, {ch['plastic']} stress drop" +
              ("" if ch["agree"] == ch["ok"] else "  WARNING: an AQS slope disagrees with Born - non-affine"))


@app.command("softpotential")
def softpotential(
    summaries: Optional[List[Path]] = typer.Argument(None, help="summary.json files of `twolevel modes` "
                                                                "(one per preparation)."),
    material: str = typer.Option("a-si", "--material", help="Built-in material (a-si) or a JSON file with "
                                                             "name, mass \\[kg], a \\[m], omega_D \\[rad/s] or "
                                                             "debye_temperature \\[K]."),
    reference: Optional[str] = typer.Option(None, "--reference", help="Label whose omega_D is the material's "
                                                                       "(default: the first summary)."),
    f_low: float = typer.Option(0.04, "--f-low", help="Lower end of the omega_1/omega_D window for f."),
    f_high: float = typer.Option(0.16, "--f-high", help="Upper end of the omega_1/omega_D window for f."),
    tls: Optional[Path] = typer.Option(None, "--tls", help="TLS-route summary (JSON list or CSV/Parquet with "
                                                           "label or T_f, n0[, n0_err]) for the A4 vs n0 comparison."),
    tls_units: Optional[str] = typer.Option(None, "--tls-units", help="Unit system to take from a TLS table "
                                                                      "holding several."),
    table1: bool = typer.Option(False, "--table1", help="Print 004 Table I recomputed from its printed inputs."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output directory for the table and figures."),
) -> None:
    """Soft-potential estimate n0 = C0 D_L(omega_0) f(omega_0) (004 Eqs. (3)-(12)) in J^-1 m^-3."""
    import pandas as pd

    from ..io.atomic import atomic_open, atomic_write
    from ..vibrations.analysis import soft_potential_from_summaries
    from ..vibrations.softpotential import compare_routes, get_material, table_i

    if table1:
        rows = table_i()
        print(f"{'T_p':>5} {'T_D[K]':>7} {'c1':>4} {'w0/wD':>7} {'(printed)':>9} {'w0/wbar':>7} "
              f"{'C0':>9} {'(printed)':>9}")
        for r in rows:
            print(f"{r['T_p']:5.2f} {r['debye_temperature']:7.0f} {r['c1']:4.1f} {r['omega0_over_omegaD']:7.4f} "
                  f"{r['printed_omega0_over_omegaD']:9.2f} {r['omega0_over_omegabar']:7.3f} {r['C0']:9.3g} "
                  f"{r['printed_C0']:9.3g}")
        if not summaries:
            return
    if not summaries:
        raise InputError("give summary.json files of `twolevel modes` (or --table1)")
    mat = material
    if Path(material).suffix.lower() == ".json":
        try:
            mat = get_material(json.loads(Path(material).read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{material}: cannot read the material ({exc})") from None
    data = []
    for p in summaries:
        try:
            data.append(json.loads(Path(p).read_text()))
        except FileNotFoundError:
            raise InputError(f"{p}: no such file") from None
        except json.JSONDecodeError as exc:
            raise InputError(f"{p}: not a JSON summary ({exc.msg} at line {exc.lineno})") from None
    rows = soft_potential_from_summaries(data, mat, reference, (f_low, f_high))
    print(f"{'label':>12} {'T_D[K]':>7} {'c1':>6} {'w0/wD':>7} {'C0':>9} {'D_L[s]':>9} {'f':>6} {'n0[J-1m-3]':>11}")
    for r in rows:
        print(f"{r['label']:>12} {r['debye_temperature_K']:7.0f} {r['c1']:6.3g} {r['omega0_over_omegaD']:7.4f} "
              f"{r['C0']:9.3g} {r['D_L']:9.3g} {r['f']:6.3g} {r['n0']:11.3g}")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        with atomic_open(out / "softpotential.json", "w") as fh:
            json.dump(rows, fh, indent=1)
    if tls is not None:
        if not tls.exists():
            raise InputError(f"{tls}: no such file")
        if tls.suffix.lower() == ".json":
            t = pd.DataFrame(json.loads(tls.read_text()))
        elif tls.suffix.lower() == ".csv":
            t = pd.read_csv(tls)
        else:
            t = pd.read_parquet(tls)
        h = [{"label": s["label"], "T_f": s.get("T_f"), "A4_omega_D5": s.get("A4_omega_D5"),
              "A4_omega_D5_err": s.get("A4_omega_D5_err")} for s in data]
        cmp = compare_routes(h, t, units=tls_units)
        print(cmp.to_string(index=False))
        if out is not None:
            from ..report.vibrations_figs import plot_a4_vs_n0

            atomic_write(out / "a4_vs_n0.csv", lambda p: cmp.to_csv(p, index=False))
            plot_a4_vs_n0(cmp, out / "a4_vs_n0.png")
