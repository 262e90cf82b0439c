"""FIRE 2.0 and classic FIRE over an :class:`~twolevel.optimize.protocol.Optimizable`.

Each optimiser is a small object holding its state (velocity, time step, mixing); ``step(opt)``
makes one step on ``opt`` and returns True (moved) or False (stop: too many uphill steps in a
row); ``reset()`` stops the motion (the caller's force changed definition).
"""

from __future__ import annotations

import math

import numpy as np


def _zero_held(opt, v: np.ndarray) -> None:
    """Rows ``opt.held()`` (a band's frozen images) keep no velocity this step."""
    held = getattr(opt, "held", None)
    mask = held() if held is not None else None
    if mask is not None and mask.any():
        v[mask] = 0.0


def _cap(dx: np.ndarray, size: float, max_move: float) -> np.ndarray:
    """dx scaled down so that its size (its largest particle move, or its norm) is max_move."""
    if size > max_move:
        dx *= max_move / size
    return dx


class _FireState:
    """What both FIREs share: the velocity, the step counters, ``reset`` and the start of a step."""

    v: np.ndarray | None = None
    nsteps = 0
    npos = 0

    def reset(self) -> None:
        if self.v is not None:
            self.v[...] = 0.0

    def _begin(self, opt) -> tuple[np.ndarray, np.ndarray, float]:
        """(force, velocity, power P = F.v) at the start of a step; held rows keep no velocity."""
        f = opt.forces()
        if self.v is None:
            self.v = np.zeros_like(f)
        v = self.v
        _zero_held(opt, v)
        self.nsteps += 1
        return f, v, float(np.vdot(f, v))


class FIRE2(_FireState):
    """FIRE 2.0 (Guénolé et al., Comput. Mater. Sci. 175, 109584 (2020), Algorithm 2):
    semi-implicit Euler, no dt decrease during the first ``n_delay`` steps, the half-step
    correction x -= dt v / 2 on uphill steps (``half_step=False``: drop it), and the largest
    single-particle move per step capped at ``max_move``. ``n_neg_max``: stop after that many
    uphill steps in a row (None: never). ``image_reset``: also stop every row of x (a band's
    image) whose velocity points against its own force."""

    name = "fire"

    def __init__(self, dt: float = 0.005, dt_max: float | None = None, dt_min: float | None = None,
                 n_delay: int = 5, f_inc: float = 1.1, f_dec: float = 0.5, alpha0: float = 0.25,
                 f_alpha: float = 0.99, max_move: float = 0.1, n_neg_max: int | None = None,
                 half_step: bool = True, image_reset: bool = False):
        self.dt = dt
        self.dt_max = 10.0 * dt if dt_max is None else dt_max
        self.dt_min = 0.02 * dt if dt_min is None else dt_min
        self.n_delay, self.f_inc, self.f_dec = n_delay, f_inc, f_dec
        self.alpha0, self.alpha, self.f_alpha = alpha0, alpha0, f_alpha
        self.max_move, self.n_neg_max = max_move, n_neg_max
        self.half_step, self.image_reset = half_step, image_reset
        self.v = None
        self.nsteps = 0
        self.npos = 0
        self.nneg = 0

    def step(self, opt) -> bool:
        f, v, p = self._begin(opt)
        if p > 0.0:
            self.npos += 1
            self.nneg = 0
            if self.npos > self.n_delay:
                self.dt = min(self.dt * self.f_inc, self.dt_max)
                self.alpha *= self.f_alpha
        else:
            self.npos = 0
            self.nneg += 1
            if self.n_neg_max is not None and self.nneg > self.n_neg_max:
                return False
            if self.nsteps > self.n_delay:  # "initial delay": no dt decrease during the first steps
                self.dt = max(self.dt * self.f_dec, self.dt_min)
                self.alpha = self.alpha0
            if self.half_step:
                opt.set_x(opt.get_x() - 0.5 * self.dt * v)  # half-step correction
            v[...] = 0.0
        if self.image_reset:
            v[(f * v).sum(axis=1) < 0.0] = 0.0
        v += self.dt * f
        vn = np.sqrt(np.vdot(v, v))
        fn = np.sqrt(np.vdot(f, f))
        if fn > 0:
            v = (1.0 - self.alpha) * v + self.alpha * (vn / fn) * f
            self.v = v
        dx = self.dt * v
        opt.move(_cap(dx, opt.step_norm(dx), self.max_move))
        return True


class FIRE(_FireState):
    """Classic FIRE (Bitzek et al., PRL 97, 170201 (2006)) as ASE's ``FIRE`` (ase/optimize/fire.py):
    mix, then an Euler step; restart (v = 0, dt *= f_dec, alpha = alpha0) on P <= 0, never on the
    first step; the step capped at ``max_move`` in its 2-norm (``norm="global"``, ASE) or in its
    largest single-particle move (``norm="particle"``). ASE's parameters: dt 0.1, dt_max 1.0,
    alpha0 0.1, max_move 0.2."""

    name = "fire-classic"

    def __init__(self, dt: float = 0.1, dt_max: float = 1.0, n_delay: int = 5, f_inc: float = 1.1,
                 f_dec: float = 0.5, alpha0: float = 0.1, f_alpha: float = 0.99, max_move: float = 0.2,
                 norm: str = "global"):
        self.dt, self.dt_max = dt, dt_max
        self.n_delay, self.f_inc, self.f_dec = n_delay, f_inc, f_dec
        self.alpha0, self.alpha, self.f_alpha = alpha0, alpha0, f_alpha
        self.max_move, self.norm = max_move, norm
        self.v = None
        self.nsteps = 0
        self.npos = 0

    def step(self, opt) -> bool:
        f, v, p = self._begin(opt)
        if self.nsteps == 1:
            pass  # first step from rest: no restart (ASE's FIRE skips the test on its first step)
        elif p > 0.0:
            vn = math.sqrt(float(np.vdot(v, v)))
            fn = math.sqrt(float(np.vdot(f, f)))
            v = (1.0 - self.alpha) * v + (self.alpha * vn / fn) * f
            if self.npos > self.n_delay:
                self.dt = min(self.dt * self.f_inc, self.dt_max)
                self.alpha *= self.f_alpha
            self.npos += 1
        else:
            v[...] = 0.0
            self.alpha = self.alpha0
            self.dt *= self.f_dec
            self.npos = 0
        v += self.dt * f
        self.v = v
        dx = self.dt * v
        size = math.sqrt(float(np.vdot(dx, dx))) if self.norm == "global" else opt.step_norm(dx)
        opt.move(_cap(dx, size, self.max_move))
        return True
