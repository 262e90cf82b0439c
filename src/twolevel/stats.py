"""Statistics of two-level systems: n(E), the TLS density n0 with a bootstrap error,
the decomposition of 002 Eq. (3), Table I, counts against exploration time, and the
TLS heat capacity.

Pure functions on tables (pandas DataFrames / numpy arrays); nothing here reads or
writes files (:mod:`twolevel.report` does). Reduced units throughout: energies in
epsilon, k_B = 1; physical units only through :mod:`twolevel.units`.

Definitions (docs/statistics.md has the worked example):

* cumulative splitting distribution, counted per particle and per glass sample,
  ``n(E) = N_DW(E) / (N N_g)`` (# 002_b660eabf4d6c7be7.txt Eq. (3);
  001_1b8b0be289dbb4b8.txt "Density of two-level systems"). With samples of
  different sizes N_k the denominator is ``sum_k N_k`` (= N N_g when all are equal).
* ``n(E) ~ n0 E + O(E^2)`` (# 002 Eq. (1)); n0, "the TLS density", is the plateau
  of n(E)/E at small E, per particle per epsilon.
* ``n_TLS = n0 k_B T_Q`` (# 002 Eq. (2)) per particle, and
  ``n_active = N N_g n(k_B T_Q)``, the number of double wells with E < k_B T_Q
  (# 001 "Discussion").
* ``n(E) = (1/N) (N_IS/N_g) (N_DW/N_IS) (N_DW(E)/N_DW)`` (# 002 Eq. (3)).
* Heat capacity per particle of a set of independent TLS with splittings E_i,
  ``C(T) = (1 / (N N_g)) sum_i Phi(E_i)``, ``Phi(E) = (E/2T)^2 sech^2(E/2T)`` in
  units of k_B (# 000_ac86d19d448073de.txt Eq. (7)); for a flat density of
  splittings n0, ``C = (pi^2/6) n0 T`` (# 000 Eqs. (8), (10), (17) with
  n(0) = n0).

Density convention: n(E) and n0 count double wells **per particle** (per epsilon);
per volume they are multiplied by the number density rho (sigma^-3), so
``n0 [J^-1 m^-3] = n0 * rho / (epsilon sigma^3)`` (:meth:`UnitSystem.n0_to_si`
with ``per="particle"``).

The plateau estimator. Within an energy window [E_lo, E_hi] (default [0, k_B T_Q])
the splittings of all N_g samples form a point process with intensity
``M rho(E)``, M = sum_k N_k, and ``rho(E) = dn/dE``. For ``order=0`` rho is taken
flat, ``rho = n0``: the estimate is ``n0 = K / (M (E_hi - E_lo))`` with K the number
of double wells in the window (the Poisson maximum-likelihood estimate; with
E_lo = 0 it is n(E_hi)/E_hi). For ``order=1`` ``rho = n0 + s E`` (i.e.
``n(E) = n0 E + (s/2) E^2``, "flat plus E^2"), and (n0, s) are the unbiased
method-of-moments solution of ``E[K] = M int rho`` and ``E[sum_i E_i] = M int E rho``
over the window. Either way n0 = sum_i w(E_i) over the window's double wells: a
weighted count, with w = 1 / (M (E_hi - E_lo)) for order 0.

Intervals (docs/statistics.md gives the method and its measured coverage): the
count is Poisson, so the interval is the chi-square (Garwood) interval of the
count scaled to n0 -- for order 1 the gamma interval of a weighted Poisson sum
(Fay & Feuer 1997), which is Garwood's for equal weights. Glass-to-glass scatter
beyond Poisson enters as a quasi-Poisson dispersion phi, the Pearson statistic of
the per-glass weighted counts over its N_g - 1 degrees of freedom, widened by
(t_{N_g-1} / z)^2 for its own uncertainty; the Poisson interval is widened by
phi when phi > 1 and never narrowed. Bounds are never negative; an empty window
gives n0 = 0 with one-sided upper limits (95 %: -ln 0.05 = 3.0 events). The old
bootstrap over glass samples survives as a diagnostic (``n0_boot_err``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from pydantic import Field

from .errors import InputError
from .layout import (DOUBLE_WELLS, EXPLORE, EXPLORE_META, GLASS, INHERENT_STRUCTURES, PAIRS, PATH_RESULTS, PATHS,
                     PREPARE, PREPARE_META, QUANTUM, STATS_JSON, TLS, stage_file)
from .params import Params
from .units import K_B, UnitSystem, get_units

__all__ = [
    "DENSITY_CONVENTION",
    "DEFAULT_N_BOOT",
    "GROUP_KEYS",
    "SAMPLE_KEYS",
    "OK_STATUS",
    "EXCLUSION_COLUMNS",
    "format_counts",
    "cumulative_n",
    "n_over_e",
    "n_active",
    "PlateauFit",
    "plateau_n0",
    "bootstrap_weights",
    "estimate_n0",
    "bootstrap_n0",
    "count_band",
    "bootstrap_curve",
    "weighted_poisson_interval",
    "poisson_interval",
    "overdispersion",
    "dispersion_factor",
    "classify_rows",
    "resolve_units",
    "n0_physical",
    "decomposition",
    "decomposition_table",
    "counts_vs_time",
    "detection_times",
    "tls_heat_capacity",
    "phi_two_level",
    "heat_capacity_slope",
    "distribution_table",
    "Summary",
    "summarise",
    "StatsParams",
    "StudyTables",
    "load_study",
    "study_stats",
]

DEFAULT_N_BOOT = 1000
DEFAULT_CONFIDENCE = 0.68  # one standard error


class StatsParams(Params):
    """``[stats]``: n(E), the plateau n0 with bootstrap error, the Eq. (3) decomposition (002).

    The one owner of the stage's parameters and defaults: the study file's ``[stats]`` and
    :func:`study_stats` validate through this class.
    """

    plateau_emin: float | None = Field(None, ge=0, description="Lower end of the n(E)/E plateau fit (epsilon); default 0.")
    plateau_emax: float | None = Field(None, gt=0, description="Upper end of the plateau (epsilon); default k_B T_Q of each unit system (002 Fig. 9a: plateau below T_Q).")
    bootstrap: int = Field(DEFAULT_N_BOOT, ge=10, description="Bootstrap resamplings over glass samples for the error bar of n0.")
    confidence: float = Field(DEFAULT_CONFIDENCE, gt=0, lt=1, description="Confidence level of the error bar.")
#: columns naming one glass sample
SAMPLE_KEYS = ("model", "T_f", "sample")
#: columns naming one statistic group (one curve, one n0)
GROUP_KEYS = ("model", "T_f", "units")
#: catalogue ``status`` values that mark a good double well (absent column: all rows are good)
OK_STATUS = ("ok", "good", "double_well", "dw", "converged", "accepted")
#: columns of :attr:`Summary.exclusions`
EXCLUSION_COLUMNS = ("model", "T_f", "units", "stage", "reason", "count")

INTERVAL_METHOD = (
    "n0 intervals: Garwood chi-square interval of the window count (Fay-Feuer gamma interval of the "
    "weighted count for order 1) scaled to n0, widened by max(1, phi (t_{N_g-1}/z)^2) with phi the "
    "Pearson dispersion of the per-glass counts; empty window: one-sided upper limits "
    "(95 %: -ln 0.05 = 3.0 events)"
)

DENSITY_CONVENTION = (
    "n(E) = N_DW(E) / (N N_g) counts double wells per particle and per glass sample "
    "(002 Eq. (3)); n0 is its low-E slope in epsilon^-1 per particle. In physical units "
    "n0 [J^-1 m^-3] = n0 * rho / (epsilon * sigma^3), rho the number density in sigma^-3 "
    "(1 for PSS, 1.35 for TLJ)."
)


# ----------------------------------------------------------------------------
# n(E) and n(E)/E
# ----------------------------------------------------------------------------
def _finite_e(E) -> np.ndarray:
    E = np.asarray(E, dtype=float).ravel()
    return E[np.isfinite(E)]


def cumulative_n(E, n_particles: float, grid=None) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative splitting distribution n(E) = N_DW(E) / (N N_g).

    # 002_b660eabf4d6c7be7.txt Eq. (3); 001_1b8b0be289dbb4b8.txt Fig. 3.

    ``E``: splittings of all double wells of all samples (NaN entries are
    ignored); ``n_particles``: N N_g (or sum_k N_k). ``grid``: energies at which
    to evaluate n(E) = #(E_i <= E) / (N N_g); default the sorted splittings
    themselves (a step function). Returns (grid, n).
    """
    if not (np.isfinite(n_particles) and n_particles > 0):
        raise InputError(f"cumulative_n: the number of particles N N_g must be positive, got {n_particles!r}")
    e = np.sort(_finite_e(E))
    if grid is None:
        grid = e
        counts = np.arange(1, e.size + 1, dtype=float)
    else:
        grid = np.asarray(grid, dtype=float)
        counts = np.searchsorted(e, grid, side="right").astype(float)
    return grid, counts / float(n_particles)


def n_over_e(E, n_particles: float, grid=None) -> tuple[np.ndarray, np.ndarray]:
    """n(E)/E, the curve whose low-E plateau is n0 (001 Fig. 3, 002 Fig. 9a)."""
    g, n = cumulative_n(E, n_particles, grid)
    with np.errstate(divide="ignore", invalid="ignore"):
        return g, np.where(g > 0, n / g, np.nan)


def n_active(E, kT_Q: float) -> int:
    """Number of double wells with E < k_B T_Q: n_active = N N_g n(k_B T_Q) (# 001 "Discussion")."""
    return int(np.count_nonzero(_finite_e(E) < kT_Q))


# ----------------------------------------------------------------------------
# counting intervals
# ----------------------------------------------------------------------------
def _gamma_ppf(q, k):
    """Quantile q of a unit-scale gamma distribution of shape k > 0 (chi2.ppf(q, 2k) / 2)."""
    from scipy.special import gammaincinv

    return gammaincinv(k, q)


def weighted_poisson_interval(total, var, w_max, level: float = DEFAULT_CONFIDENCE, count=None, phi=1.0):
    """Central interval of level ``level`` for the mean of a weighted Poisson sum.

    ``total`` = T = sum_i w_i over the events, ``var`` = sum_i w_i^2 (its Poisson
    variance), ``w_max``: the largest weight one more event could carry. The gamma
    interval of Fay & Feuer (Stat. Med. 16, 791 (1997)):
    lo = (V/T) G^-1(a/2; T^2/V), hi = ((V + w^2)/(T + w)) G^-1(1 - a/2; (T + w)^2/(V + w^2)),
    G^-1(q; k) the gamma quantile (= chi2^-1(q; 2k)/2), a = 1 - level. With equal
    weights w it is w times Garwood's chi-square interval of the count K,
    [chi2^-1(a/2; 2K)/2, chi2^-1(1 - a/2; 2K + 2)/2]; it never has a negative bound.

    ``phi`` >= 1: over-dispersion, Var(T) = phi * var; every event then stands for
    phi (so var -> phi var, w_max -> phi w_max; for equal weights Garwood with the
    effective count K/phi, scaled by phi w).
    ``count``: the number of events; where it is 0 the interval is one-sided,
    [0, -ln(1 - level) phi w_max] (95 %: -ln 0.05 = 3.00 events). Default: T > 0.
    A non-positive T with events (possible with the signed weights of order 1)
    gives lower bound 0 and the upper bound of T = 0 with the observed variance.
    Arrays broadcast. Returns (lo, hi).
    """
    if not (0.0 < level < 1.0):
        raise InputError(f"interval level must be between 0 and 1, got {level!r}")
    T = np.asarray(total, dtype=float)
    phi = np.maximum(np.asarray(phi, dtype=float), 1.0)
    V = phi * np.asarray(var, dtype=float)
    wm = phi * np.asarray(w_max, dtype=float)
    T, V, wm = np.broadcast_arrays(T, V, wm)
    n = (T > 0) if count is None else np.broadcast_to(np.asarray(count) > 0, T.shape)
    a = 1.0 - level
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = n & (T > 0) & (V > 0)
        lo = np.where(pos, (V / np.where(pos, T, 1.0)) * _gamma_ppf(a / 2.0, np.where(pos, T * T / np.where(pos, V, 1.0), 1.0)), 0.0)
        Tp = np.maximum(T, 0.0)
        k_hi = (Tp + wm) ** 2 / (V + wm * wm)
        hi_two = (V + wm * wm) / (Tp + wm) * _gamma_ppf(1.0 - a / 2.0, k_hi)
        hi_one = -math.log(a) * wm  # one-sided upper limit of an empty window
    hi = np.where(n, hi_two, hi_one)
    lo = np.where(n, lo, 0.0)
    if lo.ndim == 0:
        return float(lo), float(hi)
    return lo, hi


def poisson_interval(count, level: float = DEFAULT_CONFIDENCE):
    """Garwood's chi-square interval for the mean of a Poisson count (one-sided upper limit at 0).

    K = 0 gives [0, -ln(1 - level)] (95 %: 2.996); K > 0 the central interval
    [chi2^-1(a/2; 2K)/2, chi2^-1(1 - a/2; 2K + 2)/2]. Arrays broadcast.
    """
    K = np.asarray(count, dtype=float)
    return weighted_poisson_interval(K, K, 1.0, level, count=K)


def overdispersion(per_sample_total, per_sample_var, n_per_sample) -> tuple[float, int]:
    """Quasi-Poisson dispersion of per-glass (weighted) counts: (phi_hat, degrees of freedom).

    phi_hat = X^2 / (N_g - 1), X^2 = sum_k (T_k - T p_k)^2 / (V p_k) with T_k, V_k the
    weighted count and its Poisson variance in glass k, T = sum T_k, V = sum V_k and
    p_k = N_k / sum N the glass's share of particles. For Poisson glasses E[X^2] = N_g - 1
    (exactly, for unweighted counts: the multinomial identity), so phi_hat ~ 1; glasses
    that differ more than Poisson give phi_hat > 1. NaN (0 dof) with fewer than two
    glasses or fewer than two events. Axis 0 runs over glasses; extra axes (a grid of
    energies) broadcast.
    """
    Tk = np.asarray(per_sample_total, dtype=float)
    Vk = np.asarray(per_sample_var, dtype=float)
    Ns = np.asarray(n_per_sample, dtype=float)
    ng = Tk.shape[0]
    p = (Ns / Ns.sum()).reshape((ng,) + (1,) * (Tk.ndim - 1))
    T = Tk.sum(axis=0)
    V = Vk.sum(axis=0)
    if ng < 2:
        phi = np.full(np.shape(T), np.nan)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            x2 = (((Tk - T * p) ** 2) / (V * p)).sum(axis=0)
        phi = np.where(V > 0, x2 / (ng - 1), np.nan)
    return (float(phi), ng - 1) if np.ndim(phi) == 0 else (phi, ng - 1)


def dispersion_factor(phi_hat, dof: int, level: float):
    """The factor that widens a Poisson interval of ``level`` for glass-to-glass scatter.

    max(1, phi_hat (t_{dof}(q) / z(q))^2), q = (1 + level)/2: the quasi-Poisson
    variance phi_hat * Poisson, with Student's t for a dispersion estimated from
    ``dof`` = N_g - 1 degrees of freedom (the same widening a t interval gives a mean
    of N_g normal glasses). 1 where phi_hat is NaN (fewer than two glasses or events).
    """
    from scipy.special import ndtri, stdtrit

    q = 0.5 + level / 2.0
    phi = np.asarray(phi_hat, dtype=float)
    if dof < 1:
        return np.ones_like(phi) if phi.ndim else 1.0
    f = (stdtrit(dof, q) / ndtri(q)) ** 2
    out = np.where(np.isfinite(phi), np.maximum(1.0, phi * f), 1.0)
    return float(out) if out.ndim == 0 else out


# ----------------------------------------------------------------------------
# plateau estimator
# ----------------------------------------------------------------------------
@dataclass
class PlateauFit:
    """n0 from the plateau of n(E)/E over [e_lo, e_hi] (energies in epsilon).

    ``n0``: per particle per epsilon; ``slope``: d rho / dE for order 1 (0 for
    order 0); ``count``: double wells in the window; ``ci``: the interval of level
    ``ci_level`` (default 68 %), ``ci95``: the 95 % interval (counting intervals
    widened for glass-to-glass scatter, see :func:`estimate_n0`); ``n0_err``: the
    quasi-Poisson standard error sqrt(max(phi, 1) sum w_i^2) (NaN for an empty
    window: quote the interval, not n0 +- n0_err); ``upper95``: the one-sided 95 %
    upper limit when the window is empty (NaN otherwise); ``dispersion``: phi_hat
    of the per-glass counts (NaN when not estimable) with ``dispersion_dof`` = N_g - 1;
    ``phi``, ``phi95``: the widening factors applied to the ``ci`` and 95 % intervals;
    ``boot_err``: the standard deviation over bootstrap resamplings of whole glasses
    (a diagnostic, NaN without bootstrap).
    """

    n0: float
    e_lo: float
    e_hi: float
    order: int
    count: int
    n_particles: float
    slope: float = 0.0
    n0_err: float = float("nan")
    ci: tuple[float, float] = (float("nan"), float("nan"))
    ci_level: float = DEFAULT_CONFIDENCE
    ci95: tuple[float, float] = (float("nan"), float("nan"))
    n_boot: int = 0
    n_samples: int = 0
    upper95: float = float("nan")
    dispersion: float = float("nan")
    dispersion_dof: int = 0
    phi: float = 1.0
    phi95: float = 1.0
    boot_err: float = float("nan")
    replicates: np.ndarray | None = field(default=None, repr=False)

    @property
    def is_upper_limit(self) -> bool:
        """True for an empty window: quote ``upper95``, not a value."""
        return self.count == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "n0": self.n0,
            "n0_err": self.n0_err,
            "n0_lo": self.ci[0],
            "n0_hi": self.ci[1],
            "ci_level": self.ci_level,
            "n0_lo95": self.ci95[0],
            "n0_hi95": self.ci95[1],
            "n0_upper95": self.upper95,
            "n0_dispersion": self.dispersion,
            "n0_dispersion_dof": self.dispersion_dof,
            "n0_phi": self.phi,
            "n0_phi95": self.phi95,
            "n0_boot_err": self.boot_err,
            "slope": self.slope,
            "e_lo": self.e_lo,
            "e_hi": self.e_hi,
            "order": self.order,
            "count": self.count,
            "n_particles": self.n_particles,
            "n_boot": self.n_boot,
            "n_samples": self.n_samples,
        }


def _check_window(e_range) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in e_range)
    except (TypeError, ValueError):
        raise InputError(f"plateau range must be two energies (E_lo, E_hi), got {e_range!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo < hi):
        raise InputError(f"plateau range must satisfy 0 <= E_lo < E_hi, got ({lo:g}, {hi:g})")
    return lo, hi


def _moments(lo: float, hi: float) -> tuple[float, float, float]:
    """L_k = int_lo^hi E^(k-1) dE for k = 1, 2, 3."""
    return hi - lo, (hi**2 - lo**2) / 2.0, (hi**3 - lo**3) / 3.0


def _solve(K, S, M, lo, hi, order):
    """n0 (and slope) from window count K, sum of splittings S and particle count M (arrays ok)."""
    L1, L2, L3 = _moments(lo, hi)
    K = np.asarray(K, dtype=float)
    S = np.asarray(S, dtype=float)
    M = np.asarray(M, dtype=float)
    if order == 0:
        # Poisson MLE of a flat density: rho = K / (M (E_hi - E_lo))
        return K / (M * L1), np.zeros_like(K)
    # rho = n0 + s E: M (n0 L1 + s L2) = K, M (n0 L2 + s L3) = S (method of moments, unbiased)
    det = L1 * L3 - L2 * L2
    n0 = (K * L3 - S * L2) / (M * det)
    s = (S * L1 - K * L2) / (M * det)
    return n0, s


def _weights(E, M: float, lo: float, hi: float, order: int):
    """Per-event contribution w(E) to n0 = sum_i w(E_i), and the largest possible weight.

    Order 0: w = 1 / (M L1). Order 1: w(E) = (L3 - E L2) / (M det) (from :func:`_solve`,
    linear in K and S = sum E_i), largest at E = E_lo; negative above L3/L2.
    """
    L1, L2, L3 = _moments(lo, hi)
    E = np.asarray(E, dtype=float)
    if order == 0:
        return np.full(E.shape, 1.0 / (M * L1)), 1.0 / (M * L1)
    det = L1 * L3 - L2 * L2
    return (L3 - E * L2) / (M * det), (L3 - lo * L2) / (M * det)


def _in_window(e: np.ndarray, lo: float, hi: float) -> np.ndarray:
    e = _finite_e(e)
    return e[(e > lo) & (e <= hi)] if lo > 0 else e[e <= hi]


def _window_stats(per_sample_E: Sequence[np.ndarray], lo: float, hi: float):
    K = np.empty(len(per_sample_E))
    S = np.empty(len(per_sample_E))
    for k, e in enumerate(per_sample_E):
        w = _in_window(e, lo, hi)
        K[k] = w.size
        S[k] = w.sum()
    return K, S


def plateau_n0(E, n_particles: float, e_range=(0.0, None), order: int = 0, kT_Q: float | None = None) -> PlateauFit:
    """n0 from the low-E plateau of n(E)/E, without interval (see :func:`estimate_n0`).

    # 002_b660eabf4d6c7be7.txt Eq. (1); 001_1b8b0be289dbb4b8.txt Fig. 3.

    ``e_range``: (E_lo, E_hi) in epsilon; E_hi None means k_B T_Q (give ``kT_Q``).
    ``order``: 0 flat density, 1 density n0 + s E. An empty window gives n0 = 0
    and ``upper95`` = -ln(0.05) w_max (= 3.0 / (M (E_hi - E_lo)) for order 0).
    """
    lo, hi = _resolve_range(e_range, kT_Q)
    if order not in (0, 1):
        raise InputError(f"plateau order must be 0 (flat) or 1 (flat + linear density), got {order!r}")
    K, S = _window_stats([np.asarray(E, dtype=float)], lo, hi)
    n0, s = _solve(K[0], S[0], n_particles, lo, hi, order)
    fit = PlateauFit(float(n0), lo, hi, order, int(K[0]), float(n_particles), slope=float(s))
    if K[0] == 0:
        fit.upper95 = -math.log(0.05) * _weights(lo, float(n_particles), lo, hi, order)[1]
    return fit


def _resolve_range(e_range, kT_Q):
    if e_range is None:
        e_range = (0.0, None)
    lo, hi = e_range
    if hi is None:
        if kT_Q is None or not (np.isfinite(kT_Q) and kT_Q > 0):
            raise InputError("plateau range: E_hi not given and no k_B T_Q to default to")
        hi = kT_Q
    return _check_window((0.0 if lo is None else lo, hi))


def bootstrap_weights(n_samples: int, n_boot: int = DEFAULT_N_BOOT, seed: int = 0) -> np.ndarray:
    """(n_boot, n_samples) multiplicities of each glass sample in each bootstrap replicate
    (samples drawn with replacement, n_samples per replicate)."""
    if n_samples < 1:
        raise InputError("bootstrap: need at least one glass sample")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_samples, size=(n_boot, n_samples))
    w = np.zeros((n_boot, n_samples))
    np.add.at(w, (np.repeat(np.arange(n_boot), n_samples), idx.ravel()), 1.0)
    return w


def estimate_n0(
    per_sample_E: Sequence[np.ndarray],
    n_per_sample: Sequence[float] | float,
    e_range=(0.0, None),
    order: int = 0,
    kT_Q: float | None = None,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    ci: float = DEFAULT_CONFIDENCE,
    keep_replicates: bool = False,
    weights: np.ndarray | None = None,
) -> PlateauFit:
    """n0 from the plateau of n(E)/E with counting intervals widened for glass-to-glass scatter.

    # 002_b660eabf4d6c7be7.txt Eq. (1) (n(E) ~ n0 E), Eq. (3) (n(E) = N_DW(E)/(N N_g)).

    ``per_sample_E``: one array of splittings per glass sample (an empty array for
    a sample without double wells -- it still counts in N_g); ``n_per_sample``: N
    of each sample (or one N for all). The estimate n0 = sum_i w(E_i) over the
    window (w = 1/(M (E_hi - E_lo)) for order 0) uses all samples.

    Intervals, at level ``ci`` (default 68 %) and 95 %:
    :func:`weighted_poisson_interval` of the weighted count (Garwood's chi-square
    interval scaled to n0 for order 0), with every event standing for
    :func:`dispersion_factor` events when the per-glass counts scatter more than
    Poisson (:func:`overdispersion`; never narrower than Poisson). An empty window
    gives n0 = 0, [0, upper] one-sided (95 %: 3.0 w), ``upper95`` set and
    ``n0_err`` NaN. No bound is ever negative.

    ``n_boot`` > 0 also resamples whole glasses (``weights``: precomputed
    multiplicities from :func:`bootstrap_weights`) for ``boot_err``, a diagnostic
    of the scatter that does not enter the intervals (its percentile intervals
    under-cover with few glasses or few events: docs/statistics.md).
    """
    ng = len(per_sample_E)
    if ng == 0:
        raise InputError("estimate_n0: no glass samples")
    if not (0.0 < ci < 1.0):
        raise InputError(f"confidence level must be between 0 and 1, got {ci!r}")
    Ns = np.broadcast_to(np.asarray(n_per_sample, dtype=float), (ng,)).astype(float)
    if np.any(~np.isfinite(Ns)) or np.any(Ns <= 0):
        raise InputError("estimate_n0: every sample needs a positive number of particles N")
    lo, hi = _resolve_range(e_range, kT_Q)
    if order not in (0, 1):
        raise InputError(f"plateau order must be 0 (flat) or 1 (flat + linear density), got {order!r}")
    M = Ns.sum()
    # all splittings at once, labelled by their glass
    arrs = [np.asarray(e, dtype=float).ravel() for e in per_sample_E]
    lab = np.repeat(np.arange(ng), [a.size for a in arrs])
    e = np.concatenate(arrs) if arrs else np.empty(0)
    with np.errstate(invalid="ignore"):
        inw = np.isfinite(e) & (e <= hi) & ((e > lo) if lo > 0 else True)
    e, lab = e[inw], lab[inw]
    w, wmax = _weights(e, M, lo, hi, order)
    K = np.bincount(lab, minlength=ng).astype(float)
    S = np.bincount(lab, weights=e, minlength=ng)
    Tk = np.bincount(lab, weights=w, minlength=ng)
    Vk = np.bincount(lab, weights=w * w, minlength=ng)
    n0, s = _solve(K.sum(), S.sum(), M, lo, hi, order)
    count = int(K.sum())
    fit = PlateauFit(float(n0), lo, hi, order, count, float(M), slope=float(s), ci_level=ci, n_samples=ng)
    T, V = float(Tk.sum()), float(Vk.sum())
    if count >= 2:
        fit.dispersion, fit.dispersion_dof = overdispersion(Tk, Vk, Ns)
    fit.phi = dispersion_factor(fit.dispersion, fit.dispersion_dof, ci)
    fit.phi95 = dispersion_factor(fit.dispersion, fit.dispersion_dof, 0.95)
    fit.ci = weighted_poisson_interval(T, V, wmax, ci, count=count, phi=fit.phi)
    fit.ci95 = weighted_poisson_interval(T, V, wmax, 0.95, count=count, phi=fit.phi95)
    if count == 0:
        fit.upper95 = fit.ci95[1]
    else:
        disp = fit.dispersion if np.isfinite(fit.dispersion) else 1.0
        fit.n0_err = math.sqrt(max(disp, 1.0) * V)
    if n_boot > 0:
        W = weights if weights is not None else bootstrap_weights(ng, n_boot, seed)
        rep, _ = _solve(W @ K, W @ S, W @ Ns, lo, hi, order)
        fit.n_boot = int(W.shape[0])
        # the bootstrap variance of a mean over n samples is (n-1)/n times the unbiased one
        infl = math.sqrt(ng / (ng - 1.0)) if ng > 1 else float("nan")
        fit.boot_err = float(np.std(rep, ddof=1)) * infl if rep.size > 1 else float("nan")
        if keep_replicates:
            fit.replicates = rep
    return fit


def bootstrap_n0(per_sample_E, n_per_sample, e_range=(0.0, None), order: int = 0, kT_Q: float | None = None,
                 n_boot: int = DEFAULT_N_BOOT, seed: int = 0, ci: float = DEFAULT_CONFIDENCE, keep_replicates: bool = False,
                 weights: np.ndarray | None = None) -> PlateauFit:
    """The former name of :func:`estimate_n0` (same arguments and result).

    The intervals are no longer bootstrap percentiles (they went negative and
    under-covered with few events); the bootstrap is kept as ``boot_err``.
    """
    return estimate_n0(per_sample_E, n_per_sample, e_range, order, kT_Q, n_boot, seed, ci, keep_replicates, weights)


def _per_sample_counts(per_sample_E: Sequence[np.ndarray], grid: np.ndarray) -> np.ndarray:
    C = np.empty((len(per_sample_E), grid.size))
    for k, e in enumerate(per_sample_E):
        C[k] = np.searchsorted(np.sort(_finite_e(e)), grid, side="right")
    return C


def count_band(per_sample_E: Sequence[np.ndarray], n_per_sample: Sequence[float] | float, grid,
               ci: float = DEFAULT_CONFIDENCE) -> pd.DataFrame:
    """n(E) and n(E)/E on ``grid`` with the counting band of :func:`estimate_n0` at each E.

    At each E the count N_DW(E) is a Poisson count with weight 1/(M E) in n(E)/E:
    Garwood's interval at level ``ci``, widened by the dispersion of the per-glass
    counts N_DW,k(E) (:func:`dispersion_factor`); where N_DW(E) = 0 the band is the
    one-sided [0, -ln(1 - ci)/(M E)]. Returns a DataFrame with columns E, N_DW_E
    (count), n, n_over_E, lo, hi (band of n(E)/E), phi (the widening factor).
    """
    grid = np.asarray(grid, dtype=float)
    ng = len(per_sample_E)
    Ns = np.broadcast_to(np.asarray(n_per_sample, dtype=float), (ng,)).astype(float)
    C = _per_sample_counts(per_sample_E, grid)
    tot = C.sum(axis=0)
    M = Ns.sum()
    n = tot / M
    with np.errstate(divide="ignore", invalid="ignore"):
        noe = np.where(grid > 0, n / grid, np.nan)
    out = pd.DataFrame({"E": grid, "N_DW_E": tot, "n": n, "n_over_E": noe})
    phi_hat, dof = overdispersion(C, C, Ns)
    phi_hat = np.where(tot >= 2, phi_hat, np.nan)
    phi = dispersion_factor(phi_hat, dof, ci)
    lo, hi = weighted_poisson_interval(tot, tot, 1.0, ci, count=tot, phi=phi)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(grid > 0, 1.0 / (M * grid), np.nan)
    out["lo"] = np.asarray(lo) * scale
    out["hi"] = np.asarray(hi) * scale
    out["phi"] = np.broadcast_to(phi, grid.shape)
    return out


def bootstrap_curve(
    per_sample_E: Sequence[np.ndarray],
    n_per_sample: Sequence[float] | float,
    grid,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    ci: float = DEFAULT_CONFIDENCE,
    weights: np.ndarray | None = None,
    method: str = "counting",
) -> pd.DataFrame:
    """n(E) and n(E)/E on ``grid`` with a band at level ``ci``.

    ``method="counting"`` (default): :func:`count_band`, consistent with the n0
    intervals. ``method="bootstrap"``: the percentile band over ``n_boot``
    resamplings of whole glasses (the former default; its lower edge is 0 wherever
    few glasses hold a double well). Columns E, N_DW_E, n, n_over_E, lo, hi.
    """
    if method == "counting":
        return count_band(per_sample_E, n_per_sample, grid, ci)
    if method != "bootstrap":
        raise InputError(f"curve band method must be 'counting' or 'bootstrap', got {method!r}")
    grid = np.asarray(grid, dtype=float)
    ng = len(per_sample_E)
    Ns = np.broadcast_to(np.asarray(n_per_sample, dtype=float), (ng,)).astype(float)
    C = _per_sample_counts(per_sample_E, grid)
    tot = C.sum(axis=0)
    n = tot / Ns.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        noe = np.where(grid > 0, n / grid, np.nan)
    out = pd.DataFrame({"E": grid, "N_DW_E": tot, "n": n, "n_over_E": noe})
    if n_boot > 0 and ng > 0:
        W = weights if weights is not None else bootstrap_weights(ng, n_boot, seed)
        rep = (W @ C) / (W @ Ns)[:, None]
        a = (1.0 - ci) / 2.0
        with np.errstate(divide="ignore", invalid="ignore"):
            out["lo"] = np.quantile(rep, a, axis=0) / grid
            out["hi"] = np.quantile(rep, 1.0 - a, axis=0) / grid
    else:
        out["lo"] = np.nan
        out["hi"] = np.nan
    return out


# ----------------------------------------------------------------------------
# physical units
# ----------------------------------------------------------------------------
def resolve_units(label: str, units: Mapping[str, Any] | None = None) -> UnitSystem | None:
    """The unit system behind a TLS table's ``units`` label, or None.

    Looks ``label`` up in ``units`` (label -> name/dict/UnitSystem) first, then
    among the built-ins; a label "name@m~" (a bare m~ evaluated with a unit
    system, see :func:`twolevel.quantum.mass_specs`) uses that system's
    epsilon, sigma and rho. "m~=..." labels have no physical units.
    """
    if units and label in units:
        return get_units(units[label])
    for cand in (label, str(label).split("@")[0]):
        try:
            return get_units(cand)
        except InputError:
            continue
    return None


def n0_physical(n0, units: UnitSystem | str, number_density: float | None = None):
    """n0 (epsilon^-1 per particle) -> J^-1 m^-3: n0 rho / (epsilon sigma^3).

    ``number_density`` (sigma^-3) overrides the unit system's rho (e.g. the
    measured N/V of the glasses). See :data:`DENSITY_CONVENTION`.
    """
    u = get_units(units)
    rho = u.number_density if number_density is None else float(number_density)
    # per particle -> per volume (rho / sigma^3), per epsilon -> per joule
    return u.n0_to_si(np.asarray(n0, dtype=float) * rho / u.number_density, per="particle")


# ----------------------------------------------------------------------------
# 002 Eq. (3) and Table I
# ----------------------------------------------------------------------------
def decomposition(n_particles_mean: float, N_g: int, N_IS: float, N_DW: float, N_DW_E) -> dict[str, Any]:
    """The factors of 002 Eq. (3) and their product.

    # 002_b660eabf4d6c7be7.txt Eq. (3):
    n(E) = (1/N) x (N_IS/N_g) x (N_DW/N_IS) x (N_DW(E)/N_DW).
    ``N_DW_E`` may be an array (n(E) on a grid).
    """
    N_DW_E = np.asarray(N_DW_E, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = {
            "inv_N": 1.0 / float(n_particles_mean),
            "N_IS_per_N_g": float(N_IS) / float(N_g),
            "N_DW_per_N_IS": float(N_DW) / float(N_IS) if N_IS else float("nan"),
            "N_DW_E_per_N_DW": N_DW_E / float(N_DW) if N_DW else np.full_like(N_DW_E, np.nan),
        }
    f["n"] = f["inv_N"] * f["N_IS_per_N_g"] * f["N_DW_per_N_IS"] * f["N_DW_E_per_N_DW"]
    return f


def decomposition_table(summary_table: pd.DataFrame) -> pd.DataFrame:
    """The factors of 002 Eq. (3) at E = k_B T_Q, one row per group of a summary table."""
    rows = []
    for _, r in summary_table.iterrows():
        f = decomposition(r["N"], r["N_g"], r["N_IS"], r["N_DW"], r["N_TLS"])
        rows.append({**{k: r[k] for k in GROUP_KEYS}, **{k: float(np.asarray(v)) for k, v in f.items()},
                     "n_kTQ": r["N_TLS"] / (r["N"] * r["N_g"])})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------
# counts against exploration time (002 Fig. 4)
# ----------------------------------------------------------------------------
def detection_times(dw: pd.DataFrame, inherent_structures: pd.DataFrame | None) -> np.ndarray:
    """Exploration time at which each double well became a candidate.

    A column ``t_detect`` (or ``first_detected`` / ``first_both``) in ``dw`` is
    used as is: the first time both IS were known and the transition had been
    seen both ways (002 Sec. III B). Otherwise the later of the two IS
    ``first_seen`` times (from ``inherent_structures``, matched on the sample keys
    and ``is_a``/``is_b``) — a lower bound of the true detection time.
    Returns NaN where nothing is known.
    """
    for col in ("t_detect", "first_detected", "first_both"):
        if col in dw.columns:
            return dw[col].to_numpy(dtype=float)
    if inherent_structures is None or not {"is_a", "is_b"} <= set(dw.columns):
        return np.full(len(dw), np.nan)
    keys = [k for k in SAMPLE_KEYS if k in dw.columns and k in inherent_structures.columns]
    ist = inherent_structures[keys + ["is_id", "first_seen"]]
    ta = dw[keys + ["is_a"]].merge(ist.rename(columns={"is_id": "is_a", "first_seen": "ta"}), on=keys + ["is_a"], how="left")["ta"]
    tb = dw[keys + ["is_b"]].merge(ist.rename(columns={"is_id": "is_b", "first_seen": "tb"}), on=keys + ["is_b"], how="left")["tb"]
    return np.fmax(ta.to_numpy(dtype=float), tb.to_numpy(dtype=float))


def counts_vs_time(is_times, dw_times, dw_E=None, kT_Q: float | None = None, grid=None, n_grid: int = 40) -> pd.DataFrame:
    """N_IS(t), N_DW(t), N_TLS(t) and N_DW/N_IS against exploration time (# 002 Fig. 4).

    ``is_times``: first-seen time of every IS (all samples); ``dw_times``:
    detection time of every double well; ``dw_E`` and ``kT_Q``: splittings, for
    N_TLS(t) (E < k_B T_Q). ``grid`` default: ``n_grid`` log-spaced times from the
    earliest positive time to the latest.
    """
    ti = np.sort(_finite_e(is_times))
    td_all = np.asarray(dw_times, dtype=float)
    td = np.sort(td_all[np.isfinite(td_all)])
    if grid is None:
        allt = np.concatenate([ti, td])
        pos = allt[allt > 0]
        if pos.size == 0:
            return pd.DataFrame(columns=["t", "N_IS", "N_DW", "N_TLS", "N_DW_per_N_IS"])
        t0, t1 = pos.min(), allt.max()
        grid = np.geomspace(t0, t1, n_grid) if t1 > t0 else np.array([t1])
    grid = np.asarray(grid, dtype=float)
    out = pd.DataFrame({"t": grid})
    out["N_IS"] = np.searchsorted(ti, grid, side="right")
    out["N_DW"] = np.searchsorted(td, grid, side="right")
    if dw_E is not None and kT_Q is not None:
        e = np.asarray(dw_E, dtype=float)
        sel = np.isfinite(td_all) & (e < kT_Q)
        tt = np.sort(td_all[sel])
        out["N_TLS"] = np.searchsorted(tt, grid, side="right")
    else:
        out["N_TLS"] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        out["N_DW_per_N_IS"] = np.where(out["N_IS"] > 0, out["N_DW"] / out["N_IS"], np.nan)
    return out


# ----------------------------------------------------------------------------
# heat capacity of a set of TLS
# ----------------------------------------------------------------------------
def phi_two_level(E, T):
    """Heat capacity of one two-level system of splitting E at temperature T, in k_B.

    # 000_ac86d19d448073de.txt Eq. (7): Phi = E^2 sech^2(E / 2 k_B T) / (4 k_B T^2)
    (k_B = 1, E and T in the same energy unit). Written with exp(-x) for large x.
    """
    E = np.asarray(E, dtype=float)
    T = np.asarray(T, dtype=float)
    x = np.abs(E) / (2.0 * T)
    # sech^2(x) = 4 e^{-2x} / (1 + e^{-2x})^2, stable for large x
    em = np.exp(-2.0 * x)
    return x * x * 4.0 * em / (1.0 + em) ** 2


def tls_heat_capacity(E, T, n_particles: float) -> np.ndarray:
    """C(T) per particle (units of k_B) of the double wells with splittings E.

    # 000_ac86d19d448073de.txt Eqs. (6)-(8): C = (1/(N N_g)) sum_i Phi(E_i, T),
    the sum over double wells replacing z phi_v int dE P(E) Phi(E).
    ``T`` (array, energy units epsilon/k_B), ``n_particles`` = N N_g.
    """
    e = _finite_e(E)
    T = np.atleast_1d(np.asarray(T, dtype=float))
    if np.any(~(T > 0)):
        raise InputError("tls_heat_capacity: temperatures must be positive")
    C = np.empty(T.size)
    for i, t in enumerate(T):  # loop over T keeps memory O(len(E))
        C[i] = phi_two_level(e, t).sum()
    return C / float(n_particles)


def heat_capacity_slope(E, n_particles: float, T_range: tuple[float, float], n_T: int = 25) -> dict[str, float]:
    """Low-T slope c1 of C(T) = c1 T from a catalogue, over T in ``T_range``.

    c1 = least-squares slope of C against T through the origin on ``n_T``
    log-spaced temperatures; for a flat density n0 it equals (pi^2/6) n0
    (# 000_ac86d19d448073de.txt Eqs. (8), (10), (17)). Needs splittings well
    below and above the T window (T_hi below the end of the plateau, T_lo above
    the smallest splittings).
    """
    lo, hi = T_range
    T = np.geomspace(lo, hi, n_T)
    C = tls_heat_capacity(E, T, n_particles)
    c1 = float(np.sum(C * T) / np.sum(T * T))
    return {"c1": c1, "T_lo": float(lo), "T_hi": float(hi), "n0_from_c1": c1 * 6.0 / math.pi**2}


# ----------------------------------------------------------------------------
# distributions
# ----------------------------------------------------------------------------
def distribution_table(values, bins=40, log: bool = True) -> pd.DataFrame:
    """Normalised histogram (pdf) of positive ``values`` on log-spaced (or linear) bins."""
    v = _finite_e(values)
    if log:
        v = v[v > 0]
    if v.size == 0:
        return pd.DataFrame(columns=["x", "pdf", "count", "lo", "hi"])
    if log:
        a, b = v.min(), v.max()
        edges = np.geomspace(a, b * (1 + 1e-12), bins + 1) if b > a else np.array([a * 0.9, a * 1.1])
    else:
        edges = np.histogram_bin_edges(v, bins=bins)
    cnt, edges = np.histogram(v, bins=edges)
    pdf = cnt / (v.size * np.diff(edges))
    x = np.sqrt(edges[:-1] * edges[1:]) if log else 0.5 * (edges[:-1] + edges[1:])
    return pd.DataFrame({"x": x, "pdf": pdf, "count": cnt, "lo": edges[:-1], "hi": edges[1:]})


# ----------------------------------------------------------------------------
# summary of a study
# ----------------------------------------------------------------------------
@dataclass
class Summary:
    """Everything :func:`summarise` computes.

    ``table``: one row per (model, T_f, units): n0, its intervals (``n0_lo``/``n0_hi``
    at the ``ci`` level, ``n0_lo95``/``n0_hi95``; ``n0_upper95`` for an empty window),
    n0 in J^-1 m^-3, N_g, N, tau_cg, N_cg, tau_total, N_IS, N_DW, N_TLS, the ratios of
    002 Table I, n_active, n_TLS, c1 and c1/((pi^2/6) n0), and the exclusion counts
    (``N_rows``, ``N_excluded``, ``excluded``, ``N_paths_not_ok``, ``paths_not_ok``).
    ``curves``: n(E), n(E)/E with its counting band on a log grid, per group.
    ``heat_capacity``: C(T) per particle (and C/T, SI) per group.
    ``time``: N_IS, N_DW, N_TLS against exploration time per group (if times known).
    ``decomposition``: the factors of 002 Eq. (3) at E = k_B T_Q per group.
    ``samples``: the per-sample table with its counts.
    ``exclusions``: one row per (model, T_f, units, stage, reason) with ``count``:
    stage "quantum" for rows of the TLS table left out of n(E) and n0, stage
    "paths" for candidate paths the paths stage did not mark ok (units empty).
    """

    table: pd.DataFrame
    curves: pd.DataFrame
    heat_capacity: pd.DataFrame
    time: pd.DataFrame
    decomposition: pd.DataFrame
    samples: pd.DataFrame
    settings: dict[str, Any]
    exclusions: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(EXCLUSION_COLUMNS)))

    def group_exclusions(self, model, T_f, units=None) -> tuple[dict[str, int], dict[str, int]]:
        """({reason: count} of TLS-table rows left out, {status: count} of paths not ok) of one group."""
        ex = self.exclusions
        if ex is None or not len(ex):
            return {}, {}
        m = (ex["model"] == model) & (ex["T_f"] == T_f)
        q = ex[m & (ex["stage"] == "quantum") & (ex["units"].astype(str) == str(units))]
        pth = ex[m & (ex["stage"] == "paths")]
        return ({str(r): int(c) for r, c in zip(q["reason"], q["count"])},
                {str(r): int(c) for r, c in zip(pth["reason"], pth["count"])})

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict: settings, the density convention and one entry per group
        (with ``exclusions`` and ``paths_not_ok`` as {reason: count})."""
        groups = []
        for _, r in self.table.iterrows():
            d = {}
            for k, v in r.items():
                if isinstance(v, (np.floating, float)):
                    d[k] = None if not np.isfinite(v) else float(v)
                elif isinstance(v, (np.integer,)):
                    d[k] = int(v)
                elif isinstance(v, (np.bool_,)):
                    d[k] = bool(v)
                else:
                    d[k] = v
            d["exclusions"], d["paths_not_ok"] = self.group_exclusions(r["model"], r["T_f"], r.get("units"))
            groups.append(d)
        return {"density_convention": DENSITY_CONVENTION, "settings": self.settings, "groups": groups}


def _require(df: pd.DataFrame, cols: Iterable[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(f"{what}: missing column {missing[0]!r} (need {', '.join(cols)})")


def _as_frame(x, what: str) -> pd.DataFrame:
    if x is None:
        return None
    if isinstance(x, pd.DataFrame):
        return x
    if isinstance(x, (list, tuple)):
        if len(x) == 0:
            return pd.DataFrame()
        if all(isinstance(v, pd.DataFrame) for v in x):
            return pd.concat(list(x), ignore_index=True)
        return pd.DataFrame(list(x))
    if isinstance(x, Mapping):
        return pd.DataFrame(x)
    raise InputError(f"{what}: expected a DataFrame or a list of rows/DataFrames, got {type(x).__name__}")


def classify_rows(tls: pd.DataFrame, ok_status: Sequence[str] = OK_STATUS) -> pd.Series:
    """Why each row of a TLS table is left out of n(E) and n0: "" for a row that counts.

    With a ``tls_class`` column (the quantum stage's verdict): a row counts when
    tls_class == "doublet" and E is finite; otherwise the reason is the tls_class
    ("single_well", "above_barrier", "domain_not_converged", "bad_profile",
    "not_converged", ...) or "non_finite_E". Rows whose tls_class is missing (older
    tables) and tables without the column fall back to the former rule: reason
    "bad_profile" for solver_status bad_profile, the ``status`` value when a status
    column holds something not in ``ok_status``, "non_finite_E" for a NaN/inf E.
    """
    n = len(tls)
    reason = np.full(n, "", dtype=object)
    E = pd.to_numeric(tls["E"], errors="coerce").to_numpy(dtype=float) if n else np.array([])
    bad_e = ~np.isfinite(E)
    if "tls_class" in tls.columns:
        cls = tls["tls_class"]
        has = cls.notna().to_numpy()
        c = cls.astype(str).str.strip().to_numpy()
        reason = np.where(has & (c != "doublet"), c, reason)
        reason = np.where(has & (c == "doublet") & bad_e, "non_finite_E", reason)
    else:
        has = np.zeros(n, dtype=bool)
    old = ~has
    r_old = np.full(n, "", dtype=object)
    r_old = np.where(bad_e, "non_finite_E", r_old)
    if "status" in tls.columns:
        st = tls["status"].astype(str)
        bad = ~st.str.lower().isin([x.lower() for x in ok_status]).to_numpy()
        r_old = np.where(bad, st.to_numpy(), r_old)
    if "solver_status" in tls.columns:
        r_old = np.where((tls["solver_status"].astype(str) == "bad_profile").to_numpy(), "bad_profile", r_old)
    reason = np.where(old, r_old, reason)
    return pd.Series(reason, index=tls.index, dtype=object).astype(str)


def _good_dw(tls: pd.DataFrame, ok_status: Sequence[str]) -> np.ndarray:
    """Rows that count in n(E) and n0 (:func:`classify_rows` gives no reason)."""
    return (classify_rows(tls, ok_status) == "").to_numpy()


def format_counts(counts: Mapping[str, int]) -> str:
    """{"single_well": 3, "not_converged": 1} -> "3 single_well, 1 not_converged" (largest first; "" if none)."""
    items = sorted(((int(v), str(k)) for k, v in counts.items() if v), key=lambda t: (-t[0], t[1]))
    return ", ".join(f"{v} {k}" for v, k in items)


def _path_exclusions(pres: pd.DataFrame | None, model, T_f) -> dict[str, int]:
    """{status: count} of the paths of (model, T_f) that the paths stage did not mark "ok" (a
    "duplicate" is a double well already found through another pair: not lost, not counted)."""
    if pres is None or not len(pres) or "status" not in pres.columns:
        return {}
    g = pres[(pres["model"] == model) & (pres["T_f"] == T_f)]
    st = g["status"].astype(str)
    return {str(k): int(v) for k, v in st[~st.isin(["ok", "duplicate"])].value_counts().items()}


def _missing_quantum_rows(cat: pd.DataFrame | None, tl: pd.DataFrame, model, T_f) -> int:
    """Catalogue double wells of (model, T_f) without a row of this unit system in the TLS table."""
    if cat is None or not len(cat) or "dw_id" not in cat.columns or "dw_id" not in tl.columns:
        return 0
    c = cat[(cat["model"] == model) & (cat["T_f"] == T_f)]
    if "status" in c.columns:
        c = c[c["status"].astype(str) == "ok"]
    have = set(zip(tl["sample"].astype(int), pd.to_numeric(tl["dw_id"], errors="coerce").fillna(-1).astype(int)))
    want = zip(c["sample"].astype(int), pd.to_numeric(c["dw_id"], errors="coerce").fillna(-1).astype(int))
    return int(sum(1 for k in want if k not in have))


def _first(df: pd.DataFrame, cols: Sequence[str]):
    """Sum over samples of the first present column among ``cols`` (NaN if none)."""
    for c in cols:
        if c in df.columns:
            v = pd.to_numeric(df[c], errors="coerce")
            return v
    return None


def summarise(
    samples,
    tls,
    inherent_structures=None,
    *,
    units: Mapping[str, Any] | None = None,
    e_range: tuple[float | None, float | None] | None = None,
    order: int = 0,
    n_boot: int = DEFAULT_N_BOOT,
    ci: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
    time: float | None = None,
    grid_points: int = 60,
    ok_status: Sequence[str] = OK_STATUS,
    path_results=None,
    double_wells=None,
) -> Summary:
    """n0 with its intervals, Table I, n(E)/E curves, C(T), counts against time and exclusions.

    ``samples``: one row per glass sample with columns ``model``, ``T_f``,
    ``sample``, ``N``; optional ``N_IS`` (distinct IS found), ``tau_cg``,
    ``N_cg``, ``tau_total``, ``density`` (N/V in sigma^-3). Every sample counts in
    N_g, also one without double wells.
    ``tls``: the TLS table of :func:`twolevel.quantum.run_catalogue` (one row per
    double well and unit system: ``dw_id``, ``units``, ``m_tilde``, ``kT_Q``,
    ``E``, ...) tagged with ``model``, ``T_f``, ``sample``.
    ``inherent_structures`` (optional): IS rows tagged with the sample keys, with
    ``is_id`` and ``first_seen`` (exploration time); gives N_IS when ``samples``
    has no N_IS, and the time dependence (002 Fig. 4).
    ``units``: label -> unit system for labels that are not built-in names.
    ``e_range``: plateau window (E_lo, E_hi) in epsilon, default (0, k_B T_Q) of
    each unit system; ``order``: 0 (flat) or 1 (flat + linear density).
    ``time``: keep only IS first seen and double wells detected up to this
    exploration time (002 Fig. 9b uses t = 1e3).
    ``ci``: level of the ``n0_lo``/``n0_hi`` interval and of the curves' band (the
    95 % interval is always given); ``n_boot``: bootstrap resamplings for the
    diagnostic ``n0_boot_err`` (0: none).

    Only rows that :func:`classify_rows` accepts (tls_class "doublet" with a finite
    E; older tables: the former status rule) enter n(E), n0, N_DW and N_TLS; the
    others are counted per reason and group (``N_excluded``, ``excluded``,
    :attr:`Summary.exclusions`). ``double_wells`` (optional, the paths catalogues
    tagged with the sample keys): catalogue double wells without any row of a unit
    system in the TLS table count as "no_quantum_row". ``path_results`` (optional,
    the paths stage's path_results tables tagged with the sample keys): paths with a
    status other than "ok" and "duplicate" (not_converged, no_barrier, max_depth, failed)
    are counted per (model, T_f) (``N_paths_not_ok``, ``paths_not_ok``).
    """
    samples = _as_frame(samples, "samples")
    tls = _as_frame(tls, "TLS table")
    ist = _as_frame(inherent_structures, "inherent structures")
    if samples is None or len(samples) == 0:
        raise InputError("summarise: no glass samples (the samples table is empty)")
    _require(samples, ("model", "T_f", "sample", "N"), "samples table")
    if samples.duplicated(list(SAMPLE_KEYS)).any():
        dup = samples[samples.duplicated(list(SAMPLE_KEYS))].iloc[0]
        raise InputError(f"samples table: sample {tuple(dup[k] for k in SAMPLE_KEYS)} appears twice")
    if tls is None:
        tls = pd.DataFrame(columns=["model", "T_f", "sample", "dw_id", "units", "m_tilde", "kT_Q", "E"])
    _require(tls, ("model", "T_f", "sample", "units", "kT_Q", "E"), "TLS table")
    samples = samples.copy()
    samples["N"] = pd.to_numeric(samples["N"], errors="coerce")
    if samples["N"].isna().any() or (samples["N"] <= 0).any():
        raise InputError("samples table: column 'N' must be a positive number for every sample")
    skey = list(SAMPLE_KEYS)
    known = set(map(tuple, samples[skey].itertuples(index=False, name=None)))
    tkeys = set(map(tuple, tls[skey].itertuples(index=False, name=None)))
    unknown = tkeys - known
    if unknown:
        raise InputError(f"TLS table: rows of sample {sorted(unknown, key=str)[0]} which is not in the samples table")
    if order not in (0, 1):
        raise InputError(f"plateau order must be 0 or 1, got {order!r}")
    tls = tls.copy()
    tls["_reason"] = classify_rows(tls, ok_status)
    tls["_good"] = (tls["_reason"] == "").to_numpy()
    tls["_t"] = detection_times(tls, ist)
    pres = _as_frame(path_results, "path results")
    if pres is not None and len(pres):
        _require(pres, ("model", "T_f", "status"), "path results table")
    cat = _as_frame(double_wells, "double-well catalogue")
    if cat is not None and len(cat) and "dw_id" in cat.columns:
        _require(cat, skey + ["dw_id"], "double-well catalogue")
    if ist is not None and len(ist):
        _require(ist, skey + ["is_id"], "inherent structures table")
        if time is not None and "first_seen" in ist.columns:
            ist = ist[ist["first_seen"].to_numpy(dtype=float) <= time]
    if time is not None:
        t = tls["_t"].to_numpy(dtype=float)
        if np.all(np.isnan(t)):
            raise InputError("summarise(time=...): the double wells carry no detection time (t_detect or IS first_seen)")
        tls = tls[t <= time]
        if cat is not None and "t_detect" in cat.columns:
            cat = cat[cat["t_detect"].to_numpy(dtype=float) <= time]
    ex_rows: list[dict[str, Any]] = []

    # per-sample IS counts
    if ist is not None and len(ist):
        nis = ist.groupby(skey).size().rename("N_IS_table")
        samples = samples.merge(nis, left_on=skey, right_index=True, how="left")
        if "N_IS" not in samples.columns or time is not None:
            samples["N_IS"] = samples["N_IS_table"].fillna(0)
        samples = samples.drop(columns="N_IS_table")

    labels = list(dict.fromkeys(tls["units"].astype(str))) if len(tls) else []
    rows, curves, heat, times = [], [], [], []
    for (model, T_f), sgrp in samples.groupby(["model", "T_f"], sort=True):
        sgrp = sgrp.sort_values("sample")
        ng = len(sgrp)
        Ns = sgrp["N"].to_numpy(dtype=float)
        M = Ns.sum()
        tm = tls[tls["model"] == model]
        tg = tm[tm["T_f"] == T_f]
        # every unit system of the model gets a row at every T_f: a T_f without (usable)
        # double wells is a zero count with an upper limit, not a missing line
        group_labels = [u for u in labels if (tm["units"].astype(str) == u).any()]
        W = bootstrap_weights(ng, n_boot, seed) if n_boot > 0 else None
        paths_bad = _path_exclusions(pres, model, T_f)
        for reason, c in paths_bad.items():
            ex_rows.append({"model": model, "T_f": T_f, "units": None, "stage": "paths", "reason": reason, "count": c})
        for lab in group_labels:
            tl = tg[tg["units"].astype(str) == lab]
            t = tl[tl["_good"]]
            src = tl if len(tl) else tm[tm["units"].astype(str) == lab]
            kq = float(np.nanmedian(src["kT_Q"].to_numpy(dtype=float)))
            mt = float(np.nanmedian(src["m_tilde"].to_numpy(dtype=float))) if "m_tilde" in src.columns else float("nan")
            per = [t.loc[t["sample"] == s, "E"].to_numpy(dtype=float) for s in sgrp["sample"]]
            fit = estimate_n0(per, Ns, e_range=e_range, order=order, kT_Q=kq, n_boot=n_boot, seed=seed, ci=ci, weights=W)
            allE = np.concatenate(per) if per else np.array([])
            n_dw = int(np.isfinite(allE).sum())
            n_tls = n_active(allE, kq)
            excl = {str(k): int(v) for k, v in tl.loc[~tl["_good"], "_reason"].value_counts().items()}
            missing = _missing_quantum_rows(cat, tl, model, T_f)
            if missing:
                excl["no_quantum_row"] = excl.get("no_quantum_row", 0) + missing
            for reason, c in excl.items():
                ex_rows.append({"model": model, "T_f": T_f, "units": lab, "stage": "quantum", "reason": reason, "count": c})
            n_rej = int(sum(excl.values()))
            u = resolve_units(lab, units)
            rho = None
            if "density" in sgrp.columns:
                rho = float(pd.to_numeric(sgrp["density"], errors="coerce").mean())
                rho = rho if np.isfinite(rho) and rho > 0 else None
            row: dict[str, Any] = {
                "model": model, "T_f": T_f, "units": lab, "m_tilde": mt, "kT_Q": kq,
                "N_g": ng, "N": float(M / ng), "N_total": M,
            }
            for col, names in (("tau_cg", ("tau_cg",)), ("N_cg", ("N_cg", "n_cg", "minimisations")),
                               ("tau_total", ("tau_total", "t_total"))):
                v = _first(sgrp, names)
                if v is None:
                    row[col] = float("nan")
                elif col == "tau_cg":
                    row[col] = float(v.mean())  # same for all samples of a T_f
                else:
                    row[col] = float(v.sum())  # summed over samples (002 Table I counts per study)
            if np.isnan(row["tau_total"]) and np.isfinite(row["tau_cg"]) and np.isfinite(row["N_cg"]):
                row["tau_total"] = row["tau_cg"] * row["N_cg"]  # 002 Sec. II D: tau_total = N_cg tau_cg
            nis = _first(sgrp, ("N_IS",))
            row["N_IS"] = float(nis.sum()) if nis is not None else float("nan")
            row["N_DW"] = n_dw
            row["N_TLS"] = n_tls
            row["N_rows"] = len(tl) + missing  # double wells offered to the statistics
            row["N_excluded"] = n_rej
            row["N_rejected"] = n_rej  # former name of N_excluded
            row["excluded"] = format_counts(excl)
            row["N_paths_not_ok"] = int(sum(paths_bad.values()))
            row["paths_not_ok"] = format_counts(paths_bad)
            with np.errstate(divide="ignore", invalid="ignore"):
                row["N_IS_per_N_g"] = row["N_IS"] / ng
                row["N_DW_per_N_IS"] = n_dw / row["N_IS"] if row["N_IS"] else float("nan")
                row["N_TLS_per_N_DW"] = n_tls / n_dw if n_dw else float("nan")
            row.update({k: v for k, v in fit.as_dict().items() if k not in ("n_particles", "n_samples")})
            row["n_active"] = n_tls  # 001: n_active = N N_g n(k_B T_Q)
            row["n_active_per_sample"] = n_tls / ng
            row["n_TLS"] = fit.n0 * kq  # 002 Eq. (2), per particle
            if u is not None:
                conv = float(n0_physical(1.0, u, rho))
                row["units_name"] = u.name
                row["n0_SI"] = fit.n0 * conv
                row["n0_SI_err"] = fit.n0_err * conv
                row["n0_SI_lo"] = fit.ci[0] * conv
                row["n0_SI_hi"] = fit.ci[1] * conv
                row["n0_SI_lo95"] = fit.ci95[0] * conv
                row["n0_SI_hi95"] = fit.ci95[1] * conv
                row["n0_SI_upper95"] = fit.upper95 * conv
                row["T_Q_K"] = kq * u.epsilon_K
            else:
                row["units_name"] = None
                for k in ("n0_SI", "n0_SI_err", "n0_SI_lo", "n0_SI_hi", "n0_SI_lo95", "n0_SI_hi95", "n0_SI_upper95", "T_Q_K"):
                    row[k] = float("nan")
            # heat capacity, # 000_ac86d19d448073de.txt Eq. (7)
            Tgrid = np.geomspace(kq * 1e-2, kq * 10.0, 50)
            C = tls_heat_capacity(allE, Tgrid, M)
            sl = heat_capacity_slope(allE, M, (fit.e_lo + (fit.e_hi - fit.e_lo) / 20.0, fit.e_hi / 5.0))
            row["c1"] = sl["c1"]
            row["c1_over_pi2n0_6"] = sl["c1"] / (math.pi**2 / 6.0 * fit.n0) if fit.n0 > 0 else float("nan")
            hc = pd.DataFrame({"T": Tgrid, "C": C, "C_over_T": C / Tgrid})
            if u is not None:
                hc["T_K"] = Tgrid * u.epsilon_K
                r_ = rho if rho is not None else u.number_density
                hc["C_SI"] = C * K_B * r_ / u.sigma**3  # J K^-1 m^-3
            hc["c1_theory"] = math.pi**2 / 6.0 * fit.n0
            for k, v in (("units", lab), ("T_f", T_f), ("model", model)):
                hc.insert(0, k, v)
            heat.append(hc)
            # curve
            pos = allE[np.isfinite(allE) & (allE > 0)]
            if pos.size:
                grid = np.geomspace(max(pos.min(), kq * 1e-4), max(pos.max(), kq), grid_points)
                cv = count_band(per, Ns, grid, ci=ci)
                for k, v in (("units", lab), ("T_f", T_f), ("model", model)):
                    cv.insert(0, k, v)
                curves.append(cv)
            # time
            if ist is not None and len(ist) and "first_seen" in ist.columns:
                ig = ist[(ist["model"] == model) & (ist["T_f"] == T_f)]
                ct = counts_vs_time(ig["first_seen"].to_numpy(dtype=float), t["_t"].to_numpy(dtype=float),
                                    t["E"].to_numpy(dtype=float), kq)
            elif np.isfinite(t["_t"].to_numpy(dtype=float)).any():
                ct = counts_vs_time([], t["_t"].to_numpy(dtype=float), t["E"].to_numpy(dtype=float), kq)
            else:
                ct = None
            if ct is not None and len(ct):
                for k, v in (("units", lab), ("T_f", T_f), ("model", model)):
                    ct.insert(0, k, v)
                times.append(ct)
            rows.append(row)
        if not group_labels:
            # a T_f without any TLS rows: still a line in the table (N_g, N_IS)
            row = {"model": model, "T_f": T_f, "units": None, "N_g": ng, "N": float(M / ng), "N_total": M,
                   "N_DW": 0, "N_TLS": 0, "n0": float("nan"), "N_rows": 0, "N_excluded": 0, "N_rejected": 0,
                   "excluded": "", "N_paths_not_ok": int(sum(paths_bad.values())),
                   "paths_not_ok": format_counts(paths_bad)}
            nis = _first(sgrp, ("N_IS",))
            row["N_IS"] = float(nis.sum()) if nis is not None else float("nan")
            rows.append(row)
    table = pd.DataFrame(rows)
    dec = decomposition_table(table.dropna(subset=["units"])) if len(table) and table["units"].notna().any() else pd.DataFrame()
    settings = {
        "e_range": None if e_range is None else [None if v is None else float(v) for v in e_range],
        "e_range_default": "(0, k_B T_Q) of each unit system",
        "order": order,
        "n_boot": n_boot,
        "ci_level": ci,
        "seed": seed,
        "time": time,
        "ok_status": list(ok_status),
        "estimator": "flat density K/(M (E_hi - E_lo))" if order == 0 else "density n0 + s E, method of moments",
        "interval": INTERVAL_METHOD,
    }
    cat = lambda L: pd.concat(L, ignore_index=True) if L else pd.DataFrame()  # noqa: E731
    exclusions = pd.DataFrame(ex_rows, columns=list(EXCLUSION_COLUMNS))
    return Summary(table=table, curves=cat(curves), heat_capacity=cat(heat), time=cat(times),
                   decomposition=dec, samples=samples.reset_index(drop=True), settings=settings,
                   exclusions=exclusions)


# ----------------------------------------------------------------------------
# Run-directory glue: the only file access of this module (reads the per-sample
# artefacts of RUN/<model>/Tf_<T_f>/sample_<k>/, writes the stats stage's output)
# ----------------------------------------------------------------------------
@dataclass
class StudyTables:
    """The tables :func:`summarise` needs, gathered from a run directory.

    ``samples``: one row per complete glass sample (model, T_f, sample, N, N_IS,
    tau_cg, N_cg, tau_total, density, dir); ``tls``: the TLS rows of all samples
    (with ``t_detect`` when the exploration's pair table gives it);
    ``inherent_structures``: IS rows (first_seen in time units);
    ``double_wells``: the path catalogues (with ``xi``/``V`` profiles);
    ``incomplete``: sample directories without a TLS table (not counted);
    ``path_results``: every path the paths stage tried, with its ``status``
    (paths/path_results.parquet; for the count of paths not ok).
    """

    samples: pd.DataFrame
    tls: pd.DataFrame
    inherent_structures: pd.DataFrame | None = None
    double_wells: pd.DataFrame | None = None
    incomplete: list[str] = field(default_factory=list)
    path_results: pd.DataFrame | None = None


def _read_json(path) -> dict:
    import json

    try:
        with open(path, encoding="utf-8") as fh:
            d = json.load(fh)
        return d if isinstance(d, dict) else {}
    except (OSError, ValueError):
        return {}


def _read_parquet(path):
    from pathlib import Path

    p = Path(path)
    if not p.is_file():
        return None
    try:
        return pd.read_parquet(p)
    except Exception as exc:  # pyarrow raises many types
        raise InputError(f"{p}: cannot read as Parquet ({type(exc).__name__})") from None


def _sample_dirs(run_dir) -> list[dict]:
    """Sample directories RUN/<model>/Tf_<T_f>/sample_<k>/ found on disk."""
    import re
    from pathlib import Path

    out = []
    for d in sorted(Path(run_dir).glob("*/Tf_*/sample_*")):
        if not d.is_dir():
            continue
        m_t = re.fullmatch(r"Tf_(.+)", d.parent.name)
        m_s = re.fullmatch(r"sample_(\d+)", d.name)
        if not (m_t and m_s):
            continue
        try:
            T_f = float(m_t.group(1))
        except ValueError:
            continue
        out.append({"label": d.parent.parent.name, "T_f": T_f, "sample": int(m_s.group(1)), "dir": str(d)})
    return out


def load_study(run_dir=None, samples: Sequence[Mapping[str, Any]] | None = None) -> StudyTables:
    """Gather the per-sample artefacts of a study into :class:`StudyTables`.

    ``samples``: the pipeline's sample records (dicts with ``dir``, ``label`` or
    ``model``, ``T_f``, ``sample``, optionally ``n``, ``density``, ``ok``); by
    default every ``RUN/<model>/Tf_<T_f>/sample_<k>/`` under ``run_dir``. Reads
    ``prepare/prepare.json``, ``explore/explore.json``,
    ``explore/inherent_structures.parquet``, ``explore/pairs.parquet``,
    ``paths/double_wells.parquet``, ``paths/path_results.parquet`` and
    ``quantum/tls.parquet``; a sample without
    ``quantum/tls.parquet`` is incomplete and left out (listed).
    """
    from pathlib import Path

    if samples is None:
        if run_dir is None:
            raise InputError("load_study: give a run directory or the sample records")
        if not Path(run_dir).is_dir():
            raise InputError(f"{run_dir}: run directory not found")
        samples = _sample_dirs(run_dir)
    srows, tls_l, is_l, dw_l, pr_l, incomplete = [], [], [], [], [], []
    for rec in samples:
        d = Path(rec["dir"])
        label = str(rec.get("label") or rec.get("model"))
        T_f = float(rec["T_f"])
        k = int(rec["sample"])
        tls = _read_parquet(stage_file(d, QUANTUM, TLS))
        if tls is None or rec.get("ok") is False:
            incomplete.append(str(d))
            continue
        prep = _read_json(stage_file(d, PREPARE, PREPARE_META))
        exj = _read_json(stage_file(d, EXPLORE, EXPLORE_META))
        par = exj.get("params", {}) if isinstance(exj.get("params"), dict) else {}
        N = rec.get("n") or prep.get("N") or prep.get("n") or exj.get("n_particles")
        if N is None:
            try:
                from .io import read as _read_conf

                N = _read_conf(stage_file(d, PREPARE, GLASS)).n
            except Exception:  # noqa: BLE001 - reported below as a missing N
                N = None
        if N is None:
            raise InputError(f"{d}: number of particles unknown (no prepare/prepare.json 'N' and no glass.h5)")
        row = {"model": label, "model_name": rec.get("model", prep.get("model", label)), "T_f": T_f, "sample": k,
               "N": int(N), "dir": str(d)}
        dens = rec.get("density") or prep.get("density")
        if dens:
            row["density"] = float(dens)
        dt = float(par.get("dt", float("nan")))
        if "cg_steps" in par:
            row["tau_cg"] = float(par["tau_cg"])  # a time, as 002 Table I
        elif "tau_cg" in par:
            row["tau_cg"] = float(par["tau_cg"]) * dt  # explore.json before the one schema: MD steps
        n_cg = exj.get("regular_minimisations")
        per_run = par.get("n_cg", par.get("n_min"))
        if n_cg is None and per_run is not None:
            n_cg = int(per_run) * int(par.get("runs", 1))
        if n_cg is not None:
            row["N_cg"] = int(n_cg)
            if "tau_cg" in row:
                row["tau_total"] = row["N_cg"] * row["tau_cg"]  # 002 Sec. II D: tau_total = N_cg tau_cg
        keys = {"model": label, "T_f": T_f, "sample": k}
        ist = _read_parquet(stage_file(d, EXPLORE, INHERENT_STRUCTURES))
        if ist is not None:
            ist = ist.copy()
            if "first_seen_time" in ist.columns:
                ist["first_seen_steps"] = ist.get("first_seen")
                ist["first_seen"] = ist["first_seen_time"]
            ist = ist[ist["first_seen"].to_numpy(dtype=float) >= 0] if "first_seen" in ist.columns else ist
            row["N_IS"] = int(len(ist))
            is_l.append(ist.assign(**keys))
        elif "n_is" in exj:
            row["N_IS"] = int(exj["n_is"])
        pairs = _read_parquet(stage_file(d, EXPLORE, PAIRS))
        cat = _read_parquet(stage_file(d, PATHS, DOUBLE_WELLS))
        pres = _read_parquet(stage_file(d, PATHS, PATH_RESULTS))
        if pres is not None and len(pres):
            pr_l.append(pres.assign(**keys))
        tls = tls.copy()
        if cat is not None and len(cat):
            cat = cat.copy()
            if pairs is not None and "first_time" in pairs.columns and len(pairs):
                ft = {}
                for a, b, t in pairs[["is_a", "is_b", "first_time"]].itertuples(index=False):
                    ft[(int(a), int(b))] = ft[(int(b), int(a))] = float(t)
                ca = cat["pair_a"] if "pair_a" in cat.columns else cat["is_a"]
                cb = cat["pair_b"] if "pair_b" in cat.columns else cat["is_b"]
                cat["t_detect"] = [ft.get((int(a), int(b)), np.nan) if pd.notna(a) and pd.notna(b) else np.nan
                                   for a, b in zip(ca, cb)]
                if "dw_id" in tls.columns and "t_detect" not in tls.columns:
                    tls = tls.merge(cat[["dw_id", "t_detect"]], on="dw_id", how="left")
            dw_l.append(cat.assign(**keys))
        tls_l.append(tls.assign(**keys))
        srows.append(row)
    if not srows:
        where = run_dir if run_dir is not None else "the sample records"
        raise InputError(f"{where}: no complete glass sample (no */Tf_*/sample_*/quantum/tls.parquet)")
    cat_ = lambda L: pd.concat([x for x in L if len(x)], ignore_index=True) if any(len(x) for x in L) else None  # noqa: E731
    tls_all = cat_(tls_l)
    if tls_all is None:
        tls_all = pd.DataFrame(columns=["model", "T_f", "sample", "dw_id", "units", "m_tilde", "kT_Q", "E"])
    return StudyTables(pd.DataFrame(srows), tls_all, cat_(is_l), cat_(dw_l), incomplete, cat_(pr_l))


def study_stats(samples=None, out_dir=None, run_dir=None, params: StatsParams | None = None, *, seed: int = 0,
                order: int = 0, units: Mapping[str, Any] | None = None, **overrides) -> Summary:
    """The stats stage: :func:`load_study` + :func:`summarise`, written to ``out_dir``.

    ``params``, ``**overrides``: a :class:`StatsParams` and/or its fields as keywords
    (plateau_emin, plateau_emax, bootstrap, confidence); defaults those of the study file's
    ``[stats]``; a misspelt keyword is refused.

    Writes ``stats.json`` (:meth:`Summary.as_dict` plus the incomplete samples;
    every group carries its ``exclusions`` and ``paths_not_ok`` counts) and the
    tables as CSV (``table.csv``, ``curves.csv``, ``heat_capacity.csv``,
    ``time.csv``, ``decomposition.csv``, ``samples.csv``, ``exclusions.csv``).
    Returns the Summary.
    """
    from pathlib import Path

    from .io.atomic import atomic_open

    p = StatsParams.merged("stats", params, **overrides)
    tables = load_study(run_dir, samples)
    S = summarise(tables.samples, tables.tls, tables.inherent_structures, units=units,
                  e_range=(p.plateau_emin or 0.0, p.plateau_emax), order=order, n_boot=p.bootstrap,
                  ci=p.confidence,
                  seed=seed, path_results=tables.path_results, double_wells=tables.double_wells)
    if out_dir is not None:
        import json

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for name, df in (("table", S.table), ("curves", S.curves), ("heat_capacity", S.heat_capacity),
                         ("time", S.time), ("decomposition", S.decomposition), ("samples", S.samples),
                         ("exclusions", S.exclusions)):
            with atomic_open(out / f"{name}.csv", "w") as fh:
                df.to_csv(fh, index=False)
        d = S.as_dict()
        d["incomplete_samples"] = tables.incomplete
        with atomic_open(out / STATS_JSON, "w") as fh:
            json.dump(d, fh, indent=1, default=_json_default)
    return S


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return None if not np.isfinite(o) else float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.bool_,)):
        return bool(o)
    return str(o)
