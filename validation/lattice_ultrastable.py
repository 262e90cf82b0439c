"""Validation: ultrastable DPLM glasses reproduce c1, c3 of 000_ac86d19d448073de.txt Eq. (A19).

Protocols
  paper: L = 200, phi_v = 0.005, T_I = 0.05, nu_cool = 1e-4 (000 Sec. III, Fig. 1); ~2.2e8 events
         and ~90 CPU-s per sample; one sample holds only a few dozen TLS, so many samples are needed.
  stat:  L = 500, phi_v = 0.01, T_I = 0.05, nu_cool = 0.1 (more voids, faster cooling; Delta E^max
         stays > 9 T so c1, c3 are unchanged), ~3 s per sample.

Usage: python validation/lattice_ultrastable.py [paper|stat] [samples]
Prints the fitted c1, c3 (fluctuation and derivative estimators, jackknife errors over samples)
against Eq. (A19) and the exact TLS sum Eq. (A5) fitted in the same window; last line JSON.
"""

import json
import sys

import numpy as np

from twolevel.lattice import analysis, gdist, theory
from twolevel.lattice.model import DPLM
from twolevel.lattice.protocol import CoolingOptions, cool

PROTOCOLS = {"paper": dict(L=200, phi=0.005, nu=1e-4, dT_rel=0.005), "stat": dict(L=500, phi=0.01, nu=0.1, dT_rel=0.01)}


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else "stat"
    ns = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    p = PROTOCOLS[name]
    T_I, fit = 0.05, (0.004, 0.03)
    opts = CoolingOptions(nu=p["nu"], T_end=0.003, dT_rel=p["dT_rel"], returns_from_snapshots=False, D_every=10**9)
    cf, cd, ev, cpu = [], [], 0, 0.0
    for s in range(ns):
        m = DPLM("square", p["L"], p["phi"], gdist.uniform(), seed=9000 + s)
        m.start(T_I)
        r = cool(m, T_I, opts)
        T = r.steps["T"]
        cf.append(analysis.cv_fluctuation(T, r.steps["E_var"], m.N))
        cd.append(analysis.cv_derivative(T, r.steps["E_mean"], m.N))
        ev += r.meta["events"]
        cpu += r.meta["cpu_s"]
        print(f"sample {s}: {r.meta['events']:.3g} events, {r.meta['cpu_s']:.1f} CPU s", flush=True)
    ff = analysis.fit_samples(T, np.array(cf), *fit)
    fd = analysis.fit_samples(T, np.array(cd), *fit)
    c1, c3 = theory.closed_form_c(T_I, m.phi_v)
    d = theory.delta_e_distribution(gdist.uniform(), T_I)
    cv5 = theory.cv_exact(d, T, m.phi_v, emax=theory.delta_e_max(T, p["nu"])) / (1 - m.phi_v)
    f5 = analysis.fit_c1_c3(T, cv5, *fit)
    print(f"protocol {name}: {ns} samples, {ev:.3g} events, {ev / cpu:.3g} events/CPU-s")
    print(f"c1: fluct {ff['c1']:.4g} +- {ff['c1_err']:.2g}, deriv {fd['c1']:.4g} +- {fd['c1_err']:.2g};"
          f" Eq. (A19) {c1:.4g}; Eq. (A5) fitted in window {f5['c1']:.4g}")
    print(f"c3: fluct {ff['c3']:.4g} +- {ff['c3_err']:.2g}, deriv {fd['c3']:.4g} +- {fd['c3_err']:.2g};"
          f" Eq. (A19) {c3:.4g}; Eq. (A5) fitted in window {f5['c3']:.4g}")
    print(json.dumps({"protocol": name, "samples": ns, "events": ev, "fit_window": fit, "fluct": ff, "deriv": fd,
                      "A19": {"c1": c1, "c3": c3}, "A5_window_fit": {"c1": f5["c1"], "c3": f5["c3"]}}))


if __name__ == "__main__":
    main()
