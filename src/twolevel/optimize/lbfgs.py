"""L-BFGS over an :class:`~twolevel.optimize.protocol.Optimizable`: with a line search on an
energy (a configuration), or force-only as ASE's ``LBFGS`` (a band, whose force is no gradient)."""

from __future__ import annotations

import numpy as np


def two_loop(g: np.ndarray, S: list, Y: list, R: list, alpha: float | None = None) -> np.ndarray:
    """H g by the two-loop recursion (Nocedal & Wright 2006, Algorithm 7.4) over the pairs
    (s, y, 1 / y.s) in S, Y, R (oldest first). Initial inverse Hessian H0 = (s.y / y.y) of the
    newest pair (Eq. (7.20)) or, with ``alpha``, 1 / alpha (ASE's LBFGS, alpha = 70)."""
    q = g.copy()
    a = np.empty(len(S))
    for i in range(len(S) - 1, -1, -1):
        a[i] = R[i] * np.vdot(S[i], q)
        q -= a[i] * Y[i]
    if alpha is not None:
        q = q / alpha
    elif S:
        q *= np.vdot(S[-1], Y[-1]) / np.vdot(Y[-1], Y[-1])
    for i in range(len(S)):
        b = R[i] * np.vdot(Y[i], q)
        q += (a[i] - b) * S[i]
    return q


class LBFGS:
    """Limited-memory BFGS (Nocedal 1980) with ``memory`` pairs and the largest single-particle
    move per step capped at ``max_move``.

    ``line_search=True`` (a configuration with an energy): backtracking Armijo line search
    (c1 = 1e-4, 30 halvings), H0 scaled by the newest pair, first step of largest particle move
    ``initial_step`` along the force, and a force-based acceptance once energy differences fall
    below double-precision noise, so that it polishes a minimum to a max force of 1e-10;
    ``step`` returns False when no step is accepted from a fresh memory (None: memory cleared,
    try again). ``line_search=False`` (ASE's LBFGS; a NEB band, ``alpha`` = 1 / H0 = 70): no
    energy; a pair enters the memory only when y.s > 0, and the memory is cleared when
    ``opt.force_id`` changes or when the step would go against the force (in total or on any
    row of x, i.e. any image), the step then being the steepest-descent one f / alpha.
    """

    name = "lbfgs"

    def __init__(self, memory: int = 10, max_move: float = 0.1, line_search: bool = True,
                 alpha: float | None = None, initial_step: float = 0.01):
        self.memory, self.max_move = memory, max_move
        self.line_search, self.alpha, self.initial_step = line_search, alpha, initial_step
        if not line_search and alpha is None:
            self.alpha = 70.0
        self.S: list = []
        self.Y: list = []
        self.R: list = []
        self.x_prev = self.f_prev = self.id_prev = None

    def reset(self) -> None:
        self.S.clear(), self.Y.clear(), self.R.clear()
        self.x_prev = None

    def _remember(self, s: np.ndarray, y: np.ndarray) -> None:
        sy = float(np.vdot(s, y))
        if sy > 1e-300:
            self.S.append(s), self.Y.append(y), self.R.append(1.0 / sy)
            if len(self.S) > self.memory:
                del self.S[0], self.Y[0], self.R[0]

    def step(self, opt) -> bool | None:
        return self._step_search(opt) if self.line_search else self._step_force(opt)

    def _step_force(self, opt) -> bool:
        f = opt.forces()
        x = opt.get_x()
        fid = getattr(opt, "force_id", None)
        if self.x_prev is not None and fid == self.id_prev:
            self._remember((x - self.x_prev).reshape(-1), (self.f_prev - f).reshape(-1))
        elif self.x_prev is not None:
            self.reset()
        step = -two_loop(-f.reshape(-1), self.S, self.Y, self.R, self.alpha).reshape(f.shape)
        if float(np.vdot(f, step)) <= 0.0 or bool(np.any((f * step).sum(axis=1) < 0.0)):
            self.reset()
            step = f / self.alpha
        self.x_prev, self.f_prev, self.id_prev = x.copy(), f, fid
        size = opt.step_norm(step)
        if size > self.max_move:
            step *= self.max_move / size
        opt.move(step)
        return True

    def _step_search(self, opt) -> bool | None:
        x = opt.get_x()
        e = opt.energy()
        f = opt.forces()
        g = -f
        if self.S:
            d = -two_loop(g, self.S, self.Y, self.R)
        else:
            d = -g * (self.initial_step / max(opt.step_norm(f), 1e-300))
        slope = float(np.vdot(d, g))
        if slope >= 0:  # not a descent direction: restart along the force
            self.reset()
            d = -g * (self.initial_step / max(opt.step_norm(f), 1e-300))
            slope = float(np.vdot(d, g))
        smax = opt.step_norm(d)
        if smax > self.max_move:
            d *= self.max_move / smax
            slope *= self.max_move / smax
        noise = 1e-13 * max(1.0, abs(e))
        a = 1.0
        for _ in range(30):
            xn = x + a * d
            opt.set_x(xn)
            en = opt.energy()
            fn = opt.forces()
            if en <= e + 1e-4 * a * slope:
                break
            if en <= e + noise and np.vdot(fn, fn) < np.vdot(f, f):
                break  # energy differences below rounding: accept when the forces decrease
            a *= 0.5
        else:
            opt.set_x(x, (e, f))
            if self.S:
                self.reset()
                return None
            return False
        self._remember(xn - x, -fn - g)
        return True
