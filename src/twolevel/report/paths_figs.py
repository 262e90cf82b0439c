"""Figures of the paths stage (matplotlib, Agg). Each function takes data and a path, returns the path.

- :func:`profile_figure`: a double-well profile V(xi) like 002_b660eabf4d6c7be7.txt Fig. 5, with
  V_a, Delta V, V_b marked and, when ``m_tilde`` is given, the harmonic extrapolation beyond the
  minima that twolevel.quantum diagonalises (002 Fig. 5, blue).
- :func:`distributions_figure`: pdfs of Delta V, V_b, d / sqrt(PR) and PR, like
  001_1b8b0be289dbb4b8.txt Fig. 2, optionally one curve per group (e.g. T_f).
- :func:`displacement_figure`: real-space picture of a double well, particles sized by their
  diameter and coloured by their displacement between the two minima, the ~PR most mobile ones
  highlighted and the rest faded (001 Fig. 4, 002 Fig. 8).
- :func:`curvature_figure`: lowest Hessian eigenvalues along the path and the projections of
  the eigenvectors on the tangent (002 Fig. 13).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


from ._mpl import plt as _plt  # noqa: E402
from ._mpl import save as _save_any  # noqa: E402


def _save(fig, path) -> Path:
    return _save_any(fig, path, dpi=150)


def profile_figure(xi, V, path, d: float | None = None, m_tilde: float | None = None, title: str | None = None):
    """002 Fig. 5: V(xi) of one double well with V_a, Delta V and V_b; the extrapolated part
    (twolevel.quantum.extended_potential) when ``d`` and ``m_tilde`` are given."""
    plt = _plt()
    xi = np.asarray(xi, float)
    V = np.asarray(V, float) - float(np.min([V[0], V[-1]]))
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    if d is not None and m_tilde is not None:
        from ..quantum import extended_potential

        g, vg, _ = extended_potential(xi, V, d, m_tilde)
        ax.plot(g, vg, color="tab:blue", lw=1.2, label="extrapolated")
    ax.plot(xi, V, "o-", color="tab:orange", ms=2.5, lw=1.2, label="MEP images")
    c = int(np.argmax(V))
    va, dv = V[c] - V[0], V[-1] - V[0]
    vb = va - dv / 2
    ax.annotate("", xy=(xi[c], V[c]), xytext=(xi[c], V[0]), arrowprops=dict(arrowstyle="<->", lw=0.8))
    ax.text(xi[c], V[0] + va / 2, f" $V_a$={va:.3g}", fontsize=8)
    ax.annotate("", xy=(1.0, V[-1]), xytext=(1.0, V[0]), arrowprops=dict(arrowstyle="<->", lw=0.8))
    ax.text(1.0, V[-1], f" $\\Delta V$={dv:.3g}", fontsize=8, va="bottom")
    ax.axhline(V[0] + dv / 2, color="0.6", lw=0.6, ls=":")
    ax.text(0.02, V[c], f"$V_b$={vb:.3g}", fontsize=8, va="top")
    ax.set_xlabel(r"$\xi$")
    ax.set_ylabel(r"$V(\xi)$ ($\epsilon$)")
    ax.set_xlim(min(-0.05, xi[0]), 1.15)
    ax.legend(fontsize=7, loc="upper right")
    if title:
        ax.set_title(title, fontsize=9)
    return _save(fig, path)


def distributions_figure(catalogue, path, group: str | None = None, bins: int = 30):
    """001 Fig. 2: pdfs of Delta V, V_b, d / sqrt(PR) and PR (log-spaced bins), one line per group."""
    plt = _plt()
    import pandas as pd

    df = pd.DataFrame(catalogue)
    if "d_over_sqrt_PR" not in df.columns:
        df["d_over_sqrt_PR"] = df["d"] / np.sqrt(df["PR"])
    cols = [("dV", r"$\Delta V$"), ("V_b", r"$V_b$"), ("d_over_sqrt_PR", r"$d/\sqrt{PR}$"), ("PR", "PR")]
    groups = [(None, df)] if group is None else list(df.groupby(group))
    fig, axes = plt.subplots(2, 2, figsize=(7, 5.5))
    for ax, (col, lab) in zip(axes.ravel(), cols):
        allv = df[col].to_numpy(float)
        pos = allv[np.isfinite(allv) & (allv > 0)]
        if pos.size == 0:
            ax.set_xlabel(lab)
            continue
        lo, hi = pos.min(), pos.max()
        edges = np.logspace(np.log10(lo * 0.999), np.log10(max(hi * 1.001, lo * 1.5)), bins + 1)
        for name, g in groups:
            v = g[col].to_numpy(float)
            v = v[np.isfinite(v) & (v > 0)]
            if v.size == 0:
                continue
            h, e = np.histogram(v, bins=edges, density=True)
            cen = np.sqrt(e[1:] * e[:-1])
            ax.plot(cen[h > 0], h[h > 0], "o-", ms=3, lw=1, label=None if name is None else f"{group}={name}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(lab)
        ax.set_ylabel("pdf")
    if group is not None:
        axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)


def displacement_figure(positions, box, displacement, diameters, path, pr: float | None = None,
                        title: str | None = None):
    """001 Fig. 4 / 002 Fig. 8: particles as discs of their diameter, coloured by displacement.

    In 3D the particles within one diameter of the plane through the most mobile particle
    (normal z) are drawn. The round(PR) most mobile particles are opaque, the others faded.
    """
    plt = _plt()
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Circle

    pos = np.mod(np.asarray(positions, float), box)
    disp = np.asarray(displacement, float)
    diam = np.asarray(diameters, float)
    n, dim = pos.shape
    keep = np.ones(n, bool)
    if dim == 3:
        z0 = pos[int(np.argmax(disp)), 2]
        dz = pos[:, 2] - z0
        dz -= box[2] * np.round(dz / box[2])
        keep = np.abs(dz) < 1.0
    k = max(1, int(round(pr))) if pr else max(1, int(round((disp ** 2).sum() ** 2 / (disp ** 4).sum())))
    top = np.zeros(n, bool)
    top[np.argsort(disp)[::-1][:k]] = True
    fig, ax = plt.subplots(figsize=(5, 5 * box[1] / box[0]))
    norm = plt.Normalize(0, disp.max() if disp.max() > 0 else 1)
    cmap = plt.get_cmap("viridis")
    for sel, alpha in ((keep & ~top, 0.15), (keep & top, 1.0)):
        patches = [Circle((pos[i, 0], pos[i, 1]), 0.5 * diam[i]) for i in np.flatnonzero(sel)]
        if patches:
            pc = PatchCollection(patches, alpha=alpha, edgecolor="k", linewidth=0.2)
            pc.set_facecolor(cmap(norm(disp[sel])))
            ax.add_collection(pc)
    ax.set_xlim(0, box[0])
    ax.set_ylim(0, box[1])
    ax.set_aspect("equal")
    sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=ax, shrink=0.8, label=r"displacement $d^i_{\alpha\beta}$ ($\sigma$)")
    ax.set_title(title or f"PR = {pr:.1f}" if pr else (title or ""), fontsize=9)
    return _save(fig, path)


def curvature_figure(curv: dict, path):
    """002 Fig. 13: (a) lowest eigenvalues along the path, (b) |v_k . tau| of the lowest modes."""
    plt = _plt()
    xi = np.asarray(curv["xi"])
    ev = np.asarray(curv["eigenvalues"])
    pj = np.asarray(curv["projections"])
    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3.2))
    cm = plt.get_cmap("viridis")
    for k in range(ev.shape[1]):
        a.plot(xi, ev[:, k], "-", color=cm(k / max(1, ev.shape[1] - 1)), lw=1)
    a.axhline(0, color="0.5", lw=0.6)
    a.set_xlabel(r"$\xi$")
    a.set_ylabel(r"Hessian eigenvalue ($\epsilon/\sigma^2$)")
    for k in range(pj.shape[1]):
        b.plot(xi, pj[:, k], "-", lw=1, label=f"mode {k + 1}")
    b.set_xlabel(r"$\xi$")
    b.set_ylabel(r"$|v_k \cdot \tau|$")
    b.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)
