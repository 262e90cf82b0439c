"""Quantum tunnelling along a double-well path: splitting E, Delta, Delta_0, Gamma.

Reduced units throughout: hbar = 1, energies in epsilon, lengths in sigma, so a
path of length ``d`` (sigma) parametrised by xi in [0, 1] carries the 1D
Schrödinger equation

    -(1 / (2 m~ d^2)) psi''(xi) + V(xi) psi(xi) = e psi(xi)

(# 002_b660eabf4d6c7be7.txt Eq. (10); 001_1b8b0be289dbb4b8.txt Eq. (2)), with
m~ = m sigma^2 epsilon / hbar^2 (# 002 Eq. (11)). ``m_eff = m~ d^2`` is the only
combination that enters.

Method (docs/quantum.md has the details and the convergence study):

1. Profile. V(xi) at the band images is interpolated by a cubic spline with zero
   slope at both ends (the ends are minima of the landscape) (# 002 Sec. III C:
   "interpolated MEP ... using a cubic spline"). Energies are measured from the
   lower minimum internally, so adding a constant to V changes nothing. A spline
   dip below an end shallower than a tenth of that well's zero-point energy is
   not a minimum (a small bump next to the end).
2. End curvatures k = d^2 V / d xi^2 at xi = 0, 1: the catalogue's ``curv_low`` /
   ``curv_high`` (end-minimum Hessian on the path tangent, times d^2; 002 App. C)
   when given, else estimated from the images (:data:`CURV_SOURCE`: a local
   polynomial checked against a least-squares one, else a secant that a small
   bump cannot make negative).
3. Extension. Beyond xi = 0 and xi = 1 the potential is continued harmonically,
   V(xi) = V(end) + k (xi - end)^2 / 2 (002 Fig. 5, "extrapolation beyond the two
   minima"), initially ``margin`` zero-point lengths l = (m~ d^2 k)^(-1/4) (at most
   2 in xi to start with). ``n_xi`` grid points (# 002 Sec. III C "N_xi = 2000")
   span that initial domain; the kinetic term is the 5-point, fourth-order stencil
   (# 002 Sec. III C "5-point finite difference stencil"), a pentadiagonal matrix.
4. Domain. After each solve the shift of e1 and e2 by the hard walls is estimated
   from their eigenvectors, dE = psi'(wall)^2 / (4 m~ d^2 kappa); a side whose
   shift exceeds half of 1e-8 E + 1e-13 e2 gets twice its margin at the same
   spacing, up to 8 n_xi points, else the row is ``domain_not_converged`` (E = NaN).
   No cap changes E.
5. Eigenvalues. The five lowest eigenvalues (# 002 Sec. III C, "five smallest
   eigenvalues ... ARPACK") by shift-and-invert block Lanczos (block size 2, full
   reorthogonalisation) with a banded Cholesky factorisation of H - s, s below
   the ground state; Ritz vectors of e1, e2. Block size 2 resolves the
   near-degenerate tunnelling doublets exactly, which single-vector Lanczos can
   miss. Splitting E = e2 - e1. If it does not converge, LAPACK on the same grid.
   ``method="arpack"`` (scipy eigsh, shift-invert) and ``method="lapack"``
   (scipy.linalg.eigvals_banded) are available for cross-checks.
6. Doublet. ``tls_class`` (:data:`TLS_CLASS`) is "doublet" when e2 is below the
   barrier top, the projector on xi < xi_ts restricted to span{psi1, psi2} has one
   eigenvalue >= 0.9 and one <= 0.1 (one state in each well), and
   E >= |Delta| - 0.25 (omega_1 + omega_2)/2 (002 Eq. (12): E = sqrt(Delta^2 +
   Delta_0^2) up to anharmonic shifts). ``is_tls`` = doublet and E < k_B T_Q.
7. TLS parameters (# 002 Eqs. (12)-(15)): Delta = dV + (omega_2 - omega_1)/2
   (Eq. (13)), omega_i = sqrt(k_i / (m~ d^2)) the harmonic frequencies of the
   lower (1) and upper (2) minimum; Delta_0 = eps_bar exp(-int_a^b |p| dx)
   with eps_bar = (e1 + e2)/2 measured from the lower minimum and a, b the
   turning points of that level on both sides of the barrier (Eq. (15));
   Gamma = (1/m) [int_0^a dx/p]^-1 exp(-2 int_a^b |p| dx) with the level e2
   (Eq. (14)), x = 0 at the lower minimum. Gamma is in units of epsilon/hbar.
   The integrals: u = a +- s^2 from each turning point, Gauss-Legendre per
   spline segment (agree with adaptive quadrature to ~1e-11).

Levels above the barrier top or below the upper minimum have no two turning
points; the affected quantity is NaN and its status says why (see
:data:`WKB_STATUS`).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping, Sequence

import numba as nb
import numpy as np
from pydantic import Field

from .errors import InputError
from .params import Params, PosFloat
from .units import UnitSystem, get_units, kT_Q

__all__ = [
    "DEFAULT_N_XI",
    "DEFAULT_MARGIN",
    "N_LEVELS",
    "WKB_STATUS",
    "SOLVER_STATUS",
    "TLS_CLASS",
    "CURV_SOURCE",
    "fd_bands",
    "lowest_levels",
    "analyse_profile",
    "extended_potential",
    "tunnelling",
    "TunnellingResult",
    "MassSpec",
    "QuantumParams",
    "mass_specs",
    "read_catalogue",
    "validate_catalogue",
    "run_catalogue",
]

DEFAULT_N_XI = 2000
DEFAULT_MARGIN = 7.0  # initial extension, in units of the end well's zero-point length
N_LEVELS = 5


class QuantumParams(Params):
    """``[quantum]``: 1D Schrödinger equation along each path (002 Sec. III C).

    The one owner of the stage's parameters and defaults: the study file's ``[quantum]``,
    ``twolevel quantum`` and :func:`run_catalogue` all validate through this class.
    """

    n_xi: int = Field(DEFAULT_N_XI, ge=50, description="Grid points along the path (002: N_xi = 2000).")
    margin: float = Field(DEFAULT_MARGIN, gt=0, description="Harmonic extension beyond the end minima, in zero-point lengths of each end well.")
    masses: list[PosFloat] = Field(default_factory=list, description="Extra dimensionless masses m~ besides those of the unit systems.")
    end_curvature: Literal["catalogue", "profile"] = Field("catalogue", description="Curvature of the harmonic extension beyond the end minima: the end minimum's Hessian on the band tangent (paths' curv_low/curv_high, 002 App. C) or a fit to the sampled profile; a systematic of the 1D model (docs/quantum.md).")
_MAX_INITIAL_MARGIN = 2.0  # the *initial* margin is at most 2 in xi; the domain then grows as needed
_MAX_GROW = 8  # the domain may grow to _MAX_GROW * n_xi grid points (same spacing), else domain_not_converged
_WALL_TOL_E = 1e-8  # wall shift of e1 + e2 must stay below _WALL_TOL_E * E + _WALL_TOL_ABS * e2
_WALL_TOL_ABS = 1e-13
_LOC_THRESHOLD = 0.1  # doublet: left-well projector eigenvalues >= 1 - 0.1 and <= 0.1 in span{psi1, psi2}
_DELTA_TOL = 0.25  # doublet: E >= |Delta| - 0.25 * (omega_1 + omega_2) / 2 (see docs/quantum.md)
_DIP_FRAC = 0.1  # an interior dip shallower than 0.1 zero-point energies of its end well is not a minimum
_SECANT_LEVEL = 0.25  # fallback curvature: secant at a quarter of the barrier above the end
_KMAX = 60  # maximum block-Lanczos steps (dimension 2 * _KMAX)
_TOL_DOUBLET = 1e-9  # residual tolerance (relative) for e1, e2
_TOL_REST = 1e-7  # residual tolerance for e3..e5 (levels to ~1e-15 absolute)
_NQ = 10  # Gauss-Legendre nodes per spline segment for the WKB integrals
_FLOOR_REL = 1e-12  # splittings below this fraction of e2 (from the lower minimum) are not resolved

WKB_STATUS = {
    0: "ok",
    1: "above_barrier",  # the level is at or above the barrier top
    2: "below_minimum",  # the level is at or below the upper minimum: no second turning point
    3: "no_barrier",  # the profile has no interior maximum above both minima
    4: "bad_curvature",  # V'' <= 0 at a minimum (the ends are not minima)
    5: "not_computed",  # E was not obtained (domain not converged)
}
SOLVER_STATUS = {
    0: "ok",
    1: "not_converged",  # block Lanczos hit its step limit; LAPACK fallback used
    2: "domain_not_converged",  # psi1, psi2 not decayed at the domain edge even at _MAX_GROW * n_xi points
    3: "bad_profile",  # no usable double well (see wkb status)
}
# Is the row a tunnelling doublet (docs/quantum.md, "Which rows are TLS")? Checked in this order:
TLS_CLASS = {
    0: "doublet",  # one of the two lowest states in each well, below the barrier, E >= |Delta| (tolerance)
    1: "bad_profile",  # no barrier, or an end / minimum with V'' <= 0
    2: "not_converged",  # no eigenvalues (eigensolvers failed)
    3: "domain_not_converged",  # psi1 or psi2 has not decayed at the edge of the largest domain: E = NaN
    4: "above_barrier",  # e2 at or above the barrier top
    5: "single_well",  # both lowest states in the same well (projector eigenvalues both > or both < 1/2)
    6: "delocalised",  # one state per side, but not localised (eigenvalues not within 0.1 of 1 and 0)
    7: "delta_mismatch",  # E < |Delta| - 0.25 (omega_1 + omega_2)/2: Eq. (13)'s harmonic Delta does not describe it
}
CURV_SOURCE = {
    0: "catalogue",  # curv_low / curv_high of the catalogue (end-minimum Hessian on the path tangent)
    1: "poly",  # V(xi) - V(end) = a2 t^2 + a3 t^3 + a4 t^4 through the three images next to the end
    2: "poly_wide",  # the same form by least squares over the images up to half the barrier
    3: "secant",  # 2 (V(c) - V(end)) / (c - end)^2 at the first point c a quarter of the barrier up
    4: "none",  # not determined (bad profile)
}

# output slots of the compiled per-double-well kernel
_OUT_FIELDS = (
    "E",
    "Delta",
    "Delta_0",
    "Gamma",
    "dV",
    "V_a",
    "V_b",
    "omega_1",
    "omega_2",
    "xi_1",
    "xi_2",
    "xi_ts",
    "eps_bar",
    "S_0",
    "n_iter",
    "E_floor",
    "curv_used_low",
    "curv_used_high",
    "xi_min",
    "h_grid",
    "n_grid",
    "wall_dE",
    "p_left_max",
    "p_left_min",
    "V_zero",
) + tuple(f"e{i + 1}" for i in range(N_LEVELS))
_IX = {k: i for i, k in enumerate(_OUT_FIELDS)}
_NOUT = len(_OUT_FIELDS)
_LEV = _IX["e1"]  # first level slot
# named slots for the compiled code (numba cannot read the dict)
_O_E, _O_DELTA, _O_D0, _O_GAMMA, _O_DV, _O_VA, _O_VB, _O_OM1, _O_OM2 = range(9)
_O_XI1, _O_XI2, _O_XITS, _O_EB, _O_S0, _O_NIT, _O_FLOOR = range(9, 16)
_O_K0, _O_K1, _O_X0, _O_H, _O_NG, _O_WALL, _O_PMAX, _O_PMIN, _O_VZERO = range(16, 25)
_NST = 6  # st: solver, wkb, gamma, tls_class, curv source at xi = 0, at xi = 1

_GL_X, _GL_W = np.polynomial.legendre.leggauss(_NQ)


# ----------------------------------------------------------------------------
# cubic spline with zero end slopes (clamped), local coefficients per segment
# ----------------------------------------------------------------------------
@nb.njit(cache=True)
def _spline_coeffs(x, y):
    """Clamped cubic spline (V'(x0) = V'(xn) = 0): coefficients c[i, 0..3] of
    y = c0 + c1 t + c2 t^2 + c3 t^3, t = x - x[i], on segment i."""
    n = x.size
    h = np.empty(n - 1)
    for i in range(n - 1):
        h[i] = x[i + 1] - x[i]
    # tridiagonal system for the second derivatives M
    a = np.zeros(n)
    b = np.zeros(n)
    c = np.zeros(n)
    r = np.zeros(n)
    b[0] = 2.0 * h[0]
    c[0] = h[0]
    r[0] = 6.0 * ((y[1] - y[0]) / h[0])
    for i in range(1, n - 1):
        a[i] = h[i - 1]
        b[i] = 2.0 * (h[i - 1] + h[i])
        c[i] = h[i]
        r[i] = 6.0 * ((y[i + 1] - y[i]) / h[i] - (y[i] - y[i - 1]) / h[i - 1])
    a[n - 1] = h[n - 2]
    b[n - 1] = 2.0 * h[n - 2]
    r[n - 1] = 6.0 * (-(y[n - 1] - y[n - 2]) / h[n - 2])
    # Thomas algorithm (diagonally dominant)
    for i in range(1, n):
        w = a[i] / b[i - 1]
        b[i] -= w * c[i - 1]
        r[i] -= w * r[i - 1]
    M = np.empty(n)
    M[n - 1] = r[n - 1] / b[n - 1]
    for i in range(n - 2, -1, -1):
        M[i] = (r[i] - c[i] * M[i + 1]) / b[i]
    co = np.empty((n - 1, 4))
    for i in range(n - 1):
        co[i, 0] = y[i]
        co[i, 1] = (y[i + 1] - y[i]) / h[i] - h[i] * (2.0 * M[i] + M[i + 1]) / 6.0
        co[i, 2] = 0.5 * M[i]
        co[i, 3] = (M[i + 1] - M[i]) / (6.0 * h[i])
    return co


@nb.njit(cache=True)
def _seg(x, u):
    """Index of the spline segment holding u (clamped to the ends)."""
    n = x.size
    if u <= x[0]:
        return 0
    if u >= x[n - 1]:
        return n - 2
    i = np.searchsorted(x, u, side="right") - 1
    if i > n - 2:
        i = n - 2
    return i


@nb.njit(cache=True)
def _spl(x, co, u, der):
    """Spline value (der=0), slope (1) or curvature (2) at u in [x0, xn]."""
    i = _seg(x, u)
    t = u - x[i]
    if der == 0:
        return co[i, 0] + t * (co[i, 1] + t * (co[i, 2] + t * co[i, 3]))
    if der == 1:
        return co[i, 1] + t * (2.0 * co[i, 2] + 3.0 * t * co[i, 3])
    return 2.0 * co[i, 2] + 6.0 * t * co[i, 3]


@nb.njit(cache=True)
def _refine_extremum(x, co, k_seg_lo, k_seg_hi, u0, v0, want_max):
    """Best extremum among u0 and the stationary points of segments k_seg_lo..k_seg_hi."""
    best_u = u0
    best_v = v0
    for i in range(max(k_seg_lo, 0), min(k_seg_hi, x.size - 2) + 1):
        hi = x[i + 1] - x[i]
        # V'(t) = c1 + 2 c2 t + 3 c3 t^2 = 0
        A = 3.0 * co[i, 3]
        B = 2.0 * co[i, 2]
        C = co[i, 1]
        roots = np.empty(2)
        nr = 0
        if abs(A) < 1e-300 or abs(A) * hi < 1e-14 * (abs(B) + abs(C) / hi + 1e-300):
            if B != 0.0:
                roots[0] = -C / B
                nr = 1
        else:
            disc = B * B - 4.0 * A * C
            if disc >= 0.0:
                sq = math.sqrt(disc)
                q = -0.5 * (B + math.copysign(sq, B))
                if q != 0.0:
                    roots[0] = q / A
                    roots[1] = C / q
                    nr = 2
                else:
                    roots[0] = 0.0
                    nr = 1
        for j in range(nr):
            t = roots[j]
            if t >= 0.0 and t <= hi:
                v = co[i, 0] + t * (co[i, 1] + t * (co[i, 2] + t * co[i, 3]))
                if (want_max and v > best_v) or ((not want_max) and v < best_v):
                    best_v = v
                    best_u = x[i] + t
    return best_u, best_v


@nb.njit(cache=True)
def _analyse(x, co):
    """Barrier top and the minimum on each side of it.

    Returns (ok, u_ts, v_ts, u_L, v_L, k_L, u_R, v_R, k_R); k = V'' at the minimum.
    """
    nseg = x.size - 1
    sub = 8
    nf = nseg * sub + 1
    uf = np.empty(nf)
    vf = np.empty(nf)
    for i in range(nseg):
        hi = x[i + 1] - x[i]
        for s in range(sub):
            t = hi * s / sub
            uf[i * sub + s] = x[i] + t
            vf[i * sub + s] = co[i, 0] + t * (co[i, 1] + t * (co[i, 2] + t * co[i, 3]))
    uf[nf - 1] = x[nseg]
    hl = x[nseg] - x[nseg - 1]
    vf[nf - 1] = co[nseg - 1, 0] + hl * (co[nseg - 1, 1] + hl * (co[nseg - 1, 2] + hl * co[nseg - 1, 3]))
    # barrier: interior maximum
    kts = 1
    for k in range(1, nf - 1):
        if vf[k] > vf[kts]:
            kts = k
    kl = 0
    for k in range(0, kts + 1):
        if vf[k] < vf[kl]:
            kl = k
    kr = nf - 1
    for k in range(nf - 1, kts - 1, -1):
        if vf[k] < vf[kr]:
            kr = k
    ok = vf[kts] > vf[kl] and vf[kts] > vf[kr] and kl < kts and kr > kts
    u_ts, v_ts = _refine_extremum(x, co, (kts - 1) // sub, (kts + 1) // sub, uf[kts], vf[kts], True)
    u_l, v_l = _refine_extremum(x, co, (kl - 1) // sub, (kl + 1) // sub, uf[kl], vf[kl], False)
    u_r, v_r = _refine_extremum(x, co, (kr - 1) // sub, (kr + 1) // sub, uf[kr], vf[kr], False)
    k_l = _spl(x, co, u_l, 2)
    k_r = _spl(x, co, u_r, 2)
    return ok, u_ts, v_ts, u_l, v_l, k_l, u_r, v_r, k_r


# ----------------------------------------------------------------------------
# finite-difference Hamiltonian and its lowest eigenvalues
# ----------------------------------------------------------------------------
def fd_bands(V: np.ndarray, h: float, m_eff: float):
    """Bands (diag, first, second off-diagonal) of the 5-point FD Hamiltonian.

    H = -(1/(2 m_eff)) d^2/dxi^2 + V on a uniform grid of spacing h, psi = 0
    outside the grid. # 002_b660eabf4d6c7be7.txt Eq. (10), 5-point stencil (Sec. III C):
    -psi'' ~ (psi_{j-2} - 16 psi_{j-1} + 30 psi_j - 16 psi_{j+1} + psi_{j+2}) / (12 h^2).
    """
    V = np.ascontiguousarray(V, dtype=np.float64)
    c = 1.0 / (2.0 * m_eff * 12.0 * h * h)
    n = V.size
    return V + 30.0 * c, np.full(n - 1, -16.0 * c), np.full(n - 2, c)


@nb.njit(cache=True)
def _band_chol(d0, d1, d2, s):
    """Cholesky L L^T of the pentadiagonal (d0 - s, d1, d2); returns 1/L_jj, L_j,j-1, L_j,j-2, ok."""
    n = d0.size
    r0 = np.empty(n)
    l1 = np.zeros(n)
    l2 = np.zeros(n)
    for j in range(n):
        a = d0[j] - s
        if j >= 2:
            l2[j] = d2[j - 2] * r0[j - 2]
            a -= l2[j] * l2[j]
        if j >= 1:
            t = d1[j - 1]
            if j >= 2:
                t -= l2[j] * l1[j - 1]
            l1[j] = t * r0[j - 1]
            a -= l1[j] * l1[j]
        if not (a > 0.0):
            return r0, l1, l2, False
        r0[j] = 1.0 / math.sqrt(a)
    return r0, l1, l2, True


@nb.njit(cache=True)
def _chol_solve2(r0, l1, l2, B, X):
    """X = (L L^T)^-1 B for the two rows of B (shape (2, n))."""
    n = B.shape[1]
    X[0, 0] = B[0, 0] * r0[0]
    X[1, 0] = B[1, 0] * r0[0]
    if n > 1:
        X[0, 1] = (B[0, 1] - l1[1] * X[0, 0]) * r0[1]
        X[1, 1] = (B[1, 1] - l1[1] * X[1, 0]) * r0[1]
    for j in range(2, n):
        X[0, j] = (B[0, j] - l1[j] * X[0, j - 1] - l2[j] * X[0, j - 2]) * r0[j]
        X[1, j] = (B[1, j] - l1[j] * X[1, j - 1] - l2[j] * X[1, j - 2]) * r0[j]
    X[0, n - 1] *= r0[n - 1]
    X[1, n - 1] *= r0[n - 1]
    if n > 1:
        X[0, n - 2] = (X[0, n - 2] - l1[n - 1] * X[0, n - 1]) * r0[n - 2]
        X[1, n - 2] = (X[1, n - 2] - l1[n - 1] * X[1, n - 1]) * r0[n - 2]
    for j in range(n - 3, -1, -1):
        X[0, j] = (X[0, j] - l1[j + 1] * X[0, j + 1] - l2[j + 2] * X[0, j + 2]) * r0[j]
        X[1, j] = (X[1, j] - l1[j + 1] * X[1, j + 1] - l2[j + 2] * X[1, j + 2]) * r0[j]


@nb.njit(cache=True, fastmath=True)
def _project(Q, m, W, H):
    """H[i, r] = <Q_i, W_r> for i < m."""
    n = W.shape[1]
    for i in range(m):
        s0 = 0.0
        s1 = 0.0
        for j in range(n):
            q = Q[i, j]
            s0 += q * W[0, j]
            s1 += q * W[1, j]
        H[i, 0] = s0
        H[i, 1] = s1


@nb.njit(cache=True, fastmath=True)
def _subtract(Q, m, W, H):
    """W_r -= sum_i H[i, r] Q_i."""
    n = W.shape[1]
    for i in range(m):
        h0 = H[i, 0]
        h1 = H[i, 1]
        for j in range(n):
            q = Q[i, j]
            W[0, j] -= h0 * q
            W[1, j] -= h1 * q


@nb.njit(cache=True)
def _block_lanczos(d0, d1, d2, sigma, nev, kmax, tol_hi, tol_lo, Y):
    """nev lowest eigenvalues of the pentadiagonal H by shift(sigma)-invert block Lanczos.

    Requires H - sigma positive definite (sigma below the ground state).
    Returns (eigenvalues ascending, steps, status) with status 0 = converged,
    1 = not converged, 2 = H - sigma not positive definite. ``Y`` (shape (2, n))
    receives the Ritz vectors of the two lowest levels (unit norm) when status < 2.
    """
    n = d0.size
    out = np.full(nev, np.nan)
    r0, l1, l2, ok = _band_chol(d0, d1, d2, sigma)
    if not ok:
        return out, 0, 2
    kmax = min(kmax, n // 2 - 1)
    p = 2
    Q = np.empty((p * (kmax + 1), n))
    # deterministic, non-symmetric start block (a symmetric one would miss odd states)
    for j in range(n):
        a = math.sin(12.9898 * (j + 1) + 0.5) * 43758.5453
        b = math.sin(78.233 * (j + 1) + 1.5) * 12543.1234
        Q[0, j] = a - math.floor(a) - 0.5
        Q[1, j] = b - math.floor(b) - 0.5
    nq = math.sqrt(np.dot(Q[0], Q[0]))
    for j in range(n):
        Q[0, j] /= nq
    c = np.dot(Q[0], Q[1])
    for j in range(n):
        Q[1, j] -= c * Q[0, j]
    nq = math.sqrt(np.dot(Q[1], Q[1]))
    for j in range(n):
        Q[1, j] /= nq
    T = np.zeros((p * (kmax + 1), p * (kmax + 1)))
    W = np.empty((p, n))
    H = np.empty((p * (kmax + 1), 2))
    for k in range(kmax):
        b0 = p * k
        m = b0 + p
        _chol_solve2(r0, l1, l2, Q[b0:m], W)
        # classical Gram-Schmidt twice against all previous vectors (full reorthogonalisation)
        _project(Q, m, W, H)
        T[b0, b0] = H[b0, 0]
        T[b0 + 1, b0 + 1] = H[b0 + 1, 1]
        v = 0.5 * (H[b0, 1] + H[b0 + 1, 0])
        T[b0, b0 + 1] = v
        T[b0 + 1, b0] = v
        _subtract(Q, m, W, H)
        _project(Q, m, W, H)
        _subtract(Q, m, W, H)
        # QR of the new block: W = Q_{k+1} R
        r00 = math.sqrt(np.dot(W[0], W[0]))
        for j in range(n):
            Q[m, j] = W[0, j] / r00
        r01 = np.dot(Q[m], W[1])
        for j in range(n):
            W[1, j] -= r01 * Q[m, j]
        r11 = math.sqrt(np.dot(W[1], W[1]))
        for j in range(n):
            Q[m + 1, j] = W[1, j] / r11
        T[m, b0] = r00
        T[m, b0 + 1] = r01
        T[m + 1, b0 + 1] = r11
        T[b0, m] = r00
        T[b0 + 1, m] = r01
        T[b0 + 1, m + 1] = r11
        last = k == kmax - 1
        if (m >= nev + 3 and k % 2 == 1) or last:
            th, S = np.linalg.eigh(T[:m, :m])
            conv = True
            for i in range(nev):
                col = m - 1 - i
                s0 = r00 * S[b0, col] + r01 * S[b0 + 1, col]
                s1 = r11 * S[b0 + 1, col]
                res = math.sqrt(s0 * s0 + s1 * s1)
                tol = tol_hi if i < 2 else tol_lo
                if not (res <= tol * th[col]):
                    conv = False
                    break
            if conv or last:
                for i in range(nev):
                    out[i] = sigma + 1.0 / th[m - 1 - i]
                _ritz_vectors(Q, m, S, Y)
                return out, k + 1, 0 if conv else 1
    return out, kmax, 1


@nb.njit(cache=True, fastmath=True)
def _ritz_vectors(Q, m, S, Y):
    """Y[r] = sum_i S[i, m - 1 - r] Q_i: Ritz vectors of the two largest Ritz values of
    (H - sigma)^-1, i.e. of the two lowest levels."""
    n = Q.shape[1]
    for r in range(2):
        for j in range(n):
            Y[r, j] = 0.0
        for i in range(m):
            w = S[i, m - 1 - r]
            for j in range(n):
                Y[r, j] += w * Q[i, j]


def lowest_levels(
    V: np.ndarray,
    h: float,
    m_eff: float,
    nev: int = N_LEVELS,
    method: str = "lanczos",
    sigma: float | None = None,
) -> np.ndarray:
    """The ``nev`` lowest eigenvalues of -(1/(2 m_eff)) d^2/dx^2 + V on a uniform grid.

    ``V`` holds the potential at the grid points (spacing ``h``; psi = 0 outside),
    discretised with the 5-point stencil (# 002_b660eabf4d6c7be7.txt Eq. (10), Sec. III C).
    ``method``: "lanczos" (ours: shift-invert block Lanczos on a banded Cholesky),
    "arpack" (scipy.sparse.linalg.eigsh, shift-invert) or "lapack"
    (scipy.linalg.eigvals_banded, select='i').
    """
    V = np.ascontiguousarray(V, dtype=np.float64)
    if V.ndim != 1 or V.size < 2 * nev + 8:
        raise InputError(f"lowest_levels: need a 1D grid of at least {2 * nev + 8} points")
    d0, d1, d2 = fd_bands(V, h, m_eff)
    if sigma is None:
        sigma = float(V.min()) - 1e-9 * (abs(float(V.min())) + 1.0)
    if method == "lanczos":
        ev, _, st = _block_lanczos(d0, d1, d2, float(sigma), nev, _KMAX, _TOL_DOUBLET, _TOL_REST, np.empty((2, d0.size)))
        if st == 0:
            return ev
        method = "lapack"
    if method == "arpack":
        import scipy.sparse as sp
        from scipy.sparse.linalg import eigsh

        A = sp.diags([d2, d1, d0, d1, d2], [-2, -1, 0, 1, 2], format="csc")
        return np.sort(eigsh(A, k=nev, sigma=sigma, which="LM", return_eigenvectors=False))
    if method == "lapack":
        from scipy.linalg import eigvals_banded

        ab = np.zeros((3, d0.size))
        ab[0, 2:] = d2
        ab[1, 1:] = d1
        ab[2] = d0
        return eigvals_banded(ab, select="i", select_range=(0, nev - 1))
    raise InputError(f"lowest_levels: unknown method {method!r} (lanczos, arpack, lapack)")


# ----------------------------------------------------------------------------
# end curvatures, extension of the profile, WKB integrals
# ----------------------------------------------------------------------------
@nb.njit(cache=True)
def _ext_value(x, co, u, kL, kR):
    """Profile continued harmonically beyond both ends (V, V' = 0 matched; V'' = kL, kR)."""
    x0 = x[0]
    x1 = x[x.size - 1]
    if u < x0:
        return co[0, 0] + 0.5 * kL * (u - x0) * (u - x0)
    if u > x1:
        return _spl(x, co, x1, 0) + 0.5 * kR * (u - x1) * (u - x1)
    return _spl(x, co, u, 0)


@nb.njit(cache=True)
def _poly_curv(x, V, end):
    """V''(end) of V(end) + a2 t^2 + a3 t^3 + a4 t^4 (t = distance from the end, V' = 0 there)
    through the three images next to the end: 2 a2, a2 the value at t = 0 of the quadratic
    through (t_i, (V_i - V_end) / t_i^2)."""
    n = x.size
    t = np.empty(3)
    y = np.empty(3)
    for i in range(3):
        if end == 0:
            t[i] = x[i + 1] - x[0]
            y[i] = (V[i + 1] - V[0]) / (t[i] * t[i])
        else:
            t[i] = x[n - 1] - x[n - 2 - i]
            y[i] = (V[n - 2 - i] - V[n - 1]) / (t[i] * t[i])
    a2 = 0.0
    for i in range(3):
        w = 1.0
        for j in range(3):
            if j != i:
                w *= (0.0 - t[j]) / (t[i] - t[j])
        a2 += w * y[i]
    return 2.0 * a2


@nb.njit(cache=True)
def _secant_curv(x, co, u_end, v_end, u_ts, v_ts):
    """2 (V(c) - V(end)) / (c - end)^2 at the crossing c of V(end) + _SECANT_LEVEL (V_ts - V(end));
    positive whenever the barrier is above the end, whatever small bumps the profile has."""
    lev = _SECANT_LEVEL * (v_ts - v_end)
    if not (lev > 0.0):
        return np.nan
    c = _crossing(x, co, v_end + lev, u_end, u_ts)
    return 2.0 * lev / ((c - u_end) * (c - u_end))


@nb.njit(cache=True)
def _wide_curv(x, V, end, v_ts):
    """V''(end) by least squares of V - V(end) = a2 t^2 + a3 t^3 + a4 t^4 (t = distance from the
    end) over the images up to half the barrier (at least three): a bump of a few images next
    to the end moves it little."""
    n = x.size
    v_end = V[0] if end == 0 else V[n - 1]
    half = 0.5 * (v_ts - v_end)
    m = 0
    for i in range(1, n):
        j = i if end == 0 else n - 1 - i
        if m >= 3 and V[j] - v_end > half:
            break
        m += 1
    tmax = abs(x[m] - x[0]) if end == 0 else abs(x[n - 1] - x[n - 1 - m])
    A = np.zeros((3, 3))
    r = np.zeros(3)
    for i in range(1, m + 1):
        j = i if end == 0 else n - 1 - i
        tau = abs(x[j] - x[0 if end == 0 else n - 1]) / tmax
        y = V[j] - v_end
        b0 = tau * tau
        b = (b0, b0 * tau, b0 * tau * tau)
        for p in range(3):
            r[p] += b[p] * y
            for q in range(3):
                A[p, q] += b[p] * b[q]
    c = np.linalg.solve(A, r)
    return 2.0 * c[0] / (tmax * tmax)


@nb.njit(cache=True)
def _end_curvature(x, V, co, end, k_in, u_ts, v_ts):
    """(V'' at the end, source code of CURV_SOURCE).

    A finite catalogue value is taken as is (<= 0 is rejected by the caller). Else: the local
    estimate from the three images next to the end (error O(h^3): 3e-5 at 64 images on smooth
    profiles) when it agrees within 1 % with the least-squares estimate over the images up to
    half the barrier; else that wider estimate (a bump next to the end); if that one is not
    positive or is below a quarter of the secant curvature (a flat end), the secant, which a
    small bump cannot make negative."""
    if math.isfinite(k_in):
        return k_in, 0
    u_end = x[0] if end == 0 else x[x.size - 1]
    v_end = V[0] if end == 0 else V[x.size - 1]
    ks = _secant_curv(x, co, u_end, v_end, u_ts, v_ts)
    if x.size >= 4:
        kw = _wide_curv(x, V, end, v_ts)
        if kw > 0.0 and not (kw < 0.25 * ks):
            kp = _poly_curv(x, V, end)
            if abs(kp - kw) <= 0.01 * kw:
                return kp, 1
            return kw, 2
    return ks, 3


@nb.njit(cache=True)
def _crossing(x, co, level, lo, hi):
    """u between lo and hi (either order) with V(u) = level; V(lo) - level and
    V(hi) - level of opposite sign (bisection to the last bit)."""
    flo = _spl(x, co, lo, 0) - level
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid == lo or mid == hi:
            break
        fm = _spl(x, co, mid, 0) - level
        if (fm < 0.0) == (flo < 0.0):
            lo = mid
            flo = fm
        else:
            hi = mid
    return 0.5 * (lo + hi)


@nb.njit(cache=True)
def _side_integral(x, co, level, a, c, mode, gx, gw):
    """int from a turning point a to c (either side) of f(u) du, f = sqrt(max(V - level, 0))
    (mode 0) or 1 / sqrt(level - V) (mode 1, points with level <= V skipped).

    Substitution u = a + sgn s^2 (s from 0 to sqrt|c - a|) takes out the square-root
    behaviour at a; then Gauss-Legendre on every piece of a spline segment (the spline is a
    cubic there, so each piece is smooth and the rule converges exponentially)."""
    L = abs(c - a)
    if L == 0.0:
        return 0.0
    sgn = 1.0 if c > a else -1.0
    total = 0.0
    u_prev = a
    while True:
        # next knot beyond u_prev in the direction of c
        if sgn > 0:
            j = np.searchsorted(x, u_prev, side="right")
            u_next = x[j] if j < x.size else c
        else:
            j = np.searchsorted(x, u_prev, side="left") - 1
            u_next = x[j] if j >= 0 else c
        if (sgn > 0 and u_next >= c) or (sgn < 0 and u_next <= c):
            u_next = c
        s0 = math.sqrt(abs(u_prev - a))
        s1 = math.sqrt(abs(u_next - a))
        seg = _seg(x, 0.5 * (u_prev + u_next))
        half = 0.5 * (s1 - s0)
        mid = 0.5 * (s1 + s0)
        part = 0.0
        for q in range(gx.size):
            s = mid + half * gx[q]
            t = a + sgn * s * s - x[seg]
            v = co[seg, 0] + t * (co[seg, 1] + t * (co[seg, 2] + t * co[seg, 3]))
            if mode == 0:
                f = v - level
                if f > 0.0:
                    part += gw[q] * math.sqrt(f) * 2.0 * s
            else:
                f = level - v
                if f > 0.0:
                    part += gw[q] * 2.0 * s / math.sqrt(f)
        total += half * part
        if u_next == c:
            break
        u_prev = u_next
    return total


@nb.njit(cache=True)
def _action(x, co, level, a, b, u_ts, gx, gw):
    """int_a^b sqrt(max(V - level, 0)) dxi between the turning points a, b (either order),
    split at the barrier top, each half substituted from its own turning point."""
    return _side_integral(x, co, level, a, u_ts, 0, gx, gw) + _side_integral(x, co, level, b, u_ts, 0, gx, gw)


@nb.njit(cache=True)
def _transit(x, co, level, u_min, a, gx, gw):
    """int_{u_min}^a dxi / sqrt(level - V), a a turning point."""
    return _side_integral(x, co, level, a, u_min, 1, gx, gw)


@nb.njit(cache=True)
def _turning_points(x, co, level, u_lo, u_ts, u_hi, v_ts, v_hi):
    """Turning points a (lower-well side) and b (upper-well side) of ``level``.

    u_lo, u_hi: positions of the lower / upper minimum, u_ts the barrier top.
    Returns (status, a, b) with status as in WKB_STATUS.
    """
    if level >= v_ts:
        return 1, np.nan, np.nan
    if level <= v_hi:
        return 2, np.nan, np.nan
    a = _crossing(x, co, level, u_lo, u_ts)
    b = _crossing(x, co, level, u_hi, u_ts)
    return 0, a, b


@nb.njit(cache=True)
def _fill_grid(xi, co, x0, h, n, kL, kR):
    Vg = np.empty(n)
    for j in range(n):
        Vg[j] = _ext_value(xi, co, x0 + j * h, kL, kR)
    return Vg


@nb.njit(cache=True)
def _wall_shift(y, e, v_edge, h, m_eff):
    """Energy shift of a level caused by the hard wall one step beyond a domain edge.

    dE/dx_w = -(1/(2 m)) psi'(x_w)^2 for a normalised state; with psi decaying as
    exp(-kappa x) beyond the wall this integrates to psi'(x_w)^2 / (4 m kappa). The Ritz
    vector y has unit Euclidean norm, psi = y / sqrt(h) and psi'(x_w) ~ psi_edge / h.
    """
    f = v_edge - e
    if not (f > 0.0):
        return np.inf
    kappa = math.sqrt(2.0 * m_eff * f)
    dpsi2 = y * y / (h * h * h)
    return dpsi2 / (4.0 * m_eff * kappa)


@nb.njit(cache=True)
def _walls(Y, ev, Vg, h, m_eff):
    """(shift at the left wall, at the right wall), summed over e1 and e2."""
    n = Vg.size
    dl = _wall_shift(Y[0, 0], ev[0], Vg[0], h, m_eff) + _wall_shift(Y[1, 0], ev[1], Vg[0], h, m_eff)
    dr = _wall_shift(Y[0, n - 1], ev[0], Vg[n - 1], h, m_eff) + _wall_shift(Y[1, n - 1], ev[1], Vg[n - 1], h, m_eff)
    return dl, dr


@nb.njit(cache=True)
def _setup(xi, V, d, m_tilde, k0_in, k1_in, out, st):
    """Profile analysis (minima, barrier, end curvatures, Delta). Returns (ok, co) with co the
    spline of V - V_zero; fills the profile slots of ``out`` and st[0..2], st[4..5] on failure."""
    for i in range(out.size):
        out[i] = np.nan
    for i in range(st.size):
        st[i] = 0
    st[4] = 4
    st[5] = 4
    m_eff = m_tilde * d * d  # # 002_b660eabf4d6c7be7.txt Eq. (10): hbar^2/(2 m d^2 eps) -> 1/(2 m~ d^2)
    co = _spline_coeffs(xi, V)
    ok, u_ts, v_ts, u_l, v_l, k_l, u_r, v_r, k_r = _analyse(xi, co)
    n_in = xi.size
    if not ok:
        st[0] = 3
        st[1] = 3
        st[2] = 3
        st[3] = 1
        return False, co
    # end curvatures: catalogue (002 App. C: end-minimum Hessian on the path tangent, times d^2)
    # or the fallback estimate (CURV_SOURCE)
    k0, s0 = _end_curvature(xi, V, co, 0, k0_in, u_ts, v_ts)
    k1, s1 = _end_curvature(xi, V, co, 1, k1_in, u_ts, v_ts)
    st[4] = s0
    st[5] = s1
    out[_O_K0] = k0
    out[_O_K1] = k1
    if not (k0 > 0.0 and k1 > 0.0):
        st[0] = 3
        st[1] = 4
        st[2] = 4
        st[3] = 1
        return False, co
    # the minimum on each side: the end itself, unless the spline dips below the end value by
    # more than _DIP_FRAC zero-point energies of the end well (hbar omega / 2, omega = sqrt(k/m_eff));
    # a shallower dip (a small bump next to the end) is below the quantum resolution of the well
    if u_l != xi[0] and V[0] - v_l <= _DIP_FRAC * 0.5 * math.sqrt(k0 / m_eff):
        u_l, v_l, k_l = xi[0], V[0], k0
    elif u_l == xi[0]:
        k_l = k0
    if u_r != xi[n_in - 1] and V[n_in - 1] - v_r <= _DIP_FRAC * 0.5 * math.sqrt(k1 / m_eff):
        u_r, v_r, k_r = xi[n_in - 1], V[n_in - 1], k1
    elif u_r == xi[n_in - 1]:
        k_r = k1
    if not (k_l > 0.0 and k_r > 0.0 and v_ts > v_l and v_ts > v_r):
        st[0] = 3
        st[1] = 4
        st[2] = 4
        st[3] = 1
        return False, co
    # energies from the lower minimum (invariance under V -> V + const)
    if v_l <= v_r:
        u_lo, v_lo, k_lo, u_hi, v_hi, k_hi = u_l, v_l, k_l, u_r, v_r, k_r
    else:
        u_lo, v_lo, k_lo, u_hi, v_hi, k_hi = u_r, v_r, k_r, u_l, v_l, k_l
    co = _spline_coeffs(xi, V - v_lo)
    out[_O_VZERO] = v_lo
    v_ts -= v_lo
    v_hi -= v_lo
    # 002_b660eabf4d6c7be7.txt Eq. (13) ingredients: omega_i = sqrt(V''(xi_i)/(m~ d^2)) (hbar = 1, energy units)
    om1 = math.sqrt(k_lo / m_eff)
    om2 = math.sqrt(k_hi / m_eff)
    out[_O_DV] = v_hi
    out[_O_VA] = v_ts  # forward barrier V_a (from the lower minimum), 002 Sec. III C
    out[_O_VB] = v_ts - 0.5 * v_hi  # V_b = V_a - dV/2
    out[_O_OM1] = om1
    out[_O_OM2] = om2
    out[_O_XI1] = u_lo
    out[_O_XI2] = u_hi
    out[_O_XITS] = u_ts
    out[_O_DELTA] = v_hi + 0.5 * (om2 - om1)  # Delta, # 002_b660eabf4d6c7be7.txt Eq. (13)
    return True, co


@nb.njit(cache=True)
def _solve_one(xi, V, d, m_tilde, n_xi, margin, nev, k0_in, k1_in, gx, gw, out, st):
    """All tunnelling quantities of one double well for one m~ (see _OUT_FIELDS).

    st[0]: solver status, st[1]: WKB (Delta_0) status, st[2]: Gamma status, st[3]: tls class,
    st[4], st[5]: source of the end curvature at xi = 0, 1. k0_in, k1_in: the catalogue's end
    curvatures (NaN: estimate them). On st[0] == 1 (Lanczos not converged) the grid of the last
    try is in out (xi_min, h_grid, n_grid) for the LAPACK fallback.
    """
    ok, co = _setup(xi, V, d, m_tilde, k0_in, k1_in, out, st)
    if not ok:
        return
    m_eff = m_tilde * d * d
    n_in = xi.size
    k0 = out[_O_K0]
    k1 = out[_O_K1]
    om1 = out[_O_OM1]
    om2 = out[_O_OM2]
    dV = out[_O_DV]
    # domain: margin zero-point lengths l = (m~ d^2 V''(end))^(-1/4) beyond each end, at most
    # _MAX_INITIAL_MARGIN to start with; the spacing h stays fixed while the domain grows
    mL = min(margin * (m_eff * k0) ** -0.25, _MAX_INITIAL_MARGIN)
    mR = min(margin * (m_eff * k1) ** -0.25, _MAX_INITIAL_MARGIN)
    h = (xi[n_in - 1] - xi[0] + mL + mR) / (n_xi - 1)
    pL = int(round(mL / h))
    pR = n_xi - 1 - pL - int(round((xi[n_in - 1] - xi[0]) / h))
    if pR < 1:
        pR = 1
    n_max = _MAX_GROW * n_xi
    c = 1.0 / (2.0 * m_eff * 12.0 * h * h)
    # shift below the ground state: half the harmonic estimate of e1, else below min V
    e1_est = min(0.5 * om1, dV + 0.5 * om2)
    ev = np.full(nev, np.nan)
    Y = np.zeros((2, 1))
    Vg = np.zeros(1)
    nit_tot = 0
    converged_domain = False
    while True:
        n = pL + pR + 1 + int(round((xi[n_in - 1] - xi[0]) / h))
        x0 = xi[0] - pL * h
        out[_O_X0] = x0
        out[_O_H] = h
        out[_O_NG] = n
        Vg = _fill_grid(xi, co, x0, h, n, k0, k1)
        d0 = Vg + 30.0 * c
        d1 = np.full(n - 1, -16.0 * c)
        d2 = np.full(n - 2, c)
        Y = np.empty((2, n))
        sigma = 0.5 * e1_est
        ev, nit, sst = _block_lanczos(d0, d1, d2, sigma, nev, _KMAX, _TOL_DOUBLET, _TOL_REST, Y)
        if sst == 2:
            sigma = Vg.min() - 0.05 * e1_est
            ev, nit, sst = _block_lanczos(d0, d1, d2, sigma, nev, _KMAX, _TOL_DOUBLET, _TOL_REST, Y)
        nit_tot += nit
        out[_O_NIT] = nit_tot
        if sst != 0:
            st[0] = 1
            return  # caller falls back to LAPACK on this grid and calls _finish
        dl, dr = _walls(Y, ev, Vg, h, m_eff)
        tol = 0.5 * (_WALL_TOL_E * (ev[1] - ev[0]) + _WALL_TOL_ABS * abs(ev[1]))
        if dl <= tol and dr <= tol:
            converged_domain = True
            break
        # grow the side(s) whose wall moves e1 or e2: double that margin, same spacing
        addL = pL if dl > tol else 0
        addR = pR if dr > tol else 0
        if n + addL + addR > n_max:
            break
        pL += addL
        pR += addR
    _finish(xi, co, ev, Y, Vg, h, m_eff, d, nev, converged_domain, gx, gw, out, st)


@nb.njit(cache=True)
def _finish(xi, co, ev, Y, Vg, h, m_eff, d, nev, converged_domain, gx, gw, out, st):
    """Levels, wall check, TLS class (TLS_CLASS) and the WKB quantities from the final grid."""
    for i in range(nev):
        out[_LEV + i] = ev[i]
    dl, dr = _walls(Y, ev, Vg, h, m_eff)
    out[_O_WALL] = dl + dr
    e1 = ev[0]
    e2 = ev[1]
    if not (math.isfinite(e1) and math.isfinite(e2)):
        st[0] = 1
        st[1] = 5
        st[2] = 5
        st[3] = 2
        return
    if not converged_domain:
        st[0] = 2
        st[1] = 5
        st[2] = 5
        st[3] = 3
        return  # E stays NaN: the levels are those of the largest domain tried
    u_lo = out[_O_XI1]
    u_hi = out[_O_XI2]
    u_ts = out[_O_XITS]
    v_ts = out[_O_VA]
    v_hi = out[_O_DV]
    E = e2 - e1
    out[_O_E] = E  # splitting, 002_b660eabf4d6c7be7.txt Sec. III C: E = eps_2 - eps_1
    # resolution floor of the splitting (measured, docs/quantum.md): a few 1e-13 of e2
    out[_O_FLOOR] = _FLOOR_REL * e2
    # left-well projector in span{psi1, psi2}: P_ab = sum_{x_j < xi_ts} y_a[j] y_b[j]
    x0 = out[_O_X0]
    jts = int(math.floor((u_ts - x0) / h)) + 1  # grid points j < jts have x_j < xi_ts
    if jts > Vg.size:
        jts = Vg.size
    p00 = 0.0
    p01 = 0.0
    p11 = 0.0
    for j in range(max(jts, 0)):
        p00 += Y[0, j] * Y[0, j]
        p01 += Y[0, j] * Y[1, j]
        p11 += Y[1, j] * Y[1, j]
    # Ritz vectors are orthonormal to ~1e-9: eigenvalues of the symmetric 2 x 2 block
    mean = 0.5 * (p00 + p11)
    rad = math.sqrt(0.25 * (p00 - p11) * (p00 - p11) + p01 * p01)
    pmax = mean + rad
    pmin = mean - rad
    out[_O_PMAX] = pmax
    out[_O_PMIN] = pmin
    om_bar = 0.5 * (out[_O_OM1] + out[_O_OM2])
    if e2 >= v_ts:
        st[3] = 4
    elif pmin > 0.5 or pmax < 0.5:
        st[3] = 5
    elif pmax < 1.0 - _LOC_THRESHOLD or pmin > _LOC_THRESHOLD:
        st[3] = 6
    elif E < abs(out[_O_DELTA]) - _DELTA_TOL * om_bar:
        st[3] = 7
    else:
        st[3] = 0
    _wkb(xi, co, e1, e2, u_lo, u_hi, u_ts, v_ts, v_hi, m_eff, d, gx, gw, out, st)


@nb.njit(cache=True)
def _wkb(xi, co, e1, e2, u_lo, u_hi, u_ts, v_ts, v_hi, m_eff, d, gx, gw, out, st):
    """Delta_0 (Eq. (15)) and Gamma (Eq. (14)) from the two lowest levels."""
    # 002_b660eabf4d6c7be7.txt Eq. (15): Delta_0 = eps_bar exp(-(1/hbar) int_a^b |p| dx),
    # eps_bar = (eps_1 + eps_2)/2 measured from the lower minimum, p = sqrt(2 m (eps_bar - V)),
    # x = d xi, m -> m~ (hbar = 1): int |p| dx = sqrt(2 m~ d^2) int sqrt(V - eps_bar) dxi.
    eb = 0.5 * (e1 + e2)
    out[_O_EB] = eb
    s1, a, b = _turning_points(xi, co, eb, u_lo, u_ts, u_hi, v_ts, v_hi)
    st[1] = s1
    if s1 == 0:
        S0 = math.sqrt(2.0 * m_eff) * _action(xi, co, eb, a, b, u_ts, gx, gw)
        out[_O_S0] = S0
        out[_O_D0] = eb * math.exp(-S0)
    # 002_b660eabf4d6c7be7.txt Eq. (14): Gamma = (1/m) [int_0^a dx/p]^-1 exp(-(2/hbar) int_a^b |p| dx),
    # p = sqrt(2 m (eps_2 - V)), x = 0 at the lower minimum; Gamma in epsilon/hbar.
    s2, a2, b2 = _turning_points(xi, co, e2, u_lo, u_ts, u_hi, v_ts, v_hi)
    st[2] = s2
    if s2 == 0:
        S2 = math.sqrt(2.0 * m_eff) * _action(xi, co, e2, a2, b2, u_ts, gx, gw)
        # int_0^a dx/p = d int dxi / sqrt(2 m~ (e2 - V)); Gamma = (1/m~) / that * exp(-2 S)
        mt = m_eff / (d * d)
        tr = d * _transit(xi, co, e2, u_lo, a2, gx, gw) / math.sqrt(2.0 * mt)
        out[_O_GAMMA] = (1.0 / mt) / tr * math.exp(-2.0 * S2)


# ----------------------------------------------------------------------------
# Python API for one profile
# ----------------------------------------------------------------------------
@dataclass
class TunnellingResult:
    """Tunnelling quantities of one double well at one m~ (energies in epsilon,
    measured from the lower minimum; Gamma in epsilon/hbar).

    ``tls_class`` is "doublet" for a tunnelling doublet, else the reason it is not
    (:data:`TLS_CLASS`); ``is_tls`` = doublet and E < k_B T_Q (002 Eq. (9))."""

    m_tilde: float
    E: float
    levels: np.ndarray
    Delta: float
    Delta_0: float
    Gamma: float
    dV: float
    V_a: float
    V_b: float
    omega_1: float
    omega_2: float
    xi_1: float
    xi_2: float
    xi_ts: float
    eps_bar: float
    S_0: float
    n_iter: int
    E_floor: float
    solver_status: str
    wkb_status: str
    gamma_status: str
    tls_class: str = "doublet"
    curv_used_low: float = float("nan")
    curv_used_high: float = float("nan")
    curv_source_low: str = "none"
    curv_source_high: str = "none"
    xi_min: float = float("nan")
    h_grid: float = float("nan")
    n_grid: int = 0
    wall_dE: float = float("nan")
    p_left_max: float = float("nan")
    p_left_min: float = float("nan")
    V_zero: float = float("nan")
    kT_Q: float = field(init=False)
    is_tls: bool = field(init=False)

    def __post_init__(self) -> None:
        self.kT_Q = kT_Q(self.m_tilde)  # 002_b660eabf4d6c7be7.txt Eq. (9)
        self.is_tls = bool(self.tls_class == "doublet" and np.isfinite(self.E) and self.E < self.kT_Q)

    def as_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["levels"] = [float(v) for v in self.levels]
        return d


def _check_profile(xi, V, d, where: str = "profile"):
    xi = np.ascontiguousarray(xi, dtype=np.float64)
    V = np.ascontiguousarray(V, dtype=np.float64)
    if xi.ndim != 1 or V.ndim != 1 or xi.size != V.size:
        raise InputError(f"{where}: xi and V must be 1D arrays of equal length (got {xi.shape}, {V.shape})")
    if xi.size < 4:
        raise InputError(f"{where}: need at least 4 points, got {xi.size}")
    if not (np.all(np.isfinite(xi)) and np.all(np.isfinite(V))):
        raise InputError(f"{where}: xi or V holds NaN/inf")
    if np.any(np.diff(xi) <= 0):
        raise InputError(f"{where}: xi must be strictly increasing")
    if abs(xi[0]) > 1e-6 or abs(xi[-1] - 1.0) > 1e-6:
        raise InputError(f"{where}: xi must run from 0 to 1 (got {xi[0]:g} .. {xi[-1]:g})")
    d = float(d)
    if not (math.isfinite(d) and d > 0):
        raise InputError(f"{where}: path length d must be positive, got {d!r}")
    return xi, V, d


def _curv_arg(k, name: str) -> float:
    """A catalogue end curvature: None / NaN = not given (estimated); else a finite number."""
    if k is None:
        return math.nan
    try:
        k = float(k)
    except (TypeError, ValueError):
        raise InputError(f"{name}: end curvature must be a number, got {k!r}") from None
    if math.isinf(k):
        raise InputError(f"{name}: end curvature must be finite, got {k!r}")
    return k


def _one(xi, V, d, m_tilde, n_xi, margin, nev, k0, k1, out, st):
    _solve_one(xi, V, d, m_tilde, n_xi, margin, nev, k0, k1, _GL_X, _GL_W, out, st)
    if st[0] == 1:  # Lanczos did not converge: exact LAPACK fallback on the same grid
        x0, h, n, nit = out[_O_X0], out[_O_H], int(out[_O_NG]), out[_O_NIT]
        ok, co = _setup(xi, V, d, m_tilde, k0, k1, out, st)
        out[_O_X0], out[_O_H], out[_O_NG], out[_O_NIT] = x0, h, n, nit
        st[0] = 1
        m_eff = m_tilde * d * d
        Vg = _fill_grid(xi, co, x0, h, n, out[_O_K0], out[_O_K1])
        ev, Y = _lapack_levels(Vg, h, m_eff, nev)
        dl, dr = _walls(Y, ev, Vg, h, m_eff)
        tol = 0.5 * (_WALL_TOL_E * (ev[1] - ev[0]) + _WALL_TOL_ABS * abs(ev[1]))
        _finish(xi, co, ev, Y, Vg, h, m_eff, d, nev, bool(dl <= tol and dr <= tol), _GL_X, _GL_W, out, st)


def _lapack_levels(Vg, h, m_eff, nev):
    """Lowest nev levels and the two lowest (unit) eigenvectors by LAPACK (NaN if it fails)."""
    from scipy.linalg import eig_banded

    d0, d1, d2 = fd_bands(Vg, h, m_eff)
    ab = np.zeros((3, d0.size))
    ab[0, 2:] = d2
    ab[1, 1:] = d1
    ab[2] = d0
    try:
        w, v = eig_banded(ab, select="i", select_range=(0, nev - 1))
    except (np.linalg.LinAlgError, ValueError):
        return np.full(nev, np.nan), np.zeros((2, d0.size))
    return w, np.ascontiguousarray(v[:, :2].T)


def extended_potential(
    xi, V, d, m_tilde, n_xi: int = DEFAULT_N_XI, margin: float = DEFAULT_MARGIN, curv_low=None, curv_high=None
):
    """The grid and potential the solver diagonalises: (grid, V on grid, h).

    The profile is shifted so that its lower minimum is at 0 and continued
    harmonically beyond [0, 1] with the end curvatures (catalogue or estimate);
    the domain is the one the solver ended with (grown until psi1, psi2 decayed).
    """
    xi, V, d = _check_profile(xi, V, d)
    out = np.empty(_NOUT)
    st = np.zeros(_NST, dtype=np.int64)
    k0, k1 = _curv_arg(curv_low, "curv_low"), _curv_arg(curv_high, "curv_high")
    _one(xi, V, d, float(m_tilde), int(n_xi), float(margin), N_LEVELS, k0, k1, out, st)
    if st[3] == 1:
        raise InputError("profile: no double well with minima at its ends (no barrier, or V'' <= 0 at a minimum)")
    ok, co = _setup(xi, V, d, float(m_tilde), k0, k1, np.empty(_NOUT), np.zeros(_NST, dtype=np.int64))
    x0, h, n = out[_O_X0], out[_O_H], int(out[_O_NG])
    grid = x0 + h * np.arange(n)
    return grid, _fill_grid(xi, co, x0, h, n, out[_O_K0], out[_O_K1]), h


def analyse_profile(xi, V) -> dict[str, float | bool]:
    """Barrier top and minima of a profile (spline with zero end slopes)."""
    xi = np.ascontiguousarray(xi, dtype=np.float64)
    V = np.ascontiguousarray(V, dtype=np.float64)
    co = _spline_coeffs(xi, V)
    ok, u_ts, v_ts, u_l, v_l, k_l, u_r, v_r, k_r = _analyse(xi, co)
    return {
        "double_well": bool(ok),
        "xi_ts": u_ts,
        "V_ts": v_ts,
        "xi_left": u_l,
        "V_left": v_l,
        "curv_left": k_l,
        "xi_right": u_r,
        "V_right": v_r,
        "curv_right": k_r,
    }


def _result(m_tilde, out, st, nev) -> TunnellingResult:
    f = {k: float(out[i]) for i, k in enumerate(_OUT_FIELDS) if not k.startswith("e") or k in ("eps_bar", "E_floor")}
    f["n_iter"] = int(out[_O_NIT]) if np.isfinite(out[_O_NIT]) else 0
    f["n_grid"] = int(out[_O_NG]) if np.isfinite(out[_O_NG]) else 0
    return TunnellingResult(
        m_tilde=float(m_tilde),
        levels=out[_LEV : _LEV + nev].copy(),
        solver_status=SOLVER_STATUS[int(st[0])],
        wkb_status=WKB_STATUS[int(st[1])],
        gamma_status=WKB_STATUS[int(st[2])],
        tls_class=TLS_CLASS[int(st[3])],
        curv_source_low=CURV_SOURCE[int(st[4])],
        curv_source_high=CURV_SOURCE[int(st[5])],
        **f,
    )


def _check_numerics(n_xi, margin, nev) -> None:
    if nev < 2 or nev > N_LEVELS:
        raise InputError(f"nev must be in 2..{N_LEVELS}, got {nev}")
    if n_xi < 50:
        raise InputError(f"n_xi must be at least 50, got {n_xi}")
    if not (math.isfinite(margin) and margin > 0):
        raise InputError(f"margin must be positive (zero-point lengths), got {margin!r}")


def tunnelling(
    xi,
    V,
    d: float,
    m_tilde: float | Sequence[float],
    n_xi: int = DEFAULT_N_XI,
    margin: float = DEFAULT_MARGIN,
    nev: int = N_LEVELS,
    curv_low: float | None = None,
    curv_high: float | None = None,
):
    """Splitting E, levels, Delta, Delta_0, Gamma and the TLS class of one double-well profile.

    ``xi`` (increasing, 0 .. 1) and ``V`` (epsilon) are the profile at the band
    images, ``d`` the path length in sigma. ``curv_low`` / ``curv_high``:
    d^2 V / d xi^2 at xi = 0 / 1 (epsilon) when known (the catalogue's columns);
    None or NaN: estimated from the profile (``curv_source_*`` says how).
    Returns a :class:`TunnellingResult`, or a list of them when ``m_tilde`` is a sequence.
    """
    xi, V, d = _check_profile(xi, V, d)
    _check_numerics(n_xi, margin, nev)
    k0, k1 = _curv_arg(curv_low, "curv_low"), _curv_arg(curv_high, "curv_high")
    many = np.ndim(m_tilde) > 0
    res = []
    for mt in np.atleast_1d(np.asarray(m_tilde, dtype=float)):
        if not (np.isfinite(mt) and mt > 0):
            raise InputError(f"m~ must be positive, got {mt!r}")
        out = np.empty(_NOUT)
        st = np.zeros(_NST, dtype=np.int64)
        _one(xi, V, d, float(mt), int(n_xi), float(margin), int(nev), k0, k1, out, st)
        res.append(_result(mt, out, st, nev))
    return res if many else res[0]


# ----------------------------------------------------------------------------
# catalogue (batch) API
# ----------------------------------------------------------------------------
CATALOGUE_COLUMNS = ("dw_id", "d", "xi", "V")
CURVATURE_COLUMNS = ("curv_low", "curv_high")  # optional: d^2 V / d xi^2 at xi = 0, 1 (epsilon); NaN = estimate


@dataclass(frozen=True)
class MassSpec:
    """One m~ to evaluate, with the unit system it comes from (if any)."""

    label: str
    m_tilde: float
    units: UnitSystem | None = None


def mass_specs(
    units: Iterable[str | Mapping[str, Any] | UnitSystem] | str | None = None,
    masses: Iterable[float] | float | None = None,
) -> list[MassSpec]:
    """MassSpecs from unit-system names / dicts / TOML paths and from bare m~ values.

    A bare m~ with exactly one unit system given takes that system's physical
    conversions (its epsilon), labelled "<units>@m~".
    """
    if isinstance(units, (str, Mapping, UnitSystem)):
        units = [units]
    systems = [get_units(u) for u in (units or [])]
    specs = [MassSpec(u.name, u.m_tilde, u) for u in systems]
    if masses is not None:
        for m in np.atleast_1d(np.asarray(masses, dtype=float)):
            if not (np.isfinite(m) and m > 0):
                raise InputError(f"--mass: m~ must be positive, got {m!r}")
            if len(systems) == 1:
                specs.append(MassSpec(f"{systems[0].name}@{m:g}", float(m), systems[0]))
            else:
                specs.append(MassSpec(f"m~={m:g}", float(m), None))
    if not specs:
        raise InputError("give at least one unit system (--units) or dimensionless mass (--mass)")
    return specs


def read_catalogue(path: str | Path):
    """Read a double-well catalogue (Parquet) and validate its schema."""
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: catalogue file not found")
    try:
        df = pd.read_parquet(p)
    except Exception as exc:  # pyarrow raises many types
        raise InputError(f"{p}: cannot read as Parquet ({type(exc).__name__}: {exc})".splitlines()[0]) from None
    validate_catalogue(df, where=str(p))
    return df


def validate_catalogue(df, where: str = "catalogue") -> None:
    """Check the minimal schema: dw_id, d (> 0), xi and V (equal-length lists)."""
    missing = [c for c in CATALOGUE_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{where}: missing column {missing[0]!r} (need {', '.join(CATALOGUE_COLUMNS)})")
    if df["dw_id"].duplicated().any():
        raise InputError(f"{where}: column 'dw_id' has duplicates (first: {df['dw_id'][df['dw_id'].duplicated()].iloc[0]!r})")
    for i, (dw, d, xi, V) in enumerate(zip(df["dw_id"], df["d"], df["xi"], df["V"])):
        try:
            _check_profile(xi, V, d, where=f"{where}: row {i} (dw_id={dw!r})")
        except (TypeError, ValueError) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(f"{where}: row {i} (dw_id={dw!r}): columns xi/V/d not numeric ({exc})") from None
    for col in CURVATURE_COLUMNS:
        if col in df.columns:
            try:
                k = np.asarray(df[col], dtype=float)
            except (TypeError, ValueError):
                raise InputError(f"{where}: column {col!r} must be numeric (NaN where unknown)") from None
            bad = np.flatnonzero(np.isinf(k))
            if bad.size:
                raise InputError(f"{where}: row {bad[0]} (dw_id={df['dw_id'].iloc[bad[0]]!r}): {col} is infinite")


def _process_chunk(args):
    """Worker: one chunk of rows -> list of output records (picklable, top level)."""
    ids, ds, xis, Vs, k0s, k1s, specs, n_xi, margin, nev = args
    recs = []
    out = np.empty(_NOUT)
    st = np.zeros(_NST, dtype=np.int64)
    for dw, d, xi, V, k0, k1 in zip(ids, ds, xis, Vs, k0s, k1s):
        xi = np.ascontiguousarray(xi, dtype=np.float64)
        V = np.ascontiguousarray(V, dtype=np.float64)
        for sp in specs:
            _one(xi, V, float(d), sp.m_tilde, n_xi, margin, nev, float(k0), float(k1), out, st)
            r = _result(sp.m_tilde, out, st, nev)
            rec = r.as_dict()
            rec["dw_id"] = dw
            rec["units"] = sp.label
            if sp.units is not None:
                u = sp.units
                rec["E_K"] = float(u.energy_to_K(r.E))
                rec["Delta_K"] = float(u.energy_to_K(r.Delta))
                rec["Delta_0_K"] = float(u.energy_to_K(r.Delta_0))
                rec["Gamma_Hz"] = float(u.rate_to_hz(r.Gamma))
            recs.append(rec)
    return recs


def _quantum_params(params, overrides: dict) -> QuantumParams:
    """``params`` with keyword overrides; ``masses`` may also be None (none) or one number."""
    if "masses" in overrides:
        m = overrides.pop("masses")
        if isinstance(m, (int, float, tuple, np.ndarray, np.generic)):
            m = np.atleast_1d(m).tolist()
        if m is not None:
            overrides["masses"] = m
    return QuantumParams.merged("quantum", params, **overrides)


def run_catalogue(
    catalogue,
    specs: Sequence[MassSpec] | None = None,
    params: QuantumParams | None = None,
    *,
    units=None,
    nev: int = N_LEVELS,
    workers: int = 1,
    chunk: int = 256,
    progress: bool = False,
    **overrides,
):
    """Add E, Delta, Delta_0, Gamma, statuses and the TLS flag to every double well.

    ``params``, ``**overrides``: a :class:`QuantumParams` and/or its fields as keywords (n_xi,
    margin, masses, end_curvature); defaults those of the study file's ``[quantum]``; a misspelt
    keyword is refused.

    ``end_curvature``: "catalogue" uses the catalogue's ``curv_low`` / ``curv_high`` (the end
    minimum's Hessian on the band tangent, 002 App. C) where present; "profile" ignores them
    and estimates each end's curvature from the sampled V(xi) (``CURV_SOURCE``). At 64 images the
    two differ by a factor 0.3-2.8 on small PSS glasses and move E by -31 % to +28 %
    (docs/quantum.md, "End curvatures"): the choice is a systematic of the 1D model.

    ``catalogue``: a DataFrame (or a Parquet path) with columns ``dw_id``, ``d``
    (sigma), ``xi`` and ``V`` (list<double>, xi from 0 to 1). ``specs`` (or
    ``units``/``masses``, see :func:`mass_specs`) name the m~ values. Returns a
    long table, one row per (double well, m~), with the catalogue's scalar
    columns carried over. ``workers > 1`` spreads chunks of rows over processes.
    """
    import pandas as pd

    p = _quantum_params(params, overrides)
    n_xi, margin = p.n_xi, p.margin
    if specs is not None and (units is not None or p.masses):
        raise InputError("quantum: give either specs or units/masses, not both")
    if not hasattr(catalogue, "columns"):
        catalogue = read_catalogue(catalogue)
    else:
        validate_catalogue(catalogue)
    if specs is None:
        specs = mass_specs(units, p.masses or None)
    n = len(catalogue)
    ids = catalogue["dw_id"].tolist()
    ds = catalogue["d"].astype(float).tolist()
    xis = list(catalogue["xi"])
    Vs = list(catalogue["V"])
    _check_numerics(n_xi, margin, nev)
    # end curvatures from the catalogue when it has them (NaN or absent: estimated per row)
    use = p.end_curvature == "catalogue"
    ks = [catalogue[c].astype(float).tolist() if use and c in catalogue.columns else [math.nan] * n
          for c in CURVATURE_COLUMNS]
    tasks = [
        (ids[i : i + chunk], ds[i : i + chunk], xis[i : i + chunk], Vs[i : i + chunk], ks[0][i : i + chunk],
         ks[1][i : i + chunk], list(specs), int(n_xi), float(margin), int(nev))
        for i in range(0, n, chunk)
    ]
    recs: list[dict] = []
    bar = None
    if progress:
        from .progressbar import progress_bar

        bar = progress_bar(total=n, desc="quantum", unit="DW")
    if workers > 1 and len(tasks) > 1:
        with ProcessPoolExecutor(max_workers=min(workers, os.cpu_count() or 1)) as ex:
            for t, r in zip(tasks, ex.map(_process_chunk, tasks)):
                recs.extend(r)
                if bar is not None:
                    bar.update(len(t[0]))
    else:
        for t in tasks:
            recs.extend(_process_chunk(t))
            if bar is not None:
                bar.update(len(t[0]))
    if bar is not None:
        bar.close()
    res = pd.DataFrame.from_records(recs)
    if res.empty:
        return res
    front = ["dw_id", "units", "m_tilde", "kT_Q", "is_tls", "tls_class", "E", "Delta", "Delta_0", "Gamma"]
    res = res[front + [c for c in res.columns if c not in front]]
    extra = [c for c in catalogue.columns if c not in ("xi", "V") and c not in res.columns]
    if extra:
        res = res.merge(catalogue[["dw_id"] + extra], on="dw_id", how="left")
    return res
