"""Polydisperse soft spheres (PSS).

Definition: ../shared/papers/README.md (Ninarello, Berthier, Coslovich, PRX 7,
021039 (2017)), used in 001_1b8b0be289dbb4b8.txt Eq. (1):

    v(r) = eps (s_ij / r)^12 + eps (c0 + c2 (r/s_ij)^2 + c4 (r/s_ij)^4),  r < 1.25 s_ij
    s_ij = (s_i + s_j) / 2 (1 - 0.2 |s_i - s_j|)
    c0 = -28 / x^12, c2 = 48 / x^14, c4 = -21 / x^16,  x = 1.25

so that v, v', v'' vanish at the cutoff. Diameters follow P(s) ~ s^-3 on
[s_min, s_max] with s_min / s_max = 0.45 and mean 1. Number density 1.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .base import MODE_DIAMETERS, PairModel

XC = 1.25
NONADDITIVITY = 0.2
RATIO = 0.45  # s_min / s_max

# Temperatures quoted in 001_1b8b0be289dbb4b8.txt ("Glass preparation"): onset T_o = 0.18,
# mode-coupling T_MCT = 0.104, T_g ~ 0.07 (where log(tau_a/tau_o) = 10.7); the papers' T_f
# range is 0.062 (ultrastable) to 0.092 (hyperquenched).
REFERENCE_TEMPERATURES = {"onset": 0.18, "mode_coupling": 0.104, "glass_transition": 0.07,
                          "lowest_equilibrated": 0.062}


def sigma_bounds(mean: float = 1.0, ratio: float = RATIO) -> tuple[float, float]:
    """s_min, s_max of P(s) ~ s^-3 with s_min/s_max = ratio and the given mean.

    For P(s) = A s^-3 on [a, b]: A = 2 / (a^-2 - b^-2) and <s> = A (a^-1 - b^-1).
    """
    b_over_a = 1.0 / ratio
    # <s> / a = 2 (1 - 1/q) / (1 - 1/q^2) with q = b/a
    mean_over_a = 2 * (1 - 1 / b_over_a) / (1 - 1 / b_over_a**2)
    a = mean / mean_over_a
    return a, a * b_over_a


def sigma_quantile(p, smin: float, smax: float):
    """Inverse CDF of P(s) ~ s^-3 on [smin, smax]: F(s) = (smin^-2 - s^-2)/(smin^-2 - smax^-2)."""
    p = np.asarray(p, dtype=float)
    return (smin**-2 - p * (smin**-2 - smax**-2)) ** -0.5


class PSSModel(PairModel):
    def draw_diameters(self, n, rng, method="random", smin=None, smax=None):
        lo, hi = sigma_bounds()
        smin = lo if smin is None else smin
        smax = hi if smax is None else smax
        if method == "random":
            d = sigma_quantile(rng.uniform(size=n), smin, smax)
        elif method == "quantiles":
            # deterministic quantiles at k/N, k = 0..N-1, as in ../shared/reference/pss
            d = sigma_quantile(np.arange(n) / n, smin, smax)
            rng.shuffle(d)
        else:
            raise InputError(f"diameter method must be 'random' or 'quantiles', got {method!r}")
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
    )
