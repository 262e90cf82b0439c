"""The quartic law D(omega) = A4 omega^4 of the quasi-localised modes.

002_b660eabf4d6c7be7.txt Fig. 10a and 004_9b896d29dc320c3d.txt SI ("Extract A_4
from D_L(omega) for small omega"): if D(omega) = A4 omega^4 then the cumulative
density of states I(omega) = int_0^omega D = A4 omega^5 / 5, so I(omega)/omega^5
has a plateau A4 / 5 just below the first phonon frequency omega_t. We read
A4 as 5 times the mean of I(omega_k)/omega_k^5 over the modes omega_k in a window
[omega_lo, omega_hi] below omega_t, and report it as the dimensionless
A4 omega_D^5 (D normalised per d N modes, int D = 1).

The uncertainty is a bootstrap over the glasses of the ensemble (the modes of
one glass are correlated through I); with a single glass it is the Poisson
error 1/sqrt(M) of the M modes below omega_hi.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import InputError


@dataclass
class A4Fit:
    A4: float
    A4_err: float
    omega_lo: float
    omega_hi: float
    n_modes: int          # modes of the ensemble below omega_hi
    n_window: int         # modes inside the window
    n_glasses: int
    n_dof: int
    omega_D: float | None = None

    @property
    def A4_omega_D5(self) -> float | None:
        return None if self.omega_D is None else self.A4 * self.omega_D**5

    @property
    def A4_omega_D5_err(self) -> float | None:
        return None if self.omega_D is None else self.A4_err * self.omega_D**5

    def to_dict(self) -> dict:
        d = asdict(self)
        d["A4_omega_D5"] = self.A4_omega_D5
        d["A4_omega_D5_err"] = self.A4_omega_D5_err
        return d


def _plateau(arrs, n_dof, lo, hi):
    w = np.sort(np.concatenate(arrs)) if arrs else np.zeros(0)
    w = w[w > 0]
    i = np.arange(1, len(w) + 1) / (n_dof * len(arrs))  # I(omega_k), 004 SI normalisation
    sel = (w >= lo) & (w <= hi)
    if not np.any(sel):
        return np.nan, 0, int(np.sum(w <= hi))
    return 5.0 * float(np.mean(i[sel] / w[sel] ** 5)), int(sel.sum()), int(np.sum(w <= hi))


def fit_a4(omegas, n_dof: int, omega_hi: float, omega_lo: float | None = None,
           omega_D: float | None = None, n_boot: int = 400, seed: int = 0,
           omega_max=None) -> A4Fit:
    """A4 from the plateau of I(omega)/omega^5 on [omega_lo, omega_hi] (default omega_lo = omega_hi / 2).

    omegas: list with one array of (positive, non-zero-mode) frequencies per glass;
    n_dof = d N of one glass; omega_hi: top of the window, typically a fraction of
    omega_t = 2 pi c_t / L (002 Eq. (18)); omega_D: Debye frequency for the
    dimensionless A4 omega_D^5; omega_max: per glass, the largest frequency computed
    (when only the lowest k modes are known), which must reach omega_hi.
    """
    if isinstance(omegas, np.ndarray) and omegas.ndim == 1:
        omegas = [omegas]
    arrs = [np.asarray(o, float).ravel() for o in omegas]
    if not arrs:
        raise InputError("A4 fit needs at least one glass")
    if not omega_hi > 0:
        raise InputError(f"A4 window top omega_hi must be positive, got {omega_hi}")
    lo = 0.5 * omega_hi if omega_lo is None else float(omega_lo)
    if not 0 <= lo < omega_hi:
        raise InputError(f"A4 window needs 0 <= omega_lo < omega_hi, got [{lo}, {omega_hi}]")
    if omega_max is not None:
        short = [k for k, m in enumerate(np.atleast_1d(omega_max)) if m < omega_hi]
        if short:
            raise InputError(f"glasses {short[:5]} have too few modes: their highest computed frequency is "
                             f"below the A4 window top {omega_hi:.4g}; compute more modes (k)")
    a4, nwin, nbelow = _plateau(arrs, n_dof, lo, omega_hi)
    if nwin == 0:
        raise InputError(f"no modes in the A4 window [{lo:.4g}, {omega_hi:.4g}]")
    if len(arrs) > 1 and n_boot > 0:
        rng = np.random.default_rng(seed)
        boots = []
        for _ in range(n_boot):
            pick = rng.integers(0, len(arrs), len(arrs))
            b, nb, _ = _plateau([arrs[p] for p in pick], n_dof, lo, omega_hi)
            if nb:
                boots.append(b)
        err = float(np.std(boots, ddof=1)) if len(boots) > 1 else a4 / np.sqrt(max(nbelow, 1))
    else:
        err = a4 / np.sqrt(max(nbelow, 1))
    return A4Fit(a4, err, lo, float(omega_hi), nbelow, nwin, len(arrs), int(n_dof), omega_D)
