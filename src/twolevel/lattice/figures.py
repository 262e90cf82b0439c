"""Figures of the lattice route, modelled on 000_ac86d19d448073de.txt Figs. 1, 2, 3, 4, 7, 8, 9."""

from __future__ import annotations

from pathlib import Path

import matplotlib.colors
import numpy as np

from ..report._mpl import plt as _plt

plt = _plt()  # pyplot-like drawing on plain Figures: no pyplot state, the user's backend untouched


def _save(fig, path):
    """Tight layout, then twolevel.report._mpl.save (log axes clipped, tick labels that would
    overlap thinned, the axes recorded in NAME.axes.json next to the PNG)."""
    from ..report._mpl import save

    fig.tight_layout()
    save(fig, path, dpi=120, bbox_inches=None)


def fig_cv(summary, results, T_I, path, label=None):
    """000 Fig. 1: (a) C_v against T; (b) C_v/T against T^2, with the theory of Eqs. (1), (A13)/(A19)."""
    T = summary["T"].to_numpy()
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    m = T <= T_I
    for col, lab, mk in (("Cv_fluct", "Var(E)/(N T^2)", "o"), ("Cv_deriv", "N^-1 dE/dT", ".")):
        err = summary.get(col + "_err")
        ax[0].errorbar(T[m], summary[col][m], yerr=None if err is None else err[m], fmt=mk, ms=3, label=lab,
                       alpha=0.7)
        ax[1].plot(T[m] ** 2, summary[col][m] / T[m], mk, ms=3, label=lab, alpha=0.7)
    th = results.get("theory_closed_form") or results["theory_A13_convolution"]
    c1, c3 = th["c1"], th["c3"]
    ax[0].plot(T[m], c1 * T[m] + c3 * T[m] ** 3, "k--", label="c1 T + c3 T^3 (theory)")
    ax[0].plot(T[m], summary["Cv_theory_A5"][m], "g:", label="Eq. (A5) exact TLS sum")
    ax[1].plot(T[m] ** 2, c1 + c3 * T[m] ** 2, "k--", label="theory")
    fit = results["fit_fluctuation"]
    if np.isfinite(fit.get("c1", np.nan) or np.nan):
        ax[1].plot(T[m] ** 2, fit["c1"] + fit["c3"] * T[m] ** 2, "r-", lw=1, label="fit")
    ax[0].set_xlabel("T")
    ax[0].set_ylabel("C_v")
    ax[1].set_xlabel("T^2")
    ax[1].set_ylabel("C_v / T")
    ax[1].set_xlim(0, (results["fit_window"][1] * 1.5) ** 2)
    ax[1].ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
    ax[1].set_ylim(0, None)
    ax[0].legend(fontsize=7)
    ax[1].legend(fontsize=7)
    ax[0].set_title(label or f"T_I = {T_I}")
    _save(fig, path)


def fig_cv_loglog(summary, path):
    """000 Fig. 9(b): C_v against T on log-log axes with slope-1 and slope-3 guides."""
    T = summary["T"].to_numpy()
    fig, ax = plt.subplots(figsize=(5, 4))
    for col in ("Cv_fluct", "Cv_deriv"):
        y = summary[col].to_numpy()
        ok = y > 0
        ax.loglog(T[ok], y[ok], ".", ms=3, label=col)
    t0 = T[len(T) // 2]
    y0 = np.nanmedian(summary["Cv_fluct"].to_numpy()[len(T) // 2 - 2: len(T) // 2 + 3])
    if y0 > 0:
        tt = np.array([T.min(), T.max()])
        ax.loglog(tt, y0 * tt / t0, "k--", lw=0.8, label="slope 1")
        ax.loglog(tt, y0 * (tt / t0) ** 3, "k-", lw=0.8, label="slope 3")
    ax.set_xlabel("T")
    ax.set_ylabel("C_v")
    ax.legend(fontsize=7)
    _save(fig, path)


def fig_returns(summary, path):
    """000 Fig. 4: (a) P_ret and Q_ret against 1/T; (b) q against 1/T."""
    T = summary["T"].to_numpy()
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for col, st in (("P_ret", "-"), ("Q_ret", "-"), ("P_ret_snap", "--"), ("Q_ret_snap", "--")):
        if col in summary:
            ax[0].plot(1 / T, summary[col], st, label=col)
    ax[0].set_xlabel("1/T")
    ax[0].set_ylabel("return probability")
    ax[0].legend(fontsize=7)
    ax[1].plot(1 / T, summary["q"], label="measured (dE < dE_max)")
    ax[1].set_xlabel("1/T")
    ax[1].set_ylabel("q")
    ax[1].legend(fontsize=7)
    _save(fig, path)


def fig_maps(maps, geom, path):
    """000 Fig. 2: void occupation probability p_i^void over windows of a fixed number of hops."""
    if geom.dim != 2:
        return
    n = len(maps)
    fig, ax = plt.subplots(1, n, figsize=(4 * n, 4), squeeze=False)
    L = geom.L
    for i, mp in enumerate(maps):
        p = mp["window"]["p_void"].reshape(L, L)
        masked = np.ma.masked_where(p <= 0, p)
        a = ax[0, i]
        a.imshow(masked, origin="lower", cmap="viridis", norm=matplotlib.colors.LogNorm(vmin=max(masked.min(), 1e-6),
                                                                                      vmax=1))
        c = geom.coords(mp["window"]["start_sites"])
        a.plot(c[:, 0], c[:, 1], "ks", ms=3, mfc="none")
        a.set_title(f"T = {mp['T_start']:.3g} ({mp['window']['events']:.2g} hops)")
    _save(fig, path)


def fig_traces(maps, path):
    """000 Figs. 3(a), 10: void displacement against time for TLS voids of each window;
    000 Fig. 3(b): |ln(p2/p1)| against 1/T for the TLS found (Boltzmann lines |dE|/T)."""
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    off = 0.0
    for mp in maps:
        tr = mp["trace"]
        tls = mp["classes"]["tls"]
        if len(tr["t"]) == 0 or len(tls) == 0:
            continue
        traced = set(tr["voids"])
        for row in tls[:2]:
            v = int(row["void"])
            if v not in traced:
                continue
            idx = tr["voids"].index(v)
            sel = tr["who"] == idx
            if not sel.any():
                continue
            p = tr["pos"][sel] - tr["v0"][idx]
            d = np.sqrt((p.astype(float) ** 2).sum(axis=1))
            t = np.concatenate([[tr["t0"]], tr["t"][sel]]) - tr["t0"]
            d = np.concatenate([[0.0], d])
            ax[0].step(t, d + off, where="post", lw=0.7, label=f"T={mp['T_start']:.3g} void {v}")
            off += 1.5
    ax[0].set_xlabel("t")
    ax[0].set_ylabel("void displacement d (shifted)")
    if ax[0].get_legend_handles_labels()[0]:
        ax[0].legend(fontsize=6)
    for mp in maps:
        tls = mp["classes"]["tls"]
        T = mp["classes"]["T"]
        ok = (tls["p1"] > 0) & (tls["p2"] > 0) if len(tls) else []
        if len(tls) and np.any(ok):
            ax[1].plot(np.full(ok.sum(), 1 / T), np.abs(np.log(tls["p2"][ok] / tls["p1"][ok])), "o", ms=3)
            ax[1].plot(np.full(ok.sum(), 1 / T), np.abs(tls["dE21"][ok]) / T, "k_", ms=8)
    ax[1].set_xlabel("1/T")
    ax[1].set_ylabel("|ln(p2/p1)|  (bars: |dE|/T)")
    _save(fig, path)


def fig_diffusion(diff, gt, path):
    """000 Fig. 5: Arrhenius plot of D against 1/T with T_g at D = D_r."""
    fig, ax = plt.subplots(figsize=(5, 4))
    Dm = diff.groupby(np.round(diff["T"], 5))["D"].mean()
    ok = Dm.to_numpy() > 0
    ax.semilogy(1 / Dm.index.to_numpy()[ok], Dm.to_numpy()[ok], ".")
    if gt.get("Tg") and np.isfinite(gt["Tg"]):
        ax.axvline(1 / gt["Tg"], color="k", ls="--", lw=0.8, label=f"T_g = {gt['Tg']:.3g}, m_k = {gt['m_k']:.3g}")
        ax.legend(fontsize=7)
    ax.set_xlabel("1/T")
    ax.set_ylabel("D")
    _save(fig, path)


def cooling_figures(out: Path, summary, steps, diff, results, maps_all, T_I):
    out = Path(out)
    fig_cv(summary, results, T_I, out / "fig_cv.png")
    fig_cv_loglog(summary, out / "fig_cv_loglog.png")
    fig_returns(summary, out / "fig_returns.png")
    fig_diffusion(diff, results.get("glass_transition", {}), out / "fig_diffusion.png")
    if maps_all:
        k, maps, geom = maps_all[0]
        fig_maps(maps, geom, out / "fig_void_maps.png")
        fig_traces(maps, out / "fig_tls_traces.png")


def fig_delta_e(dists: dict, path):
    """000 Fig. 8: P(Delta E) with P(0) marked, for several g(V) (e.g. uniform and 2V)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for lab, d in dists.items():
        m = (d.x > -1.5) & (d.x < 3.0)
        ax.plot(d.x[m], d.P[m], label=lab)
        ax.plot([0], [d.at(0.0)], "ko", ms=4)
    ax.set_xlabel("Delta E")
    ax.set_ylabel("P(Delta E)")
    ax.legend(fontsize=7)
    _save(fig, path)


def fig_cv_runs(runs: dict, path):
    """000 Fig. 7 / Fig. 9(a): C_v/T against T^2 (or C_v against T) for several runs, e.g. several phi_v or T_I."""
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for lab, (summary, results) in runs.items():
        T = summary["T"].to_numpy()
        m = T <= results["T_I"]
        l, = ax[0].plot(T[m], summary["Cv_fluct"][m], ".", ms=3, label=lab)
        th = results.get("theory_closed_form") or results["theory_A13_convolution"]
        ax[0].plot(T[m], th["c1"] * T[m] + th["c3"] * T[m] ** 3, "--", color=l.get_color(), lw=0.8)
        ax[1].plot(T[m] ** 2, summary["Cv_fluct"][m] / T[m], ".", ms=3, color=l.get_color(), label=lab)
        f = results["fit_fluctuation"]
        if f.get("c1") is not None:
            ax[1].plot(T[m] ** 2, f["c1"] + f["c3"] * T[m] ** 2, "-", color=l.get_color(), lw=0.8)
    ax[0].set_xlabel("T")
    ax[0].set_ylabel("C_v")
    ax[1].set_xlabel("T^2")
    ax[1].set_ylabel("C_v/T")
    ax[0].legend(fontsize=7)
    _save(fig, path)
