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

from twolevel import io  # noqa: E402
from twolevel.engine import ParticleSystem, maxwell_boltzmann, minimize  # noqa: E402
from twolevel.explore import explore_glass  # noqa: E402
from twolevel.models import get_model  # noqa: E402

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


def pss_glass():
    if REF:
        c = io.read(REF[0])
        c = type(c)(c.positions, c.box, c.types, c.diameters, "pss", c.meta)
        return c, f"reference IS {Path(REF[0]).name} (T_f = 0.062, swap MC, other group)"
    return quick_glass("pss", 1500, 0.3, 2000), "quick glass (2000 MD steps at T = 0.3, minimised)"


def run_case(label, conf, temperature, tau_cg, n_min, runs, tmp):
    path = Path(tmp) / f"{label}.h5"
    io.write(path, conf)
    out = Path(tmp) / f"{label}_explore"
    t0 = time.process_time()
    w0 = time.perf_counter()
    res = explore_glass(path, out, temperature, tau_cg, n_min, runs, seed=0)
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
    a = ap.parse_args(argv)
    scale = 0.25 if a.quick else 1.0
    print(f"machine: {os.cpu_count()} logical CPUs; timings on a shared machine are noisy")
    results = {}
    pss, pss_note = pss_glass()
    print(f"PSS glass: {pss_note}")
    results["minimisation"] = minimisation_race(pss)
    results["minimisation_1e-8"] = minimisation_race(pss, ftol=1e-8, reps=1)
    with tempfile.TemporaryDirectory() as tmp:
        results["pss"] = run_case("pss", pss, 0.04, 200, max(4, int(40 * scale)), 2, tmp)
        results["pss"]["glass"] = pss_note
        tlj = quick_glass("tlj", 1200, 1.0, 2000, t_cool=0.45, cool_steps=4000)
        results["tlj"] = run_case("tlj", tlj, 0.4, 200, max(4, int(40 * scale)), 2, tmp)
        results["tlj"]["glass"] = ("quick glass (2000 MD steps at T = 1.0 from a lattice, 4000 at T = 0.45, "
                                    "minimised)")
    flat = {
        "pss_is_per_cpu_minute": results["pss"]["is_per_cpu_minute"],
        "pss_minimisations_per_cpu_minute": results["pss"]["minimisations_per_cpu_minute"],
        "tlj_is_per_cpu_minute": results["tlj"]["is_per_cpu_minute"],
        "tlj_minimisations_per_cpu_minute": results["tlj"]["minimisations_per_cpu_minute"],
        "minimisation_pss1500_s": results["minimisation"]["ours_s"],
        "minimisation_pss1500_scipy_s": results["minimisation"]["scipy_s"],
        "ratio_minimisation_vs_scipy": results["minimisation"]["ratio"],
        "ratio_minimisation_vs_scipy_1e-8": results["minimisation_1e-8"]["ratio"],
        "details": results,
    }
    print(json.dumps(flat, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
