"""Benchmark: learned pair selection (twolevel.ml) against the exhaustive pipeline, same glasses, one run.

Issue #15 targets, measured here at a size this shared 2-core machine allows (stated in the output
and in docs/benchmarks.md; the full-size study is validation/search_pss1500.py):

- glasses: ``--glasses`` PSS glasses of ``--n`` particles in ``--dim`` D, each a random
  configuration melted at T = 1 and quenched by minimisation (NOT equilibrated at a T_f by swap
  Monte Carlo: a fast quench, where double wells are plentiful), explored by MD at ``--t-exp`` with
  a minimisation every ``--tau-cg`` steps, ``--n-min`` minimisations (cached in ``--out``);
- exhaustive reference (peer): every pair seen both ways (002 Sec. II D) through paths + quantum
  (:class:`twolevel.ml.PathEvaluator`: NEB, split at intermediate minima, then the Schrödinger
  solve at the m~ of ``--units``); a TLS is a doublet with E < k_B T_Q;
- ours: :func:`twolevel.ml.search` over ALL pairs of IS within the cuts, starting from a model
  trained on the other glasses' exhaustive results (leave one glass out), batches of ``--batch``;
- per glass and in total: TLS found per CPU-hour (paths + quantum + learning) of both, ratio ours /
  peer; recall of the exhaustive TLS; CPU share;
- classifier ROC-AUC and regressor R^2 on glasses not used in training (leave-one-glass-out over
  every pair computed by either method);
- prediction cost per pair; feature cost per pair at N = ``--feature-n`` (3D, ``--feature-is`` IS,
  all pairs, no cuts) and the projected time for all pairs of a 10^4-IS glass (an extrapolation,
  printed as such).

Prints the load average before and after; ends with one JSON line. Usage:

    python benchmarks/search.py [--glasses 3] [--n 80] [--out /tmp/twolevel_bench_search]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd


def make_glass(out: Path, n: int, dim: int, seed: int, t_exp: float, tau_cg: int, n_min: int) -> Path:
    """Quench + exploration of one small PSS glass (cached)."""
    from twolevel.engine import ParticleSystem, maxwell_boltzmann, minimize
    from twolevel.explore import explore
    from twolevel.models import get_model

    ed = out / f"glass_{seed}" / "explore"
    if (ed / "explore.json").is_file() and (ed / "pairs.parquet").is_file() \
            and json.loads((ed / "explore.json").read_text()).get("complete", True):
        return ed
    conf = get_model("pss").random_configuration(n, dim=dim, seed=seed)
    s = ParticleSystem(conf)
    rng = np.random.default_rng(seed)
    x = minimize(s, conf.positions, method="fire", ftol=1e-2, max_steps=2000).x
    v = maxwell_boltzmann(n, dim, 1.0, rng)
    s.run_md(x, v, 1500, 0.005, thermostat="langevin", temperature=1.0, seed=seed)
    x = minimize(s, x, ftol=1e-10).x
    # tau_cg in MD steps of dt = 0.0025 here; ftol 1e-6 (identification only, docs/explore.md)
    explore(s, x, ed, temperature=t_exp, tau_cg=tau_cg * 0.0025, dt=0.0025, n_cg=n_min, runs=1, seed=seed, ftol=1e-6,
            meta={"model": "pss", "n": n, "dim": dim})
    return ed


def exhaustive(ed: Path, ev, out: Path) -> pd.DataFrame:
    """Every both-ways candidate through paths + quantum (cached per pair)."""
    from twolevel.ml.loop import _evaluate_pair

    pairs = pd.read_parquet(ed / "pairs.parquet")
    rows = []
    for a, b in zip(pairs["is_a"], pairs["is_b"]):
        lo, hi = int(a), int(b)
        rec = _evaluate_pair(ev, out, lo, hi)
        rows.append(rec)
    return pd.DataFrame(rows)


def _canon(df: pd.DataFrame, energies: dict) -> pd.DataFrame:
    """is_a = lower-energy end (the feature table's convention)."""
    a, b = df["is_a"].to_numpy(), df["is_b"].to_numpy()
    swap = np.array([energies[int(x)] > energies[int(y)] for x, y in zip(a, b)], dtype=bool)
    return df.assign(is_a=np.where(swap, b, a), is_b=np.where(swap, a, b))


def _feature_inputs(args):
    """``--feature-is`` IS of an N = ``--feature-n`` 3D glass, small random displacements of one
    configuration (seed 0), with energies and the box; the feature kernel compiled on them."""
    from twolevel.ml import pair_features

    rng = np.random.default_rng(0)
    nn = args.feature_n
    box = np.full(3, nn ** (1 / 3))
    base = rng.uniform(0, 1, (nn, 3)) * box
    X = base + rng.normal(0, 0.05, (args.feature_is, nn, 3))
    E = rng.normal(0, 1, args.feature_is)
    pair_features(X[:3], E[:3], box)  # compile
    return X, E, box


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--glasses", type=int, default=3)
    ap.add_argument("--n", type=int, default=80)
    ap.add_argument("--dim", type=int, default=2)
    ap.add_argument("--t-exp", type=float, default=0.2)
    ap.add_argument("--tau-cg", type=int, default=100)
    ap.add_argument("--n-min", type=int, default=1500)
    ap.add_argument("--units", default="Ar")
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--min-hit-rate", type=float, default=0.02)
    ap.add_argument("--max-d", type=float, default=math.inf)
    ap.add_argument("--max-delta-e", type=float, default=math.inf)
    ap.add_argument("--feature-n", type=int, default=1500)
    ap.add_argument("--feature-is", type=int, default=300)
    ap.add_argument("--out", default="/tmp/twolevel_bench_search")
    ap.add_argument("--costs-only", action="store_true",
                    help="only the per-pair costs (features at N = --feature-n, prediction), median and worst of 5")
    args = ap.parse_args()
    if args.costs_only:
        return costs_only(args)

    from twolevel.engine import ParticleSystem
    from twolevel.layout import IS_CONFIGS
    from twolevel.ml import (
        FEATURES,
        PairModel,
        PathEvaluator,
        SearchParams,
        pair_features,
        search,
    )
    from twolevel.ml.features import glass_features
    from twolevel.explore import ISConfigs
    from twolevel.units import get_units

    load0 = os.getloadavg()[0]
    print(f"load average before: {load0:.2f}", flush=True)
    out = Path(args.out)
    u = get_units(args.units)
    e_max = u.kT_Q
    print(f"{args.glasses} PSS glasses, N={args.n}, {args.dim}D, quenched; T_exp={args.t_exp}, "
          f"{args.n_min} minimisations every {args.tau_cg} steps; TLS: doublet with E < k_B T_Q = {e_max:.4g} "
          f"({args.units}, m~={u.m_tilde:g})", flush=True)
    glasses = []
    for g in range(args.glasses):
        ed = make_glass(out, args.n, args.dim, 100 + g, args.t_exp, args.tau_cg, args.n_min)
        feats, fsec = glass_features(ed, max_delta_e=args.max_delta_e, max_d=args.max_d)
        store = ISConfigs(ed / IS_CONFIGS)
        system = ParticleSystem(store.configuration(int(feats["is_a"].iloc[0])))
        ev = PathEvaluator(system, lambda i, st=store: st.configuration(i).positions, u.m_tilde, e_max,
                           images=args.images)
        lib = pd.read_parquet(ed / "inherent_structures.parquet")
        energies = dict(zip(lib["is_id"].astype(int), lib["energy"].astype(float)))
        t0 = time.perf_counter()
        ex = _canon(exhaustive(ed, ev, ed.parent / "exhaustive"), energies)
        print(f"glass {g}: {len(lib)} IS, {len(feats)} pairs (features {fsec:.2f} s), exhaustive: {len(ex)} "
              f"candidates, {int(ex['is_dw'].sum())} double wells, {int(ex['n_tls'].sum())} TLS rows, "
              f"{ex['cpu_s'].sum():.0f} CPU-s ({time.perf_counter() - t0:.0f} s wall)", flush=True)
        ex = ex.merge(feats, on=["is_a", "is_b"], how="left")
        glasses.append({"g": g, "ed": ed, "feats": feats, "ev": ev, "store": store, "ex": ex, "fsec": fsec})

    per = []
    labelled = []
    for G in glasses:
        prior = pd.concat([H["ex"] for H in glasses if H is not G], ignore_index=True)
        prior = prior[prior[list(FEATURES)].notna().all(axis=1)]
        sp = SearchParams(batch=args.batch, bootstrap=args.batch, min_hit_rate=args.min_hit_rate)
        sdir = G["ed"].parent / "search"
        for f in (sdir / "search.json", sdir / "batches.parquet"):
            f.unlink(missing_ok=True)  # pair results are reused (cached); batches are replayed
        t0 = time.perf_counter()
        s = search(G["feats"], G["ev"], sdir, sp, e_max=e_max, prior=prior if len(prior) else None)
        rec = pd.read_parquet(sdir / "batches.parquet")
        tls_s = set(pd.read_parquet(sdir / "tls_found.parquet").get("key", pd.Series([], dtype=str)))
        tls_x = {t["key"] for ts in G["ex"]["tls"] for t in ts}
        cpu_x = float(G["ex"]["cpu_s"].sum())
        cpu_s = float(s["cpu_total_s"])
        per.append({"glass": G["g"], "pairs": len(G["feats"]), "ex_pairs": len(G["ex"]), "ex_tls": len(tls_x),
                    "ex_cpu_s": cpu_x, "search_pairs": s["pairs_computed"], "search_tls": s["tls_found"],
                    "search_cpu_s": cpu_s, "recall": (len(tls_x & tls_s) / len(tls_x)) if tls_x else None,
                    "stop": s["stop"]})
        print(f"glass {G['g']}: search {s['pairs_computed']} pairs, {s['tls_found']} TLS, {cpu_s:.0f} CPU-s "
              f"({s['stop']}; {time.perf_counter() - t0:.0f} s wall); exhaustive {len(tls_x)} TLS in {cpu_x:.0f} CPU-s; "
              f"recall {per[-1]['recall']}", flush=True)
        both = pd.concat([G["ex"][[*FEATURES, "is_a", "is_b", "is_dw", "log10_E"]],
                          rec[[*FEATURES, "is_a", "is_b", "is_dw", "log10_E"]]]).drop_duplicates(["is_a", "is_b"])
        labelled.append(both.assign(glass=G["g"]))

    # leave-one-glass-out: ROC-AUC of the classifier, R^2 of the regressor
    from sklearn.metrics import r2_score, roc_auc_score

    L = pd.concat(labelled, ignore_index=True)
    L = L[L[list(FEATURES)].notna().all(axis=1)]
    yp, yt, rp, rt = [], [], [], []
    for g in sorted(L["glass"].unique()):
        tr, te = L[L.glass != g], L[L.glass == g]
        ok, _ = PairModel.trainable(tr)
        if not ok or len(te) == 0:
            continue
        m = PairModel().fit(tr)
        pr = m.predict(te)
        yp += list(pr["p_dw"])
        yt += list(te["is_dw"].astype(bool))
        good = np.isfinite(te["log10_E"].to_numpy(float)) & np.isfinite(pr["log10_E_pred"].to_numpy(float))
        rp += list(pr["log10_E_pred"].to_numpy()[good])
        rt += list(te["log10_E"].to_numpy(float)[good])
    auc = roc_auc_score(yt, yp) if len(set(yt)) == 2 else None
    r2 = r2_score(rt, rp) if len(rt) >= 3 else None
    # prediction cost per pair
    allf = pd.concat([G["feats"] for G in glasses], ignore_index=True)
    big = pd.concat([allf] * max(1, 200_000 // max(len(allf), 1)), ignore_index=True)
    m = PairModel().fit(L)
    t0 = time.perf_counter()
    m.predict(big, e_max=e_max)
    pred_s = (time.perf_counter() - t0) / len(big)
    # feature cost at N = feature_n (3D): IS of one glass as small random displacements of one configuration
    nn = args.feature_n
    X, E, box = _feature_inputs(args)
    t0 = time.perf_counter()
    fdf = pair_features(X, E, box)
    feat_s = (time.perf_counter() - t0) / len(fdf)
    load1 = os.getloadavg()[0]
    tot = {k: sum(p[k] for p in per) for k in ("ex_tls", "ex_cpu_s", "search_tls", "search_cpu_s")}
    rate_x = tot["ex_tls"] / (tot["ex_cpu_s"] / 3600) if tot["ex_cpu_s"] else float("nan")
    rate_s = tot["search_tls"] / (tot["search_cpu_s"] / 3600) if tot["search_cpu_s"] else float("nan")
    rec_all = [p["recall"] for p in per if p["recall"] is not None]
    res = {
        "setup": {k: getattr(args, k) for k in ("glasses", "n", "dim", "t_exp", "tau_cg", "n_min", "units", "images",
                                                 "batch", "min_hit_rate")},
        "per_glass": per, "tls_per_cpu_hour_exhaustive": rate_x, "tls_per_cpu_hour_search": rate_s,
        "ratio_tls_per_cpu_hour": rate_s / rate_x if rate_x and rate_x > 0 else None,
        "recall_pooled": (sum(p["recall"] * p["ex_tls"] for p in per if p["recall"] is not None)
                          / max(1, sum(p["ex_tls"] for p in per if p["recall"] is not None))) if rec_all else None,
        "cpu_share": tot["search_cpu_s"] / tot["ex_cpu_s"] if tot["ex_cpu_s"] else None,
        "roc_auc_logo": auc, "r2_logo": r2, "labelled_pairs": len(L), "regression_pairs": len(rt),
        "predict_s_per_pair": pred_s, f"feature_s_per_pair_n{nn}": feat_s,
        "feature_projection_1e4_is_hours_no_cuts": feat_s * 1e4 * (1e4 - 1) / 2 / 3600,
        "load_before": load0, "load_after": load1,
    }
    print(f"TLS per CPU-hour: search {rate_s:.3g}, exhaustive {rate_x:.3g}, ratio {res['ratio_tls_per_cpu_hour']}; "
          f"recall {res['recall_pooled']}; CPU share {res['cpu_share']}")
    print(f"leave-one-glass-out ROC-AUC {auc}, R^2 {r2} ({len(L)} labelled pairs, {len(rt)} with a splitting)")
    print(f"prediction {pred_s:.2e} s/pair; features {feat_s:.2e} s/pair at N={nn} (3D); all pairs of a 10^4-IS "
          f"glass without cuts would take {res['feature_projection_1e4_is_hours_no_cuts']:.2f} h (extrapolated)")
    print(f"load average after: {load1:.2f}")
    if max(load0, load1) > 1.5:
        print("WARNING: load average above 1.5: CPU times are per process (process_time), wall times are not "
              "comparable; ratios here are of CPU seconds measured in the same run")
    print(json.dumps(res, default=float))
    for G in glasses:
        G["store"].close()


def costs_only(args) -> None:
    """Feature and prediction cost per pair without the glasses and the exhaustive reference: the
    features of `--feature-is` IS of an N = `--feature-n` 3D system (random displacements of one
    configuration), and the prediction of a model fitted on a labelled table of the same size as
    the search's (2 000 rows; a label rule on the features, so the trees grow as on real data),
    compiled (twolevel.ml.forest) and, interleaved in the same run, through scikit-learn's own
    predict (``PairModel(compiled=False)``)."""
    import pandas as pd

    from twolevel.ml import FEATURES, PairModel, pair_features

    load0 = os.getloadavg()[0]
    print(f"load average before: {load0:.2f}", flush=True)
    nn = args.feature_n
    X, E, box = _feature_inputs(args)
    feat, pred = [], []
    fdf = None
    for _ in range(5):
        t0 = time.process_time()
        fdf = pair_features(X, E, box)
        feat.append((time.process_time() - t0) / len(fdf))
    train = fdf.sample(2000, random_state=0).reset_index(drop=True)
    train["is_dw"] = (train["total_displacement"] < train["total_displacement"].median()) & (train["PR"] > 2)
    train["log10_E"] = np.where(train["is_dw"], -3 + np.log10(1 + train["Delta_E"].abs()), np.nan)
    m = PairModel().fit(train)
    big = pd.concat([fdf[list(FEATURES)]] * max(1, 200_000 // len(fdf)), ignore_index=True)
    t0 = time.process_time()
    m.predict(big.iloc[:10], e_max=1e-3)  # packs the trees once per fitted model (and compiles)
    pack_s = time.process_time() - t0
    ref = PairModel(compiled=False).fit(train)  # scikit-learn's own predict, interleaved A/B
    pred_sk = []
    for _ in range(5):
        for model, acc in ((m, pred), (ref, pred_sk)):
            t0 = time.process_time()
            model.predict(big, e_max=1e-3)
            acc.append((time.process_time() - t0) / len(big))
    load1 = os.getloadavg()[0]
    res = {"benchmark": "search-costs", "feature_n": nn, "pairs": len(fdf), "predict_rows": len(big),
           "feature_s_per_pair": float(np.median(feat)), "feature_s_per_pair_worst": float(np.max(feat)),
           "predict_s_per_pair": float(np.median(pred)), "predict_s_per_pair_worst": float(np.max(pred)),
           "predict_sklearn_s_per_pair": float(np.median(pred_sk)),
           "predict_sklearn_s_per_pair_worst": float(np.max(pred_sk)),
           "predict_speedup": float(np.median(pred_sk) / np.median(pred)), "first_predict_s": pack_s,
           "compiled": all(f is not None for _, f in m._forests.values()),
           "feature_projection_1e4_is_minutes_no_cuts": float(np.median(feat)) * 1e4 * (1e4 - 1) / 2 / 60,
           "load_before": load0, "load_after": load1}
    print(f"features {res['feature_s_per_pair']:.2e} s/pair (worst {res['feature_s_per_pair_worst']:.2e}) at N={nn}; "
          f"prediction {res['predict_s_per_pair']:.2e} s/pair (worst {res['predict_s_per_pair_worst']:.2e}; "
          f"target 1e-5); all pairs of a 10^4-IS glass without cuts: "
          f"{res['feature_projection_1e4_is_minutes_no_cuts']:.0f} CPU-min (extrapolated)")
    print(f"prediction through scikit-learn's own predict, interleaved: {res['predict_sklearn_s_per_pair']:.2e} s/pair "
          f"(worst {res['predict_sklearn_s_per_pair_worst']:.2e}); compiled {'yes' if res['compiled'] else 'NO'}, "
          f"{res['predict_speedup']:.1f}x cheaper; first predict of a fitted model (packs the trees, "
          f"compiles on a cold cache) {pack_s:.2f} s")
    print(f"load average after: {load1:.2f}" + ("  (NOT a quiet machine)" if max(load0, load1) > 1.5 else ""))
    print(json.dumps(res))


if __name__ == "__main__":
    main()
