"""Lennard-Jones mixtures: the ternary KA2 model (TLJ) and the Kob-Andersen 80:20 mixture.

TLJ (002_b660eabf4d6c7be7.txt Sec. II B, Eqs. (4)-(5)):
    V(r) = 4 eps_ij [(s_ij/r)^12 - (s_ij/r)^6] + S(r),  r / s_ij < x_c = 2.5
    S(r) = 4 eps_ij [C0 + C2 (r/s_ij)^2 + C4 (r/s_ij)^4]
    C0 = 10/x_c^6 - 28/x_c^12, C2 = 48/x_c^14 - 15/x_c^8, C4 = 6/x_c^10 - 21/x_c^16
    types A (large), B (small), C (medium) in the ratio 4:1:1; density 1.35;
    eps_AB = 1.5, eps_AC = 0.9, eps_BB = 0.5, eps_BC = 0.84, eps_CC = 0.94;
    s_AB = 0.8, s_AC = 1.25, s_BB = 0.88, s_BC = 1.0, s_CC = 0.75.

KA (Kob & Andersen, PRE 51, 4626 (1995)): A:B = 80:20, density 1.2,
    eps_AB = 1.5, eps_BB = 0.5, s_AB = 0.8, s_BB = 0.88, cutoff 2.5 s_ij;
    either with the same smoothing polynomial as TLJ or truncated and shifted.
"""

from __future__ import annotations

import numpy as np

from .base import MODE_TYPES, PairModel

XC = 2.5


def smoothing_coefficients(x: float = XC) -> tuple[float, float, float]:
    """C0, C2, C4 of 002 Eq. (5): V, V', V'' continuous (zero) at r = x s_ij."""
    return (10.0 / x**6 - 28.0 / x**12, 48.0 / x**14 - 15.0 / x**8, 6.0 / x**10 - 21.0 / x**16)


def _sym(n, entries):
    m = np.zeros((n, n))
    for (i, j), v in entries.items():
        m[i, j] = m[j, i] = v
    return m


# 002 Sec. II B parameters; index 0 = A, 1 = B, 2 = C
TLJ_EPS = _sym(3, {(0, 0): 1.0, (0, 1): 1.5, (0, 2): 0.9, (1, 1): 0.5, (1, 2): 0.84, (2, 2): 0.94})
TLJ_SIGMA = _sym(3, {(0, 0): 1.0, (0, 1): 0.8, (0, 2): 1.25, (1, 1): 0.88, (1, 2): 1.0, (2, 2): 0.75})
# 002 Sec. II C and Fig. 1: onset ~1.0, mode coupling ~0.62, glass ceiling T_g ~ 0.46-0.51
TLJ_TEMPERATURES = {"onset": 1.0, "mode_coupling": 0.62, "glass_transition": 0.49,
                    "lowest_equilibrated": 0.488}

KA_EPS = _sym(2, {(0, 0): 1.0, (0, 1): 1.5, (1, 1): 0.5})
KA_SIGMA = _sym(2, {(0, 0): 1.0, (0, 1): 0.8, (1, 1): 0.88})
# Kob-Andersen at density 1.2: onset ~0.8, mode coupling 0.435
KA_TEMPERATURES = {"onset": 0.8, "mode_coupling": 0.435}


def make_tlj() -> PairModel:
    c0, c2, c4 = smoothing_coefficients(XC)
    return PairModel(
        name="tlj", mode=MODE_TYPES, sigma=TLJ_SIGMA, eps=4.0 * TLJ_EPS, xc=XC,
        a12=1.0, a6=1.0, c0=c0, c2=c2, c4=c4, density=1.35,
        composition=(4 / 6, 1 / 6, 1 / 6), type_names=("A", "B", "C"),
        reference_temperatures=TLJ_TEMPERATURES,
        citation="002_b660eabf4d6c7be7.txt Eqs. (4)-(5)",
    )


def make_ka(smooth: bool = True) -> PairModel:
    if smooth:
        c0, c2, c4 = smoothing_coefficients(XC)
    else:
        # truncated and shifted: v(r_c) = 0, force discontinuous at r_c
        c0, c2, c4 = -(XC**-12 - XC**-6), 0.0, 0.0
    return PairModel(
        name="ka" if smooth else "ka-ts", mode=MODE_TYPES, sigma=KA_SIGMA, eps=4.0 * KA_EPS, xc=XC,
        a12=1.0, a6=1.0, c0=c0, c2=c2, c4=c4, density=1.2,
        composition=(0.8, 0.2), type_names=("A", "B"),
        reference_temperatures=KA_TEMPERATURES,
        citation="Kob & Andersen PRE 51, 4626 (1995); smoothing of 002 Eq. (5)" if smooth
        else "Kob & Andersen PRE 51, 4626 (1995), truncated and shifted at 2.5 s_ij",
    )
