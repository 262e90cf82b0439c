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
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..optimize import FIRE2, LBFGS, PotentialOptimizable, largest_particle_norm


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
          record: bool = False) -> MinimizeResult:
    """L-BFGS with a backtracking line search (twolevel.optimize.LBFGS); energies never increase
    beyond rounding noise."""
    _check(criterion, 0.0, 0.0, ftol)
    opt = LBFGS(memory=memory, max_move=max_move, initial_step=initial_step, line_search=True)
    return _relax(pot, x0, opt, ftol, criterion, max_steps, record)


def minimize(pot, x0, method: str = "lbfgs", **kw) -> MinimizeResult:
    """Minimise with ``method`` in {"lbfgs", "fire"}; keyword arguments go to the method."""
    if method == "lbfgs":
        return lbfgs(pot, x0, **kw)
    if method == "fire":
        return fire(pot, x0, **kw)
    raise InputError(f"unknown minimiser {method!r}; use 'lbfgs' or 'fire'")
