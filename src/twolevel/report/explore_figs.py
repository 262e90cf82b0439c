"""Figures of the landscape exploration (002_b660eabf4d6c7be7.txt Figs. 2-4, 11-12).

Each plotting function takes data and a path and returns the path:

- :func:`plot_counts_vs_time`: N_IS(t) and the number of candidate double wells
  N_DW(t) against exploration time, and their ratio (002 Figs. 3b, 4, 12).
- :func:`plot_tau_p_cdf`: cumulative distribution of the persistence times tau_p (002 Fig. 3a).
- :func:`plot_matrices`: for one glass, the matrices |e_a - e_b|, T_{a->b} and d_ab with
  the IS ordered by energy, and the pdf of the IS energies (002 Fig. 2).

:func:`explore_figures` reads an exploration directory and draws all of them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_counts_vs_time", "plot_tau_p_cdf", "plot_matrices", "distance_matrix", "explore_figures"]


from ..layout import EXPLORE_META, IS_CONFIGS
from ._mpl import plt as _plt  # noqa: E402
from ._mpl import save as _save_any  # noqa: E402


def _save(fig, path) -> Path:
    return _save_any(fig, path, dpi=120)


def _counts(first_times, grid):
    ft = np.sort(np.asarray(first_times, dtype=float))
    return np.searchsorted(ft, grid, side="right")


def plot_counts_vs_time(is_first_time, dw_first_time, path, t_max: float | None = None,
                        title: str = "") -> Path:
    """N_IS(t) (green) and N_DW(t) (orange) against exploration time, log-log, and the
    ratio N_DW/N_IS (002 Fig. 4). ``is_first_time``: time each IS was first seen;
    ``dw_first_time``: time each candidate pair first passed the both-directions filter."""
    plt = _plt()
    ti = np.asarray(is_first_time, dtype=float)
    td = np.asarray(dw_first_time, dtype=float)
    t_max = float(t_max if t_max is not None else max(ti.max(initial=1.0), td.max(initial=1.0)))
    pos = np.concatenate([ti[ti > 0], td[td > 0]])
    t_min = max(pos.min() if pos.size else t_max * 1e-3, t_max * 1e-6)
    grid = np.geomspace(t_min, t_max, 200) if t_max > t_min else np.array([t_max])
    nis = _counts(ti, grid)
    ndw = _counts(td, grid)
    fig, (a, b) = plt.subplots(2, 1, figsize=(5, 6), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    a.loglog(grid, np.maximum(nis, 0.8), color="tab:green", label=r"$N_{IS}$")
    a.loglog(grid, np.maximum(ndw, 0.8), color="tab:orange", label=r"$N_{DW}$ (candidates)")
    a.set_ylabel("number found")
    a.legend()
    if title:
        a.set_title(title)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(nis > 0, ndw / np.maximum(nis, 1), np.nan)
    b.semilogx(grid, ratio, color="k")
    b.set_ylabel(r"$N_{DW}/N_{IS}$")
    b.set_xlabel("exploration time")
    return _save(fig, path)


def plot_tau_p_cdf(tau_p, path, unit: str = "MD steps", title: str = "") -> Path:
    """Cumulative distribution of the persistence times (002 Fig. 3a), log time axis."""
    plt = _plt()
    t = np.sort(np.asarray(tau_p, dtype=float))
    fig, ax = plt.subplots(figsize=(5, 3.5))
    if t.size:
        ax.semilogx(t, np.arange(1, t.size + 1) / t.size, drawstyle="steps-post")
    else:
        ax.text(0.5, 0.5, "no complete stay", transform=ax.transAxes, ha="center")
    ax.set_xlabel(rf"$\tau_p$ ({unit})")
    ax.set_ylabel("CDF")
    ax.set_ylim(0, 1.02)
    if title:
        ax.set_title(title)
    return _save(fig, path)


def plot_matrices(energies, transitions, distances, path, pairs=None, n_particles: int = 1,
                  title: str = "") -> Path:
    """002 Fig. 2 for one glass: |e_a - e_b| (10^-3 per particle), T_{a->b} (log), d_ab (Eq. 7)
    and the pdf of e_a, with the IS ordered by increasing energy.

    energies: (n,) total energies; transitions: (is_a, is_b, count) rows; distances: (n, n)
    matrix d_ab in the same IS order as ``energies``; pairs: optional (is_a, is_b) rows to
    circle (e.g. the candidate double wells or the TLS)."""
    plt = _plt()
    e = np.asarray(energies, dtype=float) / max(int(n_particles), 1)  # 002 Eq. (6)
    n = e.size
    order = np.argsort(e, kind="stable")
    rank = np.empty(n, dtype=int)
    rank[order] = np.arange(n)
    es = e[order]
    de = np.abs(es[:, None] - es[None, :]) * 1e3
    tm = np.zeros((n, n))
    for a, b, c in np.asarray(transitions, dtype=float).reshape(-1, 3):
        if a < n and b < n:
            tm[rank[int(a)], rank[int(b)]] = c
    dm = np.asarray(distances, dtype=float)[np.ix_(order, order)]
    fig, axs = plt.subplots(1, 4, figsize=(16, 3.8), layout="constrained")  # room for the colorbars
    im = axs[0].imshow(de, cmap="viridis", origin="upper")
    fig.colorbar(im, ax=axs[0], shrink=0.8)
    axs[0].set_title(r"$|e_\alpha - e_\beta|$ ($10^{-3}$)")
    with np.errstate(divide="ignore"):
        im = axs[1].imshow(np.where(tm > 0, np.log10(np.maximum(tm, 1)), np.nan), cmap="viridis",
                           origin="upper")
    fig.colorbar(im, ax=axs[1], shrink=0.8)
    axs[1].set_title(r"$\log_{10} T_{\alpha\to\beta}$")
    im = axs[2].imshow(dm, cmap="viridis", origin="upper")
    fig.colorbar(im, ax=axs[2], shrink=0.8)
    axs[2].set_title(r"$d_{\alpha\beta}$")
    for ax in axs[:3]:
        ax.set_xlabel(r"$\beta$")
        ax.set_ylabel(r"$\alpha$")
    if pairs is not None:
        for a, b in np.asarray(pairs, dtype=int).reshape(-1, 2):
            if a < n and b < n:
                for ax in axs[:3]:
                    ax.plot([rank[b], rank[a]], [rank[a], rank[b]], "o", mfc="none", mec="red", ms=6)
    axs[3].hist(e, bins=max(5, min(50, n // 3 + 1)), density=True, color="tab:blue")
    axs[3].set_xlabel(r"$e_\alpha$")
    axs[3].set_ylabel("pdf")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def distance_matrix(configs, box=None, dim: int = 1) -> np.ndarray:
    """d_ab of 002_b660eabf4d6c7be7.txt Eq. (7) between all configurations (list of arrays);
    minimum image when ``box`` is given."""
    xs = [np.asarray(c, dtype=float).reshape(-1, dim) for c in configs]
    n = len(xs)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            dx = xs[j] - xs[i]
            if box is not None:
                dx -= box * np.round(dx / box)
            out[i, j] = out[j, i] = np.sqrt(np.sum(dx * dx) / xs[i].shape[0])
    return out


def explore_figures(explore_dir, fig_dir=None, max_is: int = 400) -> list[Path]:
    """Draw the exploration figures of ``explore_dir`` into ``fig_dir`` (default
    ``explore_dir/figures``); the matrices use the ``max_is`` lowest-energy IS."""
    import json

    import h5py

    from ..explore import persistence_times, read_library, read_pairs, read_series, read_transitions
    from ..explore import _ordered_series, _Protocol

    explore_dir = Path(explore_dir)
    fig_dir = Path(fig_dir) if fig_dir is not None else explore_dir / "figures"
    from ..errors import InputError

    if not (explore_dir / EXPLORE_META).is_file():
        raise InputError(f"{explore_dir}: no explore.json (not an exploration directory)")
    info = json.loads((explore_dir / EXPLORE_META).read_text())
    params = _Protocol(**info["params"])
    lib = read_library(explore_dir)
    pairs = read_pairs(explore_dir)
    tr = read_transitions(explore_dir)
    series = read_series(explore_dir)
    dt = params.dt
    t_max = params.runs * params.n_cg * params.cg_steps * dt
    out = [plot_counts_vs_time(lib["first_seen_time"], pairs["first_time"], fig_dir / "counts_vs_time.png",
                               t_max=t_max)]
    tau_p = persistence_times(_ordered_series(series, params))
    out.append(plot_tau_p_cdf(tau_p * dt, fig_dir / "tau_p_cdf.png", unit="time units"))
    keep = lib.sort_values("energy", kind="stable")["is_id"].to_numpy()[:max_is]
    keep = np.sort(keep)
    remap = {int(k): i for i, k in enumerate(keep)}
    with h5py.File(explore_dir / IS_CONFIGS, "r") as f:
        configs = [f[f"configs/{int(k)}"][()] for k in keep]
        box = f["box"][()] if "box" in f else None
        dim = int(f.attrs.get("dim", 1))
    dm = distance_matrix(configs, box, dim)
    trs = [(remap[a], remap[b], c) for a, b, c in tr[["is_a", "is_b", "count"]].itertuples(index=False)
           if a in remap and b in remap]
    prs = [(remap[a], remap[b]) for a, b in pairs[["is_a", "is_b"]].itertuples(index=False)
           if a in remap and b in remap]
    out.append(plot_matrices(lib.set_index("is_id").loc[keep, "energy"].to_numpy(), trs, dm,
                             fig_dir / "matrices.png", pairs=prs, n_particles=int(info.get("n_particles", 1))))
    return out
