"""The closed loop: predict every pair, compute the most promising, learn, repeat.

Ciarella et al., Nat. Commun. 14, 4229 (2023): instead of running paths + quantum on every
candidate pair (nearly all of which are not TLS: 002_b660eabf4d6c7be7.txt Table I finds TLS in
~0.3 % of double wells), predict for every pair of IS its probability of being a double well and
its splitting, compute only the pairs of highest expected TLS yield, add the results to the
training table and retrain.

One batch of :func:`search`:

1. train :class:`~twolevel.ml.models.PairModel` on every pair computed so far (plus an optional
   prior table, e.g. a stored model's training data); when that is impossible (too few pairs, one
   class only) the batch is taken in *exhaustive order* (pairs seen both ways first, then seen
   once, then by increasing total displacement) and the record says so;
2. score the pairs not computed yet by ``p_dw * P(E < e_max)`` and take the top ``batch``;
3. evaluate them (an evaluator: paths + quantum for a glass, :class:`PathEvaluator`; anything
   returning the same record for tests and other tools), one result file per pair;
4. record what was predicted and what was found (``batches.parquet``, one row per computed pair).

It stops when the TLS hit rate (TLS found per pair computed) of the last ``window`` batches falls
below ``min_hit_rate`` (after ``min_batches``), when the CPU budget (evaluation + learning) is
spent, after ``max_batches``, or when no pair is left. Resumable: a rerun reads the per-pair
files and the batch record and continues; the models are refitted deterministically, so a killed
search resumed gives the same batches as an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pydantic import Field

from ..errors import InputError, TwolevelError
from ..params import Params
from .features import FEATURES
from .models import PairModel, check_columns

__all__ = ["BATCHES", "OUTCOME_FIELDS", "SEARCH_META", "PathEvaluator", "SearchParams", "exhaustive_order", "search"]

BATCHES = "batches.parquet"  # one row per computed pair: batch, predictions, outcome
SEARCH_META = "search.json"  # parameters, per-batch summaries, stop reason
TLS_FOUND = "tls_found.parquet"  # one row per distinct TLS found
OUTCOME_FIELDS = ("is_dw", "log10_E", "is_tls", "n_dw", "n_tls", "cpu_s", "status", "tls")


class SearchParams(Params):
    """``[search]`` (optional): learned pair selection in a closed loop over all IS pairs of each glass (twolevel.ml; docs/ml.md).

    The one owner of the loop's parameters and defaults: the study file's ``[search]``,
    ``twolevel search``, :func:`search_glass` and :func:`search` validate through this class.
    The TLS threshold ``e_max`` is not a parameter of the table: :func:`search_glass` takes it
    from the unit system (k_B T_Q, 002 Eq. (9)), :func:`search` as an argument.
    """

    batch: int = Field(20, ge=1, description="Pairs computed (paths + quantum) per batch: the top K by expected TLS yield.")
    bootstrap: int = Field(40, ge=1, description="Size of the first batch, taken in exhaustive order (pairs seen both ways first), while no model can be trained.")
    window: int = Field(2, ge=1, description="Batches over which the TLS hit rate is measured.")
    min_batches: int = Field(3, ge=1, description="Never stop on the hit rate before this many batches.")
    min_hit_rate: float = Field(0.02, ge=0, le=1, description="Stop when new TLS per computed pair over the window falls below this.")
    max_batches: int = Field(1000, ge=1, description="Stop after this many batches.")
    cpu_budget_s: float | None = Field(None, gt=0, description="Stop when paths + quantum + learning have used this many CPU seconds (per glass); default no limit.")
    max_delta_e: float | None = Field(None, ge=0, description="Feature cut: only pairs with total energy difference <= this (epsilon); pairs seen as transitions are always kept.")
    max_d: float | None = Field(None, ge=0, description="Feature cut: only pairs with total displacement d (002 Eq. (7)) <= this (sigma).")
    units: str | None = Field(None, description="Unit system whose m~ and k_B T_Q define a TLS (E < k_B T_Q); default the model's first.")
    prior_model: str | None = Field(None, description="Directory of a saved model (twolevel.ml.PairModel.save) whose training table starts every glass's loop.")
    max_iter: int = Field(200, ge=1, description="Boosting iterations of the classifier and the regressor.")

    @property
    def budget(self) -> float:
        """The CPU budget in seconds (inf when none)."""
        return math.inf if self.cpu_budget_s is None else self.cpu_budget_s


def _search_params(params, overrides: dict) -> SearchParams:
    """``params`` with keyword overrides; a path (prior_model) may be a Path."""
    if isinstance(overrides.get("prior_model"), Path):
        overrides["prior_model"] = str(overrides["prior_model"])
    return SearchParams.merged("search", params, **overrides)


def _check_e_max(e_max) -> float:
    if e_max is None or isinstance(e_max, bool) or not (isinstance(e_max, (int, float, np.floating))
                                                         and e_max > 0 and math.isfinite(e_max)):
        raise InputError(f"search: e_max must be a positive energy, got {e_max!r}")
    return float(e_max)


def exhaustive_order(features) -> np.ndarray:
    """Row positions in the order a search without a model takes them: pairs seen both ways
    (the pipeline's candidates, 002 Sec. II D) first, then pairs seen one way, then the rest;
    within each group by increasing total displacement."""
    t_ij = features["Tij"].to_numpy()
    t_ji = features["Tji"].to_numpy()
    group = np.where((t_ij > 0) & (t_ji > 0), 0, np.where((t_ij > 0) | (t_ji > 0), 1, 2))
    return np.lexsort((np.arange(len(features)), features["total_displacement"].to_numpy(), group))


def _pair_file(out: Path, a: int, b: int) -> Path:
    return out / "pairs" / f"pair_{a}_{b}.json"


def _read_outcome(p: Path) -> dict | None:
    try:
        rec = json.loads(p.read_text())
    except (OSError, ValueError):
        return None
    return rec if all(k in rec for k in OUTCOME_FIELDS) else None


def _write_json(path: Path, obj) -> None:
    from ..io.atomic import atomic_open

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "w") as fh:
        json.dump(obj, fh, indent=1, default=float)


def _write_parquet(path: Path, df) -> None:
    from ..io.atomic import atomic_path

    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def _evaluate_pair(evaluate, out: Path, a: int, b: int) -> dict:
    """The outcome of pair (a, b): from its file when computed before, else computed and stored."""
    p = _pair_file(out, a, b)
    if p.is_file():
        rec = _read_outcome(p)
        if rec is not None:
            return rec
    t0 = time.process_time()
    rec = dict(evaluate(a, b))
    rec.setdefault("cpu_s", time.process_time() - t0)
    missing = [k for k in OUTCOME_FIELDS if k not in rec]
    if missing:
        raise InputError(f"search: the evaluator's record for pair {a}-{b} lacks {', '.join(missing)}")
    rec["is_a"], rec["is_b"] = int(a), int(b)
    _write_json(p, rec)
    return rec


def _training(prior, done_rows):
    import pandas as pd

    parts = [] if prior is None else [prior[[*FEATURES, "is_dw", "log10_E"]]]
    if len(done_rows):
        parts.append(done_rows[[*FEATURES, "is_dw", "log10_E"]])
    if not parts:
        return None
    return pd.concat(parts, ignore_index=True)


def search(features, evaluate: Callable[[int, int], dict], out_dir, params: SearchParams | None = None, *,
           e_max: float, prior=None, progress: Callable[[str], None] | None = None, **overrides) -> dict:
    """Run (or resume) the closed loop over one glass's pair table; returns the summary dict.

    ``params``, ``**overrides``: a :class:`SearchParams` and/or its fields as keywords (batch,
    bootstrap, window, min_batches, min_hit_rate, max_batches, cpu_budget_s, max_iter; the cuts,
    units and prior_model are :func:`search_glass`'s). ``e_max``: the TLS threshold on the
    splitting E (epsilon); a pair's score is ``p_dw * P(E < e_max)``.

    ``features``: :func:`~twolevel.ml.features.pair_features` output (is_a, is_b, FEATURES).
    ``evaluate(is_a, is_b) -> dict`` with :data:`OUTCOME_FIELDS`: ``is_dw`` (elementary double
    well), ``log10_E`` (log10 of E = e2 - e1 of that double well, NaN if none), ``is_tls`` (the pair
    gave at least one TLS), ``n_dw``, ``n_tls``, ``cpu_s``, ``status`` and ``tls`` (a list of
    dicts, one per TLS, each with a ``key`` identifying it across pairs). ``prior``: a training
    table (FEATURES, is_dw, log10_E) to start from, e.g. ``PairModel.load(dir).train``.
    Writes into ``out_dir``: ``pairs/pair_<a>_<b>.json``, ``batches.parquet``,
    ``tls_found.parquet``, ``search.json`` and ``model/`` (the last model, no pickle).
    """
    import pandas as pd

    p = _search_params(params, overrides)
    e_max = _check_e_max(e_max)
    budget = p.budget
    check_columns(features, ("is_a", "is_b", *FEATURES), "feature table")
    if prior is not None:
        check_columns(prior, (*FEATURES, "is_dw", "log10_E"), "prior training table")
    say = progress or (lambda s: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    feats = features.reset_index(drop=True)
    a_all = feats["is_a"].to_numpy(np.int64)
    b_all = feats["is_b"].to_numpy(np.int64)
    pending = np.ones(len(feats), dtype=bool)
    exh = exhaustive_order(feats)
    done_rows = pd.DataFrame()
    batches: list[dict] = []
    tls: dict = {}
    cpu_total = 0.0
    stop = None
    model = None
    k = 0
    while stop is None:
        t_learn = time.process_time()
        train = _training(prior, done_rows)
        ok, why = (False, "no computed pairs yet") if train is None else PairModel.trainable(train)
        idx = np.flatnonzero(pending)
        pred = pd.DataFrame({"p_dw": np.full(idx.size, np.nan), "log10_E_pred": np.full(idx.size, np.nan),
                             "score": np.full(idx.size, np.nan)})
        if ok:
            model = PairModel(params={"max_iter": p.max_iter}).fit(train)
            pr = model.predict(feats.iloc[idx], e_max=e_max)
            pred = pr[["p_dw", "log10_E_pred", "score"]].reset_index(drop=True)
            # highest expected yield first; ties in exhaustive order
            rank_exh = np.empty(len(feats), np.int64)
            rank_exh[exh] = np.arange(len(feats))
            order = np.lexsort((rank_exh[idx], -pred["score"].to_numpy()))
            mode, size = "model", p.batch
        else:
            if k == 0 or len(done_rows):
                say(f"search: batch {k}: exhaustive order ({why})")
            pos = {int(v): i for i, v in enumerate(idx)}
            order = np.array([pos[int(v)] for v in exh if pending[v]], dtype=np.int64)
            mode, size = "exhaustive", (p.bootstrap if k == 0 else p.batch)
        t_learn = time.process_time() - t_learn
        take = order[:size]
        rows = []
        spent = 0.0
        for r in take:
            if cpu_total + t_learn + spent >= budget:
                break  # the budget ran out inside the batch
            i = int(idx[r])
            rec = _evaluate_pair(evaluate, out, int(a_all[i]), int(b_all[i]))
            pending[i] = False
            row = {"batch": k, "mode": mode, "rank": len(rows), "is_a": int(a_all[i]), "is_b": int(b_all[i]),
                   **{f: feats.at[i, f] for f in FEATURES},
                   "p_dw": float(pred.at[r, "p_dw"]), "log10_E_pred": float(pred.at[r, "log10_E_pred"]),
                   "score": float(pred.at[r, "score"]),
                   **{f: rec[f] for f in OUTCOME_FIELDS if f != "tls"}}
            new = 0
            for t in rec["tls"]:
                if t["key"] not in tls:
                    tls[t["key"]] = {**t, "batch": k, "pair_a": int(a_all[i]), "pair_b": int(b_all[i])}
                    new += 1
            row["new_tls"] = new
            rows.append(row)
            spent += float(rec["cpu_s"])
        if not rows:  # the budget was spent by the learning of this batch
            stop = f"CPU budget spent ({cpu_total + t_learn:.1f} s >= {budget:g} s)"
            break
        bdf = pd.DataFrame(rows)
        bdf["log10_E"] = bdf["log10_E"].astype(float)
        done_rows = pd.concat([done_rows, bdf], ignore_index=True) if len(done_rows) else bdf
        cpu_eval = float(bdf["cpu_s"].sum()) if len(bdf) else 0.0
        cpu_total += cpu_eval + t_learn
        n_new = int(bdf["new_tls"].sum()) if len(bdf) else 0
        batches.append({"batch": k, "mode": mode, "pairs": len(bdf), "new_tls": n_new,
                        "double_wells": int(bdf["is_dw"].sum()) if len(bdf) else 0,
                        "predicted_tls": float(np.nansum(bdf["score"])) if mode == "model" else None,
                        "cpu_eval_s": cpu_eval, "cpu_learn_s": t_learn, "cpu_total_s": cpu_total,
                        "tls_total": len(tls), "pairs_total": len(done_rows), "why_exhaustive": why or None})
        say(f"search: batch {k} ({mode}): {len(bdf)} pairs, {n_new} new TLS, {len(tls)} in all, "
            f"{cpu_total:.1f} CPU-s")
        recent = batches[-p.window:]
        n_recent = sum(b["pairs"] for b in recent)
        rate = sum(b["new_tls"] for b in recent) / n_recent if n_recent else 0.0
        k += 1
        if not pending.any():
            stop = "exhausted: every pair computed"
        elif cpu_total >= budget:
            stop = f"CPU budget spent ({cpu_total:.1f} s >= {budget:g} s)"
        elif k >= p.max_batches:
            stop = f"max_batches ({p.max_batches}) reached"
        elif k >= p.min_batches and rate < p.min_hit_rate:
            stop = f"hit rate {rate:.3g} over the last {len(recent)} batches < {p.min_hit_rate:g}"
        _write_parquet(out / BATCHES, done_rows)
    _write_parquet(out / BATCHES, done_rows)
    tls_df = pd.DataFrame(list(tls.values()))
    _write_parquet(out / TLS_FOUND, tls_df if len(tls_df) else pd.DataFrame({"key": pd.Series([], dtype=str)}))
    if model is not None:
        model.save(out / "model")
    summary = {"params": {**p.model_dump(), "e_max": e_max}, "pairs_total": len(feats), "pairs_computed": len(done_rows),
               "tls_found": len(tls), "double_wells": int(done_rows["is_dw"].sum()) if len(done_rows) else 0,
               "cpu_total_s": cpu_total, "stop": stop, "batches": batches}
    _write_json(out / SEARCH_META, summary)
    say(f"search: stopped: {stop}")
    return summary


class PathEvaluator:
    """Paths + quantum for one pair of minima of a potential (the pipeline's evaluator).

    ``find_path`` (twolevel.paths, 002 Sec. II D: NEB, split at intermediate minima) between the
    two minima, then ``tunnelling`` (twolevel.quantum, 002 Eqs. (10)-(15)) along every converged
    elementary double well at ``m_tilde``. The pair ``is_dw`` when the path is one elementary
    double well (not split); ``log10_E`` is log10 of its level spacing E = e2 - e1 (the splitting
    for a doublet; NaN when not computed); every doublet
    (of the pair or of its pieces) with E < ``e_max`` is a TLS, keyed by its two minimum energies
    (rounded to ``key_digits``) so a TLS found from two pairs counts once.
    """

    def __init__(self, pot, config: Callable[[int], np.ndarray], m_tilde: float, e_max: float,
                 key_digits: int = 6, **path_kw):
        self.pot = pot
        self.config = config
        self.m_tilde = float(m_tilde)
        self.e_max = float(e_max)
        self.key_digits = int(key_digits)
        self.path_kw = {"curvature": False, **path_kw}

    def __call__(self, a: int, b: int) -> dict:
        from ..paths import find_path
        from ..quantum import tunnelling

        t0 = time.process_time()
        try:
            res = find_path(self.pot, self.config(a), self.config(b), labels=(a, b), **self.path_kw)
        except TwolevelError as exc:
            return {"is_dw": False, "log10_E": math.nan, "is_tls": False, "n_dw": 0, "n_tls": 0,
                    "cpu_s": time.process_time() - t0, "status": f"failed: {type(exc).__name__}", "tls": []}
        dws = res.double_wells
        ok = [dw for dw in dws if dw.ok]
        is_dw = len(dws) == 1 and dws[0].ok
        log10_e = math.nan
        found = []
        for dw in ok:
            q = tunnelling(dw.xi, dw.V, dw.d, self.m_tilde, curv_low=dw.curv_low, curv_high=dw.curv_high)
            finite = math.isfinite(q.E) and q.E > 0
            doublet = q.tls_class == "doublet" and finite
            if is_dw and finite:  # the regressor learns e2 - e1 of every double well, doublet or not
                log10_e = math.log10(q.E)
            if doublet and q.E < self.e_max:
                key = f"{round(dw.E_low, self.key_digits)!r}|{round(dw.E_high, self.key_digits)!r}"
                found.append({"key": key, "E": float(q.E), "Delta": float(q.Delta), "Delta_0": float(q.Delta_0),
                              "dV": float(dw.dV), "V_b": float(dw.V_b), "d": float(dw.d), "PR": float(dw.PR)})
        status = "double_well" if is_dw else ("split" if len(dws) > 1 else (dws[0].status if dws else "none"))
        return {"is_dw": bool(is_dw), "log10_E": log10_e, "is_tls": bool(found), "n_dw": len(ok),
                "n_tls": len(found), "cpu_s": time.process_time() - t0, "status": status, "tls": found}


FEATURES_FILE = "features.parquet"
PATH_KEYS = ("images", "method", "spring", "ftol", "max_steps", "split", "max_depth", "scheme")


def _tls_mass(explore_dir: Path, units: str | None, m_tilde: float | None) -> tuple[float, str | None]:
    """(m~, unit-system name) of the TLS criterion: ``m_tilde`` when given, else that of ``units``,
    else that of the glass model's first unit system (as the study pipeline does)."""
    from ..explore import ISConfigs
    from ..models import get_model
    from ..units import get_units

    if m_tilde is not None:
        return float(m_tilde), None
    if units is None:
        with ISConfigs(explore_dir) as store:
            model = store.system()[3]
        if model is None:
            raise InputError(f"{explore_dir}: the IS library names no model; give units= (e.g. 'pss-ar')")
        units = get_model(model).units[0]
    u = get_units(units)
    return float(u.m_tilde), u.name


def search_glass(explore_dir, out_dir, params: SearchParams | None = None, *, m_tilde: float | None = None,
                 e_max: float | None = None, path_kw: dict | None = None,
                 progress: Callable[[str], None] | None = None, **overrides) -> dict:
    """The closed loop on one explored glass (the ``search`` stage and ``twolevel search``).

    ``params``, ``**overrides``: a :class:`SearchParams` and/or its fields as keywords; defaults
    those of the study file's ``[search]``; a misspelt keyword is refused. Pair features of every
    IS pair of ``explore_dir`` within the cuts ``max_delta_e``, ``max_d`` (``features.parquet``,
    computed once), then :func:`search` with :class:`PathEvaluator` on the glass's particle system
    (``path_kw``: the paths stage's parameters, :data:`PATH_KEYS`) at the m~ of ``units`` (default
    the glass model's first unit system) or ``m_tilde``; a TLS is a doublet with E < k_B T_Q of
    that m~ (002 Eq. (9)) unless ``e_max`` is given. ``prior_model``: a directory saved by
    :meth:`PairModel.save` whose training table starts the loop.
    """
    import pandas as pd

    from ..engine import ParticleSystem
    from ..explore import ISConfigs
    from ..layout import IS_CONFIGS
    from ..paths import PathsParams
    from ..units import kT_Q
    from .features import glass_features

    p = _search_params(params, overrides)
    explore_dir, out = Path(explore_dir), Path(out_dir)
    mt, units = _tls_mass(explore_dir, p.units, m_tilde)
    e_max = kT_Q(mt) if e_max is None else _check_e_max(e_max)  # default k_B T_Q (002 Eq. (9))
    out.mkdir(parents=True, exist_ok=True)
    max_delta_e = math.inf if p.max_delta_e is None else p.max_delta_e
    max_d = math.inf if p.max_d is None else p.max_d
    cuts = {"max_delta_e": float(max_delta_e), "max_d": float(max_d)}
    fpath, meta_path = out / FEATURES_FILE, out / "features.json"
    meta = None
    if fpath.is_file() and meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
        except ValueError:
            meta = None
    if meta is not None and meta.get("cuts") == cuts:
        feats = pd.read_parquet(fpath)
    else:
        feats, secs = glass_features(explore_dir, **cuts)
        _write_parquet(fpath, feats)
        meta = {"cuts": cuts, "pairs": len(feats), "seconds": secs}
        _write_json(meta_path, meta)
    if len(feats) == 0:
        raise InputError(f"{explore_dir}: no IS pair within the cuts (max_delta_e={max_delta_e:g}, "
                         f"max_d={max_d:g}); nothing to search")
    kw = {k: v for k, v in (path_kw or {}).items() if k in PATH_KEYS and v is not None}
    PathsParams.build("search: path_kw", **kw)  # the paths stage's bounds and names (twolevel.paths)
    settings = {"m_tilde": mt, "e_max": e_max, "path_kw": kw}
    spath = out / "evaluator.json"
    if spath.is_file():
        try:
            old = json.loads(spath.read_text())
        except ValueError:
            old = None
        if old is not None and old != json.loads(json.dumps(settings)):
            raise InputError(f"{spath}: {out} holds pair results computed with other settings ({old}); "
                             "use another output directory or delete it")
    else:
        _write_json(spath, settings)
    prior = None
    if p.prior_model is not None:
        prior = PairModel.load(p.prior_model).train
    store = ISConfigs(explore_dir / IS_CONFIGS)
    try:
        system = ParticleSystem(store.configuration(int(feats["is_a"].iloc[0])))
        ev = PathEvaluator(system, lambda i: store.configuration(i).positions, mt, e_max, **kw)
        summary = search(feats, ev, out, p, e_max=e_max, prior=prior, progress=progress)
    finally:
        store.close()
    summary.update({"features": meta, "m_tilde": mt, "units": units})
    _write_json(out / SEARCH_META, summary)
    return summary
