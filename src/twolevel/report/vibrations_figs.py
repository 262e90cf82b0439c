"""Figures of the harmonic route (matplotlib, Agg). Each function takes data and a path, returns the path.

- :func:`plot_dos`: D(omega) of an ensemble (004 SI Fig. 3), omega_t marked.
- :func:`plot_i_omega5`: I(omega)/omega^5 with the A4/5 plateau (002_b660eabf4d6c7be7.txt Fig. 10a).
- :func:`plot_nonlinear_scatter`: kappa_1/(sqrt(chi) omega_D) vs omega_1/omega_D with the
  symmetric-double-well line sqrt(3) omega and the spinodal line sqrt(8/3) omega
  (004_9b896d29dc320c3d.txt Fig. 2).
- :func:`plot_stress_strain`: AQS sigma_xy(gamma) with the fitted elastic slope (002 Eq. (17)).
- :func:`plot_a4_vs_n0`: A4 omega_D^5 against the TLS-route n0 (002 Fig. 10b).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._mpl import plt as _plt

plt = _plt()  # pyplot-like drawing on plain Figures: no pyplot state, the user's backend untouched


def _save(fig, path) -> Path:
    from ._mpl import save

    return save(fig, path, dpi=120)


def plot_dos(omegas, n_dof: int, path, omega_t: float | None = None, bins: int = 40) -> Path:
    from ..vibrations.modes import density_of_states

    arrs = [np.asarray(o, float) for o in omegas]
    arrs = [a[a > 0] for a in arrs]
    c, d, _ = density_of_states(arrs, n_dof, bins=bins)
    fig, ax = plt.subplots(figsize=(4.5, 3.4))
    ax.plot(c, d, drawstyle="steps-mid")
    if omega_t:
        ax.axvline(omega_t, color="k", ls=":", label=r"$\omega_t$")
        ax.legend()
    ax.set_xlabel(r"$\omega$")
    ax.set_ylabel(r"$D(\omega)$")
    return _save(fig, path)


def plot_i_omega5(omegas, n_dof: int, path, a4: dict | None = None, omega_t: float | None = None) -> Path:
    from ..vibrations.modes import cumulative_dos

    w, i = cumulative_dos([np.asarray(o, float) for o in omegas], n_dof)
    fig, ax = plt.subplots(figsize=(4.5, 3.4))
    ax.loglog(w, i / w**5, ".", ms=3)
    if a4:
        ax.hlines(a4["A4"] / 5, a4["omega_lo"], a4["omega_hi"], colors="k", linestyles="--",
                  label=r"$A_4/5$")
        ax.legend()
    if omega_t:
        ax.axvline(omega_t, color="grey", ls=":")
    ax.set_xlabel(r"$\omega$")
    ax.set_ylabel(r"$I(\omega)/\omega^5$")
    return _save(fig, path)


def plot_nonlinear_scatter(omega_1, kappa_1, chi_1, omega_D: float, path, window=None,
                           chi: str = "median") -> Path:
    w = np.asarray(omega_1, float) / omega_D
    c = np.asarray(chi_1, float)
    cc = np.full_like(c, np.median(c[c > 0])) if chi == "median" and np.any(c > 0) else c
    y = np.abs(np.asarray(kappa_1, float)) / (np.sqrt(np.where(cc > 0, cc, np.nan)) * omega_D)
    fig, ax = plt.subplots(figsize=(4.5, 3.4))
    ax.plot(w, y, "o", ms=3, alpha=0.7)
    xs = np.linspace(0, max(float(np.nanmax(w)) if w.size else 0.2, 0.2) * 1.05, 50)
    ax.plot(xs, np.sqrt(3) * xs, "g-", label=r"symmetric DW $\sqrt{3}\,\omega_1$")
    ax.plot(xs, np.sqrt(8 / 3) * xs, "r--", label=r"spinodal $\sqrt{8/3}\,\omega_1$")
    if window:
        for v in window:
            ax.axvline(v, color="g", lw=0.8)
    ax.set_xlabel(r"$\omega_1/\omega_D$")
    ax.set_ylabel(r"$\kappa_1/(\sqrt{\chi}\,\omega_D)$")
    ax.legend(fontsize=7)
    return _save(fig, path)


def plot_stress_strain(curves, path) -> Path:
    """curves: dicts with strain, stress, modulus, n_fit (ModulusResult.to_dict()), optionally status
    and G_bn (the Born - non-affine tangent, drawn dotted; the AQS fit, when reported, dashed)."""
    fig, ax = plt.subplots(figsize=(4.5, 3.4))
    for k, cu in enumerate(curves):
        g = np.asarray(cu["strain"])
        s = np.asarray(cu["stress"])
        gbn = cu.get("G_bn")
        st = cu.get("status", "ok")
        lab = f"glass {k}: AQS " + (f"G = {cu['modulus']:.4g}" if st == "ok" else st)
        if gbn is not None:
            lab += f", Born-NA {gbn:.4g}"
        ax.plot(g, s - s[0], "o-", ms=3, label=lab)
        nf = cu.get("n_fit", len(g))
        if gbn is not None:
            ax.plot(g, gbn * (g - g[0]), "k:", lw=0.8)
        if st == "ok" and np.isfinite(cu["modulus"]):
            ax.plot(g[:nf], cu["modulus"] * (g[:nf] - g[0]), "k--", lw=0.6)
    ax.set_xlabel(r"$\gamma_{xy}$")
    ax.set_ylabel(r"$\sigma_{xy} - \sigma_{xy}(0)$")
    ax.legend(fontsize=7)
    return _save(fig, path)


def plot_a4_vs_n0(table, path) -> Path:
    """table: DataFrame or dicts with label, A4_omega_D5(_err), n0(_err) (softpotential.compare_routes)."""
    import pandas as pd

    df = table if isinstance(table, pd.DataFrame) else pd.DataFrame(list(table))
    fig, ax = plt.subplots(figsize=(4.5, 3.4))
    ax.errorbar(df["n0"], df["A4_omega_D5"], xerr=df.get("n0_err"), yerr=df.get("A4_omega_D5_err"),
                fmt="o", capsize=2)
    for _, r in df.iterrows():
        ax.annotate(str(r["label"]), (r["n0"], r["A4_omega_D5"]), fontsize=7, xytext=(3, 3),
                    textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$n_0$ (TLS route)")
    ax.set_ylabel(r"$A_4\,\omega_D^5$")
    return _save(fig, path)
