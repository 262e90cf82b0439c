"""Measurements on DPLM runs (000_ac86d19d448073de.txt Secs. III-V, App. B).

- C_v = N^-1 dE/dT (000 Sec. III) from step-averaged energies by a local linear fit,
  and the fluctuation estimate Var(E) / (N T^2) over each short step window
  (valid while the TLS are in equilibrium, which holds since w_TLS >= w0, 000 Eq. (A2)).
- fits C_v / T = c1 + c3 T^2 (000 Eq. (1)).
- D(T), T_g where D = D_r = 0.1 and the kinetic fragility (000 Fig. 5, Sec. VI).
- P_ret and Q_ret from snapshots (000 Fig. 4a), TLS and multi-level systems from the
  void residence record of a window (000 Figs. 2, 3).
"""

from __future__ import annotations

import numpy as np


# ---- heat capacity ------------------------------------------------------------
def cv_derivative(T: np.ndarray, E: np.ndarray, N: int, window_rel: float = 0.1, min_points: int = 5) -> np.ndarray:
    """C_v(T_k) = N^-1 dE/dT: slope of a least-squares line through the (T, <E>) points with
    |T - T_k| <= window_rel T_k (at least min_points nearest points). 000 Sec. III."""
    T = np.asarray(T, dtype=np.float64)
    E = np.asarray(E, dtype=np.float64)
    out = np.full(T.shape, np.nan)
    order = np.argsort(T)
    Ts, Es = T[order], E[order]
    for ii, k in enumerate(order):
        tk = T[k]
        m = np.abs(Ts - tk) <= window_rel * tk
        idx = np.nonzero(m)[0]
        if idx.size < min_points:
            idx = np.argsort(np.abs(Ts - tk))[:min_points]
        x = Ts[idx] - tk
        y = Es[idx] - Es[idx].mean()
        den = ((x - x.mean()) ** 2).sum()
        if den > 0:
            out[k] = ((x - x.mean()) * y).sum() / den / N
    return out


def cv_fluctuation(T: np.ndarray, Evar: np.ndarray, N: int) -> np.ndarray:
    """C_v = Var(E) / (N k_B T^2) over each step window (k_B = 1)."""
    T = np.asarray(T, dtype=np.float64)
    return np.asarray(Evar, dtype=np.float64) / (N * T * T)


def fit_c1_c3(T: np.ndarray, Cv: np.ndarray, Tmin: float, Tmax: float, sigma: np.ndarray | None = None) -> dict:
    """Least squares of C_v/T = c1 + c3 T^2 (000 Eq. (1)) over Tmin <= T <= Tmax.

    sigma: standard errors of C_v (then a weighted fit with chi^2 and parameter errors).
    """
    T = np.asarray(T, dtype=np.float64)
    Cv = np.asarray(Cv, dtype=np.float64)
    m = (T >= Tmin) & (T <= Tmax) & np.isfinite(Cv)
    if sigma is not None:
        sigma = np.asarray(sigma, dtype=np.float64)
        m &= np.isfinite(sigma) & (sigma > 0)
    if m.sum() < 3:
        return {"c1": np.nan, "c3": np.nan, "c1_err": np.nan, "c3_err": np.nan, "n": int(m.sum())}
    y = Cv[m] / T[m]
    A = np.vstack([np.ones(m.sum()), T[m] ** 2]).T
    if sigma is not None:
        w = T[m] / sigma[m]  # 1/sigma of C_v/T
        Aw, yw = A * w[:, None], y * w
        coef, *_ = np.linalg.lstsq(Aw, yw, rcond=None)
        cov = np.linalg.inv(Aw.T @ Aw)
        chi2 = float(((Aw @ coef - yw) ** 2).sum())
        return {"c1": float(coef[0]), "c3": float(coef[1]), "c1_err": float(np.sqrt(cov[0, 0])),
                "c3_err": float(np.sqrt(cov[1, 1])), "chi2": chi2, "dof": int(m.sum() - 2), "n": int(m.sum())}
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    return {"c1": float(coef[0]), "c3": float(coef[1]), "c1_err": np.nan, "c3_err": np.nan, "n": int(m.sum())}


def fit_samples(T: np.ndarray, Cv_samples: np.ndarray, Tmin: float, Tmax: float) -> dict:
    """Fit the sample-mean C_v; errors of c1, c3 from the between-sample scatter.

    Each sample (row) is fitted on its own (``c1_samples``, ``c3_samples``); the fit is linear in
    C_v, so the fit of the mean is the mean of these, and its standard error is
    std(per-sample, ddof=1) / sqrt(samples) (``c1_err``, ``c3_err``; ``c1_std``, ``c3_std`` the
    per-sample scatter). With few samples that error is itself unreliable: per-sample c1 has a heavy
    tail from rare low-Delta E voids; :func:`twolevel.lattice.theory.sample_scatter` gives the count
    needed (the runner warns below it).
    """
    Cv_samples = np.atleast_2d(Cv_samples)
    ns = Cv_samples.shape[0]
    mean = np.nanmean(Cv_samples, axis=0)
    res = fit_c1_c3(T, mean, Tmin, Tmax)
    per = [fit_c1_c3(T, row, Tmin, Tmax) for row in Cv_samples]
    c1s = np.array([r["c1"] for r in per])
    c3s = np.array([r["c3"] for r in per])
    res["c1_samples"], res["c3_samples"] = c1s.tolist(), c3s.tolist()
    if ns >= 2:
        for name, v in (("c1", c1s), ("c3", c3s)):
            v = v[np.isfinite(v)]
            sd = float(np.std(v, ddof=1)) if v.size >= 2 else float("nan")
            res[f"{name}_std"] = sd
            res[f"{name}_err"] = sd / np.sqrt(v.size) if v.size >= 2 else float("nan")
    else:
        res["c1_std"] = res["c3_std"] = float("nan")
    res["samples"] = ns
    return res


def sample_count_warnings(ns: int, scatter: dict, N: int, phi_v: float, target: float = 0.1) -> tuple[dict, list[str]]:
    """Samples needed for a +-``target`` (relative) standard error of c1 and c3 from the exact per-sample
    scatter (``theory.sample_scatter``), and one warning line per coefficient when ``ns`` is below it."""
    from .theory import samples_needed

    need, warn = {}, []
    for name in ("c1", "c3"):
        rel = scatter[f"rel_{name}"]
        n = samples_needed(rel, target)
        need[name] = n
        if ns < n:
            warn.append(f"{name}: {ns} sample(s) of N = {N}, phi_v = {phi_v:.4g}; one sample's {name} scatters by "
                        f"{100 * rel:.0f} % (exact theory; heavy tail from rare low-Delta E voids), so +-{100 * target:.0f} % "
                        f"needs >= {n} samples; the error bar from {ns} is not reliable")
    return need, warn


# ---- diffusion and glass transition ---------------------------------------------
def glass_transition(T: np.ndarray, D: np.ndarray, D_r: float = 0.1) -> dict:
    """T_g where D(T) = D_r (000 Sec. III, D_r = 0.1) and the kinetic fragility
    m_k = d log10 D / d(T_g/T) at T_g (from a local linear fit of log10 D against 1/T).
    Also a VFT fit log D = a - b/(T - T0) extrapolated to D_r = 1e-14 (000 Sec. VI) when it converges."""
    T = np.asarray(T, dtype=np.float64)
    D = np.asarray(D, dtype=np.float64)
    m = np.isfinite(D) & (D > 0) & np.isfinite(T)
    T, D = T[m], D[m]
    out = {"Tg": np.nan, "m_k": np.nan, "m_k_vft_1e-14": np.nan, "Tg_1e-14": np.nan}
    if T.size < 3:
        return out
    order = np.argsort(1.0 / T)
    x = 1.0 / T[order]
    y = np.log10(D[order])
    target = np.log10(D_r)
    cross = np.nonzero((y[:-1] >= target) & (y[1:] < target))[0]
    if cross.size == 0:
        return out
    i = cross[0]
    xg = x[i] + (target - y[i]) * (x[i + 1] - x[i]) / (y[i + 1] - y[i])
    Tg = 1.0 / xg
    sel = np.argsort(np.abs(x - xg))[: max(3, min(7, x.size))]
    slope = np.polyfit(x[sel], y[sel], 1)[0]
    out["Tg"], out["m_k"] = float(Tg), float(-slope / Tg)
    try:
        from scipy.optimize import curve_fit

        def vft(t, a, b, t0):
            return a - b / (t - t0)

        good = y > y.max() - 12
        p, _ = curve_fit(vft, 1.0 / x[good], y[good], p0=(y.max() + 1, 0.5, 0.5 * Tg), maxfev=20000)
        a, b, t0 = p
        t14 = t0 + b / (a + 14.0)
        if t14 > t0 > -1:
            dy = b / (t14 - t0) ** 2  # d log10 D / dT
            out["Tg_1e-14"] = float(t14)
            out["m_k_vft_1e-14"] = float(dy * t14)  # d log10 D / d(Tg/T) = dy T^2 / Tg at T = Tg
    except Exception:  # noqa: BLE001 - VFT is an optional extrapolation
        pass
    return out


# ---- return probabilities from snapshots ------------------------------------------
class ReturnCounter:
    """P_ret (particles) or Q_ret (voids) from a sequence of snapshots (000 Fig. 4a).

    For every walker the positions seen at successive snapshots are reduced to the
    sequence of distinct positions; a move counts as a return when it goes back to the
    position held before the previous move. Moves between snapshots that are undone
    before the next snapshot are missed, so these are lower bounds (000 Sec. IV).
    """

    def __init__(self, positions: np.ndarray):
        self.cur = np.asarray(positions).copy()
        self.prev = np.full_like(self.cur, -1)

    def update(self, positions: np.ndarray) -> tuple[int, int]:
        """Feed the next snapshot; returns (moves with a previous move, returns) since the last one."""
        pos = np.asarray(positions)
        moved = pos != self.cur
        has_prev = moved & (self.prev >= 0)
        ret = has_prev & (pos == self.prev)
        self.prev = np.where(moved, self.cur, self.prev)
        self.cur = np.where(moved, pos, self.cur)
        return int(has_prev.sum()), int(ret.sum())


# ---- two-level and multi-level systems ----------------------------------------
def classify_voids(window: dict, slot_dE: np.ndarray, void_site: np.ndarray, nbr: np.ndarray, T: float) -> dict:
    """Classify voids by the number of distinct sites visited in a window (000 Sec. IV):
    1 frozen, 2 a two-level system (TLS), >= 3 a multi-level system.

    For each TLS: p1 (the site held at the window start), p2, and dE21 = E(level 2) - E(level 1)
    read from the current hop energies; Boltzmann: ln(p2/p1) = -dE21 / T (000 Fig. 3b).
    """
    vis_n = window["vis_n"]
    vis_site = window["vis_site"]
    vis_time = window["vis_time"]
    nv = vis_n.size
    n_frozen = int((vis_n == 1).sum())
    tls = np.nonzero(vis_n == 2)[0]
    rows = []
    for v in tls:
        s1, s2 = int(vis_site[v, 0]), int(vis_site[v, 1])
        t1, t2 = float(vis_time[v, 0]), float(vis_time[v, 1])
        tot = t1 + t2
        cur = int(void_site[v])
        other = s2 if cur == s1 else s1
        dirs = np.nonzero(nbr[cur] == other)[0]
        if dirs.size == 0:
            continue
        e_move = float(slot_dE[v, dirs[0]])  # E(other) - E(cur)
        dE21 = e_move if cur == s1 else -e_move
        rows.append((int(v), s1, s2, t1 / tot, t2 / tot, dE21))
    arr = np.array(rows, dtype=[("void", "i8"), ("site1", "i8"), ("site2", "i8"), ("p1", "f8"), ("p2", "f8"),
                                ("dE21", "f8")]) if rows else np.zeros(0, dtype=[("void", "i8"), ("site1", "i8"),
                                                                                    ("site2", "i8"), ("p1", "f8"),
                                                                                    ("p2", "f8"), ("dE21", "f8")])
    return {"n_voids": nv, "n_frozen": n_frozen, "n_tls": int(tls.size), "n_multi": int((vis_n >= 3).sum()),
            "tls": arr, "T": T}
