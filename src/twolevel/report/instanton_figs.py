"""Figure and numbers of the optional instanton stage (docs/instanton.md).

- :func:`collect`: every ``instanton/instanton.parquet`` under a run directory, one table.
- :func:`summary`: the distribution of the instanton/1D ratios of E and Delta_0 (quantiles over
  the converged rows) and n0 computed each way (:func:`twolevel.instanton.stage.n0_each_way`).
- :func:`ratio_figure`: histograms of log10(E_inst / E_1d) and log10(Delta_0,inst / Delta_0,1D).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._mpl import plt as _plt
from ._mpl import save as _save_any


def collect(run_dir):
    """All instanton tables of a run directory (column ``sample`` = the sample's path)."""
    import pandas as pd

    frames = []
    for p in sorted(Path(run_dir).glob("**/instanton/instanton.parquet")):
        frames.append(pd.read_parquet(p).assign(sample=str(p.parent.parent)))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def summary(df, n_particles: int | None = None, e_window: tuple[float, float] | None = None) -> dict:
    """Counts by status, quantiles (5, 25, 50, 75, 95 %) of the two ratios over converged rows,
    and n0 each way when ``n_particles`` and ``e_window`` are given."""
    from ..instanton.stage import n0_each_way

    out: dict = {"rows": len(df)}
    if not len(df):
        return out
    out["status"] = {str(k): int(v) for k, v in df["status_inst"].value_counts().items()}
    q = [0.05, 0.25, 0.5, 0.75, 0.95]
    for col in ("ratio_E_inst_1d", "ratio_D0_inst_1d"):
        v = df[col].to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        out[col] = dict(zip([f"q{int(100 * x)}" for x in q], np.quantile(v, q).tolist())) if len(v) else {}
    if n_particles and e_window:
        out["n0"] = n0_each_way(df, n_particles, e_window)
    return out


def ratio_figure(df, path):
    """Histograms of the instanton/1D ratios (log10) over the converged rows."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    for ax, col, lab in zip(axes, ("ratio_E_inst_1d", "ratio_D0_inst_1d"),
                            ("log10 E_inst / E_1D", "log10 Delta_0,inst / Delta_0,1D")):
        v = df[col].to_numpy(dtype=float) if col in df else np.array([])
        v = v[np.isfinite(v) & (v > 0)]
        if len(v):
            ax.hist(np.log10(v), bins=max(5, min(30, len(v))), color="C0")
        ax.axvline(0.0, color="k", lw=0.8)
        ax.set_xlabel(lab)
        ax.set_ylabel("double wells")
    fig.tight_layout()
    return _save_any(fig, path, dpi=150)
