"""Validation: is the c3 of cooled ultrastable DPLM glasses above Eq. (A19) physics or a defect?

000_ac86d19d448073de.txt Eq. (1) C_v = c1 T + c3 T^3, Eq. (A19) c1 = 8 pi^2 phi_v T_I^2, c3 = 14 pi^4 phi_v / 15
(uniform g on [0, 1], z = 4); the independent-TLS sum Eq. (A5) with Delta E^max of Eq. (5).

For every sample three C_v(T) curves, fitted alike (C_v/T = c1 + c3 T^2 on fit_T_min <= T <= fit_T_max):
  measured   Var(E) / (N T^2) over each cooling step (what `twolevel lattice cool` reports);
  slots_now  N^-1 sum over the hop slots of the current configuration (end of each step) of
             Phi(Delta E / T) (000 Eq. (A4)), slots with Delta E <= Delta E^max(T): the independent-TLS
             formula applied to the configuration the sample is actually in;
  slots_TI   the same with the slots of the start configuration (equilibrium at T_I): the independent-TLS
             theory (A5) for this very sample; its average over samples is Eq. (A5) fitted in the window.
The three share their rare low-Delta E slots, so the paired differences measured - slots_now (multi-level
systems, void pairs, estimator) and slots_now - slots_TI (void relaxation during cooling) have far less
sample-to-sample noise than c3 itself (per-sample scatter ~100 % at L = 500).

Usage: python validation/lattice_c3.py L phi_v nu samples [seed0] [out.npz]
Last line: one JSON object.
"""

import json
import sys
import time

import numpy as np

from twolevel.lattice import analysis, gdist, theory
from twolevel.lattice.model import DPLM
from twolevel.lattice.protocol import temperature_steps
from twolevel.stats import phi_two_level

T_I, FIT, T_END, DT_REL = 0.05, (0.004, 0.03), 0.003, 0.01


def slot_cv(dE, T, emax, N):
    dE = dE[np.isfinite(dE)]
    ph = phi_two_level(dE, T)
    ph[dE > emax] = 0.0
    return ph.sum() / N


def run_sample(L, phi, nu, seed):
    m = DPLM("square", L, phi, gdist.uniform(), seed=seed)
    m.start(T_I)
    dE0 = m.slot_dE().ravel().copy()
    edges = temperature_steps(T_I, T_END, DT_REL, 1e-3)
    Ts = 0.5 * (edges[1:] + edges[:-1])
    em = theory.delta_e_max(Ts, nu, m.w0)
    meas, now, ti = (np.zeros(Ts.size) for _ in range(3))
    for i, T in enumerate(Ts):
        dur = (edges[i] - edges[i + 1]) / nu
        m.set_temperature(T)
        m.acc[2] = m.E
        m.acc[3] = m.acc[4] = 0.0
        m.advance(m.t + dur)
        mE = m.acc[3] / dur
        meas[i] = max(m.acc[4] / dur - mE * mE, 0.0) / (m.N * T * T)   # as protocol.cool + analysis.cv_fluctuation
        now[i] = slot_cv(m.slot_dE().ravel(), T, em[i], m.N)
        ti[i] = slot_cv(dE0, T, em[i], m.N)
    return Ts, meas, now, ti, m


def main():
    L, phi, nu, ns = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    seed0 = int(sys.argv[5]) if len(sys.argv) > 5 else 7000
    out = sys.argv[6] if len(sys.argv) > 6 else None
    cpu0 = time.process_time()
    curves = {"measured": [], "slots_now": [], "slots_TI": []}
    for s in range(ns):
        Ts, a, b, c, m = run_sample(L, phi, nu, seed0 + s)
        for k, v in zip(curves, (a, b, c)):
            curves[k].append(v)
        if (s + 1) % 10 == 0:
            print(f"{s + 1} samples, {time.process_time() - cpu0:.0f} CPU s", flush=True)
    C = {k: np.array(v) for k, v in curves.items()}
    W = theory.fit_weights(Ts, *FIT)
    per = {k: C[k] @ W.T for k in C}                          # (ns, 2): per-sample c1, c3
    res = {"L": L, "phi_v": m.phi_v, "nu": nu, "samples": ns, "fit_window": FIT, "N": m.N,
           "cpu_s": time.process_time() - cpu0}

    def mean_err(v):
        return [float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v)))]

    for k in C:
        res[k] = {"c1": mean_err(per[k][:, 0]), "c3": mean_err(per[k][:, 1])}
    for a, b in (("measured", "slots_now"), ("slots_now", "slots_TI"), ("measured", "slots_TI")):
        d = per[a] - per[b]
        res[f"{a}-{b}"] = {"c1": mean_err(d[:, 0]), "c3": mean_err(d[:, 1])}
    c1, c3 = theory.closed_form_c(T_I, m.phi_v)
    dist = theory.delta_e_distribution(gdist.uniform(), T_I)
    em = theory.delta_e_max(Ts, nu)
    cv5 = theory.cv_exact(dist, Ts, m.phi_v, emax=em) / (1 - m.phi_v)
    f5 = analysis.fit_c1_c3(Ts, cv5, *FIT)
    sc = theory.sample_scatter(dist, Ts, m.phi_v, L * L, *FIT, emax=em)
    res["A19"] = {"c1": c1, "c3": c3}
    res["A5_window_fit"] = {"c1": f5["c1"], "c3": f5["c3"]}
    res["scatter_theory_per_sample"] = {"c1": sc["std_c1"], "c3": sc["std_c3"]}
    res["scatter_measured_per_sample"] = {"c1": float(per["measured"][:, 0].std(ddof=1)),
                                          "c3": float(per["measured"][:, 1].std(ddof=1))}
    for k in ("measured", "slots_now", "slots_TI", "measured-slots_now", "slots_now-slots_TI"):
        r = res[k]
        print(f"{k:>20}: c1 = {r['c1'][0]:.4g} +- {r['c1'][1]:.2g}, c3 = {r['c3'][0]:.4g} +- {r['c3'][1]:.2g}")
    print(f"Eq. (A19): c1 = {c1:.4g}, c3 = {c3:.4g}; Eq. (A5) fitted in the window: c1 = {f5['c1']:.4g}, "
          f"c3 = {f5['c3']:.4g}; {res['cpu_s']:.0f} CPU s")
    if out:
        np.savez_compressed(out, T=Ts, **C)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
