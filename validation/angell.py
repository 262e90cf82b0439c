"""Validation: tau_alpha of swap and plain dynamics against temperature (002 Fig. 1, issue 3).

Usage:
    python validation/angell.py [--quick] [--models pss,tlj,tlj-printed] [--out runs/angell]

For each model a cooling sequence of equilibrium liquids is made with the swap dynamics
(PSS: swap MC, 001 "Glass preparation"; TLJ: hybrid swap MC/MD, 002 Sec. II C: blocks of
10 MD steps dt = 0.005 + 1.75 N type-exchange attempts), and at each temperature

- tau_alpha of the swap dynamics: F_s(k, t) = 1/e (k = 7.0 PSS, 7.2 TLJ; 002 Sec. II C),
  one time origin, from the equilibrated configuration;
- tau_alpha of plain dynamics from the same configuration: MD with a Nosé-Hoover chain
  (002 Sec. II C; period 0.5) or, with --thermostat langevin, Langevin MD with weak friction
  (gamma = 0.1); dt 0.01 PSS, 0.005 TLJ; time in MD units; the hybrid's MD uses the same
  thermostat, so the two TLJ dynamics differ only by the exchanges;
- the mean potential energy and virial pressure (hybrid snapshots during equilibration), and
  the exchange acceptance.

Time units: swap MC in sweeps (N attempted moves), MD and the hybrid in MD time (the hybrid's
clock counts only its MD steps, as 002 Fig. 1 does). The PSS Angell plot shows each
dynamics scaled by its own tau_alpha at T = 0.2 (close to the onset 0.18), i.e. one MC sweep
is NOT equated with an MD time; the TLJ plot is in MD time for both dynamics.

"tlj" is the TLJ model with the C row as the midpoint of A and B, "tlj-printed" the row as
printed in 002 Sec. II B (docs/papers.md). Writes OUT/angell.csv, OUT/angell.json,
OUT/fs_<model>.png, OUT/angell_<model>.png, and prints one JSON line.
Measured figures: docs/prepare.md ("Angell plot").
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

from twolevel.dynamics import relax_hybrid, relax_mc, relax_md
from twolevel.engine.swap import HybridSwapMD, SwapMC, tune_delta
from twolevel.io.atomic import atomic_open
from twolevel.models import get_model
from twolevel.report.prepare_figs import angell, fs_curves

#: Langevin friction of both TLJ dynamics (the hybrid's MD and plain MD): weak, so both are close
#: to Newtonian (002 used Nose-Hoover) and differ only by the exchanges
GAMMA = 0.1
THERMOSTAT = ["nose-hoover"]   # set from --thermostat
STOP = 0.2          # end a single-origin F_s measurement once F_s < 0.2 (past 1/e)

#: (temperatures of the swap dynamics, temperatures of plain MD, N, MD / swap time budgets)
PLANS = {
    "pss": dict(n=500, swap=[0.25, 0.2, 0.15, 0.12, 0.1, 0.09, 0.08], md=[0.25, 0.2, 0.15, 0.13, 0.12],
                md_tmax=400.0, swap_tmax=6e4),
    "tlj": dict(n=360, swap=[1.0, 0.85, 0.75, 0.7, 0.65], md=[1.0, 0.85, 0.75, 0.7, 0.65],
                md_tmax=500.0, swap_tmax=500.0),
    "tlj-printed": dict(n=360, swap=[1.0, 0.8, 0.7], md=[1.0, 0.8, 0.7], md_tmax=500.0, swap_tmax=500.0),
}
QUICK = {
    "pss": dict(n=256, swap=[0.2, 0.12], md=[0.2], md_tmax=50.0, swap_tmax=2e4),
    "tlj": dict(n=360, swap=[1.0, 0.8], md=[1.0, 0.8], md_tmax=60.0, swap_tmax=60.0),
    "tlj-printed": dict(n=360, swap=[1.0], md=[1.0], md_tmax=30.0, swap_tmax=30.0),
}


def _row(model, rel, **extra):
    return {"model": model, "dynamics": rel.dynamics, "T": rel.temperature, "tau_alpha": rel.tau_alpha,
            "time_unit": rel.time_unit, "t_measured": float(rel.times[-1]), "k": rel.k, **extra}


def pss_series(plan, seed, log):
    m = get_model("pss")
    n = plan["n"]
    conf = m.random_configuration(n, seed=seed, diameters="quantiles")
    rows, rels = [], []
    tau_prev = 50.0
    for T in sorted(set(plan["swap"]) | set(plan["md"]), reverse=True):
        t0 = time.process_time()
        mc = SwapMC(conf, T, seed=seed + int(1e4 * T))
        tune_delta(mc, 0.3, rounds=8, sweeps_per_round=5)
        # equilibrate: >= 10 tau_alpha of the previous (higher) T times an expected growth of 3
        eq = float(np.clip(30.0 * tau_prev, 200.0, 2e5))
        e_, p_ = [], []
        for _ in range(10):
            mc.sweeps(eq / 10)
            e_.append(mc.energy / n)
            p_.append(mc.pressure())
        conf = mc.configuration()
        e_, p_ = e_[5:], p_[5:]      # second half of the equilibration
        extra = {"N": n, "equilibration": eq, "energy": float(np.mean(e_)), "pressure": float(np.mean(p_))}
        if T in plan["swap"]:
            r = relax_mc(conf, T, t_max=plan["swap_tmax"], delta=mc.delta, seed=seed + 7, stop_below=STOP)
            rels.append(r)
            rows.append(_row("pss", r, acceptance_swap=r.meta["acceptance"]["swap"],
                             acceptance_translation=r.meta["acceptance"]["translation"],
                             equilibrated_tau=eq / r.tau_alpha if r.tau_alpha else None, **extra))
            if r.tau_alpha:
                tau_prev = r.tau_alpha
            conf = r.meta["final"]
        if T in plan["md"]:
            r = relax_md(conf, T, t_max=plan["md_tmax"], seed=seed + 9, stop_below=STOP, gamma=GAMMA,
                         thermostat=THERMOSTAT[0])
            rels.append(r)
            rows.append(_row("pss", r, md_energy=r.meta["energy"], md_pressure=r.meta["pressure"], **extra))
        log(f"pss T = {T:g}: " + ", ".join(f"{x['dynamics']} tau = {x['tau_alpha']}" for x in rows
                                           if x["T"] == T) + f"  ({time.process_time() - t0:.0f} s CPU)")
    return rows, rels


def tlj_series(name, plan, seed, log):
    m = get_model(name)
    n = plan["n"]
    temps = sorted(set(plan["swap"]) | set(plan["md"]), reverse=True)
    conf = m.random_configuration(n, seed=seed)
    # melt the lattice start by MC (translations + exchanges) as the prepare stage does
    pre = SwapMC(conf, temps[0], swap="types", p_swap=0.1, delta=0.05, seed=seed)
    tune_delta(pre, 0.3, rounds=10, sweeps_per_round=5)
    pre.sweeps(50)
    conf = pre.configuration()
    rows, rels = [], []
    tau_prev = 0.5
    for T in temps:
        t0 = time.process_time()
        h = HybridSwapMD(conf, T, seed=seed + int(1e3 * T), gamma=GAMMA, thermostat=THERMOSTAT[0])
        eq = float(np.clip(30.0 * tau_prev, 50.0, plan["swap_tmax"]))
        e_, p_, acc = [], [], [0, 0]
        for _ in range(10):
            c = h.run_time(eq / 10)
            acc[0] += c["swap"]
            acc[1] += c["swap_acc"]
            e_.append(h.mc.energy / n)
            p_.append(h.mc.pressure())
        conf = h.configuration()
        e_, p_ = e_[5:], p_[5:]      # second half of the equilibration
        extra = {"N": n, "equilibration": eq, "energy": float(np.mean(e_)), "pressure": float(np.mean(p_)),
                 "pressure_sem": float(np.std(p_, ddof=1) / np.sqrt(len(p_))),
                 "acceptance_swap": acc[1] / max(acc[0], 1)}
        if T in plan["swap"]:
            r = relax_hybrid(conf, T, t_max=plan["swap_tmax"], seed=seed + 5, stop_below=STOP, gamma=GAMMA,
                             thermostat=THERMOSTAT[0])
            rels.append(r)
            rows.append(_row(name, r, equilibrated_tau=eq / r.tau_alpha if r.tau_alpha else None, **extra))
            if r.tau_alpha:
                tau_prev = r.tau_alpha
            conf = r.meta["final"]
        if T in plan["md"]:
            r = relax_md(conf, T, t_max=plan["md_tmax"], seed=seed + 9, stop_below=STOP, gamma=GAMMA,
                         thermostat=THERMOSTAT[0])
            rels.append(r)
            rows.append(_row(name, r, md_energy=r.meta["energy"], md_pressure=r.meta["pressure"], **extra))
        log(f"{name} T = {T:g}: " + ", ".join(f"{x['dynamics']} tau = {x['tau_alpha']}" for x in rows
                                             if x["T"] == T)
            + f"  acc = {extra['acceptance_swap']:.4f}  P = {extra['pressure']:.2f}  E/N = {extra['energy']:.3f}"
            + f"  ({time.process_time() - t0:.0f} s CPU)")
    return rows, rels


def fit_mct(T, tau, t_min):
    """Rough tau = A (T - T_c)^-gamma fit (002 Sec. II C) to points with T >= t_min: grid over T_c,
    linear least squares in log for A, gamma. Returns (T_c, gamma) or None."""
    T = np.asarray(T, float)
    tau = np.asarray(tau, float)
    sel = T >= t_min
    T, tau = T[sel], tau[sel]
    if len(T) < 3:
        return None
    best = None
    for tc in np.linspace(0.3 * T.min(), 0.995 * T.min(), 400):
        x = np.log(T - tc)
        a = np.vstack([np.ones_like(x), -x]).T
        coef, res, *_ = np.linalg.lstsq(a, np.log(tau), rcond=None)
        r = float(np.sum((a @ coef - np.log(tau)) ** 2))
        if best is None or r < best[0]:
            best = (r, float(tc), float(coef[1]))
    return {"T_c": best[1], "gamma": best[2], "residual": best[0], "points": int(len(T))}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="two temperatures per model, small budgets (~1-2 min)")
    ap.add_argument("--models", default="pss,tlj,tlj-printed")
    ap.add_argument("--out", default="runs/angell")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--thermostat", default="nose-hoover", choices=["nose-hoover", "langevin"],
                    help="MD thermostat of the plain MD and of the hybrid's MD blocks")
    a = ap.parse_args(argv)
    THERMOSTAT[0] = a.thermostat
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    plans = QUICK if a.quick else PLANS
    c0, w0 = time.process_time(), time.perf_counter()
    rows, summary = [], {}

    def log(msg):
        print(f"[{time.perf_counter() - w0:6.0f} s] {msg}", flush=True)

    for name in [s.strip() for s in a.models.split(",") if s.strip()]:
        plan = plans[name]
        r, rels = pss_series(plan, a.seed, log) if name == "pss" else tlj_series(name, plan, a.seed, log)
        rows += r
        model = get_model(name)
        fs_curves(rels, out / f"fs_{name}.png", title=f"{name}, N = {plan['n']}")
        norm = {"swap MC": None, "MD": None}
        if name == "pss":   # each dynamics in units of its own tau_alpha at T = 0.2 (~ onset 0.18)
            norm = {d: next((x.tau_alpha for x in rels if x.dynamics == d and x.temperature == 0.2), None)
                    for d in ("swap MC", "MD")}
        angell(rels, out / f"angell_{name}.png", model.reference_temperatures,
               tau_onset=norm if name == "pss" else None, title=f"{name}, N = {plan['n']}")
        md = [(x["T"], x["tau_alpha"]) for x in r if x["dynamics"] == "MD" and x["tau_alpha"]]
        sw = {x["T"]: x["tau_alpha"] for x in r if x["dynamics"] != "MD" and x["tau_alpha"]}
        summary[name] = {
            "speedup_md_over_swap": {f"{t:g}": tau / sw[t] for t, tau in md if t in sw},
            "mct_fit_md": fit_mct(*zip(*md), t_min=0.0) if len(md) >= 3 else None,
        }
        if name == "pss":
            summary[name]["note"] = "speed-up in units of the ratio tau_MD / tau_swap at T = 0.2 (sweeps vs MD time)"
    with atomic_open(out / "angell.csv", "w") as fh:
        keys = sorted({k for r in rows for k in r}, key=lambda k: (k not in ("model", "dynamics", "T", "tau_alpha"), k))
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    res = {"rows": rows, "summary": summary, "cpu_s": time.process_time() - c0,
           "wall_s": time.perf_counter() - w0, "quick": a.quick}
    with atomic_open(out / "angell.json", "w") as fh:
        json.dump(res, fh, indent=1)
    print(json.dumps({"summary": summary, "cpu_s": res["cpu_s"], "wall_s": res["wall_s"]}))
    return res


if __name__ == "__main__":
    main(sys.argv[1:])
