"""Interaction distributions g(V) of the DPLM and their Boltzmann-weighted forms.

Families (000_ac86d19d448073de.txt):
- ``uniform``       on [V0, V0 + dV]                     (Sec. III; main case V0 = 0, dV = 1)
- ``linear``        g(V) = 2 (V - V0) / dV^2 on [V0, V0 + dV]   (App. A, Fig. 8 inset, "g(V) = 2V")
- ``uniform_delta`` g(V) = G0/dV on [0, dV] + (1 - G0) delta(V - dV)   (Eq. (12))
- ``fermi_gauss``   g(V) = G0 f_Fermi(V) + (1 - G0) f_Gau(V), V >= 0   (Eqs. (13)-(15);
                    the Gaussian's width is sigma_V, see papers/README.md), normalised numerically
- ``table``         a piecewise-linear density through user points, normalised
- any Python callable density on a finite support (:func:`custom`).

p_eq(V) ~ g(V) exp(-V / T) is the distribution of an occupied bond at
equilibrium temperature T (000 Eq. (A14)).

Every distribution is a continuous density on [vmin, vmax] plus optional point
masses (atoms). Sampling uses an inverse-CDF table, except the uniform family
(and its p_eq, a truncated exponential) which are sampled exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ..errors import InputError

_GL_X, _GL_W = np.polynomial.legendre.leggauss(6)


@dataclass(frozen=True)
class GDist:
    """A distribution g(V): continuous density (unnormalised) on [vmin, vmax] plus atoms."""

    name: str
    vmin: float
    vmax: float
    density: Callable[[np.ndarray], np.ndarray]
    atoms: tuple[tuple[float, float], ...] = ()
    uniform: tuple[float, float] | None = None  # (V0, dV) when g is exactly uniform
    params: dict = field(default_factory=dict)
    breakpoints: tuple[float, ...] = ()  # where the density is not smooth

    # ---- integrals -------------------------------------------------------
    def _edges(self, n: int = 20000) -> np.ndarray:
        pts = sorted({self.vmin, self.vmax, *[b for b in self.breakpoints if self.vmin < b < self.vmax]})
        edges = [np.linspace(pts[i], pts[i + 1], max(2, int(n * (pts[i + 1] - pts[i]) / (self.vmax - self.vmin)) + 1))
                 for i in range(len(pts) - 1)]
        return np.unique(np.concatenate(edges))

    def _cell_integrals(self, edges: np.ndarray, T: float | None) -> np.ndarray:
        """integral of density(V) [exp(-V/T)] over each cell, 6-point Gauss-Legendre."""
        a, b = edges[:-1], edges[1:]
        mid, half = 0.5 * (a + b), 0.5 * (b - a)
        x = mid[:, None] + half[:, None] * _GL_X[None, :]
        f = np.asarray(self.density(x), dtype=np.float64)
        if T is not None:
            f = f * np.exp(-(x - self.vmin) / T)
        return (f * _GL_W[None, :]).sum(axis=1) * half

    def _atom_weights(self, T: float | None) -> list[tuple[float, float]]:
        if T is None:
            return list(self.atoms)
        return [(v, w * np.exp(-(v - self.vmin) / T)) for v, w in self.atoms]

    def norm(self, T: float | None = None) -> float:
        """integral g(V) [exp(-(V - vmin)/T)] dV (continuous part + atoms)."""
        e = self._edges()
        return float(self._cell_integrals(e, T).sum() + sum(w for _, w in self._atom_weights(T)))

    def z1(self, T: float) -> float:
        """z1 = integral g(V) exp(-V/T) dV, the single-bond partition function (normalised g)."""
        return self.norm(T) / self.norm(None) * float(np.exp(-self.vmin / T))

    def pdf(self, V: np.ndarray, T: float | None = None) -> np.ndarray:
        """Normalised continuous density of g (T=None) or of p_eq at T (000 Eq. (A14)); atoms excluded."""
        V = np.asarray(V, dtype=np.float64)
        inside = (V >= self.vmin) & (V <= self.vmax)
        f = np.where(inside, self.density(np.clip(V, self.vmin, self.vmax)), 0.0)
        if T is not None:
            f = f * np.exp(-(V - self.vmin) / T)
        return f / self.norm(T)

    def mean(self, T: float | None = None) -> float:
        e = self._edges()
        ci = self._cell_integrals(e, T)
        xm = 0.5 * (e[:-1] + e[1:])
        # first moment with the same quadrature
        a, b = e[:-1], e[1:]
        mid, half = 0.5 * (a + b), 0.5 * (b - a)
        x = mid[:, None] + half[:, None] * _GL_X[None, :]
        f = np.asarray(self.density(x), dtype=np.float64)
        if T is not None:
            f = f * np.exp(-(x - self.vmin) / T)
        m1 = ((f * x * _GL_W[None, :]).sum(axis=1) * half).sum()
        del xm
        aw = self._atom_weights(T)
        return float((m1 + sum(v * w for v, w in aw)) / (ci.sum() + sum(w for _, w in aw)))

    def cell_masses(self, h: float, T: float | None = None) -> tuple[float, np.ndarray]:
        """Probability masses of cells [x0 + i h, x0 + (i+1) h] covering the support.

        Returns ``(x0, masses)`` with ``x0 = floor(vmin/h) h``; atoms go to the cell holding them.
        Used by the numerical convolution of 000 Eq. (A16).
        """
        i0 = int(np.floor(self.vmin / h + 1e-9))
        i1 = int(np.ceil(self.vmax / h - 1e-9))
        edges = h * np.arange(i0, i1 + 1, dtype=np.float64)
        edges[0] = max(edges[0], self.vmin)
        edges[-1] = min(edges[-1], self.vmax)
        # subdivide each cell at breakpoints for accurate quadrature of kinks
        m = self._cell_integrals(edges, T)
        for b in self.breakpoints:
            if self.vmin < b < self.vmax:
                j = int(np.clip(np.searchsorted(edges, b) - 1, 0, len(m) - 1))
                if edges[j] < b < edges[j + 1]:
                    m[j] = self._cell_integrals(np.array([edges[j], b, edges[j + 1]]), T).sum()
        for v, w in self._atom_weights(T):
            j = int(np.clip(np.floor(v / h + 1e-9) - i0, 0, len(m) - 1))
            if v >= edges[-1] and j > 0 and abs(v - h * (i0 + j)) < 1e-9 * h:
                j -= 1
            m[j] += w
        m = np.clip(m, 0.0, None)
        return h * i0, m / m.sum()

    # ---- sampling --------------------------------------------------------
    def ppf_table(self, M: int = 1 << 16, T: float | None = None) -> np.ndarray:
        """Quantile table q[i] = F^-1(i/M), i = 0..M, of g (T=None) or p_eq at T (Eq. (A14))."""
        e = self._edges(200000)
        ci = self._cell_integrals(e, T)
        xs = [e[0]]
        Fs = [0.0]
        atoms = sorted(self._atom_weights(T))
        ai = 0
        acc = 0.0
        for j in range(len(ci)):
            while ai < len(atoms) and atoms[ai][0] <= e[j]:
                acc += atoms[ai][1]
                xs.append(e[j])
                Fs.append(acc)
                ai += 1
            acc += ci[j]
            xs.append(e[j + 1])
            Fs.append(acc)
        while ai < len(atoms):
            acc += atoms[ai][1]
            xs.append(e[-1])
            Fs.append(acc)
            ai += 1
        xs = np.asarray(xs)
        Fs = np.asarray(Fs) / acc
        u = np.arange(M + 1, dtype=np.float64) / M
        # for flat pieces of F choose the left end; np.interp on non-decreasing xp is fine
        q = np.interp(u, Fs, xs)
        q[0], q[-1] = xs[0], xs[-1]
        return q

    def sample(self, n: int, rng: np.random.Generator, T: float | None = None) -> np.ndarray:
        """Draw n values of g (T=None) or of p_eq at T; exact for the uniform family."""
        u = rng.random(n)
        if self.uniform is not None:
            V0, dV = self.uniform
            if T is None:
                return V0 + dV * u
            return V0 - T * np.log1p(-u * (-np.expm1(-dV / T)))  # truncated exponential, Eq. (A14)
        tab = self.ppf_table(T=T)
        x = u * (len(tab) - 1)
        i = np.minimum(x.astype(np.int64), len(tab) - 2)
        f = x - i
        return tab[i] + f * (tab[i + 1] - tab[i])

    def describe(self) -> str:
        p = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.name}({p})"


# ---- families ---------------------------------------------------------------
def uniform(V0: float = 0.0, dV: float = 1.0) -> GDist:
    """000 Sec. III: g(V) uniform over [V0, V0 + dV]."""
    if dV <= 0:
        raise InputError("g.dV: must be positive")
    return GDist("uniform", V0, V0 + dV, lambda V: np.ones_like(V), (), (V0, dV), {"V0": V0, "dV": dV})


def linear(V0: float = 0.0, dV: float = 1.0) -> GDist:
    """000 Fig. 8 inset: g(V) = 2V on [0, 1] (here 2 (V - V0)/dV^2 on [V0, V0 + dV])."""
    if dV <= 0:
        raise InputError("g.dV: must be positive")
    return GDist("linear", V0, V0 + dV, lambda V: 2.0 * (V - V0) / dV**2, params={"V0": V0, "dV": dV})


def uniform_delta(G0: float, dV: float = 1.0) -> GDist:
    """000 Eq. (12): g(V) = G0 + (1 - G0) delta(V - dV) on [0, dV] (density G0/dV for dV != 1)."""
    if not 0.0 < G0 <= 1.0:
        raise InputError("g.G0: must be in (0, 1]")
    if dV <= 0:
        raise InputError("g.dV: must be positive")
    atoms = ((dV, 1.0 - G0),) if G0 < 1.0 else ()
    return GDist("uniform_delta", 0.0, dV, lambda V: np.full_like(V, G0 / dV), atoms,
                 (0.0, dV) if G0 == 1.0 else None, {"G0": G0, "dV": dV})


def fermi_gauss(G0: float, sigma_V: float, dV: float = 1.0) -> GDist:
    """000 Eqs. (13)-(15): G0 f_Fermi(V) + (1 - G0) f_Gau(V) for V >= 0.

    f_Fermi = 1/(1 + exp((V - dV)/sigma_V)) (Eq. (14)); f_Gau = exp(-(V - dV)^2/(2 sigma_V^2))
    / (sqrt(2 pi) sigma_V) (Eq. (15), width sigma_V per papers/README.md). The sum is
    normalised numerically on [0, dV + 40 sigma_V].
    """
    if not 0.0 <= G0 <= 1.0:
        raise InputError("g.G0: must be in [0, 1]")
    if sigma_V <= 0:
        raise InputError("g.sigma_V: must be positive")

    def dens(V):
        fermi = 0.5 * (1.0 - np.tanh((V - dV) / (2.0 * sigma_V)))  # = 1/(1+exp((V-dV)/sigma)), overflow-safe
        gau = np.exp(-((V - dV) ** 2) / (2.0 * sigma_V**2)) / (np.sqrt(2.0 * np.pi) * sigma_V)
        return G0 * fermi + (1.0 - G0) * gau

    return GDist("fermi_gauss", 0.0, dV + 40.0 * sigma_V, dens, params={"G0": G0, "sigma_V": sigma_V, "dV": dV},
                 breakpoints=(dV,))


def table(points: Sequence[Sequence[float]]) -> GDist:
    """User density: piecewise-linear through (V, g) points (V increasing), normalised."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] < 2:
        raise InputError("g.points: need a list of at least two [V, g] pairs")
    if np.any(np.diff(pts[:, 0]) <= 0):
        raise InputError("g.points: V values must be strictly increasing")
    if np.any(pts[:, 1] < 0) or not np.any(pts[:, 1] > 0):
        raise InputError("g.points: g values must be non-negative and not all zero")
    xs, ys = pts[:, 0].copy(), pts[:, 1].copy()
    return GDist("table", float(xs[0]), float(xs[-1]), lambda V: np.interp(V, xs, ys), params={"n_points": len(xs)},
                 breakpoints=tuple(float(x) for x in xs[1:-1]))


def custom(density: Callable[[np.ndarray], np.ndarray], vmin: float, vmax: float, name: str = "custom") -> GDist:
    """Any vectorised non-negative density on [vmin, vmax] (normalised numerically)."""
    if not vmax > vmin:
        raise InputError("g: vmax must exceed vmin")
    return GDist(name, float(vmin), float(vmax), density)


FAMILIES = ("uniform", "linear", "uniform_delta", "fermi_gauss", "table")


def from_params(family: str, **kw) -> GDist:
    if family == "uniform":
        return uniform(kw.get("V0", 0.0), kw.get("dV", 1.0))
    if family == "linear":
        return linear(kw.get("V0", 0.0), kw.get("dV", 1.0))
    if family == "uniform_delta":
        if kw.get("G0") is None:
            raise InputError("g.G0: required for family 'uniform_delta'")
        return uniform_delta(kw["G0"], kw.get("dV", 1.0))
    if family == "fermi_gauss":
        if kw.get("G0") is None or kw.get("sigma_V") is None:
            raise InputError("g.G0 and g.sigma_V: required for family 'fermi_gauss'")
        return fermi_gauss(kw["G0"], kw["sigma_V"], kw.get("dV", 1.0))
    if family == "table":
        if kw.get("points") is None:
            raise InputError("g.points: required for family 'table'")
        return table(kw["points"])
    raise InputError(f"g.family: unknown family {family!r} (choose from {', '.join(FAMILIES)})")
