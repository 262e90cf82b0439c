"""Energy minimisers on any :class:`~twolevel.engine.system.Potential`.

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


def _per_particle(f: np.ndarray, dim: int | None) -> np.ndarray:
    if dim and f.size % dim == 0:
        return f.reshape(-1, dim)
    return f.reshape(-1, 1)


def _measures(f, dim):
    ff = _per_particle(f, dim)
    return float(np.sqrt((ff * ff).sum(axis=1).max())), float(np.sqrt((f * f).sum()))


def _check(criterion, fmax, fnorm, ftol):
    if criterion == "max":
        return fmax <= ftol
    if criterion == "norm":
        return fnorm <= ftol
    raise InputError(f"unknown convergence criterion {criterion!r}; use 'max' or 'norm'")


def fire(pot, x0, ftol: float = 1e-8, criterion: str = "max", max_steps: int = 100000,
         dt: float = 0.005, dt_max: float | None = None, dt_min: float | None = None,
         n_delay: int = 5, f_inc: float = 1.1, f_dec: float = 0.5, alpha0: float = 0.25,
         f_alpha: float = 0.99, max_move: float = 0.1, n_neg_max: int = 2000,
         record: bool = False) -> MinimizeResult:
    """FIRE 2.0 (Guénolé et al. 2020, Algorithm 2, semi-implicit Euler)."""
    dim = getattr(pot, "dim", None)
    x = np.array(x0, dtype=np.float64, copy=True)
    dt_max = 10.0 * dt if dt_max is None else dt_max
    dt_min = 0.02 * dt if dt_min is None else dt_min
    v = np.zeros_like(x)
    e, f = pot.energy_forces(x)
    nev = 1
    energies = [e] if record else []
    alpha = alpha0
    npos = 0
    nneg = 0
    fmax, fnorm = _measures(f, dim)
    it = 0
    converged = _check(criterion, fmax, fnorm, ftol)
    while not converged and it < max_steps:
        it += 1
        p = float(np.vdot(f, v))
        if p > 0.0:
            npos += 1
            nneg = 0
            if npos > n_delay:
                dt = min(dt * f_inc, dt_max)
                alpha *= f_alpha
        else:
            npos = 0
            nneg += 1
            if nneg > n_neg_max:
                break
            if it > n_delay:  # "initial delay": no dt decrease during the first steps
                dt = max(dt * f_dec, dt_min)
                alpha = alpha0
            x -= 0.5 * dt * v  # half-step correction
            v[...] = 0.0
        v += dt * f
        vn = np.sqrt(np.vdot(v, v))
        fn = np.sqrt(np.vdot(f, f))
        if fn > 0:
            v = (1.0 - alpha) * v + alpha * (vn / fn) * f
        dx = dt * v
        step = _per_particle(dx, dim)
        smax = float(np.sqrt((step * step).sum(axis=1).max()))
        if smax > max_move:
            dx *= max_move / smax
        x += dx
        e, f = pot.energy_forces(x)
        nev += 1
        if record:
            energies.append(e)
        fmax, fnorm = _measures(f, dim)
        converged = _check(criterion, fmax, fnorm, ftol)
    return MinimizeResult(x, e, f, fmax, fnorm, converged, it, nev, "fire", energies)


def _two_loop(g, s_list, y_list, rho_list):
    q = g.copy()
    alphas = []
    for s, y, rho in zip(reversed(s_list), reversed(y_list), reversed(rho_list)):
        a = rho * np.vdot(s, q)
        alphas.append(a)
        q -= a * y
    if s_list:
        s, y = s_list[-1], y_list[-1]
        q *= np.vdot(s, y) / np.vdot(y, y)
    for (s, y, rho), a in zip(zip(s_list, y_list, rho_list), reversed(alphas)):
        b = rho * np.vdot(y, q)
        q += (a - b) * s
    return q


def lbfgs(pot, x0, ftol: float = 1e-8, criterion: str = "max", max_steps: int = 100000,
          memory: int = 10, max_move: float = 0.1, initial_step: float = 0.01,
          record: bool = False) -> MinimizeResult:
    """L-BFGS with a backtracking line search; energies never increase beyond rounding noise."""
    dim = getattr(pot, "dim", None)
    x = np.array(x0, dtype=np.float64, copy=True)
    e, f = pot.energy_forces(x)
    nev = 1
    energies = [e] if record else []
    g = -f
    s_list: list = []
    y_list: list = []
    rho_list: list = []
    fmax, fnorm = _measures(f, dim)
    converged = _check(criterion, fmax, fnorm, ftol)
    it = 0
    while not converged and it < max_steps:
        it += 1
        if s_list:
            d = -_two_loop(g, s_list, y_list, rho_list)
        else:
            d = -g * (initial_step / max(fmax, 1e-300))
        slope = float(np.vdot(d, g))
        if slope >= 0:  # not a descent direction: restart along the force
            s_list.clear(); y_list.clear(); rho_list.clear()
            d = -g * (initial_step / max(fmax, 1e-300))
            slope = float(np.vdot(d, g))
        step = _per_particle(d, dim)
        smax = float(np.sqrt((step * step).sum(axis=1).max()))
        if smax > max_move:
            d *= max_move / smax
            slope *= max_move / smax
        noise = 1e-13 * max(1.0, abs(e))
        alpha = 1.0
        accepted = False
        for _ in range(30):
            xn = x + alpha * d
            en, fn_ = pot.energy_forces(xn)
            nev += 1
            if en <= e + 1e-4 * alpha * slope:
                accepted = True
            elif en <= e + noise and np.vdot(fn_, fn_) < np.vdot(f, f):
                # energy differences below rounding: accept when the forces decrease
                accepted = True
            if accepted:
                break
            alpha *= 0.5
        if not accepted:
            if s_list:
                s_list.clear(); y_list.clear(); rho_list.clear()
                continue
            break
        s = xn - x
        gn = -fn_
        y = gn - g
        sy = float(np.vdot(s, y))
        if sy > 1e-300:
            s_list.append(s); y_list.append(y); rho_list.append(1.0 / sy)
            if len(s_list) > memory:
                s_list.pop(0); y_list.pop(0); rho_list.pop(0)
        x, e, f, g = xn, en, fn_, gn
        if record:
            energies.append(e)
        fmax, fnorm = _measures(f, dim)
        converged = _check(criterion, fmax, fnorm, ftol)
    return MinimizeResult(x, e, f, fmax, fnorm, converged, it, nev, "lbfgs", energies)


def minimize(pot, x0, method: str = "lbfgs", **kw) -> MinimizeResult:
    """Minimise with ``method`` in {"lbfgs", "fire"}; keyword arguments go to the method."""
    if method == "lbfgs":
        return lbfgs(pot, x0, **kw)
    if method == "fire":
        return fire(pot, x0, **kw)
    raise InputError(f"unknown minimiser {method!r}; use 'lbfgs' or 'fire'")
