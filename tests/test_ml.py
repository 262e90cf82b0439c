"""twolevel.ml: pair features against numpy, models' input checks, the closed loop on a landscape
whose TLS are known (002 App. A quartic double wells)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn", reason="scikit-learn (the 'ml' extra) is not installed")

from twolevel.errors import InputError
from twolevel.landscapes import random_double_wells
from twolevel.ml import (
    FEATURES,
    PairModel,
    PathEvaluator,
    SearchParams,
    pair_features,
    search,
)
from twolevel.quantum import tunnelling


# ------------------------------------------------------------------ features
def _direct(xa, xb, box):
    """The issue's definitions, straight numpy (minimum image in an orthorhombic box)."""
    dr = xb - xa
    dr -= box * np.round(dr / box)
    q = np.sqrt((dr**2).sum(1))
    o = np.argsort(-q, kind="stable")
    mid = xa + 0.5 * dr

    def dist(i, j):
        v = mid[j] - mid[i]
        v -= box * np.round(v / box)
        return math.sqrt((v**2).sum())

    return {"total_displacement": math.sqrt((q**2).mean()),  # 002 Eq. (7)
            "PR": (q**2).sum() ** 2 / (q**4).sum(),  # 002 Eq. (16)
            "displacement_0": q[o[0]], "displacement_1": q[o[1]], "displacement_2": q[o[2]],
            "0to1": dist(o[0], o[1]), "0to2": dist(o[0], o[2])}


def _small_glass(seed=3, n_is=7, n=30):
    rng = np.random.default_rng(seed)
    box = np.array([4.0, 5.0, 6.0])
    base = rng.uniform(0, 1, (n, 3)) * box
    X = np.stack([(base + rng.normal(0, 0.3, (n, 3))) % box for _ in range(n_is)])  # wraps across the box
    E = rng.normal(0, 1.0, n_is)
    return X, E, box


def test_features_match_direct_numpy():
    X, E, box = _small_glass()
    ids = np.arange(100, 100 + len(E))
    tr = pd.DataFrame({"is_a": [ids[0], ids[3], ids[3]], "is_b": [ids[3], ids[0], ids[5]], "count": [2, 1, 4]})
    df = pair_features(X, E, box, tr, ids)
    assert len(df) == len(E) * (len(E) - 1) // 2
    for r in df.to_dict("records"):
        a, b = int(r["is_a"]) - 100, int(r["is_b"]) - 100
        assert E[a] <= E[b]
        assert r["Delta_E"] == pytest.approx(E[b] - E[a], abs=1e-12)
        for k, v in _direct(X[a], X[b], box).items():
            assert r[k] == pytest.approx(v, rel=1e-10), k
        n_ab = int(tr[(tr.is_a == r["is_a"]) & (tr.is_b == r["is_b"])]["count"].sum())
        n_ba = int(tr[(tr.is_a == r["is_b"]) & (tr.is_b == r["is_a"])]["count"].sum())
        assert (r["Tij"], r["Tji"]) == (n_ab, n_ba)


def test_feature_cuts_keep_seen_transitions():
    X, E, box = _small_glass(seed=5, n_is=9)
    full = pair_features(X, E, box)
    tr = pd.DataFrame({"is_a": [int(np.argmax(E))], "is_b": [int(np.argmin(E))], "count": [1]})
    cut_e, cut_d = 0.8, float(full["total_displacement"].median())
    df = pair_features(X, E, box, tr, max_delta_e=cut_e, max_d=cut_d)
    want = full[((full.Delta_E <= cut_e) & (full.total_displacement <= cut_d))
                | ((full.is_a == tr.is_b[0]) & (full.is_b == tr.is_a[0]))]
    assert sorted(zip(df.is_a, df.is_b)) == sorted(zip(want.is_a, want.is_b))
    assert 0 < len(df) < len(full)


# ------------------------------------------------------------------ models: bad input
def test_models_refuse_missing_columns_in_one_line():
    df = pd.DataFrame({c: [0.0] for c in FEATURES if c not in ("PR", "0to2")})
    with pytest.raises(InputError) as e:
        PairModel().fit(df.assign(is_dw=True, log10_E=0.0))
    msg = str(e.value)
    assert "\n" not in msg and "PR" in msg and "0to2" in msg


# ------------------------------------------------------------------ the closed loop on known TLS
K, M_TILDE, E_MAX = 5, 10.0, 0.1


def _landscape():
    w = random_double_wells(K, seed=7, delta_v=(0.0, 0.3), barrier=(0.6, 1.2))
    spins, xs, es = w.minima()
    return w, spins, xs, es


def _features(spins, xs, es):
    """All-pair features with an 'exploration' that saw 15 one-well pairs and 15 several-well
    pairs both ways (the candidates an exhaustive pipeline would compute first)."""
    rng = np.random.default_rng(1)
    n = len(es)
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    one = [p for p in pairs if np.sum(spins[p[0]] != spins[p[1]]) == 1]
    many = [p for p in pairs if np.sum(spins[p[0]] != spins[p[1]]) > 1]
    seen = [one[i] for i in rng.choice(len(one), 15, replace=False)] + \
           [many[i] for i in rng.choice(len(many), 15, replace=False)]
    tr = pd.DataFrame([(a, b, 1) for a, b in seen] + [(b, a, 1) for a, b in seen], columns=["is_a", "is_b", "count"])
    return pair_features(xs, es, transitions=tr)


def _analytic(w, spins):
    """Exact outcome per pair: for uncoupled wells (002 Eq. (A2)) the minimum-energy path between
    two minima that differ in one well i is well i's own 1D profile v_i (Eq. (A1)); two minima that
    differ in several wells are joined through intermediate minima (not one double well)."""
    cache = {}

    def well(i):
        if i not in cache:
            lo, hi, _ = w.well_stationary_points(i)
            x = np.linspace(lo, hi, 201)
            v = np.array([w.well_energy(i, t) for t in x])
            q = tunnelling((x - lo) / (hi - lo), v - v[0], abs(hi - lo), M_TILDE)
            cache[i] = q
        return cache[i]

    def evaluate(a, b):
        diff = np.flatnonzero(spins[a] != spins[b])
        if diff.size != 1:
            return {"is_dw": False, "log10_E": math.nan, "is_tls": False, "n_dw": 0, "n_tls": 0, "cpu_s": 0.01,
                    "status": "split", "tls": []}
        q = well(int(diff[0]))
        doublet = q.tls_class == "doublet"
        tls = doublet and q.E < E_MAX
        return {"is_dw": True, "log10_E": math.log10(q.E), "is_tls": tls,
                "n_dw": 1, "n_tls": int(tls), "cpu_s": 0.01, "status": "double_well",
                "tls": [{"key": f"{min(a, b)}-{max(a, b)}", "E": q.E}] if tls else []}

    return evaluate, well


def test_loop_finds_every_known_tls_and_stops(tmp_path):
    w, spins, xs, es = _landscape()
    feats = _features(spins, xs, es)
    evaluate, well = _analytic(w, spins)
    tls_wells = [i for i in range(K) if well(i).tls_class == "doublet" and well(i).E < E_MAX]
    assert 0 < len(tls_wells) < K  # the landscape has TLS and non-TLS double wells
    known = {f"{a}-{b}" for a in range(len(es)) for b in range(a + 1, len(es))
             if np.sum(spins[a] != spins[b]) == 1 and int(np.flatnonzero(spins[a] != spins[b])[0]) in tls_wells}
    p = SearchParams(batch=10, bootstrap=30, window=2, min_batches=3, min_hit_rate=0.05, max_iter=50)
    s = search(feats, evaluate, tmp_path / "s", p, e_max=E_MAX)
    found = set(pd.read_parquet(tmp_path / "s" / "tls_found.parquet")["key"])
    assert found == known
    assert s["stop"].startswith("hit rate")
    assert s["pairs_computed"] < 0.6 * len(feats)  # it did not compute everything
    rec = pd.read_parquet(tmp_path / "s" / "batches.parquet")
    assert set(rec["mode"]) == {"exhaustive", "model"}
    assert rec.loc[rec["mode"] == "model", "p_dw"].notna().all()


def test_loop_resumes_after_kill_with_same_result(tmp_path):
    w, spins, xs, es = _landscape()
    feats = _features(spins, xs, es)
    evaluate, _ = _analytic(w, spins)
    p = SearchParams(batch=10, bootstrap=30, window=2, min_batches=3, min_hit_rate=0.05, max_iter=50)
    whole = search(feats, evaluate, tmp_path / "a", p, e_max=E_MAX)

    calls = {"n": 0}

    def dies(a, b):
        calls["n"] += 1
        if calls["n"] > 47:  # killed in the middle of the third batch
            raise KeyboardInterrupt
        return evaluate(a, b)

    with pytest.raises(KeyboardInterrupt):
        search(feats, dies, tmp_path / "b", p, e_max=E_MAX)
    again = search(feats, evaluate, tmp_path / "b", p, e_max=E_MAX)
    ra = pd.read_parquet(tmp_path / "a" / "batches.parquet")
    rb = pd.read_parquet(tmp_path / "b" / "batches.parquet")
    pd.testing.assert_frame_equal(ra, rb)
    assert again["stop"] == whole["stop"] and again["tls_found"] == whole["tls_found"]


def test_too_few_pairs_falls_back_to_exhaustive_order(tmp_path):
    w, spins, xs, es = _landscape()
    feats = pair_features(xs, es)
    evaluate, _ = _analytic(w, spins)
    msgs = []
    p = SearchParams(batch=3, bootstrap=3, max_batches=2)
    search(feats, evaluate, tmp_path, p, e_max=E_MAX, progress=msgs.append)
    rec = pd.read_parquet(tmp_path / "batches.parquet")
    assert (rec["mode"] == "exhaustive").all()
    assert any("exhaustive order" in m and "need >=" in m for m in msgs)
    # exhaustive order with no transitions seen: increasing total displacement
    d = rec["total_displacement"].to_numpy()
    assert np.all(np.diff(d) >= 0)


def test_path_evaluator_agrees_with_the_known_landscape():
    """The pipeline's evaluator (NEB + Schrödinger) on real paths of the landscape: a pair is a
    double well exactly when its minima differ in one well, with that well's splitting."""
    w = random_double_wells(3, seed=7, delta_v=(0.0, 0.3), barrier=(0.6, 1.2))
    spins, xs, _es = w.minima()
    ev = PathEvaluator(w, lambda i: xs[i], M_TILDE, E_MAX, images=24)
    evaluate, _ = _analytic(w, spins)
    for a, b in [(0, 1), (0, 2), (0, 3), (5, 7), (1, 6)]:
        got, want = ev(a, b), evaluate(a, b)
        assert got["is_dw"] == want["is_dw"], (a, b)
        if want["is_dw"]:
            assert got["log10_E"] == pytest.approx(want["log10_E"], abs=0.02)


def test_cpu_budget_stops_inside_a_batch(tmp_path):
    w, spins, xs, es = _landscape()
    feats = _features(spins, xs, es)
    evaluate, _ = _analytic(w, spins)  # 0.01 CPU-s per pair, as the evaluator reports
    p = SearchParams(batch=10, bootstrap=30, cpu_budget_s=0.155, max_iter=20)
    s = search(feats, evaluate, tmp_path, p, e_max=E_MAX)
    assert s["stop"].startswith("CPU budget") and s["pairs_computed"] <= 16


def test_saved_model_refits_to_the_same_predictions(tmp_path):
    w, spins, xs, es = _landscape()
    feats = _features(spins, xs, es)
    evaluate, _ = _analytic(w, spins)
    rows = [dict(evaluate(a, b), **r) for r, a, b in zip(feats.to_dict("records"), feats.is_a, feats.is_b)]
    train = pd.DataFrame(rows)
    m = PairModel(params={"max_iter": 30}).fit(train)
    m.save(tmp_path / "m")
    m2 = PairModel.load(tmp_path / "m")
    pd.testing.assert_frame_equal(m.predict(feats, e_max=E_MAX), m2.predict(feats, e_max=E_MAX))
    with pytest.raises(InputError, match="model.json"):
        PairModel.load(tmp_path / "nothing")


def test_search_stage_is_planned_only_when_configured(tmp_path):
    from twolevel.pipeline import Study

    kw = {"name": "kw", "seed": 3, "model": "pss", "n": 16, "dim": 2, "tf": [0.1], "samples": 1}
    plain = Study(**kw, out=tmp_path / "a")
    assert not any(t.key.endswith("/search") for t in plain.plan(check=False))
    st = Study(**kw, out=tmp_path / "b", search={"batch": 5}, paths={"images": 16})
    t = [t for t in st.plan(check=False) if t.key.endswith("/search")]
    assert len(t) == 1
    args = t[0].payload["args"]
    assert args["params"]["batch"] == 5 and args["params"]["paths"]["images"] == 16
    assert "explore" in args["inputs"]


def test_cli_search_errors_are_one_line(tmp_path):
    from typer.testing import CliRunner

    from twolevel.cli import app

    r = CliRunner().invoke(app, ["search", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    assert r.exit_code != 0
    assert isinstance(r.exception, InputError) and "\n" not in str(r.exception)
