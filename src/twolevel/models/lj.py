"""Lennard-Jones mixtures: the ternary KA2 model (TLJ) and the Kob-Andersen 80:20 mixture.

TLJ (002_b660eabf4d6c7be7.txt Sec. II B, Eqs. (4)-(5)):
    V(r) = 4 eps_ij [(s_ij/r)^12 - (s_ij/r)^6] + S(r),  r / s_ij < x_c = 2.5
    S(r) = 4 eps_ij [C0 + C2 (r/s_ij)^2 + C4 (r/s_ij)^4]
    C0 = 10/x_c^6 - 28/x_c^12, C2 = 48/x_c^14 - 15/x_c^8, C4 = 6/x_c^10 - 21/x_c^16
    types A (large), B (small), C (medium) in the ratio 4:1:1; density 1.35.
    002 prints eps_AB = 1.5, eps_AC = 0.9, eps_BB = 0.5, eps_BC = 0.84, eps_CC = 0.94;
    s_AB = 0.8, s_AC = 1.25, s_BB = 0.88, s_BC = 1.0, s_CC = 0.75.

    The C row as printed has its energies and lengths interchanged (a slip, docs/papers.md):
    with eps_AC = 1.25, eps_BC = 1.0, eps_CC = 0.75 and s_AC = 0.9, s_BC = 0.84, s_CC = 0.94
    every C parameter is the arithmetic mean of the A and B ones,
        eps_AC = (eps_AA + eps_AB)/2, eps_BC = (eps_AB + eps_BB)/2, eps_CC = (eps_AA + eps_BB)/2,
        s_AC = (s_AA + s_AB)/2,       s_BC = (s_AB + s_BB)/2,       s_CC = (s_AA + s_BB)/2,
    i.e. C interpolates between A and B, the construction of the KA2 model of Parmar, Ozawa,
    Berthier, PRL 125, 085505 (2020) (002's Ref. [31]) that makes type exchanges cheap. With
    the printed row C is the smallest particle towards itself (s_CC = 0.75 < s_BB = 0.88) but
    larger than A towards A (s_AC = 1.25), exchanges are essentially never accepted and the
    hybrid gives no speed-up, against 002 Sec. II C ("up to 8 orders of magnitude"). Measured
    in validation/angell.py (docs/prepare.md): model "tlj" (alias "ka2") uses the midpoint
    row, model "tlj-printed" the literal text.

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


# 002_b660eabf4d6c7be7.txt Sec. II B as printed; index 0 = A, 1 = B, 2 = C (model "tlj-printed")
TLJ_PRINTED_EPS = _sym(3, {(0, 0): 1.0, (0, 1): 1.5, (0, 2): 0.9, (1, 1): 0.5, (1, 2): 0.84, (2, 2): 0.94})
TLJ_PRINTED_SIGMA = _sym(3, {(0, 0): 1.0, (0, 1): 0.8, (0, 2): 1.25, (1, 1): 0.88, (1, 2): 1.0,
                             (2, 2): 0.75})
# the same numbers with the C row's energies and lengths interchanged: C = midpoint of A and B
# (KA2 construction, Parmar, Ozawa, Berthier PRL 125, 085505 (2020) = 002 Ref. [31]; model "tlj")
TLJ_EPS = _sym(3, {(0, 0): 1.0, (0, 1): 1.5, (0, 2): 1.25, (1, 1): 0.5, (1, 2): 1.0, (2, 2): 0.75})
TLJ_SIGMA = _sym(3, {(0, 0): 1.0, (0, 1): 0.8, (0, 2): 0.9, (1, 1): 0.88, (1, 2): 0.84, (2, 2): 0.94})
# 002 Sec. II C and Fig. 1: onset ~1.0, mode coupling ~0.62, glass ceiling T_g ~ 0.46-0.51
TLJ_TEMPERATURES = {"onset": 1.0, "mode_coupling": 0.62, "glass_transition": 0.49,
                    "lowest_equilibrated": 0.488}

KA_EPS = _sym(2, {(0, 0): 1.0, (0, 1): 1.5, (1, 1): 0.5})
KA_SIGMA = _sym(2, {(0, 0): 1.0, (0, 1): 0.8, (1, 1): 0.88})
# Kob-Andersen at density 1.2: onset ~0.8, mode coupling 0.435
KA_TEMPERATURES = {"onset": 0.8, "mode_coupling": 0.435}


def make_tlj(printed: bool = False) -> PairModel:
    """TLJ of 002 Eqs. (4)-(5): the midpoint C row (default, "tlj") or the row as printed
    in 002 Sec. II B ("tlj-printed"); see the module docstring."""
    c0, c2, c4 = smoothing_coefficients(XC)
    eps, sigma = (TLJ_PRINTED_EPS, TLJ_PRINTED_SIGMA) if printed else (TLJ_EPS, TLJ_SIGMA)
    return PairModel(
        name="tlj-printed" if printed else "tlj", mode=MODE_TYPES, sigma=sigma, eps=4.0 * eps, xc=XC,
        a12=1.0, a6=1.0, c0=c0, c2=c2, c4=c4, density=1.35,
        composition=(4 / 6, 1 / 6, 1 / 6), type_names=("A", "B", "C"),
        reference_temperatures=TLJ_TEMPERATURES,
        citation=("002_b660eabf4d6c7be7.txt Eqs. (4)-(5), Sec. II B parameters as printed" if printed else
                  "002_b660eabf4d6c7be7.txt Eqs. (4)-(5); C row = midpoint of A and B (KA2 of 002 Ref. [31], "
                  "Parmar, Ozawa, Berthier PRL 125, 085505 (2020)); see docs/papers.md"),
        # 002 Sec. II C: F_s at q = 7.2, MD dt 0.005; Sec. II D: exploration at T_exp = 0.4 with dt = 2.5e-3;
        # units Ar and NiP (002 Sec. IV B)
        k_alpha=7.2, md_dt=0.005, explore_temperature=0.4, explore_dt=0.0025, units=("tlj-ar", "tlj-nip"),
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
        # S(k) peak of KA at density 1.2: k = 7.25 (Kob & Andersen 1995); protocols as TLJ (002)
        k_alpha=7.25, md_dt=0.005, explore_temperature=0.4, explore_dt=0.0025, units=("tlj-ar", "tlj-nip"),
    )
