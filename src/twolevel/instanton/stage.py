"""Catalogue-level run: the three estimates of E and Delta_0 for the double wells of one sample.

For every selected double well (the TLS of ``quantum/tls.parquet``, or the rows with 1D
E < ``e_max``) of one unit system / m~:

* ``*_1d``: today's 1D Schrödinger result along the MEP (copied from tls.parquet);
* ``*_ad``: the 1D equation on the vibrationally adiabatic potential (adiabatic.py);
* ``*_inst``: the ring-polymer instanton (rpi.py), Delta with both wells' zero-point energies.

``E_best`` is the instanton's E where its status is ``ok`` and the 1D E otherwise
(``E_source`` says which): a failed instanton never puts a NaN into n0.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from pydantic import Field

from ..errors import InputError, PhysicsError
from ..params import Params
from .adiabatic import adiabatic_profile, tunnelling_1d
from .rpi import DEFAULT_BEADS, TAU_FACTOR, instanton


class InstantonParams(Params):
    """``[instanton]`` (optional, off by default): multidimensional tunnelling splittings of the TLS
    by ring-polymer instantons and the vibrationally adiabatic 1D correction (docs/instanton.md).

    The one owner of the stage's parameters and defaults: the study file's ``[instanton]``,
    ``twolevel instanton`` and :func:`run_tables` / :func:`run_sample` validate through this class.
    """

    units: str | None = Field(None, description="Unit-system label of the quantum table to use (e.g. pss-ar); default the first of the model.")
    e_max: float | None = Field(None, gt=0, description="Run every doublet with 1D E below this (epsilon) instead of the TLS only.")
    limit: int | None = Field(20, ge=1, description="At most this many double wells per sample, lowest 1D E first.")
    n_beads: int = Field(64, ge=8, description="Beads of the open-chain instanton (half ring polymer).")
    tau_factor: float = Field(TAU_FACTOR, gt=0, description="Imaginary time of the chain in units of 1/omega_t (omega_t: frequency along the end-to-end direction).")
    adiabatic: bool = Field(True, description="Also the 1D problem on the vibrationally adiabatic potential.")
    zpe_points: int | None = Field(None, ge=3, description="Adiabatic correction: diagonalise the transverse Hessian at this many images only and interpolate the zero-point energy along the path (cubic spline in arc length); default every image. 33 of 64 halves the cost (N = 1500: ~8 instead of ~16 CPU-minutes) for E_ad errors up to 3 % on the N = 200 glass set (docs/instanton.md, Cost).")
    active_radius: float | None = Field(None, gt=0, description="R (sigma) of the active-space prefactor: the particles that move plus those within R (docs/instanton.md, step 7). Default: R = 3 above 300 particles, the full determinant below; a radius covering the box gives the full determinant. Rows computed with an active space get status `active_space` and keep their 1D E in E_best.")


def _bands(paths_dir: Path, dw_id: int):
    import h5py

    from .. import layout

    p = paths_dir / layout.BANDS
    if not p.is_file():
        raise InputError(f"{p}: band file not found (run the paths stage first)")
    with h5py.File(p, "r") as f:
        if str(dw_id) not in f:
            raise InputError(f"{p}: no band for dw_id {dw_id}")
        g = f[str(dw_id)]
        x_low = g["x_low"][()].astype(np.float64)
        disp = g["band_disp"][()].astype(np.float64)
        x_high = g["x_high"][()].astype(np.float64)
    images = x_low.reshape(1, -1) + disp
    images = images.reshape((disp.shape[0],) + x_low.shape)
    return x_low, x_high, images


def select(tls, units: str | None = None, e_max: float | None = None, limit: int | None = None):
    """Rows of a tls table to run: one unit label; the TLS, or every doublet with E < e_max;
    lowest E first, at most ``limit``."""
    df = tls
    if units is not None:
        if units not in set(tls["units"]):
            from ..units import get_units

            try:
                units = get_units(units).name
            except InputError:
                pass  # not a unit-system name either: the check below reports it
        df = df[df["units"] == units]
        if not len(df):
            raise InputError(f"no rows with units {units!r} (have {sorted(set(tls['units']))})")
    if e_max is None:
        df = df[df["is_tls"]]
    else:
        df = df[(df["tls_class"] == "doublet") & np.isfinite(df["E"]) & (df["E"] < e_max)]
    df = df.sort_values("E")
    return df.head(limit) if limit else df


def run_double_well(system, x_low, x_high, images, m_tilde: float, n_beads: int = DEFAULT_BEADS,
                    tau_factor: float | None = None, adiabatic: bool = True,
                    active_radius: float | None = None, zpe_points: int | None = None) -> dict:
    """The adiabatic and instanton estimates for one double well (dict of scalars).
    ``active_radius``: see :func:`~twolevel.instanton.rpi.instanton` (None: its default);
    ``zpe_points``: see :func:`~twolevel.instanton.adiabatic.transverse_zpe` (None: every image)."""
    out: dict = {}
    t0 = time.process_time()
    if adiabatic:
        try:
            ad = adiabatic_profile(system, images, m_tilde, zpe_points)
            r = tunnelling_1d(ad["xi"], ad["V_ad"], ad["d"], m_tilde)
            out.update(E_ad=r.E, Delta_ad=r.Delta, Delta_0_ad=r.Delta_0, class_ad=r.tls_class,
                       negative_modes_ad=ad["negative_modes"])
        except (InputError, PhysicsError) as exc:
            out.update(E_ad=np.nan, Delta_ad=np.nan, Delta_0_ad=np.nan, class_ad=f"failed: {exc}")
    out["cpu_ad"] = time.process_time() - t0
    t0 = time.process_time()
    try:
        r = instanton(system, x_low, x_high, m_tilde, n_beads=n_beads, path0=images, active_radius=active_radius,
                      **({} if tau_factor is None else {"tau_factor": tau_factor}))
        out.update(E_inst=r.E, Delta_inst=r.Delta, Delta_0_inst=r.Delta_0, S_inst=r.S,
                   status_inst=r.status, message_inst=r.message, tau_inst=r.tau, n_beads=r.n_beads,
                   step_omega_max=r.step * r.omega_max, zpe_low=r.zpe_a, zpe_high=r.zpe_b,
                   n_active=r.n_active, active_radius=r.active_radius)
    except (InputError, PhysicsError) as exc:
        out.update(E_inst=np.nan, Delta_inst=np.nan, Delta_0_inst=np.nan, S_inst=np.nan,
                   status_inst="failed", message_inst=str(exc))
    out["cpu_inst"] = time.process_time() - t0
    return out


def best_estimate(rec: dict) -> dict:
    """E_best: the instanton's E where it converged (status ok, finite), else the 1D E; never NaN
    from a failed instanton. Also the instanton/1D ratios (NaN where the instanton failed)."""
    e_inst = rec.get("E_inst", np.nan)
    ok = rec.get("status_inst") == "ok" and np.isfinite(e_inst)
    return {"E_best": e_inst if ok else rec["E_1d"], "E_source": "instanton" if ok else "1d",
            "ratio_E_inst_1d": e_inst / rec["E_1d"] if ok else np.nan,
            "ratio_D0_inst_1d": rec["Delta_0_inst"] / rec["Delta_0_1d"] if ok else np.nan}


def run_sample(sample_dir, params: InstantonParams | None = None, **kw):
    """:func:`run_tables` on a sample directory (``.../sample_k`` with prepare/, paths/, quantum/)."""
    from .. import layout

    sample_dir = Path(sample_dir)
    return run_tables(sample_dir / layout.QUANTUM / layout.TLS, sample_dir / layout.PATHS,
                      sample_dir / layout.PREPARE / layout.GLASS, params, **kw)


def run_tables(tls_path, paths_dir, glass_path, params: InstantonParams | None = None, *, out=None, progress=None,
               **overrides):
    """Run every selected double well of one sample: its quantum table, its paths directory (band
    images in bands.h5) and its glass. Returns the table (written atomically to ``out`` if given).

    ``params``, ``**overrides``: an :class:`InstantonParams` and/or its fields as keywords (units,
    e_max, limit, n_beads, tau_factor, adiabatic, active_radius, zpe_points); defaults those of the study file's
    ``[instanton]``; a misspelt keyword is refused.
    """
    import pandas as pd

    from .. import io
    from ..engine import ParticleSystem

    p = InstantonParams.merged("instanton", params, **overrides)
    tls_path, paths_dir, glass_path = Path(tls_path), Path(paths_dir), Path(glass_path)
    for f in (tls_path, glass_path):
        if not f.is_file():
            raise InputError(f"{f}: not found (run the prepare, paths and quantum stages first)")
    tls = pd.read_parquet(tls_path)
    rows = select(tls, p.units, p.e_max, p.limit)
    system = ParticleSystem(io.read(glass_path))
    recs = []
    for _, row in rows.iterrows():
        x_low, x_high, images = _bands(paths_dir, int(row["dw_id"]))
        rec = {"dw_id": int(row["dw_id"]), "units": row["units"], "m_tilde": float(row["m_tilde"]),
               "E_1d": float(row["E"]), "Delta_1d": float(row["Delta"]), "Delta_0_1d": float(row["Delta_0"]),
               "class_1d": row["tls_class"], "dV": float(row["dV"]), "V_a": float(row["V_a"]),
               "d": float(row["d"])}
        rec.update(run_double_well(system, x_low, x_high, images, rec["m_tilde"], p.n_beads, p.tau_factor,
                                   p.adiabatic, p.active_radius, p.zpe_points))
        rec.update(best_estimate(rec))
        recs.append(rec)
        if progress:
            progress(rec)
    df = pd.DataFrame(recs)
    if out is not None:
        from ..io.atomic import atomic_path

        out = Path(out)
        with atomic_path(out) as tmp:
            df.to_parquet(tmp) if out.suffix == ".parquet" else df.to_csv(tmp, index=False)
    return df


def n0_each_way(df, n_particles: int, e_window: tuple[float, float]) -> dict:
    """n0 = (number of TLS with E in the window) / (N (E_hi - E_lo)), per particle per epsilon
    (001 convention, docs/quantum.md), with E from the 1D, adiabatic and best (instanton where
    converged) estimates: the three numbers side by side."""
    lo, hi = e_window
    out = {}
    for col in ("E_1d", "E_ad", "E_best"):
        if col in df:
            e = df[col].to_numpy(dtype=float)
            out[col] = float(np.sum(np.isfinite(e) & (e >= lo) & (e < hi))) / (n_particles * (hi - lo))
    return out
