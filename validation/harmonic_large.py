"""Validation: lowest modes of a large 3D glass by sparse shift-invert (002 Fig. 10 uses N = 12000).

Usage: python validation/harmonic_large.py [N] [k] [model]
Quenches a random configuration (L-BFGS to max force 1e-8), then computes the k lowest
non-zero modes of the Hessian with twolevel.vibrations.normal_modes (method "auto") and
checks them (residual |H v - lambda v|, orthogonality to the translations). Prints timings
and one JSON line.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from twolevel.engine import ParticleSystem, minimize
from twolevel.models import get_model
from twolevel.vibrations.modes import normal_modes


def main(n=12000, k=50, model="tlj"):
    m = get_model(model)
    c = m.random_configuration(n, dim=3, seed=3)
    ps = ParticleSystem(c)
    t0 = time.perf_counter()
    r = minimize(ps, c.positions, ftol=1e-8, max_steps=200000)
    t_min = time.perf_counter() - t0
    t0 = time.perf_counter()
    H = ps.hessian(r.x)
    t_h = time.perf_counter() - t0
    t0 = time.perf_counter()
    md = normal_modes(ps, r.x, k=k)  # auto: Lanczos above 15000 dof
    t_modes = time.perf_counter() - t0
    res = np.linalg.norm(H @ md.vectors - md.vectors * md.eigenvalues, axis=0) / np.abs(md.eigenvalues)
    trans = np.abs(md.vectors.reshape(n, 3, -1).sum(axis=0)).max()
    out = {"n": n, "k": k, "model": model, "minimised": bool(r.converged), "t_minimise_s": t_min,
           "t_hessian_s": t_h, "nnz": int(H.nnz), "t_modes_s": t_modes,
           "omega_min": float(md.omega[0]), "omega_max": float(md.omega[-1]),
           "max_rel_residual": float(res.max()), "max_translation": float(trans),
           "pr_min": float(md.participation.min())}
    for key, v in out.items():
        print(f"{key:>18}: {v}")
    print(json.dumps(out))


if __name__ == "__main__":
    a = sys.argv[1:]
    main(int(a[0]) if a else 12000, int(a[1]) if len(a) > 1 else 50, a[2] if len(a) > 2 else "tlj")
