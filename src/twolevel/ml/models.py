"""Models: which pairs are double wells, and how small their splitting is.

Ciarella et al., Nat. Commun. 14, 4229 (2023): a classifier "double well or not" and a
regressor for log10 of the tunnelling splitting E, both on the static pair features of
:mod:`twolevel.ml.features`. Here both are scikit-learn's histogram gradient boosting
(``HistGradientBoostingClassifier`` / ``HistGradientBoostingRegressor``), fitted with a fixed
seed and no early stopping, so the same table gives the same model.

Prediction evaluates the fitted trees with :mod:`twolevel.ml.forest` (compiled mask tables, the
same numbers as scikit-learn's ``predict_proba`` / ``predict``, 11-13x cheaper per pair in
benchmarks/search.py), or
with scikit-learn's own predict where that module cannot reproduce a model (the reason is logged
at DEBUG level on ``twolevel.ml.models``).

A model is saved without pickle: its training table (Parquet) and parameters (JSON);
:meth:`PairModel.load` refits, deterministically.

Training table columns: :data:`~twolevel.ml.features.FEATURES`, ``is_dw`` (bool: the pair is an
elementary double well, one converged path with a barrier, not split) and ``log10_E`` (log10 of
the lowest level spacing E = e2 - e1 in epsilon, the tunnelling splitting for a doublet, 002
Eq. (12); NaN where the pair is not a double well). A TLS also needs the doublet test of
twolevel.quantum, which the evaluator applies; the score uses P(E < e_max) as its proxy.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from .features import FEATURES

__all__ = ["MIN_REGRESS", "MIN_TRAIN", "TARGETS", "PairModel", "check_columns"]

TARGETS = ("is_dw", "log10_E")
MIN_TRAIN = 8  # fewest computed pairs to train on, with at least MIN_CLASS of each class
MIN_CLASS = 2
MIN_REGRESS = 4  # fewest pairs with a finite splitting to fit the regressor
MODEL_FORMAT = 1
log = logging.getLogger(__name__)


def check_columns(df, needed, where: str = "table") -> None:
    """One-line InputError naming every missing column."""
    cols = getattr(df, "columns", None)
    if cols is None:
        raise InputError(f"{where}: not a table (a pandas DataFrame with columns {', '.join(needed)} is needed)")
    missing = [c for c in needed if c not in cols]
    if missing:
        raise InputError(f"{where}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")


def _X(df) -> np.ndarray:
    return df[list(FEATURES)].to_numpy(dtype=np.float64)


@dataclass
class PairModel:
    """Classifier P(double well) and regressor log10 E on the pair features.

    ``params``: keyword arguments for both HistGradientBoosting estimators (defaults:
    ``max_iter=200, learning_rate=0.1, random_state=0, early_stopping=False``, ``min_samples_leaf``
    = n_rows // 10 clipped to [2, 20]). ``threads``:
    OpenMP threads for fitting, and for predicting where scikit-learn predicts (default 1: on the
    small tables of a search, one thread is faster, and on a shared 2-core machine at load 14 the
    default thread pool made a 150-row fit 40x slower, 12.4 s against 0.29 s wall); the compiled
    prediction runs on one thread. ``compiled``: predict with :mod:`twolevel.ml.forest` where it
    reproduces the fitted trees (False: scikit-learn's own predict, for comparison).
    """

    params: dict = field(default_factory=dict)
    clf: object = None
    reg: object = None
    sigma: float = 1.0  # spread of log10 E around the regressor (training residuals, >= 0.1 dex)
    n_train: int = 0
    train: object = None  # the training table (kept for saving)
    threads: int = 1
    compiled: bool = True
    _forests: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def _est_params(self, n: int) -> dict:
        # scikit-learn's min_samples_leaf=20 leaves a tree on fewer than 40 rows without a split (a
        # constant model): at the start of a search the table is that small, so scale it down
        leaf = min(20, max(2, n // 10))
        return {"max_iter": 200, "learning_rate": 0.1, "random_state": 0, "early_stopping": False,
                "min_samples_leaf": leaf, **self.params}

    @staticmethod
    def trainable(df) -> tuple[bool, str]:
        """(True, "") when ``df`` can train a classifier, else (False, why) in one line."""
        check_columns(df, (*FEATURES, "is_dw"), "training table")
        y = df["is_dw"].astype(bool).to_numpy()
        if len(df) < MIN_TRAIN or y.sum() < MIN_CLASS or (~y).sum() < MIN_CLASS:
            return False, (f"{len(df)} computed pairs ({int(y.sum())} double wells, {int((~y).sum())} not): "
                           f"need >= {MIN_TRAIN} with >= {MIN_CLASS} of each class to train")
        return True, ""

    def fit(self, df) -> PairModel:
        """Fit both models on a training table (columns FEATURES, is_dw, log10_E)."""
        from sklearn.ensemble import (
            HistGradientBoostingClassifier,
            HistGradientBoostingRegressor,
        )

        check_columns(df, (*FEATURES, *TARGETS), "training table")
        ok, why = self.trainable(df)
        if not ok:
            raise InputError(f"training table: {why}")
        from threadpoolctl import threadpool_limits

        X = _X(df)
        y = df["is_dw"].astype(bool).to_numpy()
        le = df["log10_E"].to_numpy(dtype=float)
        good = np.isfinite(le)
        self.reg = None
        self.sigma = 1.0
        with threadpool_limits(self.threads):
            self.clf = HistGradientBoostingClassifier(**self._est_params(len(y))).fit(X, y)
            if good.sum() >= MIN_REGRESS:
                self.reg = HistGradientBoostingRegressor(**self._est_params(int(good.sum()))).fit(X[good], le[good])
                res = le[good] - self.reg.predict(X[good])
                self.sigma = max(float(np.sqrt(np.mean(res * res))), 0.1)
        self.n_train = len(df)
        self.train = df[[*FEATURES, *TARGETS]].reset_index(drop=True)
        return self

    def predict(self, df, e_max: float | None = None):
        """Predictions for a feature table: a DataFrame with ``p_dw`` (probability of a double
        well), ``log10_E_pred`` (NaN without a regressor) and, with ``e_max``, ``p_tls`` =
        P(E < e_max) under a normal spread ``sigma`` of log10 E, and ``score`` = p_dw * p_tls
        (the expected TLS yield of the pair)."""
        import pandas as pd

        if self.clf is None:
            raise InputError("PairModel.predict: the model is not fitted (fit() or load() first)")
        check_columns(df, FEATURES, "feature table")
        X = _X(df)
        out = pd.DataFrame(index=df.index)
        if len(df) == 0:
            out["p_dw"] = np.empty(0)
            out["log10_E_pred"] = np.empty(0)
            if e_max is not None:
                out["p_tls"] = np.empty(0)
                out["score"] = np.empty(0)
            return out
        p_dw, log10_e = self._predict_arrays(X)
        out["p_dw"] = p_dw
        out["log10_E_pred"] = log10_e
        if e_max is not None:
            from scipy.special import ndtr

            if self.reg is not None:
                p = ndtr((math.log10(e_max) - log10_e) / self.sigma)
            else:
                p = np.ones(len(df))
            out["p_tls"] = p
            out["score"] = p_dw * p
        return out

    def _forest(self, name: str, link: str):
        """The compiled trees of ``self.<name>`` (packed once per fitted estimator), or None."""
        est = getattr(self, name)
        have = self._forests.get(name)
        if have is None or have[0] is not est:
            try:
                from .forest import pack
            except ImportError as e:  # numba internals (trailing_zeros) moved in another version
                forest, why = None, f"twolevel.ml.forest unavailable ({e})"
            else:
                forest, why = pack(est, link)
            if forest is None:
                log.debug("PairModel: scikit-learn's own predict for the %s: %s", name, why)
            have = self._forests[name] = (est, forest)
        return have[1]

    def _predict_arrays(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(p_dw, log10_E_pred) for the feature matrix ``X``: compiled where possible."""
        # expit: scikit-learn's inverse logit link (sklearn.utils._array_api._expit calls it)
        from scipy.special import expit
        from threadpoolctl import threadpool_limits

        cls = list(self.clf.classes_)
        with threadpool_limits(self.threads):
            if True not in cls:
                p_dw = np.zeros(len(X))
            elif self.compiled and cls == [False, True] and (f := self._forest("clf", "logit")) is not None:
                p_dw = expit(f.predict(X))
            else:
                p_dw = self.clf.predict_proba(X)[:, cls.index(True)]
            if self.reg is None:
                log10_e = np.full(len(X), np.nan)
            elif self.compiled and (f := self._forest("reg", "identity")) is not None:
                log10_e = f.predict(X)
            else:
                log10_e = self.reg.predict(X)
        return p_dw, log10_e

    # ---------------------------------------------------------------- persistence (no pickle)
    def save(self, directory) -> Path:
        """Write ``directory/model.json`` and ``directory/training.parquet``."""
        from ..io.atomic import atomic_open, atomic_path

        if self.train is None:
            raise InputError("PairModel.save: nothing to save (fit first)")
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        with atomic_path(d / "training.parquet") as tmp:
            self.train.to_parquet(tmp, index=False)
        with atomic_open(d / "model.json", "w") as fh:
            json.dump({"format": MODEL_FORMAT, "params": self.params, "threads": self.threads, "features": list(FEATURES),
                       "n_train": self.n_train, "sigma": self.sigma}, fh, indent=2)
        return d

    @classmethod
    def load(cls, directory) -> PairModel:
        """Refit a saved model from its training table (deterministic: same table, same model)."""
        import pandas as pd

        d = Path(directory)
        meta_p, tab_p = d / "model.json", d / "training.parquet"
        for p in (meta_p, tab_p):
            if not p.is_file():
                raise InputError(f"{p}: not found (not a saved twolevel.ml model directory)")
        try:
            meta = json.loads(meta_p.read_text())
        except ValueError:
            raise InputError(f"{meta_p}: not valid JSON") from None
        if meta.get("format") != MODEL_FORMAT:
            raise InputError(f"{meta_p}: model format {meta.get('format')!r}, expected {MODEL_FORMAT}")
        return cls(params=dict(meta.get("params", {})), threads=int(meta.get("threads", 1))).fit(pd.read_parquet(tab_p))
