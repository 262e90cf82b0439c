"""Make the stored fixed set of double wells that benchmarks/paths.py runs on.

The band benchmark used to build its pair from a short MD run; MD is chaotic, so another CPU
made another pair (docs/benchmarks.md). This script made ``benchmarks/data/pss_double_wells.npz``
once; the FILE, not this script, is the reference (a rerun on another machine may find other
pairs). For each glass seed: a PSS glass of N particles (density 1, quantile diameters) melted
at T = 0.5, cooled at T = 0.2 and minimised; then an exploration at T_MD with a minimisation
every ``--every`` MD steps (001_1b8b0be289dbb4b8.txt: T_MD = 0.04 and isoconfigurational runs;
002 Sec. II D: minimisation every tau_cg). Every change of inherent structure (largest particle
displacement > 0.02 sigma) is a candidate pair; a coarse string path (16 images, ftol 1e-2,
twolevel.paths.find_path) tells a single hop (one double well) from a composite pair (an
intermediate minimum on the path). Pairs whose coarse path fails are dropped.

    python benchmarks/make_double_wells.py [--n 200] [--single 14] [--composite 8]

Stored arrays (P pairs): x_a, x_b (P, N, 3) minimised to a max force of 1e-10; box (P, 3);
diameters (P, N); kind (P,) 0 = single hop, 1 = composite; seed (P,) the glass seed;
n_wells (P,) double wells on the coarse path.
"""

from __future__ import annotations

import argparse
import os
import time

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np

from twolevel.engine import ParticleSystem, maxwell_boltzmann, minimize
from twolevel.models import get_model
from twolevel.paths import find_path

OUT = os.path.join(os.path.dirname(__file__), "data", "pss_double_wells.npz")


def glass(n: int, seed: int):
    """A small PSS glass: melt at T = 0.5, cool at T = 0.2, minimise (max force 1e-10)."""
    conf = get_model("pss").random_configuration(n, dim=3, seed=seed)
    s = ParticleSystem(conf)
    rng = np.random.default_rng(seed)
    x = minimize(s, conf.positions, method="fire", ftol=1e-2, max_steps=3000).x
    v = maxwell_boltzmann(n, 3, 0.5, rng)
    s.run_md(x, v, 2000, 0.005, thermostat="langevin", temperature=0.5, seed=seed)
    s.run_md(x, v, 4000, 0.005, thermostat="langevin", temperature=0.2, seed=seed + 1)
    return s, minimize(s, x, ftol=1e-10).x, rng


def explore(s, x0, rng, t_md: float, every: int, max_runs: int, seen: set):
    """Yield (x_a, x_b) for every change of inherent structure along an MD run at t_md."""
    x = x0.copy()
    ia = x0.copy()
    v = maxwell_boltzmann(s.n, 3, t_md, rng)
    for _ in range(max_runs):
        s.run_md(x, v, every, 0.005, thermostat="berendsen", temperature=t_md)
        ib = minimize(s, x, ftol=1e-10).x
        d = np.sqrt((s.distance(ia, ib) ** 2).sum(axis=1))
        if d.max() > 0.02:
            key = (round(float(s.energy_forces(ia)[0]), 6), round(float(s.energy_forces(ib)[0]), 6))
            if key not in seen and key[::-1] not in seen:
                seen.add(key)
                yield ia, ib
            ia = ib


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--single", type=int, default=14)
    ap.add_argument("--composite", type=int, default=8)
    ap.add_argument("--t-md", type=float, default=0.05)
    ap.add_argument("--every", type=int, default=20)
    ap.add_argument("--runs", type=int, default=300, help="minimisations per glass")
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = {k: [] for k in ("x_a", "x_b", "box", "diameters", "kind", "seed", "n_wells")}
    want = {0: args.single, 1: args.composite}
    got = {0: 0, 1: 0}
    seed = 0
    while any(got[k] < want[k] for k in want) and seed < 40:
        seed += 1
        s, x0, rng = glass(args.n, seed)
        seen: set = set()
        for xa, xb in explore(s, x0, rng, args.t_md, args.every, args.runs, seen):
            try:
                res = find_path(s, xa, xb, images=16, method="string", ftol=1e-2, max_steps=2000)
            except Exception as exc:  # noqa: BLE001 - a failed coarse path only drops the candidate
                print(f"seed {seed}: coarse path failed ({exc})", flush=True)
                continue
            nw = len(res.double_wells)
            kind = int(nw > 1)
            if nw == 0 or got[kind] >= want[kind]:
                continue
            got[kind] += 1
            for k, val in (("x_a", xa), ("x_b", xb), ("box", s.box), ("diameters", s.conf.diameters),
                           ("kind", kind), ("seed", seed), ("n_wells", nw)):
                rows[k].append(np.array(val))
            print(f"seed {seed}: pair {sum(got.values())} kind={'composite' if kind else 'single'} "
                  f"wells={nw} V_a(max)={max(w.V_a for w in res.double_wells):.3f} "
                  f"[{time.perf_counter() - t0:.0f} s]", flush=True)
            if all(got[k] >= want[k] for k in want):
                break
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    np.savez_compressed(args.out, **{k: np.array(v) for k, v in rows.items()})
    print(f"{sum(got.values())} pairs ({got[0]} single, {got[1]} composite) -> {args.out}")


if __name__ == "__main__":
    main()
