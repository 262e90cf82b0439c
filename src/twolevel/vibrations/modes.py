"""Harmonic modes of an inherent structure and their statistics.

- :func:`normal_modes`: eigenpairs of the Hessian (unit masses: the dynamical matrix)
  at an inherent structure, dense (``numpy.linalg.eigh``) for small systems and
  sparse shift-invert Lanczos (``scipy.sparse.linalg.eigsh`` with a sparse LU of
  H - sigma I, sigma slightly below zero so the factorised matrix is regular) for the
  lowest ``k`` modes of large ones (N = 12000 in 3D is the 002 Fig. 10 size).
  The d zero modes of the periodic box (rigid translations) are removed.
- :func:`~twolevel.measures.participation_fraction`: PR / N = (sum_i |e_i|^2)^2 / (N sum_i |e_i|^4)
  (002 Eq. (16) divided by N; not the ``PR`` of the explore and paths stages).
- :func:`density_of_states`, :func:`cumulative_dos`: D(omega) and I(omega) over an
  ensemble, normalised per d N modes as in 004 SI (int D = 1).
- :func:`identify_qlm`: quasi-localised modes below omega_t = 2 pi c_t / L
  (002_b660eabf4d6c7be7.txt Eq. (18)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..config import Configuration
from ..engine import ParticleSystem
from ..errors import ConvergenceError, InputError
from ..measures import participation_fraction

DENSE_MAX_DOF = 3000
# Beyond this many degrees of freedom "auto" uses Lanczos without factorisation: the sparse LU of
# a 3D Hessian with the TLJ cutoff fills in badly (N = 12000: > 12 CPU min and > 4 GB unfinished,
# against 240 CPU s for the 50 lowest modes by Lanczos; N = 1500: LU 5 s, Lanczos 17 s).
SHIFT_INVERT_MAX_DOF = 15000


@dataclass
class Modes:
    """Eigenpairs of the Hessian without the translational zero modes, sorted by eigenvalue.

    eigenvalues (k,) = omega^2 (unit masses); vectors (N d, k) orthonormal columns;
    n, dim of the system; complete: whether all N d - d modes are present.
    """

    eigenvalues: np.ndarray
    vectors: np.ndarray
    n: int
    dim: int
    complete: bool

    @property
    def omega(self) -> np.ndarray:
        """Frequencies; unstable (negative) eigenvalues give negative omega = -sqrt(|lambda|)."""
        lam = self.eigenvalues
        return np.sign(lam) * np.sqrt(np.abs(lam))

    @property
    def participation(self) -> np.ndarray:
        return participation_fraction(self.vectors, self.dim)

    def __len__(self) -> int:
        return len(self.eigenvalues)


def translation_basis(n: int, dim: int) -> np.ndarray:
    """The d orthonormal rigid translations, shape (N d, d)."""
    t = np.zeros((n * dim, dim))
    for a in range(dim):
        t[a::dim, a] = 1.0 / np.sqrt(n)
    return t


def _remove_translations(lam, vec, n, dim):
    """Remove the d rigid translations from a set of eigenpairs.

    The eigenvectors with eigenvalues within the near-zero cluster (which may mix the
    translations with other zero modes, e.g. rattlers) are projected on the complement
    of the translations and re-orthonormalised; the d directions with the largest
    translation content are dropped.
    """
    t = translation_basis(n, dim)
    ov = ((t.T @ vec) ** 2).sum(axis=0)
    scale = max(float(np.abs(lam).max()), 1e-300)
    zero = np.flatnonzero(np.abs(lam) < 1e-7 * scale)
    if len(zero) > dim:
        sub = vec[:, zero]
        sub = sub - t @ (t.T @ sub)
        u, s, _ = np.linalg.svd(sub, full_matrices=False)
        rest = u[:, : len(zero) - dim]
        keep = np.setdiff1d(np.arange(len(lam)), zero)
        lam2 = np.concatenate([np.zeros(len(zero) - dim), lam[keep]])
        vec2 = np.concatenate([rest, vec[:, keep]], axis=1)
        order = np.argsort(lam2, kind="stable")
        return lam2[order], vec2[:, order]
    drop = np.argsort(-ov)[:dim]
    keep = np.setdiff1d(np.arange(len(lam)), drop)
    return lam[keep], vec[:, keep]


def normal_modes(system, x=None, k: int | None = None, method: str = "auto", sigma: float | None = None,
                 tol: float = 0.0) -> Modes:
    """Eigenpairs of the Hessian at ``x`` (default: the configuration's positions).

    system: a :class:`~twolevel.engine.ParticleSystem` or a :class:`Configuration`
    (its model is used). k: number of lowest non-zero modes wanted (default all, which
    needs the dense method). method: "dense", "sparse" (shift-invert) or "auto" (dense up to
    3000 degrees of freedom or when all modes are wanted, shift-invert up to 15000, Lanczos beyond); "lanczos" is the
    factorisation-free alternative (ARPACK on the smallest algebraic eigenvalues, only
    matrix-vector products: no fill-in memory, more iterations). sigma: shift of the
    shift-invert Lanczos (default -1e-3 times the mean diagonal, just below zero so
    that H - sigma I is positive definite despite the translational zero modes).
    """
    if isinstance(system, Configuration):
        if x is None:
            x = system.positions
        system = ParticleSystem(system)
    elif x is None:
        x = system.conf.positions
    n, dim = system.n, system.dim
    nd = n * dim
    H = system.hessian(x)
    if k is not None and (k < 1 or k > nd - dim):
        raise InputError(f"number of modes k must be in 1..{nd - dim}, got {k}")
    if method == "auto":
        if k is None or nd <= DENSE_MAX_DOF:
            method = "dense"
        else:
            method = "sparse" if nd <= SHIFT_INVERT_MAX_DOF else "lanczos"
    if method == "dense":
        lam, vec = np.linalg.eigh(H.toarray())
        lam, vec = _remove_translations(lam, vec, n, dim)
        if k is not None:
            lam, vec = lam[:k], vec[:, :k]
        return Modes(lam, vec, n, dim, complete=k is None or k == nd - dim)
    if method not in ("sparse", "lanczos"):
        raise InputError(f"mode method must be 'dense', 'sparse', 'lanczos' or 'auto', got {method!r}")
    if k is None:
        raise InputError(f"the {method} method needs the number of modes k")
    if method == "lanczos":
        lam, vec = lowest_modes_lanczos(H, k + dim, tol=tol)
    else:
        lam, vec = lowest_modes_sparse(H, k + dim, sigma=sigma, tol=tol)
    lam, vec = _remove_translations(lam, vec, n, dim)
    return Modes(lam[:k], vec[:, :k], n, dim, complete=False)


def lowest_modes_sparse(H: sp.spmatrix, k: int, sigma: float | None = None, tol: float = 0.0):
    """Lowest k eigenpairs of a sparse symmetric H by shift-invert Lanczos around ``sigma``.

    The inverse (H - sigma I)^-1 is applied through a sparse LU factorisation with a
    symmetric fill-reducing ordering (SuperLU, MMD on A^T + A).
    """
    H = sp.csc_matrix(H)
    nd = H.shape[0]
    if sigma is None:
        sigma = -1e-3 * float(np.abs(H.diagonal()).mean())
    A = (H - sigma * sp.identity(nd, format="csc")).tocsc()
    try:
        lu = spla.splu(A, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                       options={"SymmetricMode": True})
    except RuntimeError as exc:  # singular factor: sigma hit an eigenvalue
        raise ConvergenceError(f"shift-invert factorisation failed at sigma = {sigma:g}: {exc}") from None
    op = spla.LinearOperator((nd, nd), matvec=lu.solve, dtype=float)
    try:
        lam, vec = spla.eigsh(H, k=k, sigma=sigma, which="LM", OPinv=op, tol=tol)
    except spla.ArpackNoConvergence as exc:
        raise ConvergenceError(f"ARPACK did not converge for the lowest {k} modes: {exc}") from None
    order = np.argsort(lam)
    return lam[order], vec[:, order]


def lowest_modes_lanczos(H: sp.spmatrix, k: int, tol: float = 0.0, ncv: int | None = None):
    """Lowest k eigenpairs by implicitly restarted Lanczos without inversion (which="SA")."""
    nd = H.shape[0]
    ncv = min(nd, max(2 * k + 40, 120)) if ncv is None else ncv
    try:
        lam, vec = spla.eigsh(sp.csr_matrix(H), k=k, which="SA", tol=tol if tol > 0 else 1e-10, ncv=ncv,
                              maxiter=100 * nd)
    except spla.ArpackNoConvergence as exc:
        raise ConvergenceError(f"ARPACK (Lanczos, SA) did not converge for the lowest {k} modes: {exc}") from None
    order = np.argsort(lam)
    return lam[order], vec[:, order]


# -- ensembles -----------------------------------------------------------------------------

def density_of_states(omegas, n_dof: int, bins=50, range_=None):
    """D(omega) = < (1/(d N)) sum_i delta(omega - omega_i) > (004 SI) as a histogram.

    omegas: list (one array per glass) or one array of frequencies; n_dof = d N of one glass.
    Returns (bin centres, D, bin edges). Normalised per d N and per glass, so that the
    integral over all modes is 1; with only the lowest modes computed the low-omega part
    is still correctly normalised.
    """
    arrs = [np.asarray(o, float) for o in omegas] if _is_list_of_arrays(omegas) else [np.asarray(omegas, float)]
    allw = np.concatenate(arrs) if arrs else np.zeros(0)
    h, edges = np.histogram(allw, bins=bins, range=range_)
    width = np.diff(edges)
    d = h / (width * n_dof * len(arrs))
    return 0.5 * (edges[1:] + edges[:-1]), d, edges


def _is_list_of_arrays(x) -> bool:
    return isinstance(x, (list, tuple)) and len(x) > 0 and np.ndim(x[0]) == 1


def cumulative_dos(omegas, n_dof: int):
    """I(omega) = int_0^omega D: at each sorted frequency omega_k, I = k / (d N n_glasses)."""
    arrs = [np.asarray(o, float) for o in omegas] if _is_list_of_arrays(omegas) else [np.asarray(omegas, float)]
    w = np.sort(np.concatenate(arrs))
    w = w[w > 0]
    return w, np.arange(1, len(w) + 1) / (n_dof * len(arrs))


def identify_qlm(modes: Modes, omega_t: float, fraction: float = 0.9, pr_max: float | None = None) -> np.ndarray:
    """Indices of quasi-localised modes: omega < fraction * omega_t (002 Eq. (18)).

    Below the first transverse plane wave omega_t = 2 pi c_t / L the spectrum of a glass
    holds only non-phononic (quasi-localised) modes. ``fraction`` < 1 keeps away from the
    first phonon band, which finite-size dispersion and disorder shift slightly below
    omega_t; ``pr_max`` optionally also requires a participation fraction (PR / N) below it.
    """
    if not (omega_t > 0 and 0 < fraction):
        raise InputError(f"omega_t must be positive and fraction > 0, got {omega_t}, {fraction}")
    w = modes.omega
    sel = (w > 0) & (w < fraction * omega_t)
    if pr_max is not None:
        sel &= modes.participation < pr_max
    return np.flatnonzero(sel)
