"""Compiled prediction for fitted scikit-learn histogram gradient boosting models.

scikit-learn predicts a ``HistGradientBoosting*`` model one tree at a time over all rows (its
Cython ``_predict_from_raw_data``, node by node, a data-dependent branch at each). Here the
fitted trees are read once (:func:`pack`: the private ``est._predictors``, each a
``TreePredictor`` whose structured ``nodes`` array holds feature_idx, num_threshold,
missing_go_to_left, left, right, is_leaf, value; and ``est._baseline_prediction``) into tables
that give, for each feature, each tree's set of still reachable leaves as a bit mask, and
:func:`raw_predict` evaluates a row without walking any tree:

- a tree's leaves are numbered left to right; a split node that sends the row right (``x >
  num_threshold``, or ``x`` NaN and not ``missing_go_to_left``) rules out the leaves of its left
  subtree, and the leaf the row reaches is the lowest leaf that no such node rules out (the
  QuickScorer observation: Lucchese et al., SIGIR 2015, "QuickScorer: a fast algorithm to rank
  documents with additive ensembles of regression trees", Sec. 3);
- for one feature the nodes that send a row right are exactly those whose threshold is below
  ``x``: with the feature's distinct thresholds sorted, that is a prefix, fixed by the number
  ``b`` of thresholds below ``x``. So the AND of their masks is tabulated per (feature, b, tree)
  at pack time (one more row for NaN), and a row costs, per feature, one binary search and one
  AND over the trees' masks; then one trailing-zero count and one leaf value per tree.

The comparisons are those of scikit-learn's ``_predict_one_from_raw_data`` (1.9): NaN goes to
the side ``missing_go_to_left`` names, otherwise ``x <= num_threshold`` goes left (a threshold
+inf, scikit-learn's split of the missing values alone, included). The raw prediction is the
baseline plus the reached leaves' values added in boosting order, the additions of
``_raw_predict`` in the same order, so the sums are the same floats. The link (logit for the
classifier, identity for the squared-error regressor) is the caller's.

:func:`pack` returns ``(None, why)`` for what it does not reproduce (categorical splits, more
than one tree per iteration, another link, trees of more than 64 leaves, tables above
``MAX_TABLE_BYTES``, private attributes missing in another scikit-learn version); the caller
then uses scikit-learn's own predict.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

__all__ = ["MAX_TABLE_BYTES", "Forest", "pack", "raw_predict"]

MAX_TABLE_BYTES = 256 * 2**20  # larger mask tables: scikit-learn's own predict
_NODE_FIELDS = ("value", "feature_idx", "num_threshold", "missing_go_to_left", "left", "right", "is_leaf")
_LINKS = {"logit": "LogitLink", "identity": "IdentityLink"}


@dataclass(frozen=True)
class Forest:
    """One fitted estimator's trees as mask tables (see the module docstring).

    ``cuts[cut_ptr[f]:cut_ptr[f+1]]``: feature f's distinct thresholds, sorted; ``masks[row0[f] +
    b]``: per tree, the leaves not ruled out by feature f when b of its thresholds are below x
    (b = number of cuts + 1: x is NaN); ``value[leaf0[t] + k]``: leaf k (left to right) of tree
    t; ``baseline``: the constant start in link space; ``n_features``: the fitted columns.
    """

    cuts: np.ndarray
    cut_ptr: np.ndarray
    row0: np.ndarray
    masks: np.ndarray
    value: np.ndarray
    leaf0: np.ndarray
    baseline: float
    n_features: int

    def predict(self, X: np.ndarray) -> np.ndarray:
        """:func:`raw_predict` of this forest."""
        return raw_predict(self, X)


def _sk_version() -> str:
    import sklearn

    return sklearn.__version__


def _leaf_ranges(nodes) -> tuple[np.ndarray, np.ndarray]:
    """For every node, the range [lo, hi) of the left-to-right numbers of the leaves below it."""
    n = len(nodes)
    lo = np.zeros(n, np.int64)
    hi = np.zeros(n, np.int64)
    left, right, is_leaf = nodes["left"].tolist(), nodes["right"].tolist(), nodes["is_leaf"].tolist()
    count = 0
    stack = [(0, False)]
    while stack:
        i, done = stack.pop()
        if is_leaf[i]:
            lo[i], hi[i] = count, count + 1
            count += 1
        elif done:
            lo[i], hi[i] = lo[left[i]], hi[right[i]]
        else:
            stack += [(i, True), (right[i], False), (left[i], False)]
    return lo, hi


def _check(est, link: str) -> tuple[list, str]:
    """(the trees' node arrays, "") or ([], why the compiled path cannot reproduce ``est``)."""
    try:
        predictors = est._predictors
        n_per_iter = int(est.n_trees_per_iteration_)
        got_link = type(est._loss.link).__name__
        categorical = getattr(est, "is_categorical_", None)
        np.asarray(est._baseline_prediction)
        int(est.n_features_in_)
    except AttributeError as e:
        return [], f"scikit-learn {_sk_version()}: the fitted estimator has no {e.name or e}"
    if got_link != _LINKS[link]:
        return [], f"link {got_link}; the compiled path reproduces {_LINKS[link]} only"
    if n_per_iter != 1:
        return [], f"{n_per_iter} trees per iteration (only binary or scalar models are compiled)"
    if categorical is not None and np.any(categorical):
        return [], "categorical features"
    trees = []
    for it in predictors:
        nodes = getattr(it[0], "nodes", None) if len(it) == 1 else None
        names = getattr(getattr(nodes, "dtype", None), "names", None) or ()
        if any(f not in names for f in _NODE_FIELDS):
            return [], f"scikit-learn {_sk_version()}: tree nodes lack {sorted(set(_NODE_FIELDS) - set(names))}"
        if "is_categorical" in names and np.any(nodes["is_categorical"]):
            return [], "a categorical split"
        if np.isnan(nodes["num_threshold"][nodes["is_leaf"] == 0]).any():
            return [], "a NaN threshold"
        trees.append(nodes)
    return trees, ""


def pack(est, link: str) -> tuple[Forest | None, str]:
    """(Forest, "") for a fitted binary classifier (``link="logit"``) or squared-error regressor
    (``link="identity"``), else (None, why the compiled path cannot reproduce it)."""
    trees, why = _check(est, link)
    if why:
        return None, why
    n_trees, nf = len(trees), int(est.n_features_in_)
    n_leaves = [int(t["is_leaf"].sum()) for t in trees]
    if max(n_leaves, default=1) > 64:
        return None, f"a tree of {max(n_leaves)} leaves (at most 64 fit a mask)"
    dt = np.uint32 if max(n_leaves, default=1) <= 32 else np.uint64
    full = np.iinfo(np.uint64).max
    feat, thr, nan_right, tree, keep, values = [], [], [], [], [], []
    for t, nodes in enumerate(trees):
        lo, hi = _leaf_ranges(nodes)
        leaves = np.flatnonzero(nodes["is_leaf"])
        v = np.empty(leaves.size)
        v[lo[leaves]] = nodes["value"][leaves]
        values.append(v)
        split = np.flatnonzero(nodes["is_leaf"] == 0)
        sub = nodes["left"][split].astype(np.int64)  # going right rules out the left subtree's leaves
        width = (hi[sub] - lo[sub]).astype(np.uint64)  # >= 1
        ruled_out = (np.uint64(full) >> (np.uint64(64) - width)) << lo[sub].astype(np.uint64)
        feat.append(nodes["feature_idx"][split].astype(np.int64))
        thr.append(nodes["num_threshold"][split].astype(np.float64))
        nan_right.append(nodes["missing_go_to_left"][split] == 0)
        tree.append(np.full(split.size, t, np.int64))
        keep.append(~ruled_out)
    feat, thr, nan_right, tree = (np.concatenate(a) if a else np.empty(0) for a in (feat, thr, nan_right, tree))
    keep = np.concatenate(keep).astype(dt) if keep else np.empty(0, dt)  # uint32: drops bits >= 32 (all ones)
    if feat.size and (feat.min() < 0 or feat.max() >= nf):
        return None, "a split on a feature index outside the fitted columns"
    cuts = [np.unique(thr[feat == f]) for f in range(nf)]
    rows = sum(c.size + 2 for c in cuts)
    if rows * n_trees * np.dtype(dt).itemsize > MAX_TABLE_BYTES:
        return None, f"mask tables of {rows * n_trees * np.dtype(dt).itemsize / 2**20:.0f} MiB"
    masks = np.full((rows, n_trees), np.iinfo(dt).max, dt)
    row0 = np.zeros(nf, np.int64)
    r = 0
    for f, c in enumerate(cuts):
        row0[f] = r
        on = feat == f
        # a node with threshold cuts[k] sends x right when more than k thresholds are below x
        block = masks[r:r + c.size + 1]
        np.bitwise_and.at(block, (np.searchsorted(c, thr[on]) + 1, tree[on].astype(np.intp)), keep[on])
        masks[r:r + c.size + 1] = np.bitwise_and.accumulate(block, axis=0)
        nr = on & nan_right.astype(bool)
        np.bitwise_and.at(masks[r + c.size + 1], tree[nr].astype(np.intp), keep[nr])  # x is NaN
        r += c.size + 2
    leaf0 = np.concatenate([[0], np.cumsum(n_leaves)[:-1]]).astype(np.int64)
    return Forest(cuts=np.concatenate(cuts) if cuts else np.empty(0),
                  cut_ptr=np.concatenate([[0], np.cumsum([c.size for c in cuts])]).astype(np.int64),
                  row0=row0, masks=masks, value=np.concatenate(values) if values else np.empty(0),
                  leaf0=leaf0, baseline=float(np.asarray(est._baseline_prediction, np.float64).ravel()[0]),
                  n_features=nf), ""


@nb.njit(cache=True)
def _raw(X, cuts, cut_ptr, row0, masks, value, leaf0, baseline, out):
    """out[r] = baseline + the reached leaves' values of row r, added in tree order."""
    n_rows, n_feat = X.shape
    n_trees = leaf0.size
    alive = np.empty(n_trees, masks.dtype)
    for r in range(n_rows):
        for f in range(n_feat):
            x = X[r, f]
            a = cut_ptr[f]
            m = cut_ptr[f + 1] - a
            if np.isnan(x):
                b = m + 1
            else:  # b = number of thresholds below x
                lo = 0
                hi = m
                while lo < hi:
                    mid = (lo + hi) >> 1
                    if cuts[a + mid] < x:
                        lo = mid + 1
                    else:
                        hi = mid
                b = lo
            row = row0[f] + b
            if f == 0:
                for t in range(n_trees):
                    alive[t] = masks[row, t]
            else:
                for t in range(n_trees):
                    alive[t] &= masks[row, t]
        s = baseline
        for t in range(n_trees):
            s += value[leaf0[t] + trailing_zeros(alive[t])]  # the lowest leaf not ruled out
        out[r] = s


def raw_predict(forest: Forest, X: np.ndarray) -> np.ndarray:
    """Raw (link-space) predictions of ``forest`` for the rows of ``X`` (n_rows, n_features)."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != forest.n_features:
        raise ValueError(f"X has shape {X.shape}; the model was fitted on {forest.n_features} features")
    out = np.empty(X.shape[0], dtype=np.float64)
    if forest.n_features == 0 or forest.leaf0.size == 0:
        out[:] = forest.baseline
        return out
    _raw(X, forest.cuts, forest.cut_ptr, forest.row0, forest.masks, forest.value, forest.leaf0, forest.baseline, out)
    return out
