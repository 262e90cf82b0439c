"""Validation (CPU-minutes; not run in CI): the three estimates of E and Delta_0 on glass double wells.

Issue #20: "for >= 20 TLS of a PSS glass, the three estimates side by side; record in docs the
distribution of instanton/1D ratios and what it does to n0, with the caveats". The double wells:
the fixed set of benchmarks/data/pss_double_wells.npz (22 pairs of minima of PSS glasses, N = 200
in 3D, made by benchmarks/make_double_wells.py; docs/paths.md). For every pair:

1. paths: twolevel.paths.find_path with the stage's defaults (climbing-image NEB, 64 images,
   split at intermediate minima): one or more elementary double wells;
2. 1D: twolevel.quantum.tunnelling along the MEP (002_b660eabf4d6c7be7.txt Eq. (10)), units
   ``--units`` (default pss-ar, m~ = 4116);
3. then, lowest 1D E first, until ``--budget`` CPU-minutes are spent: the adiabatic 1D
   correction and the ring-polymer instanton (twolevel.instanton.stage.run_double_well: the
   same code as the [instanton] stage; ``--active-radius`` selects the determinant).

Writes one CSV row per double well (``--out``, default validation/results/instanton_glass.csv;
rows already there are kept: rerun to continue) and prints the summary recorded in
docs/instanton.md: the instanton/1D ratios (median, quartiles) for Delta_0 and E over the
converged instantons only, and how many double wells have E < k_B T_Q by each estimate.

    PYTHONPATH=src python validation/instanton_glass.py [--beads 32] [--budget 60] [--pairs 0-21]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from paths import _pairs, load_set

from twolevel import quantum
from twolevel.instanton.stage import best_estimate, run_double_well
from twolevel.paths import find_path
from twolevel.units import get_units

OUT = ROOT / "validation" / "results" / "instanton_glass.csv"


def one_d(pairs, ks, m_tilde: float, cache: Path) -> list[dict]:
    """Paths and the 1D MEP result for every elementary double well of the chosen pairs (the
    paths are kept in ``cache``, a pickle, so that a rerun does not redo them)."""
    import pickle

    store = pickle.loads(cache.read_bytes()) if cache.is_file() else {}
    rows = []
    for k in ks:
        s, xa, xb, kind = pairs[k]
        t0 = time.process_time()
        if k not in store:
            store[k] = (find_path(s, xa, xb), time.process_time() - t0)
            cache.write_bytes(pickle.dumps(store))
        pr, cpu_path = store[k]
        for j, dw in enumerate(pr.ok):
            # the band oriented from x_low to x_high (find_path keeps the direction it ran in)
            images = dw.band.images[::-1] if dw.reversed else dw.band.images
            t0 = time.process_time()
            q = quantum.tunnelling(dw.xi, dw.V, dw.d, m_tilde, curv_low=dw.curv_low, curv_high=dw.curv_high)
            rows.append({"pair": k, "dw": j, "kind": kind, "n_particles": s.n, "dV": dw.dV, "V_a": dw.V_a,
                         "d": dw.d, "PR": dw.PR, "E_1d": q.E, "Delta_1d": q.Delta, "Delta_0_1d": q.Delta_0,
                         "class_1d": q.tls_class, "is_tls_1d": bool(q.is_tls), "cpu_path": cpu_path,
                         "cpu_1d": time.process_time() - t0, "_sys": s,
                         "_x": (dw.x_low, dw.x_high, images)})
        print(f"pair {k:2d} {kind:9s}: {len(pr.ok)} double well(s), paths {cpu_path:.1f} s CPU", flush=True)
    return rows


def summary(df: pd.DataFrame, kT_Q: float) -> str:
    """The figures recorded in docs/instanton.md (converged instantons only; never a NaN counted).
    Composite pairs of one glass share elementary double wells: each is counted once."""
    key = df[["dV", "V_a"]].round(6).astype(str).agg("|".join, axis=1)
    n_dup = int(key.duplicated().sum())
    df = df[~key.duplicated()]
    ok = df[df["status_inst"] == "ok"]
    lines = [f"{n_dup} rows are the same double well reached from another pair of the same glass: dropped",
             (f"double wells: {len(df)}; TLS by the 1D criterion: {int(df['is_tls_1d'].sum())}; "
             f"1D doublets: {int((df['class_1d'] == 'doublet').sum())}"),
             "instanton status: " + ", ".join(f"{k} {v}" for k, v in df["status_inst"].value_counts().items())]
    for col, name in (("ratio_E_inst_1d", "E_inst / E_1d"), ("ratio_D0_inst_1d", "Delta_0,inst / Delta_0,1d")):
        r = ok[col].to_numpy(dtype=float)
        r = r[np.isfinite(r)]
        if r.size:
            q = np.percentile(r, [25, 50, 75])
            lines.append(f"{name}: n = {r.size}, median {q[1]:.3g}, quartiles {q[0]:.3g} .. {q[2]:.3g}, "
                         f"range {r.min():.3g} .. {r.max():.3g}")
        else:
            lines.append(f"{name}: no converged instanton with a finite 1D value")
    for col in ("E_1d", "E_ad", "E_best"):
        e = df[col].to_numpy(dtype=float)
        lines.append(f"E < k_B T_Q = {kT_Q:.3g} by {col}: {int(np.sum(np.isfinite(e) & (e < kT_Q)))}")
    lines.append(f"CPU per double well (s): paths {df['cpu_path'].median():.1f} (per pair), adiabatic "
                 f"{df['cpu_ad'].median():.1f}, instanton {df['cpu_inst'].median():.1f} (medians); "
                 f"instanton max {df['cpu_inst'].max():.1f}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", default="pss-ar")
    ap.add_argument("--beads", type=int, default=32)
    ap.add_argument("--budget", type=float, default=60.0, help="CPU-minutes for adiabatic + instanton")
    ap.add_argument("--pairs", default=None, help="e.g. 0-5,9 (default: all)")
    ap.add_argument("--active-radius", type=float, default=None, help="sigma; inf = full determinant")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "instanton_glass.paths.pkl"),
                    help="pickle of the paths (reused by a rerun)")
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()}", flush=True)
    u = get_units(args.units)
    pairs = load_set()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = pd.read_csv(out) if out.is_file() else pd.DataFrame()
    have = set(zip(done["pair"], done["dw"])) if len(done) else set()
    rows = one_d(pairs, _pairs(args.pairs, len(pairs)), u.m_tilde, Path(args.cache))
    rows.sort(key=lambda r: (not np.isfinite(r["E_1d"]), r["E_1d"]))
    spent = float(done["cpu_ad"].sum() + done["cpu_inst"].sum()) if len(done) else 0.0
    for r in rows:
        if (r["pair"], r["dw"]) in have:
            continue
        if spent > 60 * args.budget:
            print(f"budget of {args.budget} CPU-minutes spent: stopping (lowest 1D E first)", flush=True)
            break
        (x_low, x_high, images), s = r["_x"], r["_sys"]
        rec = {k: v for k, v in r.items() if not k.startswith("_")}
        rec.update(run_double_well(s, x_low, x_high, images, u.m_tilde, n_beads=args.beads,
                                   active_radius=args.active_radius))
        rec.update(best_estimate(rec))
        spent += rec["cpu_ad"] + rec["cpu_inst"]
        done = pd.concat([done, pd.DataFrame([rec])], ignore_index=True)
        done.to_csv(out, index=False)
        print(f"pair {rec['pair']:2d}.{rec['dw']} {rec['class_1d']:13s} E_1d {rec['E_1d']:.3e} E_ad {rec['E_ad']:.3e} "
              f"E_inst {rec['E_inst']:.3e} D0 1d {rec['Delta_0_1d']:.2e} inst {rec['Delta_0_inst']:.2e} "
              f"S {rec['S_inst']:.2f} {rec['status_inst']} cpu ad {rec['cpu_ad']:.0f} s inst {rec['cpu_inst']:.0f} s",
              flush=True)
    print(summary(done, u.kT_Q))
    la = os.getloadavg()
    print(f"load average after: {la}" + ("  (LOAD > 1.5: CPU times are process times on a shared machine)"
                                          if la[0] > 1.5 else ""), flush=True)


if __name__ == "__main__":
    main()
