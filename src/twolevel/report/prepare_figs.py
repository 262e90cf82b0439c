"""Figures of the prepare stage: energy during equilibration, F_s(k, t), Angell plot.

Each function takes data and a path, writes the figure (matplotlib, Agg) and returns the path.
The Angell plot follows 002_b660eabf4d6c7be7.txt Fig. 1: tau_alpha against 1/T for plain
and swap dynamics, with the onset and mode-coupling temperatures marked.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


from ._mpl import plt as _plt  # noqa: E402
from ._mpl import save as _save_any  # noqa: E402


def _save(fig, path) -> Path:
    return _save_any(fig, path, dpi=120)


def energy_trace(t, energy, path: str | os.PathLike, tau_alpha: float | None = None, unit: str = "sweeps",
                 title: str | None = None) -> Path:
    """Potential energy per particle against time during equilibration; the second half of the
    run (the window of the stationarity test) is shaded."""
    plt = _plt()
    t = np.asarray(t, float)
    e = np.asarray(energy, float)
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    ax.plot(t, e, lw=0.8)
    if len(t):
        ax.axvspan(0.5 * t[-1], t[-1], color="0.9", zorder=0, label="stationarity window")
    ax.set_xlabel(f"time ({unit})" + (f"   [tau_alpha = {tau_alpha:.3g}]" if tau_alpha else ""))
    ax.set_ylabel("U / N")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    return _save(fig, path)


#: colours of 002 Fig. 1: plain MD green, swap dynamics magenta
COLOURS = {"MD": "tab:green", "MC": "tab:olive", "swap MC": "m", "swap MC/MD": "m"}
#: reference temperatures as dashed lines, coloured as in 002 Fig. 1 (onset grey, T_mct orange)
REF_STYLE = {"onset": ("0.5", "T_o"), "mode_coupling": ("tab:orange", "T_mct"),
             "glass_transition": ("tab:purple", "T_g")}


def fs_curves(relaxations, path: str | os.PathLike, title: str | None = None) -> Path:
    """F_s(k, t) for each relaxation, one panel per dynamics (swap and plain), one curve per T
    (colder = darker); the 1/e level that defines tau_alpha is dotted."""
    plt = _plt()
    dyn = sorted({r.dynamics for r in relaxations})
    fig, axes = plt.subplots(1, len(dyn), figsize=(5 * len(dyn), 3.6), squeeze=False)
    for ax, d in zip(axes[0], dyn):
        rs = sorted((r for r in relaxations if r.dynamics == d), key=lambda r: -r.temperature)
        cmap = plt.get_cmap("viridis")
        for m, r in enumerate(rs):
            ax.semilogx(r.times, r.fs, "-o", ms=2.5, color=cmap(m / max(1, len(rs) - 1)),
                        label=f"T = {r.temperature:g}")
        ax.axhline(np.exp(-1), color="0.5", ls=":", lw=0.8)
        ax.set_xlabel(f"t ({rs[0].time_unit})")
        ax.set_ylabel(f"F_s(k = {rs[0].k:g}, t)")
        ax.set_title(d if not title else f"{title}: {d}", fontsize=9)
        ax.set_ylim(-0.05, 1.05)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)


def angell(relaxations, path: str | os.PathLike, reference_temperatures: dict | None = None,
           tau_onset: float | dict | None = None, title: str | None = None) -> Path:
    """tau_alpha (log axis) against 1/T for each dynamics, as 002 Fig. 1: plain MD green, swap
    magenta, onset (grey) and mode-coupling (orange) temperatures as dashed lines.

    ``relaxations``: objects with ``dynamics``, ``temperature``, ``tau_alpha``, ``time_unit``
    (and ``times``) such as :class:`twolevel.dynamics.Relaxation`. A run whose F_s never reached
    1/e is drawn as an open triangle at its last time (a lower bound). Taus are in each
    dynamics' own unit unless ``tau_onset`` (one number, or one per dynamics) scales them."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.8))
    dyn = sorted({r.dynamics for r in relaxations})
    ymin = np.inf
    for d in dyn:
        scale = (tau_onset.get(d) if isinstance(tau_onset, dict) else tau_onset) or 1.0
        colour = COLOURS.get(d)
        rs = sorted((r for r in relaxations if r.dynamics == d and r.tau_alpha), key=lambda r: r.temperature)
        if rs:
            inv = np.array([1.0 / r.temperature for r in rs])
            tau = np.array([r.tau_alpha for r in rs]) / scale
            ymin = min(ymin, tau.min())
            unit = rs[0].time_unit if scale == 1.0 else f"/ tau_alpha({1 / inv.min():g})" \
                if isinstance(tau_onset, dict) else "/ tau_o"
            ax.semilogy(inv, tau, "o-", color=colour, label=f"{d} ({unit})")
        lows = [r for r in relaxations if r.dynamics == d and not r.tau_alpha and len(getattr(r, "times", []))]
        if lows:
            ax.semilogy([1.0 / r.temperature for r in lows], [r.times[-1] / scale for r in lows], "^",
                        mfc="none", color=colour, label=f"{d}: > (F_s not at 1/e)")
    for name, (colour, label) in REF_STYLE.items():
        if reference_temperatures and name in reference_temperatures:
            ax.axvline(1.0 / reference_temperatures[name], color=colour, ls="--", lw=0.9,
                       label=f"{label} = {reference_temperatures[name]:g}")
    ax.set_xlabel("1 / T")
    ax.set_ylabel("tau_alpha" + (" (scaled)" if tau_onset else ""))
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)
