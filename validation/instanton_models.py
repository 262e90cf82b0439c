"""Instanton validation on 2D model double wells with exact (sinc-DVR) splittings.

For each model (twolevel.instanton.models2d) prints the exact splitting E and the ratios
E_method / E_exact for: the 1D Schrödinger equation along the MEP (today's twolevel quantum),
the 1D equation on the vibrationally adiabatic potential, the 1D equation along the instanton
path, and the ring-polymer instanton. Results are recorded in docs/instanton.md.

    PYTHONPATH=src python validation/instanton_models.py [--quick]
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from twolevel.instanton import Coupled2D, dvr_levels, instanton
from twolevel.instanton.adiabatic import (
    adiabatic_profile,
    profile,
    resample,
    tunnelling_1d,
)


def estimates(model, m, n_beads=128, grid=(56, 36)):
    """Exact E and the four estimates for one 2D model at mass m."""
    lv = dvr_levels(model, m, n_x=grid[0], n_y=grid[1], x_max=1.9)
    exact = lv[1] - lv[0]
    mep = model.mep(65)
    a, b = model.minima()
    t = np.gradient(mep, axis=0)
    pr = profile(model, mep)
    curv = []
    for end in (0, -1):
        te = t[end] / np.linalg.norm(t[end])
        curv.append(pr["d"] ** 2 * float(te @ model.hessian(mep[end]) @ te))
    e_mep = tunnelling_1d(pr["xi"], pr["V"], pr["d"], m, curv_low=curv[0], curv_high=curv[1]).E
    ad = adiabatic_profile(model, mep, m)
    e_ad = tunnelling_1d(ad["xi"], ad["V_ad"], ad["d"], m).E
    r = instanton(model, a, b, m, n_beads=n_beads, path0=mep)
    ip = resample(r.path, 65)
    pi = profile(model, ip)
    e_ip = tunnelling_1d(pi["xi"], pi["V"], pi["d"], m).E
    return exact, e_mep, e_ad, e_ip, r


def main(quick: bool = False) -> None:
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    cases = [("curved", 0.0), ("curved", 0.2), ("curved", 0.4), ("linear", 0.3), ("linear", 0.6),
             ("squeezing", 0.5), ("squeezing", 1.0)]
    masses = [32.0, 64.0] if quick else [32.0, 64.0, 128.0]
    print("kind       c     m    Vb/w_x  E_exact     1D-MEP  adiab.  1D-inst  instanton  S     status")
    for kind, c in cases:
        for m in masses:
            wx = np.sqrt(8.0 / m)
            model = Coupled2D(kind, Vb=1.0, omega=2 * wx, c=c)
            t0 = time.time()
            grid = {32.0: (48, 32), 64.0: (56, 36)}.get(m, (64, 40))
            ex, e1, ea, ei, r = estimates(model, m, grid=grid)
            print(f"{kind:9s} {c:4.1f} {m:5.0f} {1 / wx:6.2f}  {ex:.4e}  {e1 / ex:6.3f}  {ea / ex:6.3f}  "
                  f"{ei / ex:6.3f}   {r.E / ex:6.3f}  {r.S:5.2f} {r.status} ({time.time() - t0:.0f} s)",
                  flush=True)
    # asymmetric variant
    for asym in (1e-6, 3e-6, 0.0005, 0.002):
        m = 64.0
        wx = np.sqrt(8.0 / m)
        model = Coupled2D("curved", Vb=1.0, omega=2 * wx, c=0.2, asym=asym)
        ex, e1, ea, ei, r = estimates(model, m)
        print(f"asym {asym:.4f} curved c=0.2 m=64: E_exact {ex:.4e}; ratios 1D-MEP {e1 / ex:.3f} adiab. "
              f"{ea / ex:.3f} 1D-inst {ei / ex:.3f} instanton {r.E / ex:.3f} (Delta {r.Delta:.3e}, "
              f"Delta_0 {r.Delta_0:.3e})", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main("--quick" in sys.argv)
