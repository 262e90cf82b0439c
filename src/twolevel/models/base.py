"""Pair models in one common polynomial-smoothed form.

Every model of the papers is a radial pair potential that can be written

    v(r) = e_ij * f(u),   u = r / s_ij,   for u < x_c (0 beyond),
    f(u) = a12 u^-12 - a6 u^-6 + c0 + c2 u^2 + c4 u^4

with s_ij and e_ij given either by type tables (TLJ, KA: ``mode = 0``) or
by the non-additive mixing rule of per-particle diameters (PSS: ``mode = 1``):

- PSS (../shared/papers/README.md, Ninarello et al. 2017; 001 Eq. (1)):
  e = eps, a12 = 1, a6 = 0, c0 = -28/x^12, c2 = 48/x^14, c4 = -21/x^16, x = 1.25,
  s_ij = (s_i + s_j)/2 (1 - 0.2 |s_i - s_j|).
- TLJ / KA2 (002_b660eabf4d6c7be7.txt Eqs. (4)-(5)): e = 4 eps_ij, a12 = a6 = 1,
  C0 = 10/x^6 - 28/x^12, C2 = 48/x^14 - 15/x^8, C4 = 6/x^10 - 21/x^16, x = 2.5.
- KA truncated and shifted: e = 4 eps_ij, a12 = a6 = 1, c0 = -(x^-12 - x^-6), c2 = c4 = 0.

One form means one set of compiled kernels for all models. The engine gets
the parameters as the tuple :meth:`PairModel.kernel_params`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ..config import Configuration
from ..errors import InputError


class KernelParams(NamedTuple):
    """The model as the compiled kernels see it (a named record: numba reads ``mp.xc`` as fast as
    a tuple item). f(u) = a12 u^-12 - a6 u^-6 + c0 + c2 u^2 + c4 u^4 inside u < xc; s_ij and e_ij
    from the tables ``sigma``, ``eps`` (type models) or the diameters (``mode`` = diameters) with
    ``nonadditivity`` (engine.kernels.mix_sigma)."""

    mode: np.int64
    sigma: np.ndarray
    eps: np.ndarray
    nonadditivity: float
    xc: float
    a12: float
    a6: float
    c0: float
    c2: float
    c4: float

MODE_TYPES = 0
MODE_DIAMETERS = 1


@dataclass(frozen=True)
class PairModel:
    name: str
    mode: int
    sigma: np.ndarray          # (T, T) s_ij table (mode 0); unused in mode 1
    eps: np.ndarray            # (T, T) energy prefactor e_ij (already 4 eps_ij for LJ)
    xc: float                  # cutoff in units of s_ij
    a12: float
    a6: float
    c0: float
    c2: float
    c4: float
    nonadditivity: float = 0.0
    density: float = 1.0       # default number density of the model
    composition: tuple[float, ...] = (1.0,)   # default number fractions of the types
    type_names: tuple[str, ...] = ("A",)
    # Reference temperatures quoted in the papers (onset, mode-coupling, glass transition),
    # used to warn about T_f values outside the studied range.
    reference_temperatures: dict = field(default_factory=dict)
    citation: str = ""
    # Per-model facts of the protocols (one owner: every stage reads them from here).
    k_alpha: float = 7.0               # |k| of F_s(k, t) at the S(k) peak, for tau_alpha
    md_dt: float = 0.005               # MD time step of relaxation runs and the quench
    explore_temperature: float = 0.4   # T_exp of the landscape exploration (quench target)
    explore_dt: float = 0.0025         # MD time step of the exploration
    units: tuple[str, ...] = ()        # default unit systems (twolevel.units names)

    # -- parameters handed to the compiled kernels ---------------------------------
    def kernel_params(self) -> KernelParams:
        return KernelParams(
            np.int64(self.mode),
            np.ascontiguousarray(self.sigma, dtype=np.float64),
            np.ascontiguousarray(self.eps, dtype=np.float64),
            float(self.nonadditivity),
            float(self.xc),
            float(self.a12),
            float(self.a6),
            float(self.c0),
            float(self.c2),
            float(self.c4),
        )

    @property
    def ntypes(self) -> int:
        return self.sigma.shape[0]

    # -- pair quantities in plain numpy (for tests, tables and plots) ---------------
    def pair_sigma_eps(self, ti, tj, di=1.0, dj=1.0):
        ti = np.asarray(ti)
        tj = np.asarray(tj)
        if self.mode == MODE_DIAMETERS:
            di = np.asarray(di, dtype=float)
            dj = np.asarray(dj, dtype=float)
            s = 0.5 * (di + dj) * (1.0 - self.nonadditivity * np.abs(di - dj))
            e = np.broadcast_to(self.eps[0, 0], np.shape(s))
        else:
            s = self.sigma[ti, tj]
            e = self.eps[ti, tj]
        return s, e

    def pair(self, r, ti=0, tj=0, di=1.0, dj=1.0):
        """v, v', v'', v''' of the pair potential at distance r (numpy, vectorised)."""
        s, e = self.pair_sigma_eps(ti, tj, di, dj)
        r = np.asarray(r, dtype=float)
        u = r / s
        inside = u < self.xc
        a12, a6, c0, c2, c4 = self.a12, self.a6, self.c0, self.c2, self.c4
        f0 = a12 * u**-12 - a6 * u**-6 + c0 + c2 * u**2 + c4 * u**4
        f1 = -12 * a12 * u**-13 + 6 * a6 * u**-7 + 2 * c2 * u + 4 * c4 * u**3
        f2 = 156 * a12 * u**-14 - 42 * a6 * u**-8 + 2 * c2 + 12 * c4 * u**2
        f3 = -2184 * a12 * u**-15 + 336 * a6 * u**-9 + 24 * c4 * u
        out = [np.where(inside, e * f0, 0.0), np.where(inside, e * f1 / s, 0.0),
               np.where(inside, e * f2 / s**2, 0.0), np.where(inside, e * f3 / s**3, 0.0)]
        return tuple(out)

    def cutoff(self, ti=0, tj=0, di=1.0, dj=1.0):
        s, _ = self.pair_sigma_eps(ti, tj, di, dj)
        return self.xc * s

    def max_cutoff(self, conf: Configuration | None = None) -> float:
        """Largest pair cutoff that can occur in ``conf`` (or for the model's tables)."""
        if self.mode == MODE_DIAMETERS:
            if conf is None:
                raise InputError(f"model {self.name}: the cutoff depends on the diameters; pass a configuration")
            d = conf.diameters
            dmin, dmax = float(d.min()), float(d.max())
            # s_ij is largest for two of the largest particles (the nonadditive term only shrinks it)
            cands = [dmax, 0.5 * (dmin + dmax) * (1 - self.nonadditivity * (dmax - dmin))]
            return self.xc * max(cands)
        return float(self.xc * self.sigma.max())

    # -- construction -------------------------------------------------------------------
    def check_configuration(self, conf: Configuration) -> None:
        if self.mode == MODE_TYPES:
            if conf.types.min() < 0 or conf.types.max() >= self.ntypes:
                raise InputError(
                    f"model {self.name} has {self.ntypes} particle types (0..{self.ntypes - 1}); "
                    f"the configuration uses types {int(conf.types.min())}..{int(conf.types.max())}")
        else:
            if np.any(conf.diameters <= 0) or not np.all(np.isfinite(conf.diameters)):
                raise InputError(f"model {self.name} needs positive finite diameters")

    def type_counts(self, n: int, composition=None) -> np.ndarray:
        comp = np.asarray(self.composition if composition is None else composition, dtype=float)
        if comp.shape != (self.ntypes,) or np.any(comp < 0) or comp.sum() <= 0:
            raise InputError(f"composition for model {self.name} must be {self.ntypes} non-negative fractions")
        comp = comp / comp.sum()
        counts = np.floor(comp * n).astype(np.int64)
        # distribute the remainder to the largest fractional parts
        rem = n - counts.sum()
        order = np.argsort(-(comp * n - counts), kind="stable")
        counts[order[:rem]] += 1
        return counts

    def random_configuration(self, n: int, density: float | None = None, dim: int = 3,
                             seed: int = 0, composition=None, diameters: str | None = None) -> Configuration:
        """A random configuration without overlaps.

        Particles sit on randomly chosen sites of a simple cubic (square) lattice that
        fills the box, with a small random displacement (10 % of the spacing), so that
        no two particles are closer than 0.8 spacing. Types (or diameters) are
        assigned at random; ``diameters`` names how a polydisperse model draws them (None:
        the model's default, PSS ``"quantiles"``). This is the starting point of an equilibration, not a
        liquid; ``twolevel.prepare`` melts it.
        """
        if n < 2:
            raise InputError(f"number of particles must be at least 2, got {n}")
        if dim not in (2, 3):
            raise InputError(f"dimension must be 2 or 3, got {dim}")
        rho = self.density if density is None else float(density)
        if not np.isfinite(rho) or rho <= 0:
            raise InputError(f"density must be positive, got {density}")
        rng = np.random.default_rng(seed)
        side = (n / rho) ** (1.0 / dim)
        box = np.full(dim, side)
        m = int(np.ceil(n ** (1.0 / dim) - 1e-9))
        a = side / m
        grids = np.meshgrid(*[np.arange(m)] * dim, indexing="ij")
        sites = np.stack([g.ravel() for g in grids], axis=1).astype(float)
        chosen = rng.choice(len(sites), size=n, replace=False)
        pos = (sites[chosen] + 0.5) * a + rng.uniform(-0.1, 0.1, size=(n, dim)) * a
        types = np.zeros(n, dtype=np.int64)
        diam = np.ones(n)
        if self.mode == MODE_TYPES:
            counts = self.type_counts(n, composition)
            types = np.repeat(np.arange(self.ntypes), counts)
            rng.shuffle(types)
        else:
            diam = self.draw_diameters(n, rng) if diameters is None else self.draw_diameters(n, rng, method=diameters)
        return Configuration(pos, box, types, diam, self.name,
                             {"model": self.name, "seed": int(seed), "density": rho, "dim": dim})

    def draw_diameters(self, n, rng, method="random"):  # pragma: no cover - overridden by PSS
        raise InputError(f"model {self.name} has no diameters to draw")
