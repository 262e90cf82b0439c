"""Pair features for every pair of inherent structures (IS) of one glass.

Ciarella et al., "Finding defects in glasses through machine learning", Nat. Commun. 14, 4229
(2023) describe each pair of IS by cheap static features and learn from them which pairs are
double wells and how small their tunnelling splitting is. This module computes those features
for *all* pairs of a glass (not only the pairs the exploration saw as transitions), compiled,
with stated cuts so that memory stays bounded (a glass with 10^4 IS has 5e7 pairs).

Columns (names as in the issue, so tables from other tools can be fed in; :data:`FEATURES`):

- ``Delta_E``: total energy difference E_b - E_a >= 0 (N times the per-particle one); ``is_a``
  is the lower-energy IS of the pair;
- ``total_displacement``: d of 002_b660eabf4d6c7be7.txt Eq. (7), sqrt((1/N) sum_i |r_i^a - r_i^b|^2);
- ``PR``: participation ratio, 002 Eq. (16), [sum_i (d^i)^2]^2 / sum_i (d^i)^4;
- ``displacement_0``, ``displacement_1``, ``displacement_2``: the three largest single-particle
  displacements |r_i^b - r_i^a| (minimum image);
- ``0to1``, ``0to2``: the distance between the most displaced particle and the second / third most
  displaced one, in the midpoint configuration (r^a + r^b) / 2 (minimum image);
- ``Tij``, ``Tji``: observed transition counts a -> b and b -> a (0 when never seen).

Cuts (:func:`pair_features`): ``max_delta_e`` on Delta_E (IS are sorted by energy, so each IS
is only compared with the window of IS above it) and ``max_d`` on total_displacement. Pairs
seen as transitions are always kept, whatever the cuts.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numba as nb
import numpy as np

from ..errors import InputError

__all__ = ["FEATURES", "glass_features", "load_glass", "pair_features"]

FEATURES = ("Delta_E", "total_displacement", "PR", "displacement_0", "displacement_1", "displacement_2",
            "0to1", "0to2", "Tij", "Tji")
_NF = 8  # compiled columns: Delta_E .. 0to2 (Tij, Tji are looked up afterwards)


@nb.njit(cache=True, inline="always")
def _mi(dx, L, periodic):
    """Minimum-image component (orthorhombic box)."""
    if periodic and L > 0.0:
        return dx - L * np.round(dx / L)
    return dx


@nb.njit(cache=True)
def _one_pair(xa, xb, box, periodic, out):
    """Features of one pair into out[1:8] (Delta_E is filled by the caller)."""
    n, dim = xa.shape
    s2 = 0.0
    s4 = 0.0
    b0 = -1.0
    b1 = -1.0
    b2 = -1.0
    i0 = 0
    i1 = 0
    i2 = 0
    for i in range(n):
        q = 0.0
        for k in range(dim):
            dx = _mi(xb[i, k] - xa[i, k], box[k], periodic)
            q += dx * dx
        s2 += q
        s4 += q * q
        if q > b0:
            b2, i2 = b1, i1
            b1, i1 = b0, i0
            b0, i0 = q, i
        elif q > b1:
            b2, i2 = b1, i1
            b1, i1 = q, i
        elif q > b2:
            b2, i2 = q, i
    out[1] = math.sqrt(s2 / n)  # 002 Eq. (7)
    out[2] = s2 * s2 / s4 if s4 > 0.0 else 0.0  # 002 Eq. (16)
    out[3] = math.sqrt(max(b0, 0.0))
    out[4] = math.sqrt(max(b1, 0.0))
    out[5] = math.sqrt(max(b2, 0.0))
    # distances in the midpoint configuration (r^a + r^b) / 2, minimum image
    for slot, j in ((6, i1), (7, i2)):
        if n < 2 or (slot == 7 and n < 3):
            out[slot] = np.nan
            continue
        r = 0.0
        for k in range(dim):
            m0 = xa[i0, k] + 0.5 * _mi(xb[i0, k] - xa[i0, k], box[k], periodic)
            m1 = xa[j, k] + 0.5 * _mi(xb[j, k] - xa[j, k], box[k], periodic)
            dx = _mi(m1 - m0, box[k], periodic)
            r += dx * dx
        out[slot] = math.sqrt(r)


@nb.njit(cache=True)
def _block(X, E, box, periodic, lo, hi, win_hi, max_d, forced_a, forced_b):
    """All pairs (i, j), lo <= i < hi, i < j < win_hi[i] (energy-sorted X, E), with d <= max_d or
    listed in (forced_a, forced_b) (sorted by a then b). Returns (ia, ib, F)."""
    cap = 0
    for i in range(lo, hi):
        cap += max(win_hi[i] - i - 1, 0)
    cap += forced_a.size
    ia = np.empty(cap, np.int64)
    ib = np.empty(cap, np.int64)
    F = np.empty((cap, _NF))
    out = np.empty(_NF)
    m = 0
    for i in range(lo, hi):
        for j in range(i + 1, win_hi[i]):
            _one_pair(X[i], X[j], box, periodic, out)
            if out[1] <= max_d:
                out[0] = E[j] - E[i]
                ia[m] = i
                ib[m] = j
                F[m, :] = out
                m += 1
    # forced pairs (seen transitions) with i in [lo, hi) and outside the kept set
    for t in range(forced_a.size):
        i = forced_a[t]
        j = forced_b[t]
        if i < lo or i >= hi:
            continue
        if j < win_hi[i]:
            _one_pair(X[i], X[j], box, periodic, out)
            if out[1] <= max_d:
                continue  # already kept above
        _one_pair(X[i], X[j], box, periodic, out)
        out[0] = E[j] - E[i]
        ia[m] = i
        ib[m] = j
        F[m, :] = out
        m += 1
    return ia[:m], ib[:m], F[:m]


def pair_features(configs, energies, box=None, transitions=None, is_ids=None, max_delta_e: float = math.inf,
                  max_d: float = math.inf, block: int = 256):
    """Features of all IS pairs of one glass, within the cuts, as a pandas DataFrame.

    ``configs``: (n_is, N, dim) positions (or (n_is, N) for one-dimensional coordinates);
    ``energies``: (n_is,) total IS energies; ``box``: (dim,) orthorhombic periodic box, or None
    for no periodic images; ``transitions``: a DataFrame with columns is_a, is_b, count (the
    explore stage's transitions.parquet) or None; ``is_ids``: the IS ids of the rows of
    ``configs`` (default 0..n_is-1). Cuts: Delta_E <= ``max_delta_e`` and total_displacement <=
    ``max_d``; pairs seen as transitions are kept regardless. Returns columns is_a (lower
    energy), is_b, then :data:`FEATURES`; rows sorted by (is_a energy rank, is_b energy rank).
    """
    import pandas as pd

    X = np.asarray(configs, dtype=np.float64)
    if X.ndim == 2:
        X = X[:, :, None]
    if X.ndim != 3:
        raise InputError(f"pair_features: configs must be (n_is, N, dim), got shape {np.shape(configs)}")
    n_is, _n, dim = X.shape
    E = np.asarray(energies, dtype=np.float64).ravel()
    if E.size != n_is:
        raise InputError(f"pair_features: {E.size} energies for {n_is} configurations")
    ids = np.arange(n_is, dtype=np.int64) if is_ids is None else np.asarray(is_ids, dtype=np.int64).ravel()
    if ids.size != n_is or np.unique(ids).size != n_is:
        raise InputError("pair_features: is_ids must be one distinct id per configuration")
    if not (max_delta_e >= 0 and max_d >= 0):
        raise InputError(f"pair_features: cuts must be >= 0 (max_delta_e={max_delta_e}, max_d={max_d})")
    periodic = box is not None
    bx = np.zeros(dim) if box is None else np.asarray(box, dtype=np.float64).ravel()
    if bx.size != dim:
        raise InputError(f"pair_features: box has {bx.size} lengths for dimension {dim}")
    order = np.lexsort((ids, E))  # energy order (ties by id): is_a is the lower-energy IS
    Xs = np.ascontiguousarray(X[order])
    Es = E[order]
    ids_s = ids[order]
    rank = np.empty(n_is, np.int64)
    rank[order] = np.arange(n_is)
    win_hi = np.searchsorted(Es, Es + max_delta_e, side="right").astype(np.int64)
    counts: dict[tuple[int, int], int] = {}
    fa = np.empty(0, np.int64)
    fb = np.empty(0, np.int64)
    if transitions is not None and len(transitions):
        pos = {int(v): k for k, v in enumerate(ids)}
        for a, b, c in zip(transitions["is_a"], transitions["is_b"], transitions["count"]):
            if int(a) in pos and int(b) in pos and int(a) != int(b):
                counts[(int(a), int(b))] = counts.get((int(a), int(b)), 0) + int(c)
        pr = sorted({tuple(sorted((int(rank[pos[a]]), int(rank[pos[b]])))) for a, b in counts})
        if pr:
            fa = np.array([p[0] for p in pr], np.int64)
            fb = np.array([p[1] for p in pr], np.int64)
    parts = []
    for lo in range(0, n_is, block):
        hi = min(n_is, lo + block)
        parts.append(_block(Xs, Es, bx, periodic, lo, hi, win_hi, float(max_d), fa, fb))
    ia = np.concatenate([p[0] for p in parts]) if parts else np.empty(0, np.int64)
    ib = np.concatenate([p[1] for p in parts]) if parts else np.empty(0, np.int64)
    F = np.concatenate([p[2] for p in parts]) if parts else np.empty((0, _NF))
    srt = np.lexsort((ib, ia))
    ia, ib, F = ia[srt], ib[srt], F[srt]
    a_ids, b_ids = ids_s[ia], ids_s[ib]
    df = pd.DataFrame({"is_a": a_ids, "is_b": b_ids})
    for k, name in enumerate(FEATURES[:_NF]):
        df[name] = F[:, k]
    df["Tij"] = np.array([counts.get((int(a), int(b)), 0) for a, b in zip(a_ids, b_ids)], np.int64)
    df["Tji"] = np.array([counts.get((int(b), int(a)), 0) for a, b in zip(a_ids, b_ids)], np.int64)
    return df


def load_glass(explore_dir):
    """(is_ids, configs (n_is, N, dim), energies, box, transitions) of an explored glass.

    Reads ``explore_dir``/inherent_structures.parquet, is_configs.h5 and transitions.parquet
    (docs/explore.md), the library through :class:`twolevel.explore.ISConfigs`.
    """
    import pandas as pd

    from ..explore import ISConfigs
    from ..layout import INHERENT_STRUCTURES, IS_CONFIGS, TRANSITIONS

    explore_dir = Path(explore_dir)
    for name in (INHERENT_STRUCTURES, IS_CONFIGS):
        if not (explore_dir / name).is_file():
            raise InputError(f"{explore_dir / name}: not found (run the exploration first)")
    lib = pd.read_parquet(explore_dir / INHERENT_STRUCTURES)
    tr_path = explore_dir / TRANSITIONS
    tr = pd.read_parquet(tr_path) if tr_path.is_file() else None
    with ISConfigs(explore_dir / IS_CONFIGS) as store:
        ids = lib["is_id"].to_numpy(np.int64)
        confs = [store.configuration(int(i)) for i in ids]
    X = np.stack([c.positions for c in confs])
    return ids, X, lib["energy"].to_numpy(float), np.asarray(confs[0].box, float), tr


def glass_features(explore_dir, max_delta_e: float = math.inf, max_d: float = math.inf):
    """:func:`pair_features` of an explored glass directory; also returns the compute seconds."""
    ids, X, E, box, tr = load_glass(explore_dir)
    t0 = time.perf_counter()
    df = pair_features(X, E, box, tr, ids, max_delta_e=max_delta_e, max_d=max_d)
    return df, time.perf_counter() - t0
