"""Minimum energy paths between inherent structures: climbing-image NEB and the string method.

Stage ``paths`` of the pipeline (../shared/DESIGN.md). Given two minima of one
energy landscape it

1. builds a band of ``images`` configurations by linear interpolation with the
   minimum-image convention (optionally through an intermediate configuration);
   for particles in a periodic box the ends are aligned (no net displacement) and
   the d uniform translations, zero modes of the box, are removed from the initial
   band and from every optimiser step (``translation_share`` measures what is left);
2. relaxes it with the climbing-image nudged elastic band (Henkelman, Uberuaga &
   Jónsson, JCP 113, 9901 (2000)) with the improved tangent (Henkelman & Jónsson,
   JCP 113, 9978 (2000)), or with the simplified string method (E, Ren &
   Vanden-Eijnden, JCP 126, 164103 (2007)) with a cubic-spline
   reparametrisation and a climbing image; both driven by FIRE 2.0
   (Guénolé et al. 2020). Defaults as in 002_b660eabf4d6c7be7.txt Sec. II D:
   64 images, spring 0.125 eps/sigma^2, FIRE, climbing image;
3. splits a path whose converged profile has interior minima into elementary
   double wells, recursively, each with its own converged band (001 "we apply an
   iterative method to split the energy profile into distinct DWPs"; 002 Sec. II D);
4. describes each elementary path as a double well (001_1b8b0be289dbb4b8.txt,
   paragraph after Fig. 1; 002 Sec. III C and Fig. 5): the profile V(xi) on
   xi in [0, 1] with xi = 0 at the deeper minimum, the path length d (sum of
   image-to-image Euclidean distances), the asymmetry Delta V, the activation
   energy V_a, the barrier V_b = V_a - Delta V / 2, the participation ratio
   (002 Eq. (16)), per-particle displacements and the saddle configuration;
5. gives the curvature at the minima and the saddle and, as in 002 App. C /
   Fig. 13, the lowest Hessian eigenvalues along the path and the projections of
   their eigenvectors on the path tangent; and for every double well the profile's
   curvature d^2 V / d xi^2 at both minima (``curv_low``, ``curv_high``: the Hessian
   projected on the band's end tangent, times d^2) for the quantum stage.

:func:`paths_for_library` runs all of it over the candidate pairs of an
exploration directory and writes the ``paths/`` artefacts (docs/paths.md).

Any object with ``energy_forces(x)`` and ``distance(x, y)`` (and optionally
``dim`` and ``hessian(x)``) is a potential here, so analytic surfaces
(Müller-Brown, ...) and :class:`~twolevel.engine.ParticleSystem` share the code.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
from pydantic import Field

from .errors import ConvergenceError, InputError, PhysicsError
from .layout import BANDS, DOUBLE_WELLS, INHERENT_STRUCTURES, IS_CONFIGS, PAIRS, PATHS_META, PATH_RESULTS
from .measures import participation_ratio
from .optimize import FIRE, FIRE2, LBFGS
from .params import Params

__all__ = [
    "BandResult",
    "DoubleWell",
    "PathResult",
    "PathsParams",
    "interpolate",
    "band_energies_forces",
    "improved_tangents",
    "optimize_band",
    "coarse_to_fine",
    "Band",
    "NEB",
    "String",
    "neb",
    "string_method",
    "find_path",
    "double_well",
    "hessian_spectrum",
    "path_curvature",
    "end_curvatures",
    "end_tangent",
    "curvature_along",
    "translation_share",
    "check_same_glass",
    "system_for_pair",
    "paths_for_library",
    "band_scheme",
    "SCHEMES",
    "CATALOGUE_SCALARS",
]

METHODS = ("neb", "string")
OPTIMIZERS = ("lbfgs", "fire", "fire-classic")
DEFAULT_IMAGES = 64  # 002_b660eabf4d6c7be7.txt Sec. II D: N_images = 64
DEFAULT_SPRING = 0.125  # 002 Sec. II D: kappa = 0.125 eps sigma^-2
DEFAULT_FTOL = 1e-4  # eps / sigma, largest per-particle perpendicular (and climbing) force
DEFAULT_MAX_STEPS = 20000
CLIMB_TIE = 1e-10  # relative energy margin before the climbing image moves to another image (Band)
SAME_TOL = 1e-3  # sigma: two minima whose largest particle displacement is below this are one
# Named band schemes (docs/paths.md "Frozen images"): "fire2" = FIRE 2.0 on every image (the
# default); "frozen" = classic FIRE with ASE's parameters, images already within tolerance held
# (not moved, not re-evaluated) and the climbing image held to ftol / 10. On the fixed set of
# benchmarks/data it is not cheaper than "fire2" at the stage tolerance and fails to converge on
# a flat saddle at ASE's (docs/paths.md "Cheaper paths?"), so "fire2" stays the default.
# "frozen-particle" (API and benchmark only, not a [paths] choice): "frozen" with each particle's
# move capped at 0.1 instead of the band step's 2-norm at 0.2; the benchmark's fine band after a
# coarse one (coarse_to_fine) diverged on a V_a = 1.8 pair with the 2-norm cap.
SCHEMES = ("fire2", "frozen", "frozen-particle")
CLIMB_PATIENCE = 20  # "frozen": steps without progress of a stalled climbing image (optimize_band)


def band_scheme(scheme: str, ftol: float) -> dict:
    """optimize_band keyword arguments of a named band scheme (see SCHEMES)."""
    if scheme == "fire2":
        return {}
    if scheme == "frozen":
        return dict(optimizer="fire-classic", dt=0.1, dt_max=1.0, alpha0=0.1, max_move=0.2,  # ASE's FIRE
                    freeze=1.0, climb_ftol=ftol / 10, climb_patience=CLIMB_PATIENCE)
    if scheme == "frozen-particle":
        return dict(band_scheme("frozen", ftol), max_move=0.1, fire_norm="particle")
    raise InputError(f"unknown band scheme {scheme!r}; use one of {', '.join(SCHEMES)}")


class PathsParams(Params):
    """``[paths]``: minimum-energy paths between the candidate pairs (002 Sec. II D; twolevel.paths).

    The one owner of the stage's parameters and defaults: the study file's ``[paths]``,
    ``twolevel paths`` and :func:`paths_for_library` all validate through this class.
    """

    images: int = Field(DEFAULT_IMAGES, ge=3, description="Images of the band (002: N_images = 64).")
    method: Literal["neb", "string"] = Field("neb", description="Climbing-image NEB (001) or the string method (002).")
    spring: float = Field(DEFAULT_SPRING, gt=0, description="Spring constant between images in epsilon sigma^-2 (002: 0.125).")
    ftol: float = Field(DEFAULT_FTOL, gt=0, description="Convergence: largest per-particle perpendicular (and climbing) force of the band.")
    scheme: Literal["fire2", "frozen"] = Field("fire2", description="Band optimiser: FIRE 2.0 on every image, or `frozen` (NEB only): classic FIRE, images already within tolerance held and not re-evaluated, climbing image to ftol/10, or the best band within ftol if it stalls (on the benchmark set at this tolerance: median 0.74x fire2's evaluations but up to 2.0x on some pairs, docs/paths.md).")
    max_steps: int = Field(DEFAULT_MAX_STEPS, ge=1, description="Step limit of the band optimisation (FIRE).")
    split: bool = Field(True, description="Split profiles at intermediate minima into elementary double wells (001, 002).")
    max_depth: int = Field(4, ge=0, description="Recursion depth of the splitting.")
    hessian: bool = Field(True, description="Lowest Hessian modes along the path (002 App. C).")
    hessian_modes: int = Field(4, ge=1, description="Number of those modes.")
    limit: int | None = Field(None, ge=1, description="At most this many candidate pairs per sample (in the order of pairs.parquet); default all.")


# ----------------------------------------------------------------------------- helpers
def _dim(pot) -> int | None:
    """Coordinates per particle, or None for a potential that is not a particle system: band forces
    are then measured by the norm of the whole vector (twolevel.measures.particle_dim counts each
    coordinate as one particle instead, which is what displacements and PR use)."""
    d = getattr(pot, "dim", None)
    return int(d) if d else None


def _per_particle_max(f: np.ndarray, dim: int | None) -> np.ndarray:
    """Largest per-particle norm of each row of f (K, D); whole-row norm without dim."""
    f = np.asarray(f)
    if f.ndim == 1:
        f = f[None, :]
    if dim and f.shape[1] % dim == 0:
        ff = f.reshape(f.shape[0], -1, dim)
        return np.sqrt((ff * ff).sum(axis=2)).max(axis=1)
    return np.sqrt((f * f).sum(axis=1))


def _per_particle_norm(dx: np.ndarray, dim: int | None) -> np.ndarray:
    dx = np.asarray(dx).reshape(-1)
    if dim and dx.size % dim == 0:
        dd = dx.reshape(-1, dim)
        return np.sqrt((dd * dd).sum(axis=1))
    return np.abs(dx)


def _is_particle_system(pot) -> bool:
    from .engine import ParticleSystem

    return isinstance(pot, ParticleSystem)


# ----------------------------------------------------------------------------- uniform translations
def _translation_dim(pot) -> int | None:
    """d for a system of particles in a periodic box (an object with ``box`` and ``dim``, e.g.
    :class:`~twolevel.engine.ParticleSystem`), whose energy is invariant under the d uniform
    translations of all particles; None for analytic surfaces (no ``box``: Müller-Brown has
    ``dim = 2`` but is a single "particle" whose every move changes the energy)."""
    d = _dim(pot)
    return d if d and getattr(pot, "box", None) is not None else None


def _remove_translation(v: np.ndarray, dim: int | None) -> np.ndarray:
    """(1 - P_T) v for every row of v (K, N d) or for one flat vector (N d,): subtract, per Cartesian
    direction, the mean over the particles. P_T is the orthogonal projector on the d uniform
    translations e_alpha (x) (1, ..., 1) / sqrt(N). A copy; v itself is left alone. No-op without dim."""
    v = np.asarray(v, dtype=np.float64)
    if not dim:
        return v.copy()
    r = v.reshape(v.shape[0] if v.ndim > 1 else 1, -1, dim)
    return (r - r.mean(axis=1, keepdims=True)).reshape(v.shape)


def _translation_norm(v: np.ndarray, dim: int | None) -> np.ndarray:
    """|P_T v| for every row of v (K, N d): sqrt(N sum_alpha <v_alpha>^2), <.> the particle mean."""
    v = np.asarray(v, dtype=np.float64)
    v = v.reshape(1, -1) if v.ndim == 1 else v.reshape(v.shape[0], -1)
    if not dim:
        return np.zeros(v.shape[0])
    r = v.reshape(v.shape[0], -1, dim)
    n = r.shape[1]
    return np.sqrt(n * (r.mean(axis=1) ** 2).sum(axis=1))


def translation_share(pot, images) -> float:
    """Share of a band's length spent on rigid translations of the whole periodic box:

        sum_i |P_T (x_{i+1} - x_i)| / sum_i |x_{i+1} - x_i|

    over the image-to-image steps, with P_T the orthogonal projector on the d uniform
    translations (a step's mean particle displacement per Cartesian direction, times sqrt(N) in
    norm). 0 for a translation-free band, 1 for a pure translation; always 0 for analytic surfaces.
    """
    images = np.asarray(images, dtype=np.float64)
    X = images.reshape(images.shape[0], -1)
    dx = X[1:] - X[:-1]
    tot = float(np.sqrt((dx * dx).sum(axis=1)).sum())
    if tot <= 0:
        return 0.0
    return float(_translation_norm(dx, _translation_dim(pot)).sum() / tot)


def _align(pot, x_ref: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The periodic image of x nearest to x_ref (minimum image, particle by particle), shifted
    rigidly so that its mean displacement from x_ref is zero in every Cartesian direction
    (periodic particle systems; a rigid translation of the box costs no energy and is no part of
    a transition). Analytic surfaces: x_ref + distance(x_ref, x)."""
    x_ref = np.asarray(x_ref, dtype=np.float64)
    dx = np.asarray(pot.distance(x_ref, np.asarray(x, dtype=np.float64))).reshape(-1)
    return x_ref + _remove_translation(dx, _translation_dim(pot)).reshape(x_ref.shape)


class _BandForces:
    """Energies and forces of a stack of images: one compiled call for particle systems."""

    def __init__(self, pot, shape, k: int):
        self.pot = pot
        self.shape = tuple(shape)
        self.k = k
        self.count = 0
        self._band = None
        if _is_particle_system(pot):
            from .engine.band import BandEvaluator

            self._band = BandEvaluator(pot, k)

    def __call__(self, X: np.ndarray, which=None):
        """Energies and forces of the rows of X, or of the rows ``which`` only (then arrays of
        len(which)); ``count`` grows by the number of images actually computed."""
        k = X.shape[0]
        rows = range(k) if which is None else [int(i) for i in which]
        self.count += len(rows)
        if self._band is not None and k == self.k:
            e, f = self._band.evaluate(X, None if which is None else np.asarray(rows, dtype=np.int64))
            return e, f.reshape(len(rows), -1)
        es = np.empty(len(rows))
        fs = np.empty((len(rows), X.shape[1]))
        for j, i in enumerate(rows):
            e, f = self.pot.energy_forces(X[i].reshape(self.shape))
            es[j] = e
            fs[j] = np.asarray(f).reshape(-1)
        return es, fs


def band_energies_forces(pot, images) -> tuple[np.ndarray, np.ndarray]:
    """Energies (M,) and forces (M, ...) of every image of a band (compiled for particle systems)."""
    images = np.asarray(images, dtype=np.float64)
    m = images.shape[0]
    X = images.reshape(m, -1)
    ev = _BandForces(pot, images.shape[1:], m)
    e, f = ev(X)
    return e, f.reshape(images.shape)


# ----------------------------------------------------------------------------- the band
def interpolate(pot, x_a, x_b, images: int = DEFAULT_IMAGES, via=None) -> np.ndarray:
    """Initial band (images, *x_a.shape): straight line from x_a to x_b, minimum image.

    The end image is ``x_a + distance(x_a, x_b)``: the periodic image of x_b
    nearest to x_a, so that particles crossing the box boundary move the short
    way. For particles in a periodic box it is also shifted rigidly so that the
    mean displacement from x_a is zero in every Cartesian direction (a uniform
    translation costs no energy, so a band that carried one would spend part of
    its length on it where the profile is flattest). With ``via`` (one
    configuration or a list) the band is the polyline x_a -> via... -> x_b with
    images spaced evenly in arc length, every corner aligned to x_a in the same way.
    """
    if images < 3:
        raise InputError(f"a band needs at least 3 images, got {images}")
    x_a = np.asarray(x_a, dtype=np.float64)
    shape = x_a.shape
    pts = [x_a.reshape(-1)]
    if via is not None:
        vias = [via] if np.asarray(via).shape == shape else list(via)
        for v in vias:
            v = np.asarray(v, dtype=np.float64)
            if v.shape != shape:
                raise InputError(f"intermediate configuration has shape {v.shape}, expected {shape}")
            pts.append(_align(pot, pts[-1].reshape(shape), v).reshape(-1))
    x_b = np.asarray(x_b, dtype=np.float64)
    if x_b.shape != shape:
        raise InputError(f"end configurations have different shapes {shape} and {x_b.shape}")
    pts.append(_align(pot, pts[-1].reshape(shape), x_b).reshape(-1))
    return _resample_polyline(np.array(pts), images).reshape((images,) + shape)


def _resample_polyline(P: np.ndarray, m: int) -> np.ndarray:
    """m points evenly spaced in arc length along the polyline through the rows of P."""
    seg = np.sqrt(((P[1:] - P[:-1]) ** 2).sum(axis=1))
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] <= 0:
        return np.repeat(P[:1], m, axis=0)
    t = np.linspace(0.0, s[-1], m)
    j = np.clip(np.searchsorted(s, t, side="right") - 1, 0, len(P) - 2)
    w = np.where(seg[j] > 0, (t - s[j]) / np.where(seg[j] > 0, seg[j], 1.0), 0.0)
    out = P[j] + w[:, None] * (P[j + 1] - P[j])
    out[0], out[-1] = P[0], P[-1]
    return out


def improved_tangents(X: np.ndarray, E: np.ndarray) -> np.ndarray:
    """Unit tangents (M-2, D) at the interior images: Henkelman & Jónsson, JCP 113, 9978 (2000),
    Eqs. (8)-(11): the upwind neighbour's direction when the image is on a slope, an energy-weighted
    mixture at extrema (keeps kinks out of the band)."""
    tp = X[2:] - X[1:-1]
    tm = X[1:-1] - X[:-2]
    vp = E[2:] - E[1:-1]
    vm = E[1:-1] - E[:-2]  # V_i - V_{i-1}
    up = (vp > 0) & (vm > 0)
    down = (vp < 0) & (vm < 0)
    dmax = np.maximum(np.abs(vp), np.abs(vm))
    dmin = np.minimum(np.abs(vp), np.abs(vm))
    higher_next = E[2:] > E[:-2]
    wp = np.where(up, 1.0, np.where(down, 0.0, np.where(higher_next, dmax, dmin)))
    wm = np.where(up, 0.0, np.where(down, 1.0, np.where(higher_next, dmin, dmax)))
    both0 = (wp == 0) & (wm == 0)  # flat: plain central difference
    wp = np.where(both0, 1.0, wp)
    wm = np.where(both0, 1.0, wm)
    t = wp[:, None] * tp + wm[:, None] * tm
    n = np.sqrt((t * t).sum(axis=1))
    n[n == 0] = 1.0
    return t / n[:, None]


def _take_step(X: np.ndarray, dx: np.ndarray, size: float, max_move: float, method: str,
               climb: int | None, tdim: int | None = None) -> None:
    """Move the interior images by dx, scaled down so that ``size`` (its measure of the step)
    is at most max_move; the string is then put back at equal arc length. With ``tdim`` (a
    periodic particle system) the step carries no uniform translation, and the reparametrised
    string none relative to the first image (a spline through translation-free images is
    translation-free up to rounding; the projection removes that rounding)."""
    if size > max_move:
        dx *= max_move / size
    if tdim:
        dx = _remove_translation(dx, tdim)
    X[1:-1] += dx
    if method == "string":
        _reparametrise(X, climb)
        if tdim:
            X[1:-1] = X[0] + _remove_translation(X[1:-1] - X[0], tdim)


def _reparametrise(X: np.ndarray, fixed: int | None) -> None:
    """Move the interior images of X (M, D) in place to equal arc length on the cubic spline
    through them (E, Ren & Vanden-Eijnden 2007, step 2; 002 Sec. II D "cubic spline"). With a
    climbing image ``fixed``, the two segments on its sides are reparametrised separately."""
    from scipy.interpolate import CubicSpline

    def seg(lo, hi):
        P = X[lo:hi + 1]
        if len(P) < 3:
            return
        d = np.sqrt(((P[1:] - P[:-1]) ** 2).sum(axis=1))
        s = np.concatenate([[0.0], np.cumsum(d)])
        if s[-1] <= 0 or np.any(d <= 0):
            X[lo:hi + 1] = _resample_polyline(P, len(P))
            return
        t = np.linspace(0.0, s[-1], len(P))
        if len(P) >= 4:
            X[lo + 1:hi] = CubicSpline(s, P, axis=0)(t[1:-1])
        else:
            X[lo + 1:hi] = _resample_polyline(P, len(P))[1:-1]

    m = len(X)
    if fixed is None or fixed <= 0 or fixed >= m - 1:
        seg(0, m - 1)
    else:
        seg(0, fixed)
        seg(fixed, m - 1)


@dataclass
class BandResult:
    """A relaxed band. ``images`` (M, *shape) include the two fixed ends."""

    images: np.ndarray
    energies: np.ndarray
    climbing: int | None
    converged: bool
    iterations: int
    force_evaluations: int
    max_perp_force: float
    climb_force: float
    method: str
    spring: float
    ftol: float
    tangents: np.ndarray = field(repr=False, default=None)
    history: list = field(repr=False, default_factory=list)
    climb_stalled: bool = False  # converged at ftol, the climbing image stalled above climb_ftol

    @property
    def saddle(self) -> np.ndarray:
        c = int(np.argmax(self.energies)) if self.climbing is None else self.climbing
        return self.images[c]

    @property
    def barrier(self) -> float:
        """Highest energy along the band minus the first image's energy."""
        return float(self.energies.max() - self.energies[0])


class NEB:
    """Nudged elastic band force (Henkelman, Uberuaga & Jónsson, JCP 113, 9901 (2000); improved
    tangent, Henkelman & Jónsson, JCP 113, 9978 (2000), Eq. (12)): the perpendicular true force
    plus the spring force k (|x_{i+1} - x_i| - |x_i - x_{i-1}|) along the tangent. Images stay
    where the optimiser puts them, so converged ones may be frozen."""

    name = "neb"
    can_freeze = True

    def __init__(self, spring: float = DEFAULT_SPRING):
        self.spring = spring

    def force(self, X: np.ndarray, Fp: np.ndarray, tau: np.ndarray) -> np.ndarray:
        if self.spring > 0:
            dist = np.sqrt(((X[1:] - X[:-1]) ** 2).sum(axis=1))
            return Fp + (self.spring * (dist[1:] - dist[:-1]))[:, None] * tau
        return Fp.copy()

    def after_move(self, X: np.ndarray, climb: int | None, tdim: int | None) -> None:
        pass


class String:
    """Simplified string method (E, Ren & Vanden-Eijnden, JCP 126, 164103 (2007)): the
    perpendicular true force, then the images put back at equal arc length on a cubic spline
    (002 Sec. II D) after every step, the two sides of a climbing image separately."""

    name = "string"
    can_freeze = False

    def __init__(self, spring: float = 0.0):
        self.spring = 0.0  # no springs: the reparametrisation keeps the images apart

    def force(self, X: np.ndarray, Fp: np.ndarray, tau: np.ndarray) -> np.ndarray:
        return Fp.copy()

    def after_move(self, X: np.ndarray, climb: int | None, tdim: int | None) -> None:
        _reparametrise(X, climb)
        if tdim:
            # a spline through translation-free images is translation-free up to rounding
            X[1:-1] = X[0] + _remove_translation(X[1:-1] - X[0], tdim)


PATH_METHODS = {"neb": NEB, "string": String}


class Band:
    """A band with fixed ends as one :class:`~twolevel.optimize.Optimizable` (after ASE's
    ``NEBOptimizable``, ase/mep/neb.py): x is the stack of interior images (M-2, D), its force the
    band force of ``method`` (a :class:`NEB` or :class:`String`) with a climbing image
    (Henkelman, Uberuaga & Jónsson 2000, Eq. (5): F - 2 (F . tau) tau, no spring) once ``climb``
    is on. :meth:`update` evaluates the images that moved and sets the band force, the
    convergence measures and the frozen images; ``held()`` and ``force_id`` (the climbing
    image) tell the optimiser which images rest and when the force changed definition."""

    def __init__(self, pot, X: np.ndarray, shape, method, ends: tuple[float, float], ev):
        self.pot, self.X, self.shape, self.method, self.ev = pot, X, shape, method, ev
        self.dim = _dim(pot)
        self.tdim = _translation_dim(pot)
        m = X.shape[0]
        self.E = np.empty(m)
        self.E[0], self.E[-1] = ends
        self.frozen = np.zeros(m - 2, dtype=bool)
        self.c = None
        self.force_id = None
        self.G = self.F = self.Ei = self.X_eval = self.tau = None

    # ---- the Optimizable protocol
    def get_x(self) -> np.ndarray:
        return self.X[1:-1]

    def set_x(self, x: np.ndarray, ef: tuple | None = None) -> None:
        self.X[1:-1] = x

    def move(self, dx: np.ndarray) -> None:
        """Move the interior images by dx with no uniform translation (a periodic particle system),
        then let the method put them back (the string's reparametrisation)."""
        if self.tdim:
            dx = _remove_translation(dx, self.tdim)
        self.X[1:-1] += dx
        self.method.after_move(self.X, self.c, self.tdim)

    def forces(self) -> np.ndarray:
        return self.G

    def energy(self) -> float:
        return float(self.E.max())

    def step_norm(self, dx: np.ndarray) -> float:
        return float(_per_particle_max(dx, self.dim).max())

    def held(self) -> np.ndarray:
        return self.frozen

    # ---- evaluation
    def evaluate(self, it: int, label: str) -> None:
        """Energies and forces of the interior images; only images that moved are recomputed
        (the others' cached values are exact at their unchanged positions)."""
        Xi = self.X[1:-1]
        if self.X_eval is None:
            self.Ei, self.F = self.ev(Xi)
        else:
            moved = np.flatnonzero(np.any(Xi != self.X_eval, axis=1))
            if moved.size:
                e_new, f_new = self.ev(Xi, moved)
                self.Ei[moved] = e_new
                self.F[moved] = f_new
        self.X_eval = Xi.copy()
        if not (np.all(np.isfinite(self.Ei)) and np.all(np.isfinite(self.F))):
            raise PhysicsError(f"band blew up after {it} {label} steps: energies or forces are not finite "
                               "(time step or max_move too large for this landscape?)")
        self.E[1:-1] = self.Ei

    def band_force(self, climbing_on: bool):
        """Tangents, perpendicular force per image and the band force G (climbing image included)."""
        F = self.F
        self.tau = tau = improved_tangents(self.X, self.E)
        fpar = (F * tau).sum(axis=1)
        Fp = F - fpar[:, None] * tau
        self.c = c = self._climbing() if climbing_on else None
        G = self.method.force(self.X, Fp, tau)
        if c is not None:
            G[c - 1] = F[c - 1] - 2.0 * fpar[c - 1] * tau[c - 1]
        if self.tdim:
            # the d uniform translations are zero modes of a periodic box: no image (climbing one
            # included) is pushed along them, so the band cannot drift along the flat directions
            G = _remove_translation(G, self.tdim)
        self.G = G
        return _per_particle_max(Fp, self.dim)

    def _climbing(self) -> int:
        """The climbing image: the highest interior image, except that the current one stays while
        no other is higher by more than CLIMB_TIE (relative): on a flat top several images share
        the saddle's energy to rounding, and a climbing image that hops between them at every step
        never converges (and restarts FIRE at every hop)."""
        new = int(np.argmax(self.Ei)) + 1
        old = self.c
        if old is not None and new != old:
            e_old = self.Ei[old - 1]
            if self.Ei[new - 1] - e_old <= CLIMB_TIE * max(1.0, abs(e_old)):
                return old
        return new

    def residuals(self, pp: np.ndarray, climb: bool, criterion: str, ftol: float, ctol: float):
        """(largest perpendicular force off the climbing image, climbing image's force, converged,
        per-particle band force per image)."""
        c, dim = self.c, self.dim
        if c is not None:
            fclimb = float(_per_particle_max(self.F[c - 1], dim)[0])
            fperp_max = float(np.delete(pp, c - 1).max()) if len(pp) > 1 else 0.0
        else:
            fclimb = 0.0 if not climb else np.inf
            fperp_max = float(pp.max())
        gpp = _per_particle_max(self.G, dim)
        if criterion == "perp":
            converged = fperp_max <= ftol and fclimb <= ctol
        elif c is not None:
            converged = gpp[c - 1] <= ctol and (len(gpp) == 1 or float(np.delete(gpp, c - 1).max()) <= ftol)
        else:
            converged = float(gpp.max()) <= ftol and not climb
        return fperp_max, fclimb, bool(converged), gpp

    def freeze(self, pp, gpp, fclimb: float, climb: bool, criterion: str, ftol: float, ctol: float,
               threshold: float) -> None:
        """Hold every image whose residual (its band force, and its perpendicular force under
        "perp") is at most ``threshold`` times its tolerance; a moving climbing image keeps its
        two neighbours moving; no image rests before the climbing image is on."""
        c = self.c
        r_img = gpp / ftol
        if criterion == "perp":
            r_img = np.maximum(r_img, pp / ftol)
        if c is not None:
            r_img[c - 1] = gpp[c - 1] / ctol
            if criterion == "perp":
                r_img[c - 1] = max(r_img[c - 1], fclimb / ctol)
        elif climb:
            r_img[:] = np.inf
        hold = r_img <= threshold
        if c is not None and not hold[c - 1]:
            hold[max(c - 2, 0):c + 1] = False
        self.frozen = hold if not hold.all() else np.zeros_like(hold)
        if self.frozen.any():
            # frozen images neither move nor carry velocity: the optimiser acts on the others only
            self.G = self.G.copy()
            self.G[self.frozen] = 0.0


def _band_optimizer(optimizer: str, dt, dt_max, dt_min, max_move, n_delay, f_inc, f_dec, alpha0, f_alpha,
                    half_step, image_reset, fire_norm):
    """The twolevel.optimize object behind a band ``optimizer`` name (L-BFGS starts as FIRE 2.0
    until ``lbfgs_after``, see optimize_band)."""
    if optimizer == "fire-classic":
        return FIRE(dt=dt, dt_max=10.0 * dt if dt_max is None else dt_max, n_delay=n_delay, f_inc=f_inc,
                    f_dec=f_dec, alpha0=alpha0, f_alpha=f_alpha, max_move=max_move,
                    norm="global" if fire_norm == "global" else "particle")
    return FIRE2(dt=dt, dt_max=dt_max, dt_min=dt_min, n_delay=n_delay, f_inc=f_inc, f_dec=f_dec,
                 alpha0=alpha0, f_alpha=f_alpha, max_move=max_move, half_step=half_step,
                 image_reset=image_reset)


def optimize_band(pot, band, method: str = "neb", spring: float = DEFAULT_SPRING, climb: bool = True,
                  ftol: float = DEFAULT_FTOL, criterion: str = "perp", max_steps: int = DEFAULT_MAX_STEPS,
                  dt: float = 0.01, dt_max: float | None = None, dt_min: float | None = None,
                  max_move: float = 0.1, n_delay: int = 5, f_inc: float = 1.1, f_dec: float = 0.5,
                  alpha0: float = 0.25, f_alpha: float = 0.99, climb_after: float | None = None,
                  energies_ends: tuple[float, float] | None = None, record: bool = False,
                  image_reset: bool = False, half_step: bool = True,
                  callback: Callable | None = None, optimizer: str = "fire", memory: int = 20,
                  alpha: float = 70.0, lbfgs_after: float | None = None, fire_norm: str = "global",
                  freeze: float | None = None, climb_ftol: float | None = None,
                  climb_patience: int | None = None) -> BandResult:
    """Relax a band (M, *shape) with fixed ends on the NEB or string forces (class :class:`Band`,
    method :class:`NEB` or :class:`String`) with an optimiser of :mod:`twolevel.optimize`.

    NEB (method="neb"): F_i = F_perp(true) + k (|x_{i+1} - x_i| - |x_i - x_{i-1}|) tau_i with the
    improved tangent tau_i (Henkelman & Jónsson 2000, Eq. (12)); the climbing image (the highest
    one) feels F - 2 (F . tau) tau and no spring (Henkelman, Uberuaga & Jónsson 2000, Eq. (5)).
    String (method="string"): F_i = F_perp(true), then the images are put back at equal arc length
    on a cubic spline after every step (E, Ren & Vanden-Eijnden 2007); the climbing image as in NEB,
    the two sides reparametrised separately.

    Converged when the largest per-particle norm of the perpendicular force over the non-climbing
    interior images and of the full force on the climbing image are both <= ftol
    (``criterion="perp"``), or when the largest per-particle norm of the NEB force itself (spring
    part included, the ASE convention) is <= ftol (``criterion="neb"``). The climbing image is
    switched on once the perpendicular force is below ``climb_after`` (default: from the start).

    ``optimizer``: "fire" = :class:`~twolevel.optimize.FIRE2` (Guénolé et al. 2020, Algorithm 2) on
    all interior images as one vector, the largest single-particle move per step ``max_move``
    (``half_step=False`` drops the half-step correction on uphill steps; ``image_reset=True`` also
    stops every image whose velocity points against its own force); "fire-classic" =
    :class:`~twolevel.optimize.FIRE` (ASE's FIRE; step capped in its 2-norm, ``fire_norm="global"``,
    or per particle); "lbfgs" = force-only :class:`~twolevel.optimize.LBFGS` (ASE's, ``memory``
    pairs, H0 = 1 / ``alpha``), after FIRE 2.0 until the largest band force is <= ``lbfgs_after``
    when that is given. A band whose highest image rises far above the initial band raises
    ConvergenceError.

    ``climb_ftol`` (default ``ftol``) is the tolerance of the climbing image alone (its full force
    under "perp", its NEB force under "neb"); a tighter one pins V_a to the saddle (docs/paths.md).
    ``climb_patience`` (with ``climb_ftol < ftol``): once the band has met ``ftol`` everywhere (the
    climbing image included), if the climbing image's residual in such a band has not fallen
    below 0.9 of its best for that many steps, the best such band is returned as converged at
    ``ftol``: on some saddles (a top
    flat to rounding, a tangent that the neighbours cannot align with the unstable mode) the
    climbing image stalls above ``climb_ftol`` for thousands of steps (docs/paths.md "Cheaper
    paths?"); ``climb_stalled`` of the result says so.
    ``freeze`` (NEB with a FIRE optimizer; None = off): an image whose residual (the per-particle
    maximum of its band force, and of its perpendicular force under "perp") is at most
    ``freeze`` times its tolerance is held for the step: FIRE neither moves it nor gives it
    velocity, so its energy and forces, computed where it stands, stay exact and are not computed
    again. Its band force is still rebuilt every step from those cached values and the neighbours'
    current positions (tangent and spring), so it moves again as soon as it exceeds the threshold;
    a moving climbing image keeps its two neighbours moving. Convergence is tested on every image
    with these exact forces. ``force_evaluations`` counts only images actually computed.
    ``history`` (with ``record=True``): (step, highest energy, perpendicular force, climbing force,
    frozen images, climbing index, FIRE dt) per step.
    """
    if method not in METHODS:
        raise InputError(f"unknown path method {method!r}; use one of {', '.join(METHODS)}")
    if optimizer not in OPTIMIZERS:
        raise InputError(f"unknown band optimizer {optimizer!r}; use one of {', '.join(OPTIMIZERS)}")
    if optimizer == "lbfgs" and not (memory >= 1 and alpha > 0):
        raise InputError(f"L-BFGS band optimizer needs memory >= 1 and alpha > 0, got {memory}, {alpha}")
    if criterion not in ("perp", "neb"):
        raise InputError(f"unknown band convergence criterion {criterion!r}; use 'perp' or 'neb'")
    if not (ftol > 0):
        raise InputError(f"band force tolerance must be positive, got {ftol}")
    ctol = ftol if climb_ftol is None else climb_ftol
    if not (ctol > 0):
        raise InputError(f"climbing-image force tolerance must be positive, got {climb_ftol}")
    if climb_patience is not None and climb_patience < 1:
        raise InputError(f"climb_patience must be a positive number of steps, got {climb_patience}")
    if freeze is not None:
        if not (0.0 < freeze <= 1.0):
            raise InputError(f"band freeze threshold must be a fraction of ftol in (0, 1], got {freeze}")
        if not PATH_METHODS[method].can_freeze or optimizer == "lbfgs":
            raise InputError("freezing converged images needs method='neb' and a FIRE optimizer "
                             f"(got method={method!r}, optimizer={optimizer!r}): the string's "
                             "reparametrisation and L-BFGS move every image every step")
    if spring < 0:
        raise InputError(f"spring constant must be >= 0, got {spring}")
    band = np.asarray(band, dtype=np.float64)
    m = band.shape[0]
    if m < 3:
        raise InputError(f"a band needs at least 3 images, got {m}")
    shape = band.shape[1:]
    tdim = _translation_dim(pot)
    X = band.reshape(m, -1).copy()
    if tdim:
        # no uniform translation in the band: every image (the far end included; its energy is
        # unchanged) has zero mean displacement from the first one in every Cartesian direction
        X[1:] = X[0] + _remove_translation(X[1:] - X[0], tdim)
    ev = _BandForces(pot, shape, m - 2)
    if energies_ends is None:
        ea, _ = pot.energy_forces(X[0].reshape(shape))
        eb, _ = pot.energy_forces(X[-1].reshape(shape))
        ev.count += 2
        energies_ends = (ea, eb)
    strategy = PATH_METHODS[method](spring)
    b = Band(pot, X, shape, strategy, energies_ends, ev)
    opt = _band_optimizer(optimizer, dt, dt_max, dt_min, max_move, n_delay, f_inc, f_dec, alpha0, f_alpha,
                          half_step, image_reset, fire_norm)
    lbfgs_on = optimizer == "lbfgs" and lbfgs_after is None
    if lbfgs_on:
        opt = LBFGS(memory=memory, max_move=max_move, line_search=False, alpha=alpha)
    it = 0
    climbing_on = climb and climb_after is None
    history = []
    e_low = min(energies_ends)
    c_best, c_since, stalled, best = np.inf, 0, False, None
    while True:
        b.evaluate(it, optimizer)
        if it == 0:
            e_cap = b.Ei.max() + max(1.0, b.Ei.max() - e_low)
        elif b.Ei.max() > e_cap:
            raise ConvergenceError(f"band diverged after {it} {optimizer} steps: the highest image rose to "
                                   f"{b.Ei.max() - e_low:.3g} above the lower end, far above the initial "
                                   "band (try a smaller dt/max_move or method='string')")
        pp = b.band_force(climbing_on)
        if climb and not climbing_on and pp.max() <= climb_after:
            climbing_on = True
            pp = b.band_force(True)
            opt.reset()  # the force changes definition: stop the motion, forget the L-BFGS memory
        b.force_id = b.c
        fperp_max, fclimb, converged, gpp = b.residuals(pp, climb, criterion, ftol, ctol)
        if climb_patience is not None and not converged and ctol < ftol and b.c is not None:
            if b.residuals(pp, climb, criterion, ftol, ftol)[2]:
                r_c = float(gpp[b.c - 1]) if criterion == "neb" else fclimb
                if r_c < 0.9 * c_best:  # the best band so far that meets ftol everywhere
                    c_best, c_since = r_c, it
                    best = (X.copy(), b.E.copy(), b.c, b.tau.copy(), fperp_max, fclimb)
            if best is not None and it - c_since >= climb_patience:
                X[...], b.E[...], b.c, b.tau, fperp_max, fclimb = best
                converged = stalled = True
        if freeze is not None:
            b.freeze(pp, gpp, fclimb, climb, criterion, ftol, ctol, freeze)
        if record:
            history.append((it, float(b.Ei.max()), fperp_max, fclimb, int(b.frozen.sum()),
                            -1 if b.c is None else b.c, getattr(opt, "dt", dt)))
        if callback is not None:
            callback(it, X, b.E, fperp_max, fclimb)
        if converged or it >= max_steps:
            break
        it += 1
        if optimizer == "lbfgs" and not lbfgs_on and lbfgs_after is not None:
            lbfgs_on = float(_per_particle_max(b.G, b.dim).max()) <= lbfgs_after
            if lbfgs_on:
                opt = LBFGS(memory=memory, max_move=max_move, line_search=False, alpha=alpha)
        opt.step(b)
    c = b.c if b.c is not None else int(np.argmax(b.E[1:-1])) + 1
    return BandResult(X.reshape((m,) + shape), b.E.copy(), c if climb else None, bool(converged), it,
                      ev.count, float(fperp_max), float(fclimb), method, float(spring), float(ftol),
                      b.tau, history, stalled)


def coarse_to_fine(pot, band, coarse: int = 16, coarse_ftol: float | None = None, **kw) -> BandResult:
    """Relax a coarse band of ``coarse`` images first, then the full band started on it.

    The coarse band is resampled from ``band`` (its polyline, evenly in arc length) and relaxed
    with the same keywords to ``coarse_ftol`` (default 10 x ftol); the fine band (as many images
    as ``band``) is put evenly in arc length on the relaxed coarse polyline and relaxed to ftol.
    ``force_evaluations`` and ``iterations`` of the result include the coarse stage's.
    """
    band = np.asarray(band, dtype=np.float64)
    m = band.shape[0]
    if not (3 <= coarse < m):
        raise InputError(f"coarse band needs 3 <= coarse < images ({m}), got {coarse}")
    ftol = kw.get("ftol", DEFAULT_FTOL)
    ckw = dict(kw, ftol=coarse_ftol if coarse_ftol is not None else 10.0 * ftol)
    ckw.pop("climb_ftol", None)
    flat = band.reshape(m, -1)
    rc = optimize_band(pot, _resample_polyline(flat, coarse).reshape((coarse,) + band.shape[1:]), **ckw)
    fine = _resample_polyline(rc.images.reshape(coarse, -1), m).reshape(band.shape)
    kw = dict(kw)
    if rc.energies is not None and kw.get("energies_ends") is None:
        kw["energies_ends"] = (float(rc.energies[0]), float(rc.energies[-1]))
    rf = optimize_band(pot, fine, **kw)
    rf.force_evaluations += rc.force_evaluations
    rf.iterations += rc.iterations
    return rf


def neb(pot, x_a, x_b, images: int = DEFAULT_IMAGES, spring: float = DEFAULT_SPRING, via=None,
        **kw) -> BandResult:
    """Climbing-image NEB between x_a and x_b from a linear (minimum-image) initial band."""
    return optimize_band(pot, interpolate(pot, x_a, x_b, images, via), method="neb", spring=spring, **kw)


def string_method(pot, x_a, x_b, images: int = DEFAULT_IMAGES, via=None, **kw) -> BandResult:
    """Simplified string method with a climbing image between x_a and x_b."""
    kw.pop("spring", None)
    return optimize_band(pot, interpolate(pot, x_a, x_b, images, via), method="string", spring=0.0, **kw)


# ----------------------------------------------------------------------------- double wells
@dataclass
class DoubleWell:
    """One elementary path. xi = 0 at the deeper minimum (``x_low``), xi = 1 at ``x_high``.

    ``status`` is "ok" for a double well; otherwise it says why not (``reason`` in words):
    "no_barrier", "not_converged", "max_depth".
    """

    xi: np.ndarray
    V: np.ndarray  # measured from the deeper minimum: V[0] = 0
    d: float
    dV: float
    V_a: float
    V_b: float
    PR: float
    d_direct: float
    E_low: float
    E_high: float
    E_saddle: float
    xi_saddle: float
    displacement: np.ndarray  # per-particle |x_high - x_low| (minimum image)
    x_low: np.ndarray
    x_high: np.ndarray
    saddle: np.ndarray
    band: BandResult = field(repr=False)
    reversed: bool = False  # True when the band ran from the upper to the deeper minimum
    label_low: Any = None
    label_high: Any = None
    status: str = "ok"
    reason: str = ""
    curvature: dict = field(default_factory=dict)
    translation_share: float = 0.0  # :func:`translation_share` of the band
    curv_low: float = float("nan")  # d^2 V / d xi^2 at xi = 0 (eps), :func:`end_curvatures`
    curv_high: float = float("nan")  # d^2 V / d xi^2 at xi = 1 (eps)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def scalars(self) -> dict:
        out = {
            "d": self.d, "dV": self.dV, "V_a": self.V_a, "V_b": self.V_b, "PR": self.PR,
            "d_direct": self.d_direct, "d_over_sqrt_PR": self.d / math.sqrt(self.PR) if self.PR > 0 else float("nan"),
            "E_low": self.E_low, "E_high": self.E_high, "E_saddle": self.E_saddle, "xi_saddle": self.xi_saddle,
            "max_displacement": float(self.displacement.max()) if self.displacement.size else 0.0,
            "converged": bool(self.band.converged), "iterations": int(self.band.iterations),
            "force_evaluations": int(self.band.force_evaluations),
            "max_perp_force": self.band.max_perp_force, "climb_force": self.band.climb_force,
            "method": self.band.method, "images": int(self.band.images.shape[0]),
            "status": self.status, "reason": self.reason,
            "translation_share": float(self.translation_share),
            "curv_low": float(self.curv_low), "curv_high": float(self.curv_high),
        }
        for k, val in self.curvature.items():
            out[k] = val
        return out


def double_well(pot, band: BandResult, label_a=None, label_b=None, barrier_tol: float = 1e-12) -> DoubleWell:
    """Describe a relaxed band as a double well (001 paragraph after Fig. 1; 002 Sec. III C, Fig. 5).

    d = sum_i |x_{i+1} - x_i| over the images (001: "the sum of Euclidean distances between
    images"); xi = cumulative length / d; Delta V = V(1) - V(0) >= 0 with xi = 0 at the deeper
    minimum; V_a = V(saddle) - V(0); V_b = V_a - Delta V / 2 (002 Sec. III C; 001);
    PR = [sum_i (d_i)^2]^2 / sum_i (d_i)^4 with d_i the displacement of particle i between the two
    minima (002 Eq. (16)).

    Also ``translation_share`` (:func:`translation_share`: the share of d spent on rigid
    translations of the periodic box, ~1e-16 for the bands optimize_band makes) and
    ``curv_low`` / ``curv_high`` = d^2 V / d xi^2 at xi = 0 / 1 (:func:`end_curvatures`; the
    curvature of the profile at the two minima, for the quantum stage).
    """
    X = band.images.reshape(band.images.shape[0], -1)
    E = np.asarray(band.energies, dtype=np.float64)
    shape = band.images.shape[1:]
    rev = bool(E[-1] < E[0])
    if rev:
        X = X[::-1]
        E = E[::-1]
        label_a, label_b = label_b, label_a
    seg = np.sqrt(((X[1:] - X[:-1]) ** 2).sum(axis=1))
    d = float(seg.sum())
    s = np.concatenate([[0.0], np.cumsum(seg)])
    xi = s / d if d > 0 else np.linspace(0.0, 1.0, len(s))
    xi[-1] = 1.0
    V = E - E[0]
    c = int(np.argmax(V))
    dV = float(V[-1])
    V_a = float(V[c])
    V_b = V_a - 0.5 * dV  # 002 Sec. III C; 001 "V_b = V_a - Delta V / 2"
    dim = _dim(pot)
    disp_vec = np.asarray(pot.distance(X[0].reshape(shape), X[-1].reshape(shape))).reshape(-1)
    disp = _per_particle_norm(disp_vec, dim)
    d2 = disp * disp
    PR = participation_ratio(d2)  # 002 Eq. (16)
    status, reason = "ok", ""
    if not band.converged:
        status, reason = "not_converged", (f"band not converged after {band.iterations} optimiser steps "
                                           f"(perpendicular force {band.max_perp_force:.2e}, climbing "
                                           f"{band.climb_force:.2e} > {band.ftol:g})")
    if c == 0 or c == len(V) - 1 or V_a <= dV + barrier_tol:
        status, reason = "no_barrier", "the profile has no interior maximum above both minima"
    try:
        curv_low, curv_high = end_curvatures(pot, X.reshape((len(X),) + shape))
    except PhysicsError:  # a band of zero length at an end has no tangent
        curv_low = curv_high = float("nan")
    return DoubleWell(xi=xi, V=V, d=d, dV=dV, V_a=V_a, V_b=V_b, PR=PR, d_direct=float(np.sqrt(d2.sum())),
                      E_low=float(E[0]), E_high=float(E[-1]), E_saddle=float(E[c]), xi_saddle=float(xi[c]),
                      displacement=disp, x_low=X[0].reshape(shape).copy(), x_high=X[-1].reshape(shape).copy(),
                      saddle=X[c].reshape(shape).copy(), band=band, reversed=rev, label_low=label_a,
                      label_high=label_b, status=status, reason=reason,
                      translation_share=translation_share(pot, X), curv_low=curv_low, curv_high=curv_high)


def _interior_minima(E: np.ndarray) -> list[int]:
    """Indices of images lower than both neighbours (strictly), excluding the ends."""
    return [i for i in range(1, len(E) - 1) if E[i] < E[i - 1] and E[i] < E[i + 1]]


@dataclass
class PathResult:
    """All elementary paths between two minima, in order along the path.

    ``minima``: the chain [x_a, m_1, ..., x_b] (configurations) with ``minima_energies``;
    ``new_minima``: indices into ``minima`` of the intermediate minima found by splitting.
    """

    double_wells: list
    minima: list
    minima_energies: list
    new_minima: list
    split: bool
    force_evaluations: int
    wall_time: float

    @property
    def ok(self) -> list:
        return [dw for dw in self.double_wells if dw.ok]


def _same(pot, x, y, tol: float) -> bool:
    """One minimum: largest particle displacement below tol, a rigid translation of the whole
    periodic box not counted (it costs no energy; the box has no origin)."""
    dx = _remove_translation(np.asarray(pot.distance(x, y)).reshape(-1), _translation_dim(pot))
    return float(_per_particle_norm(dx, _dim(pot)).max()) < tol


def find_path(pot, x_a, x_b, images: int = DEFAULT_IMAGES, method: str = "neb",
              spring: float = DEFAULT_SPRING, ftol: float = DEFAULT_FTOL, split: bool = True,
              max_depth: int = 4, minimize_ends: bool = True, min_ftol: float = 1e-10,
              same_tol: float = SAME_TOL, via=None, labels=("a", "b"), curvature: bool = False,
              curvature_modes: int = 4, **band_kw) -> PathResult:
    """Minimum energy path(s) between two minima, split into elementary double wells.

    The ends are polished to a minimum (L-BFGS, max force ``min_ftol``) unless
    ``minimize_ends=False``. After the band converges, every interior image lower than both
    neighbours is minimised; those that land on a minimum distinct from their neighbours in the
    chain split the pair, and each consecutive pair of minima gets its own band (initial path:
    the piece of the parent band between them), recursively up to ``max_depth`` levels.
    ``curvature=True`` adds the lowest ``curvature_modes`` Hessian eigenvalues at both minima and
    the saddle of every double well (:func:`hessian_spectrum`).

    Raises InputError for a path from a minimum to itself.
    """
    from .engine import minimize

    t0 = time.perf_counter()
    if method not in METHODS:
        raise InputError(f"unknown path method {method!r}; use one of {', '.join(METHODS)}")
    if images < 3:
        raise InputError(f"a band needs at least 3 images, got {images}")
    x_a = np.array(x_a, dtype=np.float64)
    x_b = np.array(x_b, dtype=np.float64)
    if x_a.shape != x_b.shape:
        raise InputError(f"the two minima have different shapes {x_a.shape} and {x_b.shape} "
                         "(different systems?)")
    nev = 0
    if minimize_ends:
        ra = minimize(pot, x_a, method="lbfgs", ftol=min_ftol)
        rb = minimize(pot, x_b, method="lbfgs", ftol=min_ftol)
        nev += ra.force_evaluations + rb.force_evaluations
        x_a, e_a, x_b, e_b = ra.x, ra.energy, rb.x, rb.energy
    else:
        e_a = pot.energy_forces(x_a)[0]
        e_b = pot.energy_forces(x_b)[0]
        nev += 2
    # nearest periodic image of x_b, without net translation relative to x_a (periodic boxes)
    x_b = _align(pot, x_a, x_b)
    if _same(pot, x_a, x_b, same_tol):
        raise InputError(f"path from minimum {labels[0]!r} to {labels[1]!r}: they are the same minimum "
                         f"(largest particle displacement < {same_tol:g}); a path needs two distinct minima")
    shape = x_a.shape
    scheme = band_kw.pop("scheme", None)
    band_opts = dict(spring=spring, ftol=ftol, **{**(band_scheme(scheme, ftol) if scheme else {}), **band_kw})
    minima = [x_a, x_b]
    menergies = [float(e_a), float(e_b)]
    labels_chain = [labels[0], labels[1]]
    new = []
    dws: list[DoubleWell] = []

    def solve(ia_x, ea, ib_x, eb, la, lb, init, depth):
        nonlocal nev
        b0 = init if init is not None else interpolate(pot, ia_x, ib_x, images, via if depth == 0 else None)
        res = optimize_band(pot, b0, method=method, energies_ends=(ea, eb), **band_opts)
        nev += res.force_evaluations
        mins = _interior_minima(res.energies) if split else []
        chain = []  # (index in band, x, energy)
        for i in mins:
            r = minimize(pot, res.images[i], method="lbfgs", ftol=min_ftol)
            nev += r.force_evaluations
            # the minimum, continuous with its image of the band and with no net translation
            # relative to the band's first image (the minimiser conserves the centre of mass
            # only up to rounding)
            img = res.images[i]
            xm = img + np.asarray(pot.distance(img, r.x)).reshape(shape)
            x0 = res.images[0]
            xm = x0 + _remove_translation((xm - x0).reshape(-1), _translation_dim(pot)).reshape(shape)
            prev = chain[-1][1] if chain else ia_x
            if _same(pot, xm, ia_x, same_tol) or _same(pot, xm, ib_x, same_tol) or _same(pot, xm, prev, same_tol):
                continue
            chain.append((i, xm, float(r.energy)))
        if not chain:
            dw = double_well(pot, res, la, lb)
            return [dw]
        if depth >= max_depth:
            dw = double_well(pot, res, la, lb)
            dw.status, dw.reason = "max_depth", f"intermediate minima remain after {max_depth} levels of splitting"
            return [dw]
        out = []
        pts = [(0, ia_x, ea, la)]
        for (i, x, e) in chain:
            lab = f"new{len(new)}"
            new.append(len(minima))
            minima.append(x)
            menergies.append(e)
            labels_chain.append(lab)
            pts.append((i, x, e, lab))
        pts.append((res.images.shape[0] - 1, ib_x, eb, lb))
        Xb = res.images.reshape(res.images.shape[0], -1)
        for (i0, x0, e0, l0), (i1, x1, e1, l1) in zip(pts[:-1], pts[1:]):
            poly = np.concatenate([x0.reshape(1, -1), Xb[i0 + 1:i1], x1.reshape(1, -1)])
            # the minimised ends may have moved by a periodic image: keep the piece continuous
            poly[0] = poly[1] - np.asarray(pot.distance(x0, poly[1].reshape(shape))).reshape(-1) if len(poly) > 2 else poly[0]
            poly[-1] = poly[-2] + np.asarray(pot.distance(poly[-2].reshape(shape), x1)).reshape(-1)
            init_b = _resample_polyline(poly, images).reshape((images,) + shape)
            out.extend(solve(poly[0].reshape(shape), e0, poly[-1].reshape(shape), e1, l0, l1, init_b, depth + 1))
        return out

    dws = solve(x_a, e_a, x_b, e_b, labels[0], labels[1], None, 0)
    if curvature:
        for dw in dws:
            for name, x in (("low", dw.x_low), ("high", dw.x_high), ("saddle", dw.saddle)):
                ev_ = hessian_spectrum(pot, x, k=curvature_modes)
                dw.curvature[f"hess_{name}"] = ev_.tolist()
            dw.curvature["n_negative_saddle"] = int((np.asarray(dw.curvature["hess_saddle"]) < 0).sum())
    return PathResult(dws, minima, menergies, new, bool(new), nev, time.perf_counter() - t0)


# ----------------------------------------------------------------------------- curvature
TANGENTS = ("quadratic", "chord")


def end_tangent(pot, images, end: int = 0, tangent: str = "quadratic") -> np.ndarray:
    """Unit tangent (flat, N d) of a band at its first (``end=0``) or last (``end=-1``) image:
    the direction in which the band leaves that end, uniform translations removed.

    ``tangent="quadratic"`` (default): derivative at the end, with respect to arc length, of the
    quadratic through the end image and its next two (one-sided second-order difference for the
    unequal image-to-image lengths h1 and h1 + h2: t ~ (s2 / (h1 (s2 - h1))) (x1 - x0)
    - (h1 / (s2 (s2 - h1))) (x2 - x0), s2 = h1 + h2); its error is O(h^2) where the chord's
    (``"chord"``: x1 - x0) is O(h), h the image spacing. Bands of 3 images use the chord.
    """
    if tangent not in TANGENTS:
        raise InputError(f"unknown end tangent {tangent!r}; use one of {', '.join(TANGENTS)}")
    X = np.asarray(images, dtype=np.float64)
    X = X.reshape(X.shape[0], -1)
    if end not in (0, -1, len(X) - 1):
        raise InputError(f"end must be 0 (first image) or -1 (last image), got {end}")
    P = X if end == 0 else X[::-1]
    d1 = P[1] - P[0]
    t = d1
    if tangent == "quadratic" and len(P) > 3:
        d2 = P[2] - P[0]
        h1 = float(np.linalg.norm(d1))
        s2 = h1 + float(np.linalg.norm(P[2] - P[1]))
        if h1 > 0 and s2 > h1:
            t = (s2 / (h1 * (s2 - h1))) * d1 - (h1 / (s2 * (s2 - h1))) * d2
    t = _remove_translation(t, _translation_dim(pot))
    n = float(np.linalg.norm(t))
    if not n > 0:
        raise PhysicsError("band has zero length at its end: no tangent")
    return t / n


def curvature_along(pot, x, t, h: float = 1e-4) -> float:
    """t^T H t at x for a unit vector t: exact with the engine's Hessian-vector product
    (``pot.hessian_dot``), else from a central difference of the forces along t,
    -t . (F(x + h t) - F(x - h t)) / (2 h) (2 force evaluations, error O(h^2))."""
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64).reshape(-1)
    if hasattr(pot, "hessian_dot"):
        return float(t @ np.asarray(pot.hessian_dot(x, t.reshape(x.shape))).reshape(-1))
    flat = x.reshape(-1)
    fp = np.asarray(pot.energy_forces((flat + h * t).reshape(x.shape))[1]).reshape(-1)
    fm = np.asarray(pot.energy_forces((flat - h * t).reshape(x.shape))[1]).reshape(-1)
    return float(-(t @ (fp - fm)) / (2.0 * h))


def end_curvatures(pot, images, tangent: str = "quadratic") -> tuple[float, float]:
    """(d^2 V / d xi^2 at xi = 0, the same at xi = 1) of a band from its first to its last image.

    xi = s / d is the normalised arc length (d the band's length, the sum of the image-to-image
    distances), so near an end V(xi) = V_end + (1/2) d^2 (t^T H t) xi^2 + ...: the Hessian of the
    minimum projected on the path tangent (002_b660eabf4d6c7be7.txt App. C), times d^2, in the
    energy unit. t = :func:`end_tangent` (uniform translations removed; H has zero curvature along
    them), t^T H t = :func:`curvature_along`. Meant for converged bands whose ends are minima.

    Accuracy (docs/paths.md "End curvatures"): the MEP leaves a minimum along an eigenvector of
    its Hessian (the softest one it has a component on), so a tangent error delta changes t^T H t
    only at second order, O(delta^2). On Müller-Brown with 64 images the curvature along the MEP
    (the softest eigenvalue, along which scipy's steepest-descent path from the saddle arrives)
    is reproduced to <= 2.4e-5 relative with the quadratic tangent, 3.6e-4 with the chord. In a
    glass the MEP can turn into the minimum's softest mode within the first image spacing; there
    the value is that of the band's resolution and falls towards d^2 lambda_soft as the images
    get denser (measured: +31 % at 64 images, +5 % at 128 on a 64-particle 2D PSS pair).
    """
    images = np.asarray(images, dtype=np.float64)
    X = images.reshape(images.shape[0], -1)
    d = float(np.sqrt(((X[1:] - X[:-1]) ** 2).sum(axis=1)).sum())
    out = []
    for end in (0, -1):
        t = end_tangent(pot, X, end, tangent)
        out.append(d * d * curvature_along(pot, images[end], t))
    return out[0], out[1]


def _hessian_matrix(pot, x, h: float = 1e-5):
    if hasattr(pot, "hessian"):
        return pot.hessian(x)
    # central differences of the forces (analytic test surfaces)
    x = np.asarray(x, dtype=np.float64)
    flat = x.reshape(-1)
    n = flat.size
    H = np.empty((n, n))
    for i in range(n):
        xp = flat.copy(); xp[i] += h
        xm = flat.copy(); xm[i] -= h
        fp = np.asarray(pot.energy_forces(xp.reshape(x.shape))[1]).reshape(-1)
        fm = np.asarray(pot.energy_forces(xm.reshape(x.shape))[1]).reshape(-1)
        H[:, i] = -(fp - fm) / (2 * h)
    return 0.5 * (H + H.T)


def hessian_spectrum(pot, x, k: int = 6, vectors: bool = False, dense_limit: int = 1500):
    """The k lowest Hessian eigenvalues at x (ascending), uniform translations excluded.

    Particle systems go through the harmonic route's one eigensolver
    (:func:`twolevel.vibrations.modes.normal_modes`: the engine's analytic Hessian, translations
    projected out): dense up to ``dense_limit`` degrees of freedom, else Lanczos on the smallest
    algebraic eigenvalues (which also finds the negative ones at a saddle). Any other potential
    (test surfaces) by dense diagonalisation of a finite-difference Hessian. With
    ``vectors=True`` also the eigenvectors as columns (D, k).
    """
    if _is_particle_system(pot):
        from .vibrations.modes import normal_modes

        nd = np.asarray(x).size
        m = normal_modes(pot, np.asarray(x, dtype=np.float64).reshape(-1, pot.dim), k=min(k, nd - pot.dim),
                         method="dense" if nd <= dense_limit else "lanczos")
        return (m.eigenvalues, m.vectors) if vectors else m.eigenvalues
    w, V = np.linalg.eigh(np.asarray(_hessian_matrix(pot, x)))
    return (w[:k], V[:, :k]) if vectors else w[:k]


def path_curvature(pot, band: BandResult | np.ndarray, n_modes: int = 10, n_project: int = 6,
                   energies=None, progress: bool = False) -> dict:
    """002 App. C / Fig. 13: the ``n_modes`` lowest Hessian eigenvalues at every image and the
    projections |v_k . tau| of the ``n_project`` lowest eigenvectors on the unit tangent tau.

    Returns dict(xi (M,), eigenvalues (M, n_modes), projections (M, n_project), n_negative (M,)).
    Tangents: improved tangent at interior images, one-sided at the ends.
    """
    if isinstance(band, BandResult):
        images, E = band.images, band.energies
    else:
        images = np.asarray(band, dtype=np.float64)
        E = energies if energies is not None else band_energies_forces(pot, images)[0]
    m = images.shape[0]
    X = images.reshape(m, -1)
    tau = np.empty_like(X)
    tau[1:-1] = improved_tangents(X, np.asarray(E))
    for i, (a, b) in ((0, (0, 1)), (m - 1, (m - 2, m - 1))):
        t = X[b] - X[a]
        tau[i] = t / max(np.linalg.norm(t), 1e-300)
    seg = np.sqrt(((X[1:] - X[:-1]) ** 2).sum(axis=1))
    s = np.concatenate([[0.0], np.cumsum(seg)])
    evs = np.full((m, n_modes), np.nan)
    proj = np.full((m, n_project), np.nan)
    it = range(m)
    if progress:
        from .progressbar import progress_bar

        it = progress_bar(it, desc="Hessian along the path", unit="image")
    for i in it:
        w, V = hessian_spectrum(pot, images[i], k=max(n_modes, n_project), vectors=True)
        evs[i, :min(n_modes, len(w))] = w[:n_modes]
        p = np.abs(V.T @ tau[i])
        proj[i, :min(n_project, len(p))] = p[:n_project]
    return {"xi": s / s[-1] if s[-1] > 0 else s, "eigenvalues": evs, "projections": proj,
            "n_negative": (evs < 0).sum(axis=1)}


# ----------------------------------------------------------------------------- particle systems
def check_same_glass(conf_a, conf_b, names=("a", "b")) -> None:
    """Refuse two configurations that are not minima of the same glass (N, box, types,
    diameters, model must agree)."""
    a, b = names
    if conf_a.n != conf_b.n or conf_a.dim != conf_b.dim:
        raise InputError(f"minima {a!r} and {b!r} belong to different glasses: {conf_a.n} particles in "
                         f"{conf_a.dim}D vs {conf_b.n} in {conf_b.dim}D")
    if not np.allclose(conf_a.box, conf_b.box, rtol=1e-12, atol=0):
        raise InputError(f"minima {a!r} and {b!r} belong to different glasses: boxes {conf_a.box.tolist()} "
                         f"and {conf_b.box.tolist()}")
    if conf_a.model != conf_b.model:
        raise InputError(f"minima {a!r} and {b!r} belong to different glasses: models {conf_a.model!r} "
                         f"and {conf_b.model!r}")
    if not np.array_equal(conf_a.types, conf_b.types) or not np.allclose(conf_a.diameters, conf_b.diameters,
                                                                          rtol=1e-12, atol=0):
        raise InputError(f"minima {a!r} and {b!r} belong to different glasses: particle types or diameters "
                         "differ (swap moves are not allowed between inherent structures)")


def system_for_pair(conf_a, conf_b, model=None, names=("a", "b")):
    """A :class:`~twolevel.engine.ParticleSystem` for two minima of one glass (checked)."""
    from .engine import ParticleSystem

    check_same_glass(conf_a, conf_b, names)
    return ParticleSystem(conf_a, model)


def path_between(conf_a, conf_b, model=None, names=("a", "b"), **kw) -> PathResult:
    """:func:`find_path` for two Configurations of one glass (refuses different glasses)."""
    sysm = system_for_pair(conf_a, conf_b, model, names)
    return find_path(sysm, conf_a.positions, conf_b.positions, labels=names, **kw)


# ----------------------------------------------------------------------------- the stage
CATALOGUE_SCALARS = ("dw_id", "is_a", "is_b", "d", "xi", "V", "dV", "V_a", "V_b", "PR")
# Version of the per-pair files. 2: bands without uniform translations (ends aligned, translations
# projected out of every step) and the columns translation_share, curv_low, curv_high. Pair files
# of an older version are recomputed, not reused: their bands could carry a rigid translation of
# the box (docs/paths.md "Uniform translations").
PAIR_FORMAT = 2
_PAIR_COLUMNS = ("is_a", "is_b")


def _read_pairs(path: Path):
    import pandas as pd

    if not path.is_file():
        raise InputError(f"{path}: candidate pairs not found (run the exploration stage first)")
    try:
        df = pd.read_parquet(path)
    except Exception as exc:
        raise InputError(f"{path}: cannot read as Parquet ({type(exc).__name__})") from None
    for c in _PAIR_COLUMNS:
        if c not in df.columns:
            raise InputError(f"{path}: missing column {c!r} (need {', '.join(_PAIR_COLUMNS)})")
    try:
        a = df["is_a"].astype("int64")
        b = df["is_b"].astype("int64")
    except (TypeError, ValueError):
        raise InputError(f"{path}: columns is_a/is_b must be integer IS ids") from None
    self_pairs = df.index[(a == b).to_numpy()]
    if len(self_pairs):
        i = int(self_pairs[0])
        raise InputError(f"{path}: row {i} pairs IS {int(a.iloc[i])} with itself; a path needs two distinct minima")
    return df.assign(is_a=a, is_b=b)


def _pair_sum(path: Path) -> Path:
    """The SHA-256 sidecar of a stored pair file (pairs/pair_<a>_<b>.h5.sha256)."""
    return path.with_name(path.name + ".sha256")


def _pair_reusable(path: Path) -> bool:
    """Whether a stored pair file may be reused: present, of the current format, and equal to the
    SHA-256 recorded when it was written (issue #17: partial state is verified before it is read).
    A damaged or unverifiable file is removed with a warning and the pair is computed again."""
    import warnings

    from .io.atomic import sha256_file

    if not path.is_file():
        return False
    side = _pair_sum(path)
    ok = side.is_file() and side.read_text().strip() == sha256_file(path) and _pair_format(path) >= PAIR_FORMAT
    if not ok:
        if side.is_file():  # a file with a record that no longer matches: damaged
            warnings.warn(f"{path}: does not match its recorded SHA-256 (damaged or changed); computing the "
                          f"pair again", RuntimeWarning, stacklevel=3)
        path.unlink(missing_ok=True)
        side.unlink(missing_ok=True)
    return ok


def _pair_format(path: Path) -> int:
    """The format version of a stored pair file (0 when unreadable or written before versions)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return int(f.attrs.get("format", 0))
    except (OSError, ValueError, TypeError):
        return 0


def _write_pair_file(path: Path, result: PathResult | None, a: int, b: int, error: str | None, shape) -> None:
    """One pair's result (atomically): JSON records + arrays per elementary path, then its SHA-256
    sidecar (a kill between the two leaves a file without a record: computed again)."""
    from .io.atomic import atomic_open, sha256_file

    _write_pair_h5(path, result, a, b, error)
    with atomic_open(_pair_sum(path), "w") as fh:
        fh.write(sha256_file(path) + "\n")


def _write_pair_h5(path: Path, result: PathResult | None, a: int, b: int, error: str | None) -> None:
    import h5py

    from .io.atomic import atomic_path

    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["is_a"] = a
            f.attrs["is_b"] = b
            f.attrs["error"] = error or ""
            f.attrs["format"] = PAIR_FORMAT
            if result is None:
                f.attrs["records"] = "[]"
                return
            recs = []
            for k, dw in enumerate(result.double_wells):
                rec = dw.scalars()
                rec["low"] = str(dw.label_low)
                rec["high"] = str(dw.label_high)
                recs.append(rec)
                g = f.create_group(f"dw{k}")
                g["xi"] = dw.xi
                g["V"] = dw.V
                g["x_low"] = dw.x_low
                g["x_high"] = dw.x_high
                g["saddle"] = dw.saddle
                g["displacement"] = dw.displacement
                imgs = dw.band.images.reshape(dw.band.images.shape[0], -1)
                if dw.reversed:
                    imgs = imgs[::-1]
                g["band_disp"] = (imgs - imgs[0]).astype(np.float32)  # images - x_low, float32
            f.attrs["records"] = json.dumps(recs)
            for j in result.new_minima:
                lab = f"new{result.new_minima.index(j)}"
                g = f.create_group(f"min_{lab}")
                g["x"] = result.minima[j]
                g.attrs["energy"] = result.minima_energies[j]


def paths_for_library(explore_dir, out_dir, params: PathsParams | None = None, *, progress: bool = True,
                      **overrides) -> dict:
    """Stage function: converged paths for all candidate pairs of an exploration directory.

    ``params``, ``**overrides``: a :class:`PathsParams` and/or its fields as keywords (images,
    method, spring, ftol, scheme, max_steps, split, max_depth, hessian, hessian_modes, limit);
    defaults those of the study file's ``[paths]``; a misspelt keyword is refused.

    Reads ``explore_dir/pairs.parquet`` (columns is_a, is_b, ...), ``explore_dir/is_configs.h5``
    (one entry per is_id) and, when present, ``inherent_structures.parquet`` (is_id, energy) to
    recognise intermediate minima already in the library. Writes into ``out_dir``:

    - ``pairs/pair_<a>_<b>.h5``: one file per candidate pair (the resumable unit);
    - ``double_wells.parquet``: the catalogue, one row per elementary double well with status "ok"
      (dw_id, is_a (xi = 0, deeper), is_b, d, xi, V, dV, V_a, V_b, PR, ... ; what twolevel.quantum reads);
    - ``path_results.parquet``: one row per elementary path of every pair, double well or not,
      with status and reason (split parents, no barrier, not converged, duplicates, failures);
    - ``bands.h5``: per dw_id the band (float32 displacements from the deeper minimum), profile,
      minima, saddle, per-particle displacement;
    - ``new_minima.parquet`` / ``new_minima.h5``: intermediate minima not in the IS library, with
      fresh is_id (max existing + 1, ...), for the exploration library to add;
    - ``paths.json``: parameters, counts, timings.

    Rerunning skips pairs already stored (pair files of an older ``PAIR_FORMAT`` are recomputed);
    a finished stage (same parameters and format) is a no-op. Every double well's row carries
    ``translation_share``, ``curv_low`` and ``curv_high`` (:class:`DoubleWell`).
    """
    from .engine import ParticleSystem
    from .io.atomic import atomic_open

    p = PathsParams.merged("paths", params, **overrides)
    explore_dir = Path(explore_dir)
    out_dir = Path(out_dir)
    if not explore_dir.is_dir():
        raise InputError(f"{explore_dir}: exploration directory not found")
    pairs = _read_pairs(explore_dir / PAIRS)
    if p.limit is not None:
        pairs = pairs.iloc[:p.limit]
    params = dict(format=PAIR_FORMAT, **p.model_dump())
    summary_path = out_dir / PATHS_META
    if summary_path.is_file():
        try:
            old = json.loads(summary_path.read_text())
            if old.get("params") == params and old.get("complete"):
                return old
        except ValueError:
            pass
    from .explore import ISConfigs

    store = ISConfigs(explore_dir / IS_CONFIGS)
    pair_dir = out_dir / "pairs"
    pair_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    todo = [(int(a), int(b)) for a, b in zip(pairs["is_a"], pairs["is_b"])]
    it = todo
    if progress:
        from .progressbar import progress_bar

        it = progress_bar(todo, desc="paths", unit="pair")
    system = None
    ref_conf = None
    n_done = 0
    try:
        for a, b in it:
            fpath = pair_dir / f"pair_{a}_{b}.h5"
            if _pair_reusable(fpath):
                continue
            ca = store.configuration(a)
            cb = store.configuration(b)
            if system is None:
                check_same_glass(ca, cb, (f"IS {a}", f"IS {b}"))
                system = ParticleSystem(ca)
                ref_conf = ca
            else:
                check_same_glass(ref_conf, ca, ("IS library", f"IS {a}"))
                check_same_glass(ref_conf, cb, ("IS library", f"IS {b}"))
            err = None
            res = None
            try:
                res = find_path(system, ca.positions, cb.positions, images=p.images, method=p.method,
                                spring=p.spring, ftol=p.ftol, max_steps=p.max_steps, split=p.split,
                                max_depth=p.max_depth, labels=(a, b), curvature=p.hessian,
                                curvature_modes=p.hessian_modes, scheme=p.scheme)
            except (PhysicsError, ConvergenceError, InputError) as exc:
                err = f"{type(exc).__name__}: {exc}"
            _write_pair_file(fpath, res, a, b, err, ca.positions.shape)
            n_done += 1
    finally:
        store.close()
    summary = _assemble(explore_dir, out_dir, todo, params, system)
    summary["wall_time_this_run"] = time.perf_counter() - t0
    summary["pairs_computed_this_run"] = n_done
    with atomic_open(summary_path, "w") as fh:
        json.dump(summary, fh, indent=2, default=float)
    return summary


def _assemble(explore_dir: Path, out_dir: Path, todo, params, system) -> dict:
    """Merge the per-pair files into the catalogue, the results table, bands.h5 and new minima."""
    import h5py
    import pandas as pd

    from .io.atomic import atomic_path

    lib_E = None
    lib_ids = []
    isp = explore_dir / INHERENT_STRUCTURES
    if isp.is_file():
        try:
            lib = pd.read_parquet(isp)
            if "is_id" in lib.columns:
                lib_ids = [int(v) for v in lib["is_id"]]
                if "energy" in lib.columns:
                    lib_E = dict(zip(lib_ids, lib["energy"].astype(float)))
        except Exception:
            lib_E = None
    next_id = (max(lib_ids) + 1) if lib_ids else 0
    for a, b in todo:
        next_id = max(next_id, a + 1, b + 1)
    new_rows, new_x = [], []
    rows = []
    seen = {}
    dw_id = 0
    with atomic_path(out_dir / BANDS) as tmp_bands, h5py.File(tmp_bands, "w") as hb:
        for a, b in todo:
            fpath = out_dir / "pairs" / f"pair_{a}_{b}.h5"
            if not fpath.is_file():
                continue
            with h5py.File(fpath, "r") as f:
                err = f.attrs["error"]
                err = err.decode() if isinstance(err, bytes) else str(err)
                recs = json.loads(f.attrs["records"])
                if err:
                    rows.append(dict(pair_a=a, pair_b=b, is_a=a, is_b=b, status="failed", reason=err))
                    continue
                # intermediate minima -> library ids (existing IS, an earlier new one, or a fresh id)
                labmap = {str(a): a, str(b): b}
                for k in f.keys():
                    if not k.startswith("min_"):
                        continue
                    lab = k[4:]
                    x = f[k]["x"][()]
                    e = float(f[k].attrs["energy"])
                    labmap[lab] = _identify(x, e, lib_E, explore_dir, new_rows, new_x, system)
                    if labmap[lab] is None:
                        labmap[lab] = next_id
                        new_rows.append(dict(is_id=next_id, energy=e, found_between=f"{a}-{b}"))
                        new_x.append(x)
                        next_id += 1
                n_ok = 0
                for k, rec in enumerate(recs):
                    lo, hi = labmap.get(rec["low"]), labmap.get(rec["high"])
                    row = dict(pair_a=a, pair_b=b, is_a=lo, is_b=hi, split=len(recs) > 1, **rec)
                    row.pop("low", None)
                    row.pop("high", None)
                    key = (min(lo, hi), max(lo, hi))
                    if rec["status"] == "ok":
                        if key in seen:
                            row["status"], row["reason"] = "duplicate", f"same double well as dw_id {seen[key]}"
                        else:
                            seen[key] = dw_id
                            row["dw_id"] = dw_id
                            g = f[f"dw{k}"]
                            row["xi"] = g["xi"][()].tolist()
                            row["V"] = g["V"][()].tolist()
                            hg = hb.create_group(str(dw_id))
                            for name in ("xi", "V", "x_low", "x_high", "saddle", "displacement", "band_disp"):
                                hg.create_dataset(name, data=g[name][()])
                            hg.attrs["is_a"] = lo
                            hg.attrs["is_b"] = hi
                            dw_id += 1
                            n_ok += 1
                    rows.append(row)
    table = pd.DataFrame(rows)
    for col in ("dw_id", "is_a", "is_b"):
        if col in table.columns:
            table[col] = table[col].astype("Int64")
    if len(table) and "dw_id" in table.columns:
        cat = table[table["status"] == "ok"].copy()
    else:
        cat = pd.DataFrame(columns=list(CATALOGUE_SCALARS))
    for col in ("xi", "V"):
        if col not in cat.columns:
            cat[col] = []
    if len(cat):
        cat["dw_id"] = cat["dw_id"].astype("int64")
        cat["is_a"] = cat["is_a"].astype("int64")
        cat["is_b"] = cat["is_b"].astype("int64")
    front = [c for c in CATALOGUE_SCALARS if c in cat.columns]
    cat = cat[front + [c for c in cat.columns if c not in front]]
    res_table = table.drop(columns=[c for c in ("xi", "V") if c in table.columns])
    _write_parquet(out_dir / DOUBLE_WELLS, cat)
    _write_parquet(out_dir / PATH_RESULTS, res_table)
    _write_parquet(out_dir / "new_minima.parquet", pd.DataFrame(new_rows, columns=["is_id", "energy", "found_between"]))
    with atomic_path(out_dir / "new_minima.h5") as tmp, h5py.File(tmp, "w") as f:
        for r, x in zip(new_rows, new_x):
            ds = f.create_dataset(str(r["is_id"]), data=x)
            ds.attrs["energy"] = r["energy"]
    status_counts = res_table["status"].value_counts().to_dict() if len(res_table) else {}
    done = sum((out_dir / "pairs" / f"pair_{a}_{b}.h5").is_file() for a, b in todo)
    return {"params": params, "pairs": len(todo), "pairs_done": done, "complete": done == len(todo),
            "double_wells": int(len(cat)), "status_counts": {str(k): int(v) for k, v in status_counts.items()},
            "new_minima": len(new_rows)}


def _identify(x, e, lib_E, explore_dir, new_rows, new_x, system, e_tol: float = 1e-6,
              same_tol: float = SAME_TOL):
    """The id of an already known minimum equal to x (library or new so far), else None."""
    if system is None:
        return None
    for r, y in zip(new_rows, new_x):
        if abs(r["energy"] - e) <= e_tol * max(1.0, abs(e)) and _same(system, x, y, same_tol):
            return r["is_id"]
    if lib_E:
        cands = [i for i, E in lib_E.items() if abs(E - e) <= e_tol * max(1.0, abs(e))]
        if cands:
            from .explore import ISConfigs

            store = ISConfigs(explore_dir / IS_CONFIGS)
            try:
                for i in cands:
                    if i not in store:
                        continue
                    y = np.asarray(store.positions(i)).reshape(np.shape(x))
                    if _same(system, x, y, same_tol):
                        return i
            finally:
                store.close()
    return None


def _write_parquet(path: Path, df) -> None:
    from .io.atomic import atomic_path

    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)
