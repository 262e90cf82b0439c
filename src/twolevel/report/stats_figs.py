"""Figures of the TLS statistics (matplotlib, Agg backend).

Every function takes data (DataFrames/arrays from :mod:`twolevel.stats`) and a
path, writes one PNG atomically and returns the path. Colours follow T_f (one
colour per preparation temperature, blue = most stable); energies are in epsilon.

=========================  ==============================================================
function                   what it shows
=========================  ==============================================================
fig_n_over_e               n(E)/E with its counting band, plateau n0 (001 Fig. 3, 002 Fig. 9a)
fig_n0_vs_tf               n0 with its interval against T_f (upper limits as arrows), sim. and SI units
fig_n0_vs_tau_alpha        n0 against tau_alpha(T_f) of the parent liquid (002 Fig. 9b)
fig_distributions          pdfs of Delta V, V_b, d/sqrt(PR), PR (001 Fig. 2)
fig_tls_quantities         E vs sqrt(Delta^2 + Delta_0^2), CDFs of Delta_0, Delta, E (002 Fig. 6)
fig_tls_vs_splitting       Delta V, V_b, Gamma, PR against E (002 Fig. 7)
fig_distance_vs_splitting  d against E (002 Fig. 14)
fig_counts_vs_time         N_IS, N_DW, N_TLS and N_DW/N_IS against time (002 Fig. 4)
fig_heat_capacity          C(T)/T of the TLS with (pi^2/6) n0 (000 Eq. (7))
fig_decomposition          the factors of 002 Eq. (3) against T_f
fig_profile                the double-well profile V(xi) with its two lowest levels
fig_snapshot               real-space picture of a double well (001 Fig. 4, 002 Fig. 8)
=========================  ==============================================================
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "tf_colors",
    "fig_n_over_e",
    "fig_n0_vs_tf",
    "fig_n0_vs_tau_alpha",
    "fig_distributions",
    "fig_tls_quantities",
    "fig_tls_vs_splitting",
    "fig_distance_vs_splitting",
    "fig_counts_vs_time",
    "fig_heat_capacity",
    "fig_decomposition",
    "fig_profile",
    "fig_snapshot",
]


def _plt():
    from ._mpl import plt

    return plt()


def _plain_log_labels(fig) -> None:
    """Log-axis tick labels as plain text (1e-03) instead of mathtext: the same information,
    several times cheaper to lay out (the report draws a few dozen log panels)."""
    from matplotlib.ticker import LogFormatter, LogLocator, NullFormatter

    for ax in fig.axes:
        for axis, scale, lim in ((ax.xaxis, ax.get_xscale(), ax.get_xlim()), (ax.yaxis, ax.get_yscale(), ax.get_ylim())):
            if scale == "log":
                lo, hi = sorted(lim)
                if lo > 0 and np.log10(hi / lo) < 1.5:
                    # under ~one decade there may be no power of ten to label: label 1, 2, 5 x 10^k
                    axis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0)))
                    axis.set_major_formatter(LogFormatter(labelOnlyBase=False))
                else:
                    axis.set_major_formatter(LogFormatter(labelOnlyBase=True))
                axis.set_minor_formatter(NullFormatter())


def _save(fig, path) -> Path:
    """Plain log labels, tight layout, then :func:`twolevel.report._mpl.save` (log axes clipped,
    overlapping tick labels thinned, the axes recorded next to the PNG)."""
    from ._mpl import save

    _plain_log_labels(fig)
    fig.tight_layout()
    return save(fig, path, dpi=100, bbox_inches=None)


def tf_colors(tfs) -> dict:
    """A colour per T_f: low T_f (stable glasses) dark blue, high T_f orange."""
    plt = _plt()
    tfs = sorted(set(float(t) for t in tfs))
    # ultrastable (low T_f) dark blue -> poorly annealed (high T_f) orange; a colormap
    # without a pale middle (coolwarm's middle is almost white on a white background)
    cmap = plt.get_cmap("plasma")
    if len(tfs) == 1:
        return {tfs[0]: cmap(0.6)}
    return {t: cmap(0.05 + 0.75 * i / (len(tfs) - 1)) for i, t in enumerate(tfs)}


def _key(model, T_f, many_models):
    return f"{model} T_f={T_f:g}" if many_models else f"T_f = {T_f:g}"


def _empty(ax, text="no data"):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.5")
    ax.set_xticks([])
    ax.set_yticks([])


def fig_n_over_e(curves: pd.DataFrame, table: pd.DataFrame, path, units: str) -> Path:
    """n(E)/E on log axes per (model, T_f) with its counting band; the plateau window and n0.

    001_1b8b0be289dbb4b8.txt Fig. 3; 002_b660eabf4d6c7be7.txt Fig. 9a.
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    c = curves[curves["units"] == units] if len(curves) else curves
    t = table[table["units"] == units] if len(table) else table
    many = t["model"].nunique() > 1 if len(t) else False
    cols = tf_colors(t["T_f"]) if len(t) else {}
    kq = float(t["kT_Q"].iloc[0]) if len(t) else float("nan")
    drawn = False
    ys = []
    for (model, T_f), g in c.groupby(["model", "T_f"], sort=True) if len(c) else []:
        g = g[(g["n_over_E"] > 0) & np.isfinite(g["n_over_E"])]
        if not len(g):
            continue
        col = cols.get(float(T_f), "k")
        ax.plot(g["E"], g["n_over_E"], color=col, lw=1.8, label=_key(model, T_f, many))
        ys.append(g["n_over_E"].to_numpy(dtype=float))
        if "lo" in g and np.isfinite(g["lo"]).any():
            # the band is one-sided (lower edge 0) where N_DW(E) = 0: left open on the log axis
            lo = np.where(g["lo"] > 0, g["lo"], np.nan)
            ax.fill_between(g["E"], lo, g["hi"], color=col, alpha=0.2, lw=0)
        r = t[(t["model"] == model) & (t["T_f"] == T_f)]
        if len(r) and r["n0"].iloc[0] > 0:
            ax.hlines(r["n0"].iloc[0], max(r["e_lo"].iloc[0], g["E"].min()), r["e_hi"].iloc[0], colors=col, linestyles=":", lw=2)
        drawn = True
    if not drawn:
        _empty(ax, "no double wells with a finite splitting")
    else:
        ax.set_xscale("log")
        ax.set_yscale("log")
        yv = np.concatenate(ys)
        ax.set_ylim(yv.min() / 5.0, yv.max() * 5.0)
        if np.isfinite(kq):
            ax.axvline(kq, color="0.3", ls="--", lw=1)
            ax.text(kq, 0.02, r" $k_BT_Q$", transform=ax.get_xaxis_transform(), color="0.3")
        ax.set_xlabel(r"splitting $E$ ($\epsilon$)")
        ax.set_ylabel(r"$n(E)/E$ ($\epsilon^{-1}$ per particle)")
        ax.legend(fontsize=8, frameon=False)
    mt = float(t["m_tilde"].iloc[0]) if len(t) and "m_tilde" in t else float("nan")
    ax.set_title(f"{units}" + (f"  ($\\tilde m$ = {mt:.0f})" if np.isfinite(mt) else ""))
    return _save(fig, path)


def _n0_points(ax, g, val, lo, hi, up, marker, label, x: str = "T_f") -> bool:
    """Points with asymmetric error bars where the window held double wells, downward arrows at the
    95 % upper limit where it held none (a zero count must not vanish from a log axis)."""
    if val not in g or not np.isfinite(g[val].to_numpy(dtype=float)).any():
        return False
    cnt = g["count"].to_numpy(dtype=float) if "count" in g else np.where(g[val] > 0, 1.0, 0.0)
    zero = cnt == 0
    pts = g[~zero & (g[val] > 0)]
    line = None
    if len(pts):
        err = np.vstack([pts[val] - pts[lo], pts[hi] - pts[val]]).clip(min=0) if lo in pts and hi in pts else None
        line = ax.errorbar(pts[x], pts[val], yerr=err, marker=marker, capsize=3, label=label)
    ul = g[zero]
    if up in ul and len(ul):
        ul = ul[np.isfinite(ul[up].to_numpy(dtype=float)) & (ul[up] > 0)]
        if len(ul):
            col = line[0].get_color() if line is not None else None
            # arrow of 0.4 decades: yerr in data units on a log axis, uplims draws the arrow head
            y = ul[up].to_numpy(dtype=float)
            ax.errorbar(ul[x], y, yerr=y * (1 - 10**-0.4), uplims=True, marker="_", ms=12, ls="none",
                        color=col, capsize=4, label=None if line is not None else f"{label} (95 % upper limit)")
    return bool(len(pts)) or bool(len(ul))


def fig_n0_vs_tf(table: pd.DataFrame, path) -> Path:
    """n0 with its interval against T_f: simulation units (left), J^-1 m^-3 (right).

    The bars are the statistics' own ``n0_lo``/``n0_hi`` (no recomputation here); a group with no
    double well in the plateau window (``count`` 0) is drawn as a downward arrow at ``n0_upper95``.
    """
    plt = _plt()
    fig, axs = plt.subplots(1, 2, figsize=(10, 4))
    t = table.dropna(subset=["units"]) if len(table) else table
    markers = "osD^v<>ph"
    drawn = [False, False]
    for i, ((model, units), g) in enumerate(t.groupby(["model", "units"], sort=True) if len(t) else []):
        g = g.sort_values("T_f")
        m = markers[i % len(markers)]
        lab = f"{model}, {units}" if t["model"].nunique() > 1 else units
        drawn[0] |= _n0_points(axs[0], g, "n0", "n0_lo", "n0_hi", "n0_upper95", m, lab)
        if "n0_SI" in g:
            drawn[1] |= _n0_points(axs[1], g, "n0_SI", "n0_SI_lo", "n0_SI_hi", "n0_SI_upper95", m, lab)
    for ax in axs:
        ax.set_xlabel(r"preparation temperature $T_f$")
    if drawn[0]:
        axs[0].set_yscale("log")
        axs[0].legend(fontsize=8, frameon=False)
    else:
        _empty(axs[0], "no n0")
    axs[0].set_ylabel(r"$n_0$ ($\epsilon^{-1}$ per particle)")
    if drawn[1]:
        axs[1].set_yscale("log")
        axs[1].axhline(1e46, color="0.5", ls="--", lw=1)
        axs[1].text(axs[1].get_xlim()[0], 1e46, " experiments ~1e46 (001)", va="bottom", fontsize=8, color="0.4")
        axs[1].legend(fontsize=8, frameon=False)
    else:
        _empty(axs[1], "no physical unit system")
    axs[1].set_ylabel(r"$n_0$ (J$^{-1}$ m$^{-3}$)")
    return _save(fig, path)


def fig_n0_vs_tau_alpha(table: pd.DataFrame, path, unit: str = "") -> Path:
    """n0 against the structural relaxation time tau_alpha(T_f) of the liquid the glass was prepared
    from (002_b660eabf4d6c7be7.txt Fig. 9b): ``table`` is the summary table with a ``tau_alpha``
    column; groups without a measured tau_alpha are left out, zero counts drawn as upper limits."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    t = table.dropna(subset=["units", "tau_alpha"]) if len(table) and "tau_alpha" in table else pd.DataFrame()
    t = t[t["tau_alpha"] > 0] if len(t) else t
    drawn = False
    for i, ((model, units), g) in enumerate(t.groupby(["model", "units"], sort=True) if len(t) else []):
        lab = f"{model}, {units}" if t["model"].nunique() > 1 else units
        drawn |= _n0_points(ax, g.sort_values("tau_alpha"), "n0", "n0_lo", "n0_hi", "n0_upper95", "osD^v<>ph"[i % 9],
                            lab, x="tau_alpha")
    if drawn:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.legend(fontsize=8, frameon=False)
        ax.set_xlabel(r"$\tau_\alpha(T_f)$" + (f" ({unit})" if unit else ""))
        ax.set_ylabel(r"$n_0$ ($\epsilon^{-1}$ per particle)")
    else:
        _empty(ax, "no tau_alpha measured")
    return _save(fig, path)


def _hist(ax, v, col, label, log_x=False, bins=30):
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    if log_x:
        v = v[v > 0]
    if v.size < 2:
        return False
    if log_x:
        edges = np.geomspace(v.min(), v.max() * (1 + 1e-9), bins + 1) if v.max() > v.min() else np.array([v.min() * 0.9, v.min() * 1.1])
    else:
        edges = np.histogram_bin_edges(v, bins=bins)
    cnt, edges = np.histogram(v, bins=edges)
    pdf = cnt / (v.size * np.diff(edges))
    x = np.sqrt(edges[:-1] * edges[1:]) if log_x else 0.5 * (edges[:-1] + edges[1:])
    ok = pdf > 0
    ax.plot(x[ok], pdf[ok], "o-", ms=3, lw=1, color=col, label=label)
    return True


def fig_distributions(dw: pd.DataFrame, path) -> Path:
    """pdfs of the double-well parameters per T_f: (a) Delta V, (b) V_b, (c) d/sqrt(PR), (d) PR.

    001_1b8b0be289dbb4b8.txt Fig. 2.
    """
    plt = _plt()
    fig, axs = plt.subplots(2, 2, figsize=(9, 7))
    spec = [("dV", r"asymmetry $\Delta V$ ($\epsilon$)", False, True),
            ("V_b", r"barrier $V_b$ ($\epsilon$)", False, True),
            ("d_over_sqrt_PR", r"$d/\sqrt{PR}$ ($\sigma$)", False, False),
            ("PR", "participation ratio PR", True, True)]
    d = dw.copy() if dw is not None else pd.DataFrame()
    if len(d) and "d_over_sqrt_PR" not in d and {"d", "PR"} <= set(d.columns):
        with np.errstate(divide="ignore", invalid="ignore"):
            d["d_over_sqrt_PR"] = d["d"] / np.sqrt(d["PR"])
    cols = tf_colors(d["T_f"]) if len(d) else {}
    many = d["model"].nunique() > 1 if len(d) else False
    for ax, (col, lab, logx, logy), letter in zip(axs.ravel(), spec, "abcd"):
        drawn = False
        if len(d) and col in d:
            for (model, T_f), g in d.groupby(["model", "T_f"], sort=True):
                drawn |= _hist(ax, g[col], cols[float(T_f)], _key(model, T_f, many), log_x=logx)
        if drawn:
            if logx:
                ax.set_xscale("log")
            if logy:
                ax.set_yscale("log")
            ax.legend(fontsize=7, frameon=False)
        else:
            _empty(ax, f"no {col}")
        ax.set_xlabel(lab)
        ax.set_ylabel("pdf")
        ax.set_title(f"({letter})", loc="left", fontsize=9)
    return _save(fig, path)


def _cdf(ax, v, col, label):
    v = np.sort(np.asarray(v, dtype=float))
    v = v[np.isfinite(v) & (v > 0)]
    if not v.size:
        return False
    F = np.arange(1, v.size + 1) / v.size
    ax.step(v, F, where="post", color=col, label=label)
    if v.size < 3:  # a step line of one or two values is (almost) invisible
        ax.plot(v, F, "o", ms=4, color=col)
    return True


def fig_tls_quantities(tls: pd.DataFrame, path, kT_Q: float | None = None) -> Path:
    """002_b660eabf4d6c7be7.txt Fig. 6 for one unit system: (a) E against sqrt(Delta^2 + Delta_0^2),
    (b) CDF of Delta_0 with Gamma against Delta_0 inset, (c) CDF of Delta, (d) CDF of E."""
    plt = _plt()
    fig, axs = plt.subplots(2, 2, figsize=(9, 7.5))
    t = tls[np.isfinite(tls["E"].to_numpy(dtype=float))] if len(tls) else tls
    cols = tf_colors(t["T_f"]) if len(t) else {}
    many = t["model"].nunique() > 1 if len(t) else False
    a, b, c, d = axs.ravel()
    ins = b.inset_axes([0.55, 0.12, 0.4, 0.38])
    drawn = [False] * 4
    for (model, T_f), g in t.groupby(["model", "T_f"], sort=True) if len(t) else []:
        col = cols[float(T_f)]
        lab = _key(model, T_f, many)
        if {"Delta", "Delta_0"} <= set(g.columns):
            x = np.sqrt(g["Delta"].to_numpy(dtype=float) ** 2 + g["Delta_0"].to_numpy(dtype=float) ** 2)
            ok = np.isfinite(x) & (x > 0) & (g["E"] > 0)
            if ok.any():
                a.loglog(x[ok], g["E"][ok], ".", ms=3, color=col, label=lab, alpha=0.7)
                drawn[0] = True
            drawn[1] |= _cdf(b, g["Delta_0"], col, lab)
            if "Gamma" in g:
                ok = (g["Delta_0"] > 0) & (g["Gamma"] > 0)
                ins.loglog(g["Delta_0"][ok], g["Gamma"][ok], ".", ms=2, color=col)
            drawn[2] |= _cdf(c, np.abs(g["Delta"]), col, lab)
        drawn[3] |= _cdf(d, g["E"], col, lab)
    if drawn[0]:
        lim = np.array(a.get_xlim())
        a.plot(lim, lim, "k-", lw=0.8)
        a.set_xlabel(r"$\sqrt{\Delta^2+\Delta_0^2}$ ($\epsilon$)")
        a.set_ylabel(r"$E$ ($\epsilon$)")
        a.legend(fontsize=7, frameon=False)
    else:
        _empty(a, "no Delta / Delta_0")
    for ax, flag, lab in ((b, drawn[1], r"$\Delta_0$"), (c, drawn[2], r"$|\Delta|$"), (d, drawn[3], r"$E$")):
        if flag:
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel(lab + r" ($\epsilon$)")
            ax.set_ylabel("CDF")
            if kT_Q and ax is not b:
                ax.axvline(kT_Q, color="0.3", ls="--", lw=1)
        else:
            _empty(ax)
    if drawn[1]:
        ins.set_xlabel(r"$\Delta_0$", fontsize=7)
        ins.set_ylabel(r"$\Gamma$", fontsize=7)
        ins.tick_params(labelsize=6)
    else:
        ins.set_visible(False)
    for ax, letter in zip((a, b, c, d), "abcd"):
        ax.set_title(f"({letter})", loc="left", fontsize=9)
    return _save(fig, path)


def _binned_mean(ax, x, y, col):
    """Geometric mean of y in log bins of x (stands in for 002's locally weighted regression)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    x, y = x[ok], y[ok]
    if x.size < 10:
        return
    edges = np.geomspace(x.min(), x.max() * (1 + 1e-9), 12)
    idx = np.digitize(x, edges) - 1
    xm, ym = [], []
    for k in range(edges.size - 1):
        s = idx == k
        if s.sum() >= 3:
            xm.append(np.exp(np.log(x[s]).mean()))
            ym.append(np.exp(np.log(y[s]).mean()))
    ax.plot(xm, ym, "-", color=col, lw=2)


def fig_tls_vs_splitting(tls: pd.DataFrame, path, kT_Q: float | None = None) -> Path:
    """002_b660eabf4d6c7be7.txt Fig. 7: (a) Delta V, (b) V_b, (c) Gamma, (d) PR against E."""
    plt = _plt()
    fig, axs = plt.subplots(2, 2, figsize=(9, 7.5))
    t = tls[np.isfinite(tls["E"].to_numpy(dtype=float)) & (tls["E"] > 0)] if len(tls) else tls
    cols = tf_colors(t["T_f"]) if len(t) else {}
    many = t["model"].nunique() > 1 if len(t) else False
    spec = [("dV", r"$\Delta V$ ($\epsilon$)"), ("V_b", r"$V_b$ ($\epsilon$)"),
            ("Gamma", r"$\Gamma$ ($\epsilon/\hbar$)"), ("PR", "PR")]
    for ax, (col, lab), letter in zip(axs.ravel(), spec, "abcd"):
        drawn = False
        if len(t) and col in t:
            for (model, T_f), g in t.groupby(["model", "T_f"], sort=True):
                ok = g[col] > 0
                if ok.any():
                    ax.loglog(g["E"][ok], g[col][ok], ".", ms=3, alpha=0.6, color=cols[float(T_f)], label=_key(model, T_f, many))
                    _binned_mean(ax, g["E"], g[col], cols[float(T_f)])
                    drawn = True
        if drawn:
            if kT_Q:
                ax.axvline(kT_Q, color="0.3", ls="--", lw=1)
            ax.set_xlabel(r"splitting $E$ ($\epsilon$)")
            ax.set_ylabel(lab)
            ax.legend(fontsize=7, frameon=False, markerscale=3)
        else:
            _empty(ax, f"no {col}")
        ax.set_title(f"({letter})", loc="left", fontsize=9)
    return _save(fig, path)


def fig_distance_vs_splitting(tls: pd.DataFrame, path, kT_Q: float | None = None) -> Path:
    """002_b660eabf4d6c7be7.txt Fig. 14: path length d against the splitting E, with binned means."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4.4))
    t = tls[np.isfinite(tls["E"].to_numpy(dtype=float)) & (tls["E"] > 0)] if len(tls) and "d" in tls else pd.DataFrame()
    if len(t):
        cols = tf_colors(t["T_f"])
        many = t["model"].nunique() > 1
        for (model, T_f), g in t.groupby(["model", "T_f"], sort=True):
            ax.loglog(g["E"], g["d"], ".", ms=3, alpha=0.6, color=cols[float(T_f)], label=_key(model, T_f, many))
            _binned_mean(ax, g["E"], g["d"], cols[float(T_f)])
        if kT_Q:
            ax.axvline(kT_Q, color="0.3", ls="--", lw=1)
        ax.set_xlabel(r"splitting $E$ ($\epsilon$)")
        ax.set_ylabel(r"distance $d$ ($\sigma$)")
        ax.legend(fontsize=7, frameon=False, markerscale=3)
    else:
        _empty(ax, "no path lengths")
    return _save(fig, path)


def fig_counts_vs_time(time_df: pd.DataFrame, path, units: str | None = None) -> Path:
    """002_b660eabf4d6c7be7.txt Fig. 4: (a) N_IS, N_DW, N_TLS against exploration time, (b) N_DW/N_IS."""
    plt = _plt()
    fig, (a, b) = plt.subplots(2, 1, figsize=(6.4, 6.4), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    t = time_df if units is None or not len(time_df) else time_df[time_df["units"] == units]
    if len(t):
        cols = tf_colors(t["T_f"])
        many = t["model"].nunique() > 1
        for (model, T_f), g in t.groupby(["model", "T_f"], sort=True):
            g = g[g["t"] > 0]
            col = cols[float(T_f)]
            k = _key(model, T_f, many)
            a.loglog(g["t"], g["N_IS"].where(g["N_IS"] > 0), "-", color=col, lw=2, label=f"IS, {k}")
            a.loglog(g["t"], g["N_DW"].where(g["N_DW"] > 0), "--", color=col, lw=1.5, label=f"DW, {k}")
            if np.isfinite(g["N_TLS"]).any():
                a.loglog(g["t"], g["N_TLS"].where(g["N_TLS"] > 0), ":", color=col, lw=2, label=f"TLS, {k}")
            b.semilogx(g["t"], g["N_DW_per_N_IS"], "-", color=col)
        a.set_ylabel("number found")
        a.legend(fontsize=7, frameon=False, ncol=2)
        b.set_ylabel(r"$N_{DW}/N_{IS}$")
        b.set_xlabel(r"exploration time $t$ (MD time units, summed over runs)")
    else:
        _empty(a, "no first-seen times")
        _empty(b, "")
    return _save(fig, path)


#: decades of C/T shown below its largest value (the low-T exponential tail is cut)
HEAT_DECADES = 4


def fig_heat_capacity(hc: pd.DataFrame, path, units: str) -> Path:
    """C(T)/T per particle of the TLS catalogue (000_ac86d19d448073de.txt Eq. (7)) and (pi^2/6) n0."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    h = hc[hc["units"] == units] if len(hc) else hc
    if len(h) and (h["C"] > 0).any():
        cols = tf_colors(h["T_f"])
        many = h["model"].nunique() > 1
        ys = []
        for (model, T_f), g in h.groupby(["model", "T_f"], sort=True):
            col = cols[float(T_f)]
            ax.loglog(g["T"], g["C_over_T"].where(g["C_over_T"] > 0), "-", color=col, lw=2, label=_key(model, T_f, many))
            ys.append(g["C_over_T"].to_numpy(dtype=float))
            th = float(g["c1_theory"].iloc[0])
            if th > 0:
                ax.axhline(th, color=col, ls=":", lw=1.5)
                ys.append(np.array([th]))
        # C/T falls as exp(-E_min/T) below the smallest splitting (to 1e-300 on a fine T grid):
        # show HEAT_DECADES below the largest value, where the (pi^2/6) n0 plateau is
        # (each group's own top HEAT_DECADES stay in view)
        tops = [v[np.isfinite(v) & (v > 0)].max() for v in ys if (np.isfinite(v) & (v > 0)).any()]
        y = np.concatenate(ys)
        y = y[np.isfinite(y) & (y > 0)]
        if y.size:
            top = 3.0 * y.max()
            ax.set_ylim(max(y.min() / 3.0, min(tops) * 10.0**-HEAT_DECADES), top)
        ax.set_xlabel(r"temperature $k_BT$ ($\epsilon$)")
        ax.set_ylabel(r"$C/T$ ($k_B^2/\epsilon$ per particle)")
        ax.legend(fontsize=8, frameon=False, title=r"dotted: $(\pi^2/6)\,n_0$", title_fontsize=8)
        ax.set_title(units)
    else:
        _empty(ax, "no splittings")
    return _save(fig, path)


def fig_decomposition(dec: pd.DataFrame, path) -> Path:
    """The factors of 002 Eq. (3) at E = k_B T_Q against T_f: N_IS/N_g, N_DW/N_IS, N_TLS/N_DW, n(k_B T_Q)."""
    plt = _plt()
    fig, axs = plt.subplots(1, 4, figsize=(13, 3.4))
    spec = [("N_IS_per_N_g", r"$N_{IS}/N_g$"), ("N_DW_per_N_IS", r"$N_{DW}/N_{IS}$"),
            ("N_DW_E_per_N_DW", r"$N_{TLS}/N_{DW}$"), ("n", r"$n(k_BT_Q)$")]
    for ax, (col, lab) in zip(axs, spec):
        if len(dec) and col in dec:
            for (model, units), g in dec.groupby(["model", "units"], sort=True):
                g = g.sort_values("T_f")
                ax.plot(g["T_f"], g[col], "o-", label=f"{model}, {units}")
            v = dec[col].to_numpy(dtype=float)
            if np.all(v[np.isfinite(v)] > 0) and np.isfinite(v).any():
                ax.set_yscale("log")
            ax.set_xlabel(r"$T_f$")
        else:
            _empty(ax)
        ax.set_title(lab, fontsize=10)
    if len(dec):
        axs[0].legend(fontsize=7, frameon=False)
    return _save(fig, path)


def fig_profile(xi, V, path, levels=None, title: str = "") -> Path:
    """A double-well profile V(xi) (lower minimum at 0) with its lowest levels (002 Fig. 5)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.6, 4))
    xi = np.asarray(xi, dtype=float)
    V = np.asarray(V, dtype=float)
    V0 = V.min()
    ax.plot(xi, V - V0, "o-", ms=3, color="C0", label=r"$V(\xi)$ (band images)")
    if levels is not None:
        lv = np.asarray(levels, dtype=float)[:2]
        for k, e in enumerate(lv):
            if np.isfinite(e):
                ax.axhline(e, color="C3", ls="--" if k else "-", lw=1, label=fr"$\mathcal{{E}}_{k + 1}$")
    ax.set_xlabel(r"reaction coordinate $\xi$")
    ax.set_ylabel(r"$V - V_{min}$ ($\epsilon$)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, frameon=False)
    return _save(fig, path)


def fig_snapshot(positions, box, displacement, path, diameters=None, title: str = "", top: int | None = None) -> Path:
    """Real-space picture of a double well: particles sized and coloured by their displacement
    between the two minima, normalised to the largest (001_1b8b0be289dbb4b8.txt Fig. 4,
    002_b660eabf4d6c7be7.txt Fig. 8). The ``top`` most displaced particles (default about PR,
    at least 10) are drawn opaque, the others faded."""
    plt = _plt()
    x = np.asarray(positions, dtype=float)
    box = np.asarray(box, dtype=float)
    x = np.mod(x, box)
    u = np.asarray(displacement, dtype=float)
    u = u / u.max() if u.size and u.max() > 0 else np.zeros_like(u)
    dim = x.shape[1]
    n = x.shape[0]
    if top is None:
        d2 = u**2
        pr = (d2.sum() ** 2 / (d2**2).sum()) if (d2**2).sum() > 0 else 1.0
        top = max(10, int(round(pr)))
    order = np.argsort(u)
    hi = order[-top:]
    lo = order[:-top]
    # centre the picture on the most displaced particle (periodic shift)
    c = x[order[-1]] if n else np.zeros(dim)
    x = np.mod(x - c + box / 2, box)
    base = 4.0 if diameters is None else 4.0 * np.asarray(diameters, dtype=float) ** 2
    sizes = np.broadcast_to(base, (n,)) + 250.0 * u**2
    cmap = plt.get_cmap("viridis")
    if dim == 3:
        fig = plt.figure(figsize=(6, 5.4))
        ax = fig.add_subplot(111, projection="3d")
        ax.scatter(*x[lo].T, s=np.broadcast_to(base, (n,))[lo], c="0.7", alpha=0.08, depthshade=False)
        sc = ax.scatter(*x[hi].T, s=sizes[hi], c=u[hi], cmap=cmap, vmin=0, vmax=1, alpha=0.95, depthshade=False,
                        edgecolors="k", linewidths=0.3)
        ax.set_xlim(0, box[0])
        ax.set_ylim(0, box[1])
        ax.set_zlim(0, box[2])
        ax.set_box_aspect(tuple(box / box.max()))
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_zlabel("z")
    else:
        fig, ax = plt.subplots(figsize=(5.6, 5.2))
        xy = x if dim == 2 else np.column_stack([x[:, 0], np.zeros(n)])
        ax.scatter(*xy[lo].T, s=np.broadcast_to(base, (n,))[lo] * 4, c="0.75", alpha=0.3)
        sc = ax.scatter(*xy[hi].T, s=sizes[hi] * 2, c=u[hi], cmap=cmap, vmin=0, vmax=1, edgecolors="k", linewidths=0.3)
        ax.set_aspect("equal")
        ax.set_xlim(0, box[0])
        ax.set_ylim(0, box[1] if dim == 2 else 1)
    fig.colorbar(sc, ax=ax, shrink=0.7, label="displacement / largest")
    ax.set_title(title, fontsize=9)
    return _save(fig, path)
