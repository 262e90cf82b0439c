"""L-BFGS over an :class:`~twolevel.optimize.protocol.Optimizable`: with a line search on an
energy (a configuration), or force-only as ASE's ``LBFGS`` (a band, whose force is no gradient)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, fastmath=True)
def _two_loop(g, S, Y, R, rows, alpha):
    """Compiled body of :func:`two_loop` over the rows ``rows`` of S, Y, R (oldest first); alpha <= 0:
    H0 from the newest pair. One pass per vector, no temporaries (numpy took 0.3 ms per call for
    N = 1500 in 3D, as much as a force evaluation)."""
    n = g.size
    k = rows.size
    q = g.copy()
    a = np.empty(k)
    for ii in range(k - 1, -1, -1):
        i = rows[ii]
        dot = 0.0
        for j in range(n):
            dot += S[i, j] * q[j]
        a[ii] = R[i] * dot
        for j in range(n):
            q[j] -= a[ii] * Y[i, j]
    if alpha > 0.0:
        scale = 1.0 / alpha
    elif k > 0:
        last = rows[k - 1]
        sy = 0.0
        yy = 0.0
        for j in range(n):
            sy += S[last, j] * Y[last, j]
            yy += Y[last, j] * Y[last, j]
        scale = sy / yy
    else:
        scale = 1.0
    for j in range(n):
        q[j] *= scale
    for ii in range(k):
        i = rows[ii]
        dot = 0.0
        for j in range(n):
            dot += Y[i, j] * q[j]
        b = R[i] * dot
        for j in range(n):
            q[j] += (a[ii] - b) * S[i, j]
    return q


def two_loop(g: np.ndarray, S, Y, R, alpha: float | None = None) -> np.ndarray:
    """H g by the two-loop recursion (Nocedal & Wright 2006, Algorithm 7.4) over the pairs
    (s, y, 1 / y.s) in S, Y, R (oldest first; sequences of vectors or 2D arrays). Initial inverse
    Hessian H0 = (s.y / y.y) of the newest pair (Eq. (7.20)) or, with ``alpha``, 1 / alpha (ASE's
    LBFGS, alpha = 70)."""
    g = np.ascontiguousarray(g, dtype=np.float64).reshape(-1)
    k = len(R)
    S2 = np.asarray(S, dtype=np.float64).reshape(k, g.size) if k else np.empty((0, g.size))
    Y2 = np.asarray(Y, dtype=np.float64).reshape(k, g.size) if k else np.empty((0, g.size))
    return _two_loop(g, S2, Y2, np.asarray(R, dtype=np.float64), np.arange(k), -1.0 if alpha is None else float(alpha))


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
        # the memory: a ring of k pairs in the rows of S, Y, R, the oldest at row `head`
        self.S = self.Y = None
        self.R = np.empty(max(int(memory), 1))
        self.k = 0
        self.head = 0
        self.x_prev = self.f_prev = self.id_prev = None

    def reset(self) -> None:
        self.k = 0
        self.head = 0
        self.x_prev = None

    def _direction(self, g: np.ndarray) -> np.ndarray:
        """H g from the memory (:func:`_two_loop`); H0 = 1/alpha when alpha is set."""
        g = np.ascontiguousarray(g, dtype=np.float64).reshape(-1)
        if self.k == 0:
            return g / self.alpha if self.alpha is not None else g.copy()
        rows = (self.head + np.arange(self.k)) % self.memory
        return _two_loop(g, self.S, self.Y, self.R, rows, -1.0 if self.alpha is None else float(self.alpha))

    def _remember(self, s: np.ndarray, y: np.ndarray) -> None:
        sy = float(np.vdot(s, y))
        if sy > 1e-300:
            n = s.size
            if self.S is None or self.S.shape[1] != n:
                self.S = np.empty((self.memory, n))
                self.Y = np.empty((self.memory, n))
                self.k = self.head = 0
            if self.k == self.memory:      # overwrite the oldest pair
                self.head = (self.head + 1) % self.memory
                self.k -= 1
            r = (self.head + self.k) % self.memory
            self.S[r] = s.reshape(-1)
            self.Y[r] = y.reshape(-1)
            self.R[r] = 1.0 / sy
            self.k += 1

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
        step = -self._direction(-f.reshape(-1)).reshape(f.shape)
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
        if self.k:
            d = -self._direction(g).reshape(g.shape)
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
            if self.k:
                self.reset()
                return None
            return False
        self._remember(xn - x, -fn - g)
        return True
