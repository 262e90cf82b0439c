"""The harmonic-route stage: from a set of glasses to modes, moduli, A4 and nonlinear modes.

:func:`analyse_glasses` is a plain, resumable stage function (stored artefacts in,
stored artefacts out): each glass gets one JSON record under ``out_dir/glasses/``
(written atomically; a rerun skips glasses already done), then the ensemble
summary ``summary.json``, the tables ``modes.parquet`` and ``nonlinear.parquet``
are (re)built from those records. The soft-potential estimate of n0 takes one or
more such summaries (:func:`soft_potential_from_summaries`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from .. import io
from ..config import Configuration
from ..engine import ParticleSystem, minimize
from ..errors import InputError
from ..io.atomic import atomic_open, atomic_write
from ..layout import GLASS
from .a4 import fit_a4
from .elastic import AQS_GAMMA_MAX, AQS_STEPS, elastic_summary, quasistatic_bulk, shear_modulus
from .modes import identify_qlm, normal_modes
from .nonlinear import nonlinear_modes
from .softpotential import (Material, c1_from_chi, get_material, omega0_ratio, soft_potential_n0,
                            symmetric_fraction)
from .elastic import debye_scaled

CONFIG_SUFFIXES = (".h5", ".hdf5", ".npz", ".xyz", ".extxyz", ".data", ".lmp", ".lammps")


def find_glasses(inputs) -> list[Path]:
    """Glass files from files and library directories.

    A directory is searched recursively for ``glass.h5`` (the run layout
    RUN/<model>/Tf_<T_f>/sample_<k>/prepare/glass.h5); if it holds none, every
    configuration file directly inside it is taken.
    """
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    out: list[Path] = []
    for p in map(Path, inputs):
        if p.is_dir():
            found = sorted(p.rglob(GLASS))
            if not found:
                found = sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in CONFIG_SUFFIXES)
            if not found:
                raise InputError(f"{p}: no glass.h5 below it and no configuration files in it")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise InputError(f"{p}: no such file or directory")
    return out


def _key(path: Path) -> str:
    return hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12] + "_" + path.stem


def analyse_glass(conf: Configuration, k: int | None = 60, elastic: bool = True, nonlinear: bool = True,
                  gamma_max: float = AQS_GAMMA_MAX, steps: int = AQS_STEPS, bulk_strain: float = 1e-3,
                  qlm_fraction: float = 0.9, max_nonlinear: int = 20, ftol: float = 1e-10,
                  omega_t: float | None = None, progress: bool = False, shear: str = "born",
                  aqs_check: bool = True) -> dict:
    """Everything the harmonic route needs from one glass, as a JSON-able dict.

    The glass is first relaxed to max force ``ftol`` (an inherent structure). ``k`` lowest
    modes (all when None or when the system is small); G and bulk K when ``elastic``: G by
    Born minus non-affine (``shear="born"``, exact) or by AQS (``shear="aqs"``), the other
    method attached as a check when ``aqs_check`` (``elastic.shear_modulus``); nonlinear modes
    from (at most ``max_nonlinear``) QLMs below qlm_fraction * omega_t, with omega_t from this
    glass's G (or the given ``omega_t``).
    """
    ps = ParticleSystem(conf)
    res = minimize(ps, conf.positions, method="lbfgs", ftol=ftol)
    x = res.x
    nd = conf.n * conf.dim
    kk = None if (k is None or nd <= 3000) else min(int(k), nd - conf.dim)
    md = normal_modes(ps, x, k=kk)
    rec: dict = {"n": conf.n, "dim": conf.dim, "density": conf.density, "box": conf.box.tolist(),
                 "model": ps.model.name, "energy": res.energy, "max_force": res.max_force,
                 "omega": md.omega.tolist(), "pr_fraction": md.participation.tolist(), "complete": md.complete,
                 "T_f": conf.meta.get("T_f")}
    relaxed = Configuration(x, conf.box, conf.types, conf.diameters, conf.model, conf.meta)
    if elastic:
        sh = shear_modulus(relaxed, ps.model, method=shear, aqs_check=aqs_check, gamma_max=gamma_max,
                           steps=steps, ftol=min(ftol, 1e-11))
        bk = quasistatic_bulk(relaxed, ps.model, strain_max=bulk_strain, ftol=min(ftol, 1e-11))
        rec["shear"] = sh
        rec["bulk"] = bk.to_dict()
        if sh["G"] > 0:
            es = elastic_summary(sh["G"], bk.modulus, relaxed, sh["G_err"], bk.stderr)
            rec["elastic"] = es.to_dict()
            if omega_t is None:
                omega_t = es.omega_t
        else:
            # a small glass next to a shear instability can have G <= 0 (Born - non-affine is then
            # negative): no sound speed for this glass; its G still enters the ensemble mean
            rec["elastic"] = {"G": sh["G"], "G_err": sh["G_err"], "K": bk.modulus, "K_err": bk.stderr,
                              "omega_t": None, "note": "G <= 0: no sound speeds for this glass"}
    rec["omega_t"] = omega_t
    if nonlinear and omega_t is not None:
        q = identify_qlm(md, omega_t, fraction=qlm_fraction)[:max_nonlinear]
        rec["qlm"] = q.tolist()
        rec["nonlinear"] = nonlinear_modes(ps, x, md.vectors, q, omega=md.omega, progress=progress)
    return rec


def analyse_glasses(inputs, out_dir, label: str | None = None, k: int | None = 60, elastic: bool = True,
                    nonlinear: bool = True, gamma_max: float = AQS_GAMMA_MAX, steps: int = AQS_STEPS,
                    bulk_strain: float = 1e-3, qlm_fraction: float = 0.9, a4_window=(0.5, 1.0),
                    f_window=(0.04, 0.16), max_nonlinear: int = 20, elastic_samples: int = 4,
                    ftol: float = 1e-10, progress: bool = True, figures: bool = True, shear: str = "born",
                    aqs_check: bool = True) -> dict:
    """Stage: modes, moduli, A4 and nonlinear modes of an ensemble of glasses -> ``out_dir``.

    G by Born minus non-affine (``shear="born"``, the default) or AQS (``shear="aqs"``,
    ``gamma_max``, ``steps``), the AQS slope attached as a check when ``aqs_check``; the summary
    counts the checks (``aqs_checks``: ok / agree / nonlinear / plastic).
    Elastic moduli are measured on the first ``elastic_samples`` glasses and averaged; the
    ensemble omega_t (002 Eq. (18)) then fixes the QLM threshold and the A4 window
    [a4_window[0], a4_window[1]] * qlm_fraction * omega_t. Returns the summary dict.
    """
    files = find_glasses(inputs)
    out = Path(out_dir)
    (out / "glasses").mkdir(parents=True, exist_ok=True)
    it = files
    if progress:
        from ..progressbar import progress_bar
        it = progress_bar(files, desc="glasses", unit="glass")
    records = []
    omega_t_ens = None
    for idx, f in enumerate(it):
        store = out / "glasses" / f"{_key(f)}.json"
        if store.exists():
            try:
                records.append(json.loads(store.read_text()))
                continue
            except json.JSONDecodeError:
                pass  # incomplete artefact: redo
        conf = io.read(f)
        do_el = elastic and idx < elastic_samples
        if not do_el and omega_t_ens is None:
            omega_t_ens = _ensemble_omega_t(records)
        rec = analyse_glass(conf, k=k, elastic=do_el, nonlinear=False, gamma_max=gamma_max, steps=steps,
                            bulk_strain=bulk_strain, qlm_fraction=qlm_fraction, ftol=ftol,
                            max_nonlinear=max_nonlinear, omega_t=None if do_el else omega_t_ens,
                            shear=shear, aqs_check=aqs_check)
        rec["file"] = str(f)
        records.append(rec)
        with atomic_open(store, "w") as fh:
            json.dump(rec, fh)
    if not records:
        raise InputError("no glasses to analyse")
    summary = _summarise(records, label or out.name, qlm_fraction, a4_window, f_window)
    if nonlinear and summary.get("omega_t"):
        # nonlinear modes need the ensemble omega_t: second pass, stored per glass as well
        need = [(i, r) for i, r in enumerate(records) if "nonlinear" not in r]
        for i, r in need:
            f = Path(r["file"])
            conf = io.read(f)
            ps = ParticleSystem(conf)
            x = minimize(ps, conf.positions, method="lbfgs", ftol=ftol).x
            md = normal_modes(ps, x, k=None if r["complete"] else len(r["omega"]))
            q = identify_qlm(md, summary["omega_t"], fraction=qlm_fraction)[:max_nonlinear]
            r["qlm"] = q.tolist()
            r["nonlinear"] = nonlinear_modes(ps, x, md.vectors, q, omega=md.omega, progress=False)
            with atomic_open(out / "glasses" / f"{_key(f)}.json", "w") as fh:
                json.dump(r, fh)
        summary = _summarise(records, label or out.name, qlm_fraction, a4_window, f_window)
    _write_tables(records, out)
    with atomic_open(out / "summary.json", "w") as fh:
        json.dump(summary, fh, indent=1)
    if figures:
        _figures(records, summary, out)
    return summary


def _ensemble_omega_t(records):
    el = [r["elastic"] for r in records if "elastic" in r]
    if not el:
        return None
    G = float(np.mean([e["G"] for e in el]))
    K = float(np.mean([e["K"] for e in el]))
    r0 = records[0]
    if G <= 0:
        return None
    return elastic_summary(G, K, Configuration(np.zeros((r0["n"], r0["dim"])), np.asarray(r0["box"]), None, None,
                                               None)).omega_t


def _summarise(records, label, qlm_fraction, a4_window, f_window) -> dict:
    r0 = records[0]
    n, dim, density = r0["n"], r0["dim"], r0["density"]
    el = [r["elastic"] for r in records if "elastic" in r]
    s: dict = {"label": label, "model": r0["model"], "n": n, "dim": dim, "density": density,
               "n_glasses": len(records), "box": r0["box"],
               "T_f": r0.get("T_f")}
    if el:
        G = np.array([e["G"] for e in el])
        K = np.array([e["K"] for e in el])
        es = elastic_summary(float(G.mean()), float(K.mean()),
                             Configuration(np.zeros((n, dim)), np.asarray(r0["box"]), None, None, None),
                             float(G.std(ddof=1) / np.sqrt(len(G))) if len(G) > 1 else el[0]["G_err"],
                             float(K.std(ddof=1) / np.sqrt(len(K))) if len(K) > 1 else el[0]["K_err"])
        s.update({"G": es.G, "G_err": es.G_err, "K": es.K, "K_err": es.K_err, "c_t": es.c_t, "c_l": es.c_l,
                  "omega_D": es.omega_D, "omega_t": es.omega_t, "n_elastic": len(el)})
        sh = [r["shear"] for r in records if isinstance(r.get("shear"), dict) and "aqs_status" in r["shear"]]
        if sh:
            s["shear_method"] = sh[0]["method"]
            st = [q["aqs_status"] for q in sh]
            s["aqs_checks"] = {"ok": st.count("ok"), "agree": sum(bool(q["aqs_agrees"]) for q in sh),
                               "nonlinear": st.count("nonlinear"), "plastic": st.count("plastic"),
                               "skipped": st.count("skipped")}
    else:
        s.update({"omega_t": None, "omega_D": None})
    omegas = [np.asarray(r["omega"]) for r in records]
    omegas = [w[w > 0] for w in omegas]
    if s["omega_t"]:
        hi = a4_window[1] * qlm_fraction * s["omega_t"]
        lo = a4_window[0] * qlm_fraction * s["omega_t"]
        omax = [w.max() if (len(w) and not r["complete"]) else np.inf for w, r in zip(omegas, records)]
        try:
            fit = fit_a4(omegas, n * dim, hi, lo, omega_D=s["omega_D"], omega_max=omax)
            s["a4"] = fit.to_dict()
            s["A4"], s["A4_err"] = fit.A4, fit.A4_err
            s["A4_omega_D5"], s["A4_omega_D5_err"] = fit.A4_omega_D5, fit.A4_omega_D5_err
        except InputError as exc:
            s["a4_error"] = str(exc)
        nl = [q for r in records for q in r.get("nonlinear", []) if q["duplicate_of"] < 0]
        s["n_qlm"] = int(sum(len(r.get("qlm", [])) for r in records))
        s["n_nonlinear"] = len(nl)
        if nl:
            w1 = np.array([q["omega_1"] for q in nl])
            k1 = np.array([q["kappa_1"] for q in nl])
            c1v = np.array([q["chi_1"] for q in nl])
            s["nonlinear"] = {"omega_1": w1.tolist(), "kappa_1": k1.tolist(), "chi_1": c1v.tolist()}
            s["c1"] = c1_from_chi(c1v, s["omega_D"], density, dim)
            sf = symmetric_fraction(w1, k1, c1v, s["omega_D"], window=f_window)
            s["f_window"] = list(f_window)
            s["f_counts"] = {"between": sf.n_between, "window": sf.n_window}
    return s


def _write_tables(records, out: Path) -> None:
    import pandas as pd

    rows, nrows = [], []
    for i, r in enumerate(records):
        q = set(r.get("qlm", []))
        for j, (w, p) in enumerate(zip(r["omega"], r["pr_fraction"])):
            rows.append({"sample": i, "file": r.get("file", ""), "mode": j, "omega": w, "pr_fraction": p,
                         "is_qlm": j in q})
        for rec in r.get("nonlinear", []):
            nrows.append({"sample": i, "file": r.get("file", ""), **rec})
    atomic_write(out / "modes.parquet", lambda p: pd.DataFrame(rows).to_parquet(p, index=False))
    if nrows:
        atomic_write(out / "nonlinear.parquet", lambda p: pd.DataFrame(nrows).to_parquet(p, index=False))


def _figures(records, summary, out: Path) -> None:
    from ..report import vibrations_figs as vf

    omegas = [np.asarray(r["omega"]) for r in records]
    n_dof = summary["n"] * summary["dim"]
    vf.plot_dos(omegas, n_dof, out / "dos.png", omega_t=summary.get("omega_t"))
    if summary.get("a4"):
        vf.plot_i_omega5(omegas, n_dof, out / "i_omega5.png", a4=summary["a4"], omega_t=summary["omega_t"])
    if summary.get("nonlinear"):
        nl = summary["nonlinear"]
        vf.plot_nonlinear_scatter(nl["omega_1"], nl["kappa_1"], nl["chi_1"], summary["omega_D"],
                                  out / "nonlinear_scatter.png", window=summary.get("f_window"))
    curves = []
    for r in records:
        sh = r.get("shear")
        if isinstance(sh, dict) and sh.get("aqs"):      # the AQS check, with the Born - non-affine tangent
            curves.append(dict(sh["aqs"], G_bn=sh["G_bn"]))
        elif isinstance(sh, dict) and "strain" in sh:   # records written before Born - non-affine was the default
            curves.append(sh)
    if curves:
        vf.plot_stress_strain(curves, out / "stress_strain.png")


# -- soft potential from stored summaries ------------------------------------------------------

def soft_potential_from_summaries(summaries, material="a-si", reference: str | None = None,
                                  f_window=(0.04, 0.16)) -> list[dict]:
    """004 Table I for our own glasses: one row per summary (one preparation).

    The material's omega_D is that of the reference preparation (default the first summary);
    the others are scaled from their moduli G, K (004 SI). c1 from the median chi_1, A4 omega_D^5
    from the A4 fit, f from the nonlinear modes between the two lines in ``f_window``
    (omega_0 / omega_D from 004 Eq. (12)), then n0 = C0 D_L(omega_0) f(omega_0).
    """
    mat: Material = get_material(material)
    if not summaries:
        raise InputError("no summaries given")
    labels = [s["label"] for s in summaries]
    ref = summaries[0] if reference is None else next((s for s in summaries if s["label"] == reference), None)
    if ref is None:
        raise InputError(f"reference {reference!r} is not among the summaries {labels}")
    for s in summaries:
        for key in ("G", "K", "A4_omega_D5", "c1", "nonlinear", "omega_D"):
            if s.get(key) is None:
                raise InputError(f"summary {s.get('label')!r} lacks {key!r}: run `twolevel modes` with elastic "
                                 f"moduli and nonlinear modes")
    rows = []
    for s in summaries:
        wd = debye_scaled(s["G"], s["K"], ref["G"], ref["K"], mat.omega_D, s["dim"])
        m = mat.with_omega_D(wd)
        r = omega0_ratio(s["c1"], m)
        nl = s["nonlinear"]
        sf = symmetric_fraction(nl["omega_1"], nl["kappa_1"], nl["chi_1"], s["omega_D"], window=f_window,
                                omega0_over_omegaD=r)
        a4rel = (s.get("A4_omega_D5_err") or 0.0) / s["A4_omega_D5"] if s["A4_omega_D5"] else 0.0
        frel = sf.f_err / sf.f if sf.f and np.isfinite(sf.f) and sf.f > 0 else 0.0
        est = soft_potential_n0(s["c1"], s["A4_omega_D5"], sf.f, m, label=s["label"], A4_rel_err=a4rel,
                                f_rel_err=frel)
        d = est.to_dict()
        d.update({"f_err": sf.f_err, "n_between": sf.n_between, "n_window": sf.n_window, "G": s["G"],
                  "K": s["K"]})
        rows.append(d)
    return rows
