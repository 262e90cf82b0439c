"""twolevel.ml.forest: the compiled prediction gives scikit-learn's own predict_proba / predict
(the reference: another code), on random tables with NaN, +-inf and values exactly at the split
thresholds; models it cannot reproduce fall back to scikit-learn."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn", reason="scikit-learn (the 'ml' extra) is not installed")

from twolevel.errors import InputError
from twolevel.ml import FEATURES, PairModel
from twolevel.ml.forest import pack, raw_predict

TOL = 1e-12


def _table(n: int, seed: int, nan: float = 0.15) -> pd.DataFrame:
    """Random features (a NaN fraction ``nan``), a noisy double-well rule and a splitting."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.lognormal(0.0, 1.0, (n, len(FEATURES))), columns=list(FEATURES))
    df["Tij"] = rng.integers(0, 4, n).astype(float)
    dw = (df["total_displacement"] < df["total_displacement"].median()) ^ (rng.random(n) < 0.1)
    df = df.mask(rng.random(df.shape) < nan)
    df["is_dw"] = dw
    df["log10_E"] = np.where(dw, -3 + np.log10(1 + df["Delta_E"].fillna(1.0)) + rng.normal(0, 0.1, n), np.nan)
    return df


def _probe_rows(forest, n: int, seed: int) -> np.ndarray:
    """Random rows (NaN, +-inf included), and rows whose features sit exactly on a split threshold
    (x <= threshold goes left) or one ulp above it."""
    rng = np.random.default_rng(seed)
    X = rng.lognormal(0.0, 1.2, (n, len(FEATURES)))
    X[rng.random(X.shape) < 0.1] = np.nan
    X[rng.random(X.shape) < 0.03] = np.inf
    X[rng.random(X.shape) < 0.03] = -np.inf
    on = X.copy()
    for f in range(len(FEATURES)):
        cuts = forest.cuts[forest.cut_ptr[f]:forest.cut_ptr[f + 1]]
        if cuts.size:
            on[:, f] = rng.choice(cuts, n)
    above = np.nextafter(on, np.inf)
    return np.concatenate([X, on, above])


@pytest.mark.parametrize("leaves", [31, 48])
def test_compiled_trees_equal_sklearn(leaves):
    train = _table(500, seed=leaves)
    m = PairModel(params={"max_iter": 40, "max_leaf_nodes": leaves, "min_samples_leaf": 2}).fit(train)
    fc, why_c = pack(m.clf, "logit")
    fr, why_r = pack(m.reg, "identity")
    # the fast path must be live on the installed scikit-learn (it reads private attributes)
    assert fc is not None and fr is not None, f"compiled prediction unavailable: {why_c or why_r}"
    most = max(p[0].get_n_leaf_nodes() for p in m.clf._predictors)
    assert fc.masks.dtype == (np.uint32 if most <= 32 else np.uint64)
    if leaves == 48:
        assert most > 32  # the 64-bit masks are exercised
    X = _probe_rows(fc, 400, seed=1)
    from scipy.special import expit

    assert np.max(np.abs(expit(raw_predict(fc, X)) - m.clf.predict_proba(X)[:, 1])) <= TOL
    assert np.max(np.abs(raw_predict(fr, X) - m.reg.predict(X))) <= TOL
    # through the public API: every column as scikit-learn's own predict gives it
    df = pd.DataFrame(X, columns=list(FEATURES))
    fast = m.predict(df, e_max=1e-3)
    m.compiled = False
    ref = m.predict(df, e_max=1e-3)
    assert list(fast.columns) == ["p_dw", "log10_E_pred", "p_tls", "score"]
    pd.testing.assert_frame_equal(fast, ref, check_exact=False, rtol=0, atol=TOL)


def test_models_that_cannot_be_compiled_fall_back_to_sklearn(caplog):
    forest, why = pack(object(), "logit")
    assert forest is None and "has no" in why
    train = _table(300, seed=5, nan=0.0)
    # unlimited leaves: trees of more than 64 leaves do not fit a mask
    m = PairModel(params={"max_iter": 5, "max_leaf_nodes": None, "min_samples_leaf": 1}).fit(train)
    assert max(p[0].get_n_leaf_nodes() for p in m.reg._predictors) > 64
    X = train[list(FEATURES)]
    with caplog.at_level(logging.DEBUG, logger="twolevel.ml.models"):
        out = m.predict(X, e_max=1e-3)
    assert any("leaves" in r.getMessage() for r in caplog.records)
    np.testing.assert_allclose(out["log10_E_pred"], m.reg.predict(X.to_numpy(float)), rtol=0, atol=TOL)


def test_predict_refuses_missing_columns_in_one_line():
    m = PairModel(params={"max_iter": 5}).fit(_table(100, seed=2, nan=0.0))
    with pytest.raises(InputError) as e:
        m.predict(pd.DataFrame({c: [0.0] for c in FEATURES if c not in ("PR", "Tji")}))
    msg = str(e.value)
    assert "\n" not in msg and "PR" in msg and "Tji" in msg
