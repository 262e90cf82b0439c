"""Benchmark: swap Monte Carlo for PSS (N = 1500, T = 0.07), attempted moves per second on one core.

Peer (measured in the same run): the O(N)-per-move scheme of the public C++ swap code the
issue names (~5e4 moves/s there), re-implemented here in numba: every move recomputes the
moved particle's (or the two exchanged particles') energy against ALL N particles. Same
model, same move set, same acceptance rule; only the energy difference differs.

Also: tau_alpha of swap MC at T = 0.1 and 0.085 (N = 500), extrapolated (Arrhenius in 1/T)
to T_f = 0.07 to estimate the equilibration time of one N = 1500 sample; and the wall time
of a real `prepare_sample` run for N = 500 at T_f = 0.1.

Timings: process CPU time (the machine is shared; wall time is also printed).
Usage: python benchmarks/swap.py [--quick]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time

import numpy as np
from numba import njit

from twolevel.dynamics import relax_mc
from twolevel.engine.kernels import min_image
from twolevel.engine.swap import SwapMC, _v, tune_delta
from twolevel.models import get_model
from twolevel.prepare import prepare_sample


@njit(cache=True)
def naive_mc(pos, box, types, diam, mp, beta, delta, p_swap, nmoves, seed):
    """Swap MC with the energy difference summed over all N particles for every move."""
    np.random.seed(seed)
    n, d = pos.shape
    binv = 1.0 / box
    acc = 0
    newx = np.empty(d)
    for _ in range(nmoves):
        if np.random.random() < p_swap:
            i = np.random.randint(0, n)
            j = np.random.randint(0, n - 1)
            if j >= i:
                j += 1
            di = diam[i]
            dj = diam[j]
            de = 0.0
            for k in range(n):
                if k == i or k == j:
                    continue
                for (a, da, db) in ((i, di, dj), (j, dj, di)):
                    r2 = 0.0
                    for c in range(d):
                        x = min_image(pos[a, c] - pos[k, c], box[c], binv[c])
                        r2 += x * x
                    de += _v(r2, 0, 0, db, diam[k], mp) - _v(r2, 0, 0, da, diam[k], mp)
            if de <= 0.0 or np.random.random() < np.exp(-beta * de):
                diam[i] = dj
                diam[j] = di
                acc += 1
        else:
            i = np.random.randint(0, n)
            for c in range(d):
                newx[c] = pos[i, c] + delta * (2.0 * np.random.random() - 1.0)
            de = 0.0
            for k in range(n):
                if k == i:
                    continue
                ra = 0.0
                rb = 0.0
                for c in range(d):
                    x = min_image(pos[i, c] - pos[k, c], box[c], binv[c])
                    y = min_image(newx[c] - pos[k, c], box[c], binv[c])
                    ra += x * x
                    rb += y * y
                de += _v(rb, 0, 0, diam[i], diam[k], mp) - _v(ra, 0, 0, diam[i], diam[k], mp)
            if de <= 0.0 or np.random.random() < np.exp(-beta * de):
                for c in range(d):
                    pos[i, c] = newx[c]
                acc += 1
    return acc


def timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.process_time() - c0, time.perf_counter() - w0


def main(quick: bool = False) -> dict:
    model = get_model("pss")
    N, T = 1500, 0.07
    conf = model.random_configuration(N, seed=1, diameters="quantiles")
    hot = SwapMC(conf, 0.3, seed=2)
    hot.sweeps(100)
    mc = SwapMC(hot.configuration(), T, seed=3, delta=0.06)
    tune_delta(mc, 0.3, rounds=10, sweeps_per_round=5)
    mc.sweeps(300)                                   # settle at T = 0.07 (a quenched liquid)
    nm = 1_000_000 if quick else 4_000_000
    _, cpu, wall = timed(lambda: mc.run(nm))
    ours = nm / cpu
    print(f"ours : PSS N={N} T={T}: {ours:.3e} attempted moves/s (CPU; wall {nm / wall:.3e}), "
          f"acceptance {mc.acceptance}, delta {mc.delta:.4f}")

    pos = mc.pos.copy()
    diam = mc.diam.copy()
    naive_mc(pos.copy(), mc.box, mc.types, diam.copy(), mc.mp, 1 / T, mc.delta, 0.2, 100, 1)  # compile
    npeer = 20_000 if quick else 60_000
    _, cpu_p, wall_p = timed(lambda: naive_mc(pos, mc.box, mc.types, diam, mc.mp, 1 / T, mc.delta, 0.2,
                                              npeer, 5))
    peer = npeer / cpu_p
    print(f"peer : O(N) energy difference per move (numba): {peer:.3e} attempted moves/s "
          f"(CPU; wall {npeer / wall_p:.3e})")
    print(f"ratio ours/peer = {ours / peer:.1f}  (target >= 40; absolute target 2e6 moves/s)")

    # tau_alpha of swap MC and the equilibration-time estimate at T_f = 0.07
    temps = [0.1, 0.085]
    taus = []
    for t_ in temps:
        c = model.random_configuration(500, seed=4, diameters="quantiles")
        r = relax_mc(c, t_, equilibrate=(1500 if quick else 4000), t_max=(4000 if quick else 12000),
                     seed=5, origins=1)
        taus.append(r.tau_alpha)
        print(f"swap MC tau_alpha(T={t_}) = {r.tau_alpha} sweeps (N = 500)")
    est = {}
    if all(taus):
        b = (np.log(taus[1]) - np.log(taus[0])) / (1 / temps[1] - 1 / temps[0])
        tau07 = float(np.exp(np.log(taus[0]) + b * (1 / 0.07 - 1 / temps[0])))
        n_tau = 30.0
        moves = n_tau * tau07 * N
        est = {"tau_swap_T0.07_sweeps_est": tau07, "equil_N1500_T0.07_seconds_est": moves / ours}
        print(f"estimate: tau_alpha(0.07) ~ {tau07:.3g} sweeps (Arrhenius from T = 0.1, 0.085; "
              f"a lower bound: the swap dynamics is super-Arrhenius); 30 tau_alpha x N = {moves:.3g} moves "
              f"-> {moves / ours / 60:.1f} min on one core at the measured rate")

    # a real preparation: N = 500 at T_f = 0.1
    prep = {}
    if not quick:
        with tempfile.TemporaryDirectory() as tmp:
            meta, cpu_r, wall_r = timed(lambda: prepare_sample(tmp, "pss", 500, 0.1, 1))
        prep = {"prepare_N500_Tf0.1_wall_s": wall_r, "prepare_N500_Tf0.1_cpu_s": cpu_r,
                "prepare_N500_Tf0.1_equilibrated": meta["equilibrated"],
                "prepare_N500_Tf0.1_tau_sweeps": meta["tau_alpha"], "prepare_N500_Tf0.1_run_tau": meta["run_tau"]}
        print(f"prepare_sample(pss, N=500, T_f=0.1): {wall_r:.0f} s wall ({cpu_r:.0f} s CPU), "
              f"equilibrated={meta['equilibrated']}, tau_alpha={meta['tau_alpha']:.4g} sweeps, "
              f"run {meta['run_tau']:.1f} tau_alpha")
    res = {"moves_per_s": ours, "peer_moves_per_s": peer, "ratio": ours / peer,
           "target_moves_per_s": 2e6, **est, **prep}
    print(json.dumps(res))
    return res


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
