"""Synthetic energy landscapes with known minima, for testing the landscape methods.

Every landscape here implements the :class:`~twolevel.engine.system.Potential`
interface -- ``energy(x)``, ``energy_forces(x)`` -> ``(E, F)`` with ``F`` of the
shape of ``x``, ``distance(x, y)`` (the displacement ``y - x``, no periodic
images) and a ``dim`` attribute (the dimension of one "particle") -- so the
minimisers, the exploration (:mod:`twolevel.explore`) and the band methods
accept them like any particle model. Each also knows its stationary points
analytically, which is what makes them useful as tests.

- :class:`QuarticDoubleWells`: K independent quartic double wells,
  002_b660eabf4d6c7be7.txt App. A Eqs. (A1)-(A2) (optionally coupled as in
  Eq. (A3)). Fully explored it has 2^K minima and exactly K elementary double
  wells. Each well is a 1D "particle" (``dim = 1``).
- :class:`MullerBrown`: the Müller-Brown surface (Müller & Brown, Theor. Chim.
  Acta 53, 75 (1979)), three minima and two saddles, one 2D particle.
- :class:`ThreeMinimaSurface`: a 2D surface whose minimum-energy path between
  the two outer minima passes through an intermediate minimum, along a curved
  valley (the straight line between the end minima is not the path).
"""

from __future__ import annotations

import itertools

import numpy as np

from .errors import InputError

__all__ = ["QuarticDoubleWells", "random_double_wells", "MullerBrown", "ThreeMinimaSurface"]


def _as_array(x, size: int, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.size != size:
        raise InputError(f"{name}: coordinate array of size {a.size}, expected {size}")
    return a


class QuarticDoubleWells:
    """K independent (or weakly coupled) quartic double wells.

    002_b660eabf4d6c7be7.txt Eq. (A1): v_i(x) = x^4 / 4! + kappa_i x^2 / 2 - h_i x,
    with two minima when kappa_i^3 + 9 h_i^2 / 8 < 0. Eq. (A2): V = sum_i v_i(x_i);
    Eq. (A3) adds - sum_{i<j} J_ij x_i x_j (``coupling``, a symmetric K x K matrix,
    zero by default).

    Coordinates: an array of K numbers (any shape of size K); ``dim = 1``, so each
    well is one "particle" for per-particle measures (max force, max displacement,
    participation ratio).
    """

    dim = 1

    def __init__(self, kappa, h, coupling=None):
        self.kappa = np.atleast_1d(np.asarray(kappa, dtype=np.float64)).copy()
        self.h = np.atleast_1d(np.asarray(h, dtype=np.float64)).copy()
        if self.kappa.ndim != 1 or self.kappa.shape != self.h.shape or self.kappa.size == 0:
            raise InputError(f"QuarticDoubleWells: kappa {self.kappa.shape} and h {self.h.shape} "
                             f"must be 1D arrays of the same non-zero length")
        bad = np.nonzero(~(self.kappa**3 + 9.0 * self.h**2 / 8.0 < 0))[0]
        if bad.size:
            i = int(bad[0])
            raise InputError(f"QuarticDoubleWells: well {i} (kappa={self.kappa[i]}, h={self.h[i]}) has a "
                             f"single minimum; two need kappa^3 + 9 h^2 / 8 < 0 (002 Eq. (A1))")
        self.k = self.kappa.size
        if coupling is None:
            self.coupling = None
        else:
            j = np.asarray(coupling, dtype=np.float64)
            if j.shape != (self.k, self.k) or not np.allclose(j, j.T):
                raise InputError(f"QuarticDoubleWells: coupling must be a symmetric {self.k}x{self.k} matrix")
            self.coupling = j - np.diag(np.diag(j))
        self.n = self.k
        self.force_evaluations = 0

    # -- Potential interface ---------------------------------------------------------
    def energy(self, x) -> float:
        x = _as_array(x, self.k, "QuarticDoubleWells").ravel()
        # 002_b660eabf4d6c7be7.txt Eqs. (A1)-(A2)
        e = float(np.sum(x**4 / 24.0 + 0.5 * self.kappa * x**2 - self.h * x))
        if self.coupling is not None:
            e -= 0.5 * float(x @ self.coupling @ x)  # Eq. (A3): - sum_{i<j} J_ij x_i x_j
        return e

    def energy_forces(self, x):
        xa = _as_array(x, self.k, "QuarticDoubleWells")
        xf = xa.ravel()
        e = float(np.sum(xf**4 / 24.0 + 0.5 * self.kappa * xf**2 - self.h * xf))
        f = -(xf**3 / 6.0 + self.kappa * xf - self.h)
        if self.coupling is not None:
            cx = self.coupling @ xf
            e -= 0.5 * float(xf @ cx)
            f = f + cx
        self.force_evaluations += 1
        return e, f.reshape(xa.shape)

    def distance(self, x, y):
        return np.asarray(y, dtype=np.float64) - np.asarray(x, dtype=np.float64)

    def hessian(self, x):
        xf = _as_array(x, self.k, "QuarticDoubleWells").ravel()
        hm = np.diag(0.5 * xf**2 + self.kappa)
        if self.coupling is not None:
            hm = hm - self.coupling
        return hm

    # -- analytic structure (uncoupled wells) ----------------------------------------------
    def well_stationary_points(self, i: int):
        """(x_low, x_high, x_top): the deeper minimum, the shallower one and the barrier top
        of well i: the three real roots of v_i'(x) = x^3/6 + kappa_i x - h_i."""
        r = np.roots([1.0 / 6.0, 0.0, self.kappa[i], -self.h[i]])
        r = np.sort(r.real[np.abs(r.imag) < 1e-9 * max(1.0, np.abs(r).max())])
        if r.size != 3:  # pragma: no cover - excluded by the constructor's check
            raise InputError(f"well {i} does not have two minima")
        # polish the roots by Newton on v'
        for _ in range(3):
            r = r - (r**3 / 6 + self.kappa[i] * r - self.h[i]) / (0.5 * r**2 + self.kappa[i])
        v = r**4 / 24 + 0.5 * self.kappa[i] * r**2 - self.h[i] * r
        lo, hi = (r[0], r[2]) if v[0] <= v[2] else (r[2], r[0])
        return float(lo), float(hi), float(r[1])

    def well_energy(self, i: int, x: float) -> float:
        return float(x**4 / 24 + 0.5 * self.kappa[i] * x**2 - self.h[i] * x)

    @property
    def delta_v(self) -> np.ndarray:
        """Asymmetries Delta V_i = v_i(local minimum) - v_i(absolute minimum) >= 0 (Eq. (A2))."""
        out = np.empty(self.k)
        for i in range(self.k):
            lo, hi, _ = self.well_stationary_points(i)
            out[i] = self.well_energy(i, hi) - self.well_energy(i, lo)
        return out

    @property
    def barriers(self) -> np.ndarray:
        """Barrier heights from the deeper minimum, v_i(top) - v_i(low)."""
        out = np.empty(self.k)
        for i in range(self.k):
            lo, _, top = self.well_stationary_points(i)
            out[i] = self.well_energy(i, top) - self.well_energy(i, lo)
        return out

    def minimum(self, sigma) -> np.ndarray:
        """Coordinates of the inherent structure labelled by the spins sigma_i in {0, 1}
        (0 = absolute minimum of well i, 1 = local minimum), uncoupled wells."""
        sigma = np.asarray(sigma, dtype=int)
        x = np.empty(self.k)
        for i in range(self.k):
            lo, hi, _ = self.well_stationary_points(i)
            x[i] = hi if sigma[i] else lo
        return x

    def minima(self):
        """All 2^K minima (uncoupled): (spins (2^K, K) int, coordinates (2^K, K), energies (2^K,)).
        E_IS(sigma) = E_0 + sum_i Delta V_i sigma_i, 002 Eq. (A2)."""
        if self.k > 20:
            raise InputError(f"QuarticDoubleWells.minima: 2^{self.k} minima is too many to list")
        spins = np.array(list(itertools.product((0, 1), repeat=self.k)), dtype=int)
        xs = np.array([self.minimum(s) for s in spins])
        es = np.array([self.energy(x) for x in xs])
        return spins, xs, es

    def spins(self, x) -> np.ndarray:
        """The spin labels of a configuration: which side of each barrier top it lies on."""
        xf = np.asarray(x, dtype=float).ravel()
        out = np.empty(self.k, dtype=int)
        for i in range(self.k):
            lo, hi, top = self.well_stationary_points(i)
            out[i] = int((xf[i] - top) * (hi - top) > 0)
        return out


def random_double_wells(k: int, seed: int = 0, delta_v=(0.0, 0.3), barrier=(0.6, 1.2)) -> QuarticDoubleWells:
    """K uncoupled quartic double wells (002 Eq. (A1)) with asymmetries and barriers drawn
    uniformly in the given ranges (energy units; the barrier is that of the untilted well).

    For h = 0 the well x^4/24 + kappa x^2/2 has minima at +-sqrt(-6 kappa) and barrier
    3 kappa^2 / 2; a tilt h then sets the asymmetry, found here by bisection on h.
    """
    if k < 1:
        raise InputError(f"random_double_wells: need at least one well, got k={k}")
    rng = np.random.default_rng(seed)
    dv = rng.uniform(*delta_v, size=k)
    vb = rng.uniform(*barrier, size=k)
    kappa = np.empty(k)
    h = np.empty(k)
    for i in range(k):
        kap = -np.sqrt(2.0 * vb[i] / 3.0)
        hmax = np.sqrt(-8.0 * kap**3 / 9.0) * 0.999
        lo_h, hi_h = 0.0, hmax
        for _ in range(80):
            mid = 0.5 * (lo_h + hi_h)
            w = QuarticDoubleWells([kap], [mid])
            if w.delta_v[0] < dv[i]:
                lo_h = mid
            else:
                hi_h = mid
        kappa[i], h[i] = kap, 0.5 * (lo_h + hi_h)
    return QuarticDoubleWells(kappa, h)


class MullerBrown:
    """The Müller-Brown potential V(x, y) = sum_k A_k exp(a_k (x-x0_k)^2 + b_k (x-x0_k)(y-y0_k)
    + c_k (y-y0_k)^2) (Müller & Brown 1979), coordinates (x, y) as an array of size 2
    (one 2D particle, ``dim = 2``). ``scale`` multiplies the energy (the raw surface has
    barriers of ~100; scale = 0.01 brings them to order one for MD tests).

    Known stationary points (scale 1): minima (-0.558, 1.442) E=-146.70, (0.623, 0.028)
    E=-108.17, (-0.050, 0.467) E=-80.77; saddles (-0.822, 0.624) E=-40.66 and
    (0.212, 0.293) E=-72.25.
    """

    dim = 2
    A = np.array([-200.0, -100.0, -170.0, 15.0])
    a = np.array([-1.0, -1.0, -6.5, 0.7])
    b = np.array([0.0, 0.0, 11.0, 0.6])
    c = np.array([-10.0, -10.0, -6.5, 0.7])
    x0 = np.array([1.0, 0.0, -0.5, -1.0])
    y0 = np.array([0.0, 0.5, 1.5, 1.0])
    MINIMA = np.array([[-0.558224, 1.441726], [0.623499, 0.028038], [-0.050011, 0.466694]])
    SADDLES = np.array([[-0.822002, 0.624313], [0.212487, 0.292988]])

    def __init__(self, scale: float = 1.0):
        if not np.isfinite(scale) or scale <= 0:
            raise InputError(f"MullerBrown: scale must be positive, got {scale}")
        self.scale = float(scale)
        self.n = 1
        self.force_evaluations = 0

    def _terms(self, x):
        p = _as_array(x, 2, "MullerBrown").ravel()
        dx = p[0] - self.x0
        dy = p[1] - self.y0
        ex = self.A * np.exp(self.a * dx * dx + self.b * dx * dy + self.c * dy * dy)
        return dx, dy, ex

    def energy(self, x) -> float:
        return self.scale * float(self._terms(x)[2].sum())

    def energy_forces(self, x):
        dx, dy, ex = self._terms(x)
        gx = np.sum(ex * (2 * self.a * dx + self.b * dy))
        gy = np.sum(ex * (self.b * dx + 2 * self.c * dy))
        self.force_evaluations += 1
        f = -self.scale * np.array([gx, gy])
        return self.scale * float(ex.sum()), f.reshape(np.shape(x))

    def distance(self, x, y):
        return np.asarray(y, dtype=np.float64) - np.asarray(x, dtype=np.float64)


class ThreeMinimaSurface:
    """A 2D surface with an intermediate minimum on a curved valley:

        V(x, y) = w x^2 (x^2 - 1)^2 + (k / 2) (y - s x^2)^2

    Minima at (-1, s), (0, 0) and (1, s), all at V = 0; saddles at x = +-1/sqrt(3),
    y = s / 3 with V = 4 w / 27. The minimum-energy path from (-1, s) to (1, s) runs
    along the parabola y = s x^2 and passes through the intermediate minimum (0, 0),
    so a band method must split it into two elementary double wells. One 2D particle
    (``dim = 2``); coordinates an array of size 2.
    """

    dim = 2

    def __init__(self, w: float = 1.0, k: float = 4.0, s: float = 0.5):
        if not (w > 0 and k > 0 and np.isfinite(s)):
            raise InputError(f"ThreeMinimaSurface: need w > 0, k > 0 and finite s (got {w}, {k}, {s})")
        self.w, self.k, self.s = float(w), float(k), float(s)
        self.n = 1
        self.force_evaluations = 0

    @property
    def minima(self) -> np.ndarray:
        return np.array([[-1.0, self.s], [0.0, 0.0], [1.0, self.s]])

    @property
    def saddles(self) -> np.ndarray:
        x = 1.0 / np.sqrt(3.0)
        return np.array([[-x, self.s / 3.0], [x, self.s / 3.0]])

    @property
    def barrier(self) -> float:
        return 4.0 * self.w / 27.0

    def energy(self, x) -> float:
        p = _as_array(x, 2, "ThreeMinimaSurface").ravel()
        u = p[1] - self.s * p[0] ** 2
        return float(self.w * p[0] ** 2 * (p[0] ** 2 - 1) ** 2 + 0.5 * self.k * u * u)

    def energy_forces(self, x):
        p = _as_array(x, 2, "ThreeMinimaSurface").ravel()
        X, Y = p
        u = Y - self.s * X * X
        e = self.w * X * X * (X * X - 1) ** 2 + 0.5 * self.k * u * u
        gx = self.w * (2 * X * (X * X - 1) ** 2 + 4 * X**3 * (X * X - 1)) - 2 * self.k * self.s * X * u
        gy = self.k * u
        self.force_evaluations += 1
        return float(e), np.array([-gx, -gy]).reshape(np.shape(x))

    def distance(self, x, y):
        return np.asarray(y, dtype=np.float64) - np.asarray(x, dtype=np.float64)
