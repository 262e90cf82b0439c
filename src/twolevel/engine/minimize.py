"""Energy minimisers on any :class:`~twolevel.engine.system.Potential`: the optimisers of
:mod:`twolevel.optimize` (one implementation each) driven to a force criterion.

- :func:`fire`: FIRE 2.0 (Guénolé et al., Comput. Mater. Sci. 175, 109584 (2020)),
  semi-implicit Euler with the half-step correction on uphill steps and a cap on
  the largest single-particle move per step.
- :func:`lbfgs`: limited-memory BFGS (Nocedal 1980) with a backtracking Armijo
  line search, a cap on the largest single-particle move, and a force-based
  acceptance test once energy differences fall below double-precision noise,
  so that it can polish a minimum to a max force of 1e-10 (reduced units).

Convergence is measured on the forces: ``criterion="max"`` uses the largest
per-particle force norm, ``criterion="norm"`` the 2-norm of the whole force
vector (the LAMMPS ``minimize`` convention).

On a :class:`~twolevel.engine.system.ParticleSystem` :func:`lbfgs` runs the whole
minimisation in one compiled call (:func:`_lbfgs_particles`), as :func:`~twolevel.engine.md.md_run`
runs MD: the same algorithm as :class:`twolevel.optimize.LBFGS` (its two-loop recursion and
per-particle norm are called, not copied), step for step, without ~0.1 ms of Python per step
(issue #19: the exploration's minimisations of PSS N = 1500 spent a third of their time there).
``tests/test_minimize.py`` holds the two to the same iterates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from numba import njit

from ..errors import InputError, PhysicsError
from ..optimize import FIRE2, LBFGS, PotentialOptimizable, largest_particle_norm
from ..optimize.lbfgs import _two_loop
from ..optimize.protocol import _largest_row_norm
from .kernels import energy_forces as _energy_forces
from .kernels import pair_params
from .neighbors import needs_rebuild, refresh


@dataclass
class MinimizeResult:
    x: np.ndarray
    energy: float
    forces: np.ndarray
    max_force: float
    force_norm: float
    converged: bool
    iterations: int
    force_evaluations: int
    method: str
    energies: list = field(default_factory=list, repr=False)


def _measures(f, dim):
    """(largest per-particle force norm, 2-norm of the whole force vector)."""
    return largest_particle_norm(f, dim), float(np.sqrt(np.vdot(f, f)))


def _check(criterion, fmax, fnorm, ftol):
    if criterion == "max":
        return fmax <= ftol
    if criterion == "norm":
        return fnorm <= ftol
    raise InputError(f"unknown convergence criterion {criterion!r}; use 'max' or 'norm'")


def _relax(pot, x0, optimizer, ftol: float, criterion: str, max_steps: int, record: bool) -> MinimizeResult:
    """Drive ``optimizer`` (twolevel.optimize) on one configuration until the force test passes."""
    opt = PotentialOptimizable(pot, x0)
    energies = [opt.energy()] if record else []
    fmax, fnorm = _measures(opt.forces(), opt.dim)
    converged = _check(criterion, fmax, fnorm, ftol)
    it = 0
    while not converged and it < max_steps:
        it += 1
        moved = optimizer.step(opt)
        if moved is False:
            break
        if moved is None:
            continue
        if record:
            energies.append(opt.energy())
        fmax, fnorm = _measures(opt.forces(), opt.dim)
        converged = _check(criterion, fmax, fnorm, ftol)
    return MinimizeResult(opt.get_x(), opt.energy(), opt.forces(), fmax, fnorm, converged, it,
                          opt.evaluations, optimizer.name, energies)


def fire(pot, x0, ftol: float = 1e-8, criterion: str = "max", max_steps: int = 100000,
         dt: float = 0.005, dt_max: float | None = None, dt_min: float | None = None,
         n_delay: int = 5, f_inc: float = 1.1, f_dec: float = 0.5, alpha0: float = 0.25,
         f_alpha: float = 0.99, max_move: float = 0.1, n_neg_max: int = 2000,
         record: bool = False) -> MinimizeResult:
    """FIRE 2.0 (Guénolé et al. 2020, Algorithm 2, semi-implicit Euler): twolevel.optimize.FIRE2."""
    _check(criterion, 0.0, 0.0, ftol)
    opt = FIRE2(dt=dt, dt_max=dt_max, dt_min=dt_min, n_delay=n_delay, f_inc=f_inc, f_dec=f_dec,
                alpha0=alpha0, f_alpha=f_alpha, max_move=max_move, n_neg_max=n_neg_max)
    return _relax(pot, x0, opt, ftol, criterion, max_steps, record)


def lbfgs(pot, x0, ftol: float = 1e-8, criterion: str = "max", max_steps: int = 100000,
          memory: int = 10, max_move: float = 0.1, initial_step: float = 0.01,
          record: bool = False, compiled: bool = True) -> MinimizeResult:
    """L-BFGS with a backtracking line search (twolevel.optimize.LBFGS); energies never increase
    beyond rounding noise. On a ParticleSystem (and without ``record``) the compiled loop
    :func:`_lbfgs_particles` runs the same steps; ``compiled=False`` forces the Python driver."""
    _check(criterion, 0.0, 0.0, ftol)
    from .system import ParticleSystem

    if compiled and not record and isinstance(pot, ParticleSystem) and memory >= 1:
        return _lbfgs_system(pot, x0, ftol, criterion, max_steps, memory, max_move, initial_step)
    opt = LBFGS(memory=memory, max_move=max_move, initial_step=initial_step, line_search=True)
    return _relax(pot, x0, opt, ftol, criterion, max_steps, record)


# status codes of the compiled loop
_RUNNING, _STALLED, _NOT_FINITE = 0, 1, 2


@njit(cache=True, error_model="numpy")
def _evaluate(x, box, types, diam, mp, start, idx, pp, ref, skin, f, outer_skin, start_o, idx_o, ref_o,
              have_outer, new_outer):
    """Energy and forces (into f) at x, the list (start, idx) and its pair parameters ``pp``
    remade when a particle moved more than skin/2 since ``ref`` by the two-list rule
    (neighbors.refresh; ParticleSystem.energy_forces, compiled). Returns (energy, start, idx, pp,
    rebuilt, positions finite, start_o, idx_o, have_outer, outer searched)."""
    n, d = x.shape
    rebuilt = 0
    searched = 0
    if needs_rebuild(x, ref, skin):
        for i in range(n):
            for k in range(d):
                if not np.isfinite(x[i, k]):
                    return np.nan, start, idx, pp, 0, False, start_o, idx_o, have_outer, 0
        start, idx, start_o, idx_o, have_outer, searched = refresh(
            x, box, types, diam, mp, skin, outer_skin, start_o, idx_o, ref_o, have_outer, new_outer)
        pp = pair_params(types, diam, mp, start, idx)
        ref[:] = x
        rebuilt = 1
    e, _ = _energy_forces(x, box, types, diam, mp, start, idx, f, pp)
    return e, start, idx, pp, rebuilt, True, start_o, idx_o, have_outer, searched


@njit(cache=True, error_model="numpy")
def _measure(f, dim, criterion_max):
    fmax = _largest_row_norm(f.reshape(-1), dim)
    fnorm = np.sqrt(np.sum(f * f))
    return fmax, fnorm, (fmax if criterion_max else fnorm)


@njit(cache=True, error_model="numpy")
def _lbfgs_particles(x, box, types, diam, mp, start, idx, ref, skin, ftol, criterion_max, max_steps,
                     memory, max_move, initial_step, e_limit, outer, prior_builds):
    """:class:`twolevel.optimize.LBFGS` with ``line_search=True`` driven by :func:`_relax`, in
    one compiled loop on a particle system; x (N, d) is minimised in place.

    Nocedal 1980 / Nocedal & Wright 2006 Algorithm 7.4 (the two-loop recursion, H0 = s.y / y.y of
    the newest pair, Eq. 7.20) with a backtracking Armijo line search (c1 = 1e-4, 30 halvings),
    the largest single-particle move capped at ``max_move``, a first step of largest particle
    move ``initial_step`` along the force, and the force-based acceptance once energy differences
    fall below 1e-13 |E| (see LBFGS). ``outer``: the system's two-list state
    (ParticleSystem.outer_state), a new outer list allowed once the system has made a list before
    (``prior_builds``). Returns (energy, forces, fmax, fnorm, converged, iterations, evaluations,
    list builds, status, start, idx, (start_o, idx_o, have_outer, outer searches)); status _NOT_FINITE when positions or the
    energy (above ``e_limit``) stop being finite: the caller raises.
    """
    n, d = x.shape
    nd = n * d
    f = np.empty_like(x)
    fn = np.empty_like(x)
    xn = np.empty_like(x)
    S = np.empty((memory, nd))
    Y = np.empty((memory, nd))
    R = np.empty(memory)
    k = 0
    head = 0
    builds = 0
    outer_skin, start_o, idx_o, ref_o, have_outer = outer
    nouter = 0
    pp = pair_params(types, diam, mp, start, idx)
    e, start, idx, pp, b, ok, start_o, idx_o, have_outer, so = _evaluate(
        x, box, types, diam, mp, start, idx, pp, ref, skin, f, outer_skin, start_o, idx_o, ref_o, have_outer,
        have_outer or prior_builds > 0)
    evals = 1
    builds += b
    nouter += so
    if not ok or not np.isfinite(e) or e > e_limit:
        return (e, f, np.nan, np.nan, False, 0, evals, builds, _NOT_FINITE, start, idx,
                (start_o, idx_o, have_outer, nouter))
    fmax, fnorm, crit = _measure(f, d, criterion_max)
    converged = crit <= ftol
    it = 0
    status = _RUNNING
    xf = x.reshape(-1)
    while not converged and it < max_steps:
        it += 1
        ff = f.reshape(-1)
        # search direction d = -H g = H f (LBFGS._step_search)
        if k > 0:
            rows = (head + np.arange(k)) % memory
            dvec = -_two_loop(-ff, S, Y, R, rows, -1.0)
        else:
            dvec = ff * (initial_step / max(_largest_row_norm(ff, d), 1e-300))
        slope = 0.0
        for j in range(nd):
            slope -= dvec[j] * ff[j]
        if slope >= 0.0:  # not a descent direction: restart along the force
            k = 0
            head = 0
            dvec = ff * (initial_step / max(_largest_row_norm(ff, d), 1e-300))
            slope = 0.0
            for j in range(nd):
                slope -= dvec[j] * ff[j]
        smax = _largest_row_norm(dvec, d)
        if smax > max_move:
            sc = max_move / smax
            dvec *= sc
            slope *= sc
        noise = 1e-13 * max(1.0, abs(e))
        f2 = np.sum(f * f)
        a = 1.0
        accepted = False
        en = e
        xnf = xn.reshape(-1)
        for _ in range(30):
            for j in range(nd):
                xnf[j] = xf[j] + a * dvec[j]
            en, start, idx, pp, b, ok, start_o, idx_o, have_outer, so = _evaluate(
                xn, box, types, diam, mp, start, idx, pp, ref, skin, fn, outer_skin, start_o, idx_o, ref_o,
                have_outer, True)
            evals += 1
            builds += b
            nouter += so
            if not ok or not np.isfinite(en) or en > e_limit:
                x[:] = xn
                return (en, fn, np.nan, np.nan, False, it, evals, builds, _NOT_FINITE, start, idx,
                        (start_o, idx_o, have_outer, nouter))
            if en <= e + 1e-4 * a * slope:
                accepted = True
                break
            if en <= e + noise and np.sum(fn * fn) < f2:
                accepted = True  # energy differences below rounding: accept when the forces decrease
                break
            a *= 0.5
        if not accepted:
            if k > 0:  # memory cleared: try again from x (LBFGS returns None)
                k = 0
                head = 0
                continue
            status = _STALLED
            break
        # remember s = xn - x, y = g_new - g_old = f - fn (LBFGS._remember)
        fnf = fn.reshape(-1)
        sy = 0.0
        for j in range(nd):
            sy += (xnf[j] - xf[j]) * (ff[j] - fnf[j])
        if sy > 1e-300:
            if k == memory:
                head = (head + 1) % memory
                k -= 1
            r = (head + k) % memory
            for j in range(nd):
                S[r, j] = xnf[j] - xf[j]
                Y[r, j] = ff[j] - fnf[j]
            R[r] = 1.0 / sy
            k += 1
        x[:] = xn
        f[:] = fn
        e = en
        fmax, fnorm, crit = _measure(f, d, criterion_max)
        converged = crit <= ftol
    return e, f, fmax, fnorm, converged, it, evals, builds, status, start, idx, (start_o, idx_o, have_outer, nouter)


def _lbfgs_system(pot, x0, ftol, criterion, max_steps, memory, max_move, initial_step) -> MinimizeResult:
    """Run :func:`_lbfgs_particles` on a ParticleSystem, keeping its neighbour list and counters."""
    from .system import OVERLAP_ENERGY

    shape = np.shape(x0)
    x = pot._pos(x0).copy()
    if pot._ref is None:
        start, idx = np.zeros(pot.n + 1, np.int64), np.zeros(0, np.int64)
        ref = np.full_like(x, np.inf)  # the first evaluation builds the list
    else:
        start, idx, ref = pot._start, pot._idx, pot._ref
    e, f, fmax, fnorm, conv, it, evals, builds, status, start, idx, outer = _lbfgs_particles(
        x, pot.box, pot.types, pot.diam, pot.mp, start, idx, ref, pot.skin, float(ftol), criterion == "max",
        int(max_steps), int(memory), float(max_move), float(initial_step), OVERLAP_ENERGY * pot.n,
        pot.outer_state(), pot.list_builds)
    pot._outer_start, pot._outer_idx, pot._have_outer, nouter = outer
    pot.force_evaluations += evals
    pot.list_builds += builds
    pot.outer_builds += nouter
    if np.all(np.isfinite(ref)):
        pot._start, pot._idx, pot._ref = start, idx, ref
        if builds:
            pot._pp = pair_params(pot.types, pot.diam, pot.mp, start, idx)
    else:
        pot.reset_neighbors()
    if status == _NOT_FINITE:
        if not np.all(np.isfinite(x)):
            raise PhysicsError("positions are not finite (NaN or inf)")
        pot._check_energy(float(e), x)  # raises with the overlapping pair
        raise PhysicsError(f"energy is not finite or overflows ({e:.3g})")
    return MinimizeResult(x.reshape(shape), float(e), f.reshape(shape), float(fmax), float(fnorm), bool(conv),
                          int(it), int(evals), "lbfgs", [])


def minimize(pot, x0, method: str = "lbfgs", **kw) -> MinimizeResult:
    """Minimise with ``method`` in {"lbfgs", "fire"}; keyword arguments go to the method."""
    if method == "lbfgs":
        return lbfgs(pot, x0, **kw)
    if method == "fire":
        return fire(pot, x0, **kw)
    raise InputError(f"unknown minimiser {method!r}; use 'lbfgs' or 'fire'")
