"""Model double wells with exactly computable splittings, for validating the instanton.

Reduced units, hbar = 1, one mass ``m`` for every coordinate (the 1D problem of
002_b660eabf4d6c7be7.txt Eq. (10) with m~ -> m). The double well along x is

    V_dw(x) = Vb (x^2 - 1)^2 - (a / 4) (x^3 - 3 x)

with minima at x = -1 and +1 for any asymmetry a (V(+1) - V(-1) = a) and barrier Vb
(a = 0). Coupled to a harmonic mode y of frequency ``omega`` (three classic kinds; Takada &
Nakamura, J. Chem. Phys. 100, 98 (1994) for the first two):

* ``"linear"`` (antisymmetric mode coupling): ``V_dw(x) + omega^2 (y - c x)^2 / 2``; minima
  at (+-1, +-c); the MEP is the straight line y = c x, but the kinetic and potential terms do
  not separate along it.
* ``"curved"`` (symmetric mode coupling): ``V_dw(x) + omega^2 (y - c (x^2 - 1))^2 / 2``; minima
  at (+-1, 0); the MEP is the parabola y = c (x^2 - 1) and the tunnelling path cuts its corner.
* ``"squeezing"``: ``V_dw(x) + omega^2 (1 + c (x^2 - 1)^2) y^2 / 2``; MEP y = 0, the transverse
  frequency rises to omega sqrt(1 + c) at the barrier (the zero-point energy the 1D MEP leaves
  out).

c = 0 is the uncoupled limit: the splitting is the 1D one of V_dw. The exact reference is a
sinc-DVR (Colbert & Miller, J. Chem. Phys. 96, 1982 (1992), Eq. (A7)) diagonalisation on a
2D grid (:func:`dvr_levels`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..errors import InputError

KINDS = ("linear", "curved", "squeezing")


@dataclass(frozen=True)
class Quartic1D:
    """The 1D double well V_dw(x) alone (one coordinate).

    ``harmonic_outside=True`` continues V beyond the minima (|x| > 1) by its harmonic expansion
    there, V(+-1) + V''(+-1) (x -+ 1)^2 / 2 (C^2): the problem twolevel.quantum solves for a
    profile that ends at the minima (docs/quantum.md, "Extension")."""

    Vb: float = 1.0
    asym: float = 0.0
    harmonic_outside: bool = False

    def _terms(self, x: float):
        a, vb = self.asym, self.Vb
        if self.harmonic_outside and abs(x) > 1:
            e = 1.0 if x > 0 else -1.0
            v0 = -0.25 * a * (e - 3 * e)
            k = vb * 8 - 1.5 * a * e
            return v0 + 0.5 * k * (x - e) ** 2, k * (x - e), k
        return (vb * (x * x - 1) ** 2 - 0.25 * a * (x ** 3 - 3 * x),
                4 * vb * x * (x * x - 1) - 0.75 * a * (x * x - 1),
                vb * (12 * x * x - 4) - 1.5 * a * x)

    def energy(self, x) -> float:
        return float(self._terms(float(np.asarray(x).reshape(-1)[0]))[0])

    def gradient(self, x) -> np.ndarray:
        return np.array([self._terms(float(np.asarray(x).reshape(-1)[0]))[1]])

    def energy_forces(self, x):
        return self.energy(x), -self.gradient(x).reshape(np.shape(x))

    def hessian(self, x) -> np.ndarray:
        return np.array([[self._terms(float(np.asarray(x).reshape(-1)[0]))[2]]])

    def distance(self, x, y) -> np.ndarray:
        return np.asarray(y, dtype=float) - np.asarray(x, dtype=float)

    def minima(self) -> tuple[np.ndarray, np.ndarray]:
        """(left, right) minimum."""
        return np.array([-1.0]), np.array([1.0])


@dataclass(frozen=True)
class Coupled2D:
    """V_dw(x) coupled to a harmonic mode y (module docstring). Coordinates (x, y)."""

    kind: str = "curved"
    Vb: float = 1.0
    omega: float = 1.0
    c: float = 0.0
    asym: float = 0.0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise InputError(f"coupling kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "squeezing" and self.c <= -1:
            raise InputError("squeezing coupling needs c > -1 (a real transverse frequency)")

    def _dw(self, x):
        return (self.Vb * (x * x - 1) ** 2 - 0.25 * self.asym * (x ** 3 - 3 * x),
                4 * self.Vb * x * (x * x - 1) - 0.75 * self.asym * (x * x - 1),
                self.Vb * (12 * x * x - 4) - 1.5 * self.asym * x)

    def energy_grid(self, x, y):
        """V on arrays x, y (broadcast)."""
        w2 = self.omega ** 2
        v = self._dw(x)[0]
        if self.kind == "linear":
            return v + 0.5 * w2 * (y - self.c * x) ** 2
        if self.kind == "curved":
            return v + 0.5 * w2 * (y - self.c * (x * x - 1)) ** 2
        return v + 0.5 * w2 * (1 + self.c * (x * x - 1) ** 2) * y * y

    def energy(self, p) -> float:
        x, y = np.asarray(p, dtype=float).reshape(2)
        return float(self.energy_grid(x, y))

    def gradient(self, p) -> np.ndarray:
        x, y = np.asarray(p, dtype=float).reshape(2)
        w2, c = self.omega ** 2, self.c
        _, g, _ = self._dw(x)
        if self.kind == "linear":
            u = y - c * x
            return np.array([g - w2 * c * u, w2 * u])
        if self.kind == "curved":
            u = y - c * (x * x - 1)
            return np.array([g - 2 * w2 * c * x * u, w2 * u])
        s = 1 + c * (x * x - 1) ** 2
        return np.array([g + 0.5 * w2 * y * y * 4 * c * x * (x * x - 1), w2 * s * y])

    def energy_forces(self, p):
        return self.energy(p), -self.gradient(p).reshape(np.shape(p))

    def hessian(self, p) -> np.ndarray:
        x, y = np.asarray(p, dtype=float).reshape(2)
        w2, c = self.omega ** 2, self.c
        _, _, h = self._dw(x)
        if self.kind == "linear":
            return np.array([[h + w2 * c * c, -w2 * c], [-w2 * c, w2]])
        if self.kind == "curved":
            u = y - c * (x * x - 1)
            hxx = h + w2 * (4 * c * c * x * x - 2 * c * u)
            return np.array([[hxx, -2 * w2 * c * x], [-2 * w2 * c * x, w2]])
        s = 1 + c * (x * x - 1) ** 2
        hxx = h + 0.5 * w2 * y * y * 4 * c * (3 * x * x - 1)
        hxy = w2 * y * 4 * c * x * (x * x - 1)
        return np.array([[hxx, hxy], [hxy, w2 * s]])

    def distance(self, p, q) -> np.ndarray:
        return np.asarray(q, dtype=float) - np.asarray(p, dtype=float)

    def minima(self) -> tuple[np.ndarray, np.ndarray]:
        """(left, right) minimum: x = -1 and x = +1."""
        yc = self.c if self.kind == "linear" else 0.0
        return np.array([-1.0, -yc]), np.array([1.0, yc])

    def mep(self, n: int = 201) -> np.ndarray:
        """The minimum energy path from the left to the right minimum, (n, 2) (analytic: the
        valley floor dV/dy = 0 for every x in [-1, 1])."""
        x = np.linspace(-1.0, 1.0, n)
        if self.kind == "linear":
            y = self.c * x
        elif self.kind == "curved":
            y = self.c * (x * x - 1)
        else:
            y = np.zeros_like(x)
        return np.column_stack([x, y])


def sinc_dvr_kinetic(n: int, h: float, mass: float) -> np.ndarray:
    """Colbert-Miller kinetic matrix on n equally spaced points (spacing h), hbar = 1.
    Colbert & Miller, J. Chem. Phys. 96, 1982 (1992), Eq. (A7)."""
    i = np.arange(n)
    d = i[:, None] - i[None, :]
    with np.errstate(divide="ignore"):
        T = np.where(d == 0, np.pi ** 2 / 3, 2.0 / np.where(d == 0, 1, d) ** 2)
    return T * (-1.0) ** np.abs(d) / (2 * mass * h * h)


def dvr_levels(model, mass: float, n_x: int = 64, n_y: int = 40, x_max: float = 1.9,
               y_range: tuple[float, float] | None = None, nev: int = 4) -> np.ndarray:
    """The nev lowest levels of -(1/2m) Laplacian + V on a 2D sinc-DVR grid (hbar = 1).

    ``model`` is a :class:`Coupled2D` (or :class:`Quartic1D`, then a 1D grid of n_x points).
    Dense diagonalisation: n_x n_y up to a few thousand points. Converge it by enlarging the grid.
    """
    if not (mass > 0):
        raise InputError(f"mass must be positive, got {mass!r}")
    xs = np.linspace(-x_max, x_max, n_x)
    hx = xs[1] - xs[0]
    Tx = sinc_dvr_kinetic(n_x, hx, mass)
    if isinstance(model, Quartic1D):
        H = Tx + np.diag([model.energy([x]) for x in xs])
        return sla.eigh(H, eigvals_only=True, subset_by_index=[0, nev - 1])
    if y_range is None:
        lo, hi = np.inf, -np.inf
        mep = model.mep(101)
        lo, hi = mep[:, 1].min(), mep[:, 1].max()
        spread = 7.0 / np.sqrt(mass * model.omega)
        y_range = (lo - spread, hi + spread)
    ys = np.linspace(y_range[0], y_range[1], n_y)
    hy = ys[1] - ys[0]
    Ty = sinc_dvr_kinetic(n_y, hy, mass)
    X, Y = np.meshgrid(xs, ys, indexing="ij")
    Vg = model.energy_grid(X, Y).reshape(-1)
    H = (sp.kron(sp.csr_matrix(Tx), sp.identity(n_y)) + sp.kron(sp.identity(n_x), sp.csr_matrix(Ty))
         + sp.diags(Vg)).tocsc()
    # shift-invert Lanczos just below the lowest level (ARPACK; the lowest eigenvalues of a sparse
    # H with nnz = n_x n_y (n_x + n_y)); the shift is below min V, so H - s is positive definite
    s = float(Vg.min()) - 1e-3 * (float(np.diag(Tx).max()) + 1.0)
    w = spla.eigsh(H, k=nev, sigma=s, which="LM", tol=1e-14, ncv=max(4 * nev, 20),
                   return_eigenvectors=False)
    return np.sort(w)
