"""Validation (CPU-minutes; not run in CI): the active-space instanton prefactor against the full one.

Issue #20, item "Cost": the fluctuation determinant on the active coordinates only
(twolevel.instanton.rpi, ``active_radius`` R; environment frozen, plus the environment's share of
the kink-translation mode). For each double well and each R it prints and writes (CSV) the
active size, Delta_0 and its ratio to the full determinant's, the kink action and the CPU time:

* ``--small``: double wells of the stored N = 200 PSS glasses (benchmarks/data/pss_double_wells.npz,
  pairs ``--pairs``), where the full determinant is affordable (f = 600);
* ``--large``: the first elementary double well between two of the N = 1500 reference minima of
  another group's glass (shared/reference/pss, LAMMPS; pair of files ``--ref-pair``), where the
  full determinant (dense 4500 x 4500 blocks) is not: R = ``--radii`` side by side, and the
  static check of locality: the harmonic zero-point-energy difference of the two minima from
  the active blocks of their Hessians against the full one.

    PYTHONPATH=src python validation/instanton_active_space.py --small --pairs 0,1 --radii 1,1.5,2,2.5
    PYTHONPATH=src python validation/instanton_active_space.py --large --radii 2,3,4
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from paths import _pairs, load_set

from twolevel.instanton import instanton
from twolevel.instanton.rpi import active_set
from twolevel.paths import _align, find_path
from twolevel.units import get_units

REF = ROOT.parent / "shared" / "reference" / "pss"
OUT = ROOT / "validation" / "results" / "instanton_active_space.csv"


def run_radii(s, dw, m_tilde, radii, beads, label, full=True, gtol=1e-7) -> list[dict]:
    rows = []
    for R in ([float("inf")] if full else []) + list(radii):
        t0 = time.process_time()
        images = dw.band.images[::-1] if getattr(dw, "reversed", False) else dw.band.images
        r = instanton(s, dw.x_low, dw.x_high, m_tilde, n_beads=beads, path0=images, active_radius=R,
                      gtol=gtol)
        rows.append({"dw": label, "n_particles": s.n, "R": R, "n_active": r.n_active, "Delta_0": r.Delta_0,
                     "log_Delta_0": r.log_Delta_0, "S": r.S, "status": r.status, "E": r.E,
                     "cpu": time.process_time() - t0, "n_beads": beads, "grad_max": r.grad_max,
                     "gtol": gtol, "units_m_tilde": m_tilde})
        ref = rows[0]["log_Delta_0"] if full else np.nan
        print(f"{label} R={R:g} n_active={r.n_active} log Delta_0={r.log_Delta_0:.4f} "
              f"ratio to full={np.exp(r.log_Delta_0 - ref):.3g} S={r.S:.5f} {r.status} |dS/dq| {r.grad_max:.2g} "
              f"CPU {rows[-1]['cpu']:.1f} s", flush=True)
    return rows


def zpe_check(s, xa, xb, radii) -> None:
    """ZPE_b - ZPE_a (unit masses) from the full Hessians and from their active blocks."""
    def zpe(H):
        w = np.linalg.eigvalsh(H)
        return 0.5 * float(np.sqrt(np.clip(w, 0.0, None)).sum())

    Ha, Hb = s.hessian(xa).toarray(), s.hessian(xb).toarray()
    print(f"ZPE_b - ZPE_a (unit masses): full {zpe(Hb) - zpe(Ha):.4f}", flush=True)
    for R in radii:
        idx = active_set(s, xa, xb, R)
        print(f"  active R={R:g} ({idx.size} coordinates): "
              f"{zpe(Hb[np.ix_(idx, idx)]) - zpe(Ha[np.ix_(idx, idx)]):.4f}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--large", action="store_true")
    ap.add_argument("--pairs", default="0,1")
    ap.add_argument("--radii", default="1,1.5,2,2.5")
    ap.add_argument("--beads", type=int, default=32)
    ap.add_argument("--ref-pair", default="0,1")
    ap.add_argument("--dw", type=int, default=None, help="which elementary double well of the N = 1500 pair "
                    "(default: the highest barrier, the deepest tunnelling)")
    ap.add_argument("--cache", default=None, help="npz of the N = 1500 paths (written if absent)")
    ap.add_argument("--units", default="pss-ar")
    ap.add_argument("--gtol", type=float, default=1e-7, help="N = 1500: the line search of S stalls at "
                    "|dS/dq| ~ 2-8e-7 (rounding of V - V_a summed over 1500 particles); 1e-6 converges")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()}", flush=True)
    m = get_units(args.units).m_tilde
    radii = [float(r) for r in args.radii.split(",")]
    rows = []
    if args.small:
        pairs = load_set()
        for k in _pairs(args.pairs, len(pairs)):
            s, xa, xb, _ = pairs[k]
            for j, dw in enumerate(find_path(s, xa, xb).ok):
                rows += run_radii(s, dw, m, radii, args.beads, f"N200 pair {k}.{j}")
    if args.large:
        from twolevel import io
        from twolevel.engine import ParticleSystem, minimize

        files = sorted(glob.glob(str(REF / "*.data")))
        if len(files) < 2:
            sys.exit(f"{REF}: reference minima not found")
        i, j = (int(v) for v in args.ref_pair.split(","))
        confs = [io.read(files[i]), io.read(files[j])]
        for c in confs:
            c.model = "pss"
        s = ParticleSystem(confs[0])
        xa, xb = (minimize(s, c.positions, ftol=1e-10).x for c in confs)
        t0 = time.process_time()
        if args.cache and Path(args.cache).is_file():
            z = np.load(args.cache)
            dws = [SimpleNamespace(x_low=z[f"lo{k}"], x_high=z[f"hi{k}"], band=SimpleNamespace(images=z[f"img{k}"]))
                   for k in range(sum(1 for n in z.files if n.startswith("lo")))]
        else:
            dws = find_path(s, xa, _align(s, xa, xb)).ok
            if args.cache:  # bands stored oriented from x_low
                np.savez(args.cache, **{f"img{k}": d.band.images[::-1] if d.reversed else d.band.images
                                        for k, d in enumerate(dws)},
                         **{f"lo{k}": d.x_low for k, d in enumerate(dws)}, **{f"hi{k}": d.x_high for k, d in enumerate(dws)})
        print(f"N1500 paths: {len(dws)} double wells, CPU {time.process_time() - t0:.0f} s", flush=True)
        for k, d in enumerate(dws):
            e = [s.energy(x) for x in d.band.images]
            d.V_a = max(e) - e[0]
            disp = np.linalg.norm(_align(s, d.x_low, d.x_high) - d.x_low, axis=1)
            print(f"  double well {k}: V_a {d.V_a:.4g}, dV {s.energy(d.x_high) - s.energy(d.x_low):.4g}, "
                  f"largest displacement {disp.max():.3f}, particles > 0.1 sigma: {int((disp > 0.1).sum())}")
        k = args.dw if args.dw is not None else int(np.argmax([d.V_a for d in dws]))
        dw = dws[k]
        zpe_check(s, dw.x_low, _align(s, dw.x_low, dw.x_high), radii)
        rows += run_radii(s, dw, m, radii, args.beads, f"N1500 ref dw {k}", full=False, gtol=args.gtol)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(rows)
    if out.is_file():
        df = pd.concat([pd.read_csv(out), df], ignore_index=True)
    df.to_csv(out, index=False)
    la = os.getloadavg()
    print(f"load average after: {la}" + ("  (LOAD > 1.5: CPU times are process times on a shared machine)"
                                          if la[0] > 1.5 else ""), flush=True)


if __name__ == "__main__":
    main()
