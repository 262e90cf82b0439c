"""Nonlinear (cubic) modes and the quartic expansion of the energy along them.

004_9b896d29dc320c3d.txt SI "Non-linear modes": starting from a quasi-localised
mode z (an eigenvector of the Hessian below omega_t), the nonlinear mode z_f
optimises the cubic cost function built from the contractions

    b(z) = H : z z                   (004 SI Eq. (15))
    a(z) = U3 . z z z                (004 SI Eq. (16))

Note on the cost. 004 prints F = |U3 . zzz|^2 / |H : zz|^3 and says that z_f
*minimises* F and that F is proportional to the energy barrier. The barrier of
the cubic expansion U(s) = b s^2/2 + a s^3/6 is (2/3) b^3 / a^2, i.e. proportional
to 1 / F; minimising the printed F would drive a -> 0 (a trivial zero of the cubic
form), not to a soft spot. We therefore minimise the barrier proxy

    C(z) = (H : zz)^3 / (U3 . zzz)^2 = 1 / F,

which is the cost of Gartner & Lerner, PRE 93, 011001 (2016) and Kapteijns,
Richard & Lerner, PRE 101, 032130 (2020) (004 refs. [51, 52]), i.e. we maximise
the printed F. Both are invariant to the norm of z (degree 6 over degree 6).

Along the unit vector z_f the energy is expanded as 004 Eq. (1),
U(s) = m omega_1^2 s^2 / 2 + kappa_1 s^3 / 6 + chi_1 s^4 / 24 (unit masses), with
omega_1^2 = H : z z, kappa_1 = U3 . zzz (sign chosen positive, 004 ref. [38]) and
chi_1 = U4 . zzzz from a central finite difference of U3 . zzz along z.

The functions accept any potential with ``hessian_dot(x, z)`` and
``third_contract(x, z)`` (a :class:`~twolevel.engine.ParticleSystem` or an
analytic test landscape).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import minimize as sp_minimize

from ..errors import InputError


def _project(pot, z):
    """Remove rigid translations from z for periodic particle systems."""
    dim = getattr(pot, "dim", None)
    if getattr(pot, "box", None) is None or not dim:
        return z
    zz = z.reshape(-1, dim)
    return (zz - zz.mean(axis=0)).reshape(z.shape)


def contractions(pot, x, z):
    """(a, b, T, Hz) with a = U3 . zzz, b = H : zz, T = U3 : zz (vector), Hz = H z."""
    z = np.asarray(z, dtype=float)
    hz = np.asarray(pot.hessian_dot(x, z), dtype=float).reshape(z.shape)
    t = np.asarray(pot.third_contract(x, z), dtype=float).reshape(z.shape)
    return float(np.vdot(z, t)), float(np.vdot(z, hz)), t, hz


def cubic_cost(pot, x, z) -> float:
    """The cost as printed in 004 SI, F = |U3 . zzz|^2 / |H : zz|^3 (norm-invariant)."""
    a, b, _, _ = contractions(pot, x, z)
    return a * a / abs(b) ** 3


def barrier_cost(pot, x, z) -> float:
    """C = (H : zz)^3 / (U3 . zzz)^2 = 1 / F, proportional to the cubic barrier; minimised."""
    a, b, _, _ = contractions(pot, x, z)
    return b**3 / max(a * a, 1e-300)


def find_nonlinear_mode(pot, x, z0, gtol: float = 1e-8, max_iter: int = 2000):
    """Minimise C(z) = b^3 / a^2 from z0 (a QLM); returns (unit z_f, info dict).

    Gradient: dC/dz = (6 b^2 / a^2) (H z - (b / a) U3 : zz), orthogonal to z (C has degree 0).
    The minimiser is scipy's L-BFGS-B on the unconstrained z, z renormalised afterwards.
    """
    z0 = np.asarray(z0, dtype=float)
    shape = z0.shape
    z0 = _project(pot, z0.ravel())
    nz = np.linalg.norm(z0)
    if not nz > 0:
        raise InputError("the starting direction of a nonlinear mode must be non-zero")
    z0 = z0 / nz

    def fun(zf):
        zu = zf / np.linalg.norm(zf)
        a, b, t, hz = contractions(pot, x, zu.reshape(shape))
        a2 = max(a * a, 1e-300)
        c = b**3 / a2
        g = (6 * b * b / a2) * (hz.ravel() - (b / a) * t.ravel()) if a != 0 else np.zeros_like(zf)
        # chain rule through zu = z / |z|: the gradient is already orthogonal to z
        return c, g / np.linalg.norm(zf)

    c0 = fun(z0)[0]
    res = sp_minimize(fun, z0, jac=True, method="L-BFGS-B",
                      options={"maxiter": max_iter, "gtol": gtol * max(c0, 1e-300), "ftol": 1e-15})
    z = _project(pot, res.x)
    z /= np.linalg.norm(z)
    return z.reshape(shape), {"cost0": float(c0), "cost": float(res.fun), "iterations": int(res.nit),
                              "converged": bool(res.success)}


@dataclass
class Expansion:
    """Coefficients of 004 Eq. (1) along a unit direction (unit masses)."""

    omega2: float
    kappa: float
    chi: float

    @property
    def omega(self) -> float:
        return float(np.sign(self.omega2) * np.sqrt(abs(self.omega2)))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["omega"] = self.omega
        return d


def expand_along(pot, x, z, h: float = 1e-3) -> tuple[Expansion, np.ndarray]:
    """omega^2 = H : zz, kappa = U3 . zzz >= 0 (z flipped if needed), chi = U4 . zzzz.

    chi is the central difference [a(x + h z) - a(x - h z)] / (2 h) of a = U3 . zzz
    (error O(h^2) times the fifth derivative). Returns (Expansion, the possibly flipped unit z).
    """
    z = np.asarray(z, dtype=float)
    z = z / np.linalg.norm(z)
    a, b, _, _ = contractions(pot, x, z)
    if a < 0:  # 004 ref. [38]: kappa > 0 without loss of generality
        z = -z
        a = -a
    x = np.asarray(x, dtype=float)
    ap, _, _, _ = contractions(pot, x + h * z.reshape(x.shape), z)
    am, _, _, _ = contractions(pot, x - h * z.reshape(x.shape), z)
    chi = (ap - am) / (2 * h)
    return Expansion(b, a, chi), z


def nonlinear_modes(pot, x, vectors, indices=None, omega=None, progress: bool = False,
                    h: float = 1e-3) -> list[dict]:
    """Nonlinear modes from the columns ``vectors[:, indices]`` (QLMs) of one glass.

    Returns one record per mode: mode (column index), omega (harmonic frequency, if
    given), omega_1, kappa_1, chi_1 along z_f (004 Eq. (1)), kappa, chi along the harmonic
    mode itself (004 SI Fig. 4, right), overlap |z_f . e|, PR / N of z_f (``pr_fraction``), cost before/after,
    and ``duplicate_of``: the first earlier mode whose z_f has |overlap| > 0.99 with this
    one (several QLMs often relax to the same nonlinear mode), -1 if none. Statistics
    over nonlinear modes (:func:`twolevel.vibrations.softpotential.symmetric_fraction`)
    count each distinct z_f once.
    """
    from ..measures import participation_fraction

    vectors = np.asarray(vectors, dtype=float)
    if indices is None:
        indices = range(vectors.shape[1])
    dim = getattr(pot, "dim", 1) or 1
    x = np.asarray(x, dtype=float)
    it = list(indices)
    if progress:
        from ..progressbar import progress_bar
        it = progress_bar(it, desc="nonlinear modes", unit="mode")
    out = []
    found: list[np.ndarray] = []
    for j in it:
        e = vectors[:, j].reshape(x.shape)
        harm, _ = expand_along(pot, x, e, h=h)
        zf, info = find_nonlinear_mode(pot, x, e)
        ex, zf = expand_along(pot, x, zf, h=h)
        dup = -1
        for rec_prev, zp in zip(out, found):
            if abs(np.vdot(zp, zf.ravel())) > 0.99:
                dup = rec_prev["mode"] if rec_prev["duplicate_of"] < 0 else rec_prev["duplicate_of"]
                break
        found.append(zf.ravel().copy())
        rec = {"mode": int(j),
               "omega": float(omega[j]) if omega is not None else harm.omega,
               "omega_1": ex.omega, "kappa_1": ex.kappa, "chi_1": ex.chi,
               "kappa": harm.kappa, "chi": harm.chi,
               "overlap": float(abs(np.vdot(zf.ravel(), e.ravel()) / np.linalg.norm(e))),
               "pr_fraction": float(participation_fraction(zf.ravel(), dim)[0]) if x.size % dim == 0 else np.nan,
               "duplicate_of": dup, **info}
        out.append(rec)
    return out
