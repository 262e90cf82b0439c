"""twolevel.optimize: one FIRE 2.0, classic FIRE and L-BFGS over the Optimizable protocol."""

import numpy as np
import pytest

from twolevel.optimize import FIRE, FIRE2, LBFGS, Optimizable, PotentialOptimizable


class Quadratic:
    """E = 1/2 (x - x0)^T A (x - x0) + e0 with A s.p.d. (condition number 100): the minimum
    x0, e0 is known exactly, and the force -A (x - x0) is the exact gradient."""

    dim = 2

    def __init__(self, n: int = 6, seed: int = 0):
        rng = np.random.default_rng(seed)
        q, _ = np.linalg.qr(rng.normal(size=(2 * n, 2 * n)))
        self.A = q @ np.diag(np.geomspace(0.1, 10.0, 2 * n)) @ q.T
        self.x0 = rng.normal(size=(n, 2))
        self.e0 = -1.5

    def energy_forces(self, x):
        d = (x - self.x0).reshape(-1)
        g = self.A @ d
        return 0.5 * d @ g + self.e0, -g.reshape(x.shape)


def _relax(opt, optimizer, ftol=1e-10, steps=20000):
    for _ in range(steps):
        if np.abs(opt.forces()).max() <= ftol:
            return True
        if optimizer.step(opt) is False:
            return False
    return False


@pytest.mark.parametrize("make", [lambda: FIRE2(dt=0.05), lambda: FIRE(dt=0.05, max_move=0.1),
                                  lambda: LBFGS(), lambda: LBFGS(line_search=False, alpha=10.0)])
def test_every_optimiser_finds_the_known_minimum(make):
    pot = Quadratic()
    opt = PotentialOptimizable(pot, pot.x0 + 1.0)
    assert isinstance(opt, Optimizable)
    assert _relax(opt, make())
    np.testing.assert_allclose(opt.get_x(), pot.x0, atol=1e-9)
    assert opt.energy() == pytest.approx(pot.e0, abs=1e-15)


def test_max_move_caps_the_largest_particle_step():
    pot = Quadratic()
    for optimizer in (FIRE2(dt=5.0, max_move=0.01), LBFGS(max_move=0.01, line_search=False, alpha=0.01)):
        opt = PotentialOptimizable(pot, pot.x0 + 10.0)
        for _ in range(5):
            x = opt.get_x().copy()
            optimizer.step(opt)
            assert np.sqrt(((opt.get_x() - x) ** 2).sum(axis=1)).max() <= 0.01 * (1 + 1e-12)


class _Held(PotentialOptimizable):
    """Rows 0 and 1 are held (as a band's frozen images): zero force there, no velocity."""

    def held(self):
        m = np.zeros(self.x.shape[0], dtype=bool)
        m[:2] = True
        return m

    def forces(self):
        f = super().forces().copy()
        f[self.held()] = 0.0
        return f


@pytest.mark.parametrize("optimizer", [FIRE2(dt=0.05), FIRE(dt=0.05)])
def test_held_rows_do_not_move(optimizer):
    pot = Quadratic()
    opt = _Held(pot, pot.x0 + 1.0)
    x0 = opt.get_x()[:2].copy()
    for _ in range(50):
        optimizer.step(opt)
    np.testing.assert_array_equal(opt.get_x()[:2], x0)
    assert np.abs(opt.get_x()[2:] - (pot.x0[2:] + 1.0)).max() > 0.1  # the others did move


def test_lbfgs_forgets_pairs_when_the_force_changes_definition():
    pot = Quadratic()
    opt = PotentialOptimizable(pot, pot.x0 + 1.0)
    lb = LBFGS(line_search=False, alpha=10.0)
    opt.force_id = 0
    for _ in range(4):
        lb.step(opt)
    assert lb.k == 3                    # pairs held in the memory
    opt.force_id = 1  # a band's climbing image moved to another image
    lb.step(opt)
    assert lb.k == 0


def test_two_loop_is_the_bfgs_inverse_update():
    """The compiled two-loop recursion equals the dense BFGS inverse-Hessian update (Nocedal &
    Wright 2006, Eq. (6.17)) applied pair by pair from H0 = (s.y / y.y) I of the newest pair."""
    from twolevel.optimize.lbfgs import two_loop

    rng = np.random.default_rng(0)
    n = 12
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    A = q @ np.diag(rng.uniform(0.5, 5.0, n)) @ q.T
    S = [rng.normal(size=n) for _ in range(5)]
    Y = [A @ s for s in S]
    R = [1.0 / float(s @ y) for s, y in zip(S, Y)]
    g = rng.normal(size=n)
    H = np.eye(n) * float(S[-1] @ Y[-1]) / float(Y[-1] @ Y[-1])
    for s, y, r in zip(S, Y, R):
        V = np.eye(n) - r * np.outer(y, s)
        H = V.T @ H @ V + r * np.outer(s, s)
    np.testing.assert_allclose(two_loop(g, S, Y, R), H @ g, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(two_loop(g, [], [], [], alpha=70.0), g / 70.0)
