"""Polydisperse soft spheres (PSS).

Definition: ../shared/papers/README.md (Ninarello, Berthier, Coslovich, PRX 7,
021039 (2017)), used in 001_1b8b0be289dbb4b8.txt Eq. (1):

    v(r) = eps (s_ij / r)^12 + eps (c0 + c2 (r/s_ij)^2 + c4 (r/s_ij)^4),  r < 1.25 s_ij
    s_ij = (s_i + s_j) / 2 (1 - 0.2 |s_i - s_j|)
    c0 = -28 / x^12, c2 = 48 / x^14, c4 = -21 / x^16,  x = 1.25

so that v, v', v'' vanish at the cutoff. Diameters follow P(s) ~ s^-3 on
[s_min, s_max] = [0.73, 1.62] exactly (papers/README.md: the bounds of the authors'
glasses and of ../shared/reference/pss; ratio 0.4506, mean diameter
2 s_min s_max / (s_min + s_max) = 1.0065, mean s^3 = 1.1903). Number density 1.

An earlier version of the papers' README gave "ratio 0.45 and mean 1", i.e.
[0.7250, 1.6112]: 1.9 % less packing (mean s^3 1.1668), a different glass whose
T_f = 0.07 inherent structures lie 12 standard deviations below the authors'. It is
not offered as a model: nothing in the papers uses it.

Diameters are drawn one way by default at every entry point (``DEFAULT_DIAMETERS``):
the deterministic quantiles F^-1(k/N), k = 0..N-1, as in the reference data, so every
glass of a study holds the same multiset of diameters (swap moves only permute it) and
glass-to-glass differences come from the preparation alone; i.i.d. draws
(``"random"``) change the packing fraction, and with it E/N, by several standard
deviations between samples of N = 500.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .base import MODE_DIAMETERS, PairModel

XC = 1.25
NONADDITIVITY = 0.2
SIGMA_MIN = 0.73  # papers/README.md: the authors' bounds, exactly
SIGMA_MAX = 1.62
DIAMETER_METHODS = ("quantiles", "random")
DEFAULT_DIAMETERS = "quantiles"

# Temperatures quoted in 001_1b8b0be289dbb4b8.txt ("Glass preparation") for this model: onset
# T_o = 0.18, mode-coupling T_MCT = 0.104, T_g ~ 0.07 (where log(tau_a/tau_o) = 10.7); the
# papers' T_f range is 0.062 (ultrastable) to 0.092 (hyperquenched).
REFERENCE_TEMPERATURES = {"onset": 0.18, "mode_coupling": 0.104, "glass_transition": 0.07,
                          "lowest_equilibrated": 0.062}


def sigma_moment(k: int, smin: float = SIGMA_MIN, smax: float = SIGMA_MAX) -> float:
    """<s^k> of P(s) = A s^-3 on [smin, smax], A = 2 / (smin^-2 - smax^-2).

    <s> = A (smin^-1 - smax^-1) = 2 smin smax / (smin + smax); <s^3> = A (smax - smin).
    """
    A = 2.0 / (smin**-2 - smax**-2)
    if k == 2:
        return A * float(np.log(smax / smin))
    return A * (smax ** (k - 2) - smin ** (k - 2)) / (k - 2)


def sigma_quantile(p, smin: float = SIGMA_MIN, smax: float = SIGMA_MAX):
    """Inverse CDF of P(s) ~ s^-3 on [smin, smax]: F(s) = (smin^-2 - s^-2)/(smin^-2 - smax^-2)."""
    p = np.asarray(p, dtype=float)
    return (smin**-2 - p * (smin**-2 - smax**-2)) ** -0.5


class PSSModel(PairModel):
    def draw_diameters(self, n, rng, method=DEFAULT_DIAMETERS, smin=SIGMA_MIN, smax=SIGMA_MAX):
        if method == "random":
            d = sigma_quantile(rng.uniform(size=n), smin, smax)
        elif method == "quantiles":
            # deterministic quantiles at k/N, k = 0..N-1, as in ../shared/reference/pss
            d = sigma_quantile(np.arange(n) / n, smin, smax)
            rng.shuffle(d)
        else:
            raise InputError(f"diameter method must be 'quantiles' or 'random', got {method!r}")
        return d


def make_pss() -> PSSModel:
    x = XC
    return PSSModel(
        name="pss", mode=MODE_DIAMETERS,
        sigma=np.ones((1, 1)), eps=np.ones((1, 1)),
        xc=x, a12=1.0, a6=0.0,
        c0=-28.0 / x**12, c2=48.0 / x**14, c4=-21.0 / x**16,
        nonadditivity=NONADDITIVITY, density=1.0,
        composition=(1.0,), type_names=("P",),
        reference_temperatures=REFERENCE_TEMPERATURES,
        citation="001_1b8b0be289dbb4b8.txt Eq. (1); Ninarello et al. PRX 7, 021039 (2017)",
        # 001 "Glass preparation": F_s at k = 7.0; "Landscape exploration": T_MD = 0.04. MD time step
        # 0.01 (the swap-MD literature 001 builds on, Ninarello et al. 2017). Units: 001 Ar and Ni.
        k_alpha=7.0, md_dt=0.01, explore_temperature=0.04, explore_dt=0.01, units=("pss-ar", "pss-ni"),
    )
