"""Validation (CPU-hours; not run in CI): PSS N = 1500 at T_f = 0.092 and 0.07, exhaustive pipeline and learned search.

Issue #15: "a validation/ study of PSS N = 1500 at T_f = 0.092 and 0.07 with the same exploration
budget per glass: TLS per glass with Poisson intervals, compared with 001's n_active (1008 TLS over
15 glasses at 0.092, 291 over 50 at 0.07, Argon units) as a lower bound at our budget".

One study (twolevel.pipeline): prepare (swap Monte Carlo at T_f) -> explore (T_MD = 0.04, the same
budget for every glass) -> paths -> quantum (the exhaustive pipeline: every both-ways candidate),
and the search stage (twolevel.ml, docs/ml.md) on the same explored glasses. It prints, per T_f, the
TLS per glass of both routes with exact (Garwood) Poisson intervals, the CPU each used, the recall
of the search against the exhaustive TLS, and 001's TLS per glass for comparison. Our exploration
budget is far below 001's (up to 200 runs per glass), so 001's numbers are an upper reference: we
expect fewer TLS per glass, not more. Interrupt and rerun at will (finished tasks are kept).

    python validation/search_pss1500.py --out runs/search_pss1500 [--samples 3] [--workers 16]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

N001 = {0.092: (1008, 15), 0.07: (291, 50)}  # 001: n_active TLS over N_g glasses, Argon units


def poisson_interval(k: int, cl: float = 0.68) -> tuple[float, float]:
    """Exact (Garwood) central interval for a Poisson count k."""
    from scipy.stats import chi2

    a = 1.0 - cl
    lo = 0.0 if k == 0 else chi2.ppf(a / 2, 2 * k) / 2
    hi = chi2.ppf(1 - a / 2, 2 * k + 2) / 2
    return float(lo), float(hi)


def config(samples: int, runs: int, n_cg: int) -> dict:
    return {
        "study": {"name": "search_pss1500", "seed": 1, "units": ["pss-ar"],
                  "description": "issue #15 validation: exhaustive vs learned search, PSS N=1500"},
        "models": [{"model": "pss", "n": 1500, "dim": 3, "tf": [0.092, 0.07], "samples": samples}],
        "explore": {"temperature": 0.04, "dt": 0.01, "tau_cg": 1.0, "n_cg": n_cg, "runs": runs},
        "paths": {"images": 64, "method": "neb", "spring": 0.125, "split": True},
        "quantum": {"n_xi": 2000},
        "search": {"batch": 20, "bootstrap": 40, "min_hit_rate": 0.01, "units": "pss-ar"},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="runs/search_pss1500")
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--runs", type=int, default=10, help="isoconfigurational MD runs per glass (001: up to 200)")
    ap.add_argument("--n-cg", type=int, default=1000, help="minimisations per run")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    from twolevel.pipeline import Study, make_executor

    st = Study(config(args.samples, args.runs, args.n_cg), out=args.out)
    st.run(make_executor("process", workers=args.workers), progress=True)
    rows = []
    for s in st.samples():
        d = Path(s.dir)
        tls = pd.read_parquet(d / "quantum" / "tls.parquet")
        n_ex = int(tls[(tls["units"] == "pss-ar") & tls["is_tls"]].shape[0])
        meta = json.loads((d / "search" / "search.json").read_text())
        rows.append({"T_f": s.T_f, "sample": s.index, "tls_exhaustive": n_ex, "tls_search": meta["tls_found"],
                     "search_cpu_s": meta["cpu_total_s"], "search_pairs": meta["pairs_computed"],
                     "pairs_total": meta["pairs_total"]})
    df = pd.DataFrame(rows)
    print(df.to_string(index=False))
    for tf, g in df.groupby("T_f"):
        for col in ("tls_exhaustive", "tls_search"):
            k = int(g[col].sum())
            lo, hi = poisson_interval(k)
            print(f"T_f={tf}: {col}: {k / len(g):.2f} TLS per glass, 68% [{lo / len(g):.2f}, {hi / len(g):.2f}] "
                  f"({k} over {len(g)} glasses)")
        if tf in N001:
            n, g001 = N001[tf]
            print(f"T_f={tf}: 001 n_active: {n / g001:.1f} TLS per glass ({n} over {g001}; a far larger budget)")


if __name__ == "__main__":
    main()
