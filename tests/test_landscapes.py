"""Synthetic landscapes: analytic stationary points, forces = -grad E, the Potential interface."""

import numpy as np
import pytest

from twolevel.engine import minimize
from twolevel.errors import InputError
from twolevel.landscapes import MullerBrown, QuarticDoubleWells, ThreeMinimaSurface, random_double_wells


def _fd_forces(pot, x, h=1e-6):
    g = np.zeros_like(x)
    for i in range(x.size):
        xp = x.copy(); xp.flat[i] += h
        xm = x.copy(); xm.flat[i] -= h
        g.flat[i] = (pot.energy(xp) - pot.energy(xm)) / (2 * h)
    return -g


@pytest.mark.parametrize("pot,x", [
    (QuarticDoubleWells([-0.8, -1.1, -0.6], [0.05, -0.1, 0.0]), np.array([0.3, -1.7, 2.2])),
    (QuarticDoubleWells([-0.8, -1.1], [0.05, -0.1], coupling=[[0, 0.07], [0.07, 0]]), np.array([0.9, -0.4])),
    (MullerBrown(), np.array([-0.3, 0.8])),
    (ThreeMinimaSurface(w=1.3, k=3.0, s=0.7), np.array([0.4, 0.2])),
])
def test_forces_are_minus_gradient(pot, x):
    e, f = pot.energy_forces(x)
    assert e == pytest.approx(pot.energy(x), rel=1e-14, abs=1e-14)
    np.testing.assert_allclose(f, _fd_forces(pot, x), rtol=1e-6, atol=1e-6)
    assert f.shape == x.shape


def test_double_well_condition_of_eq_A1():
    # 002 Eq. (A1): two minima iff kappa^3 + 9 h^2 / 8 < 0
    kappa = -1.0
    h_crit = np.sqrt(8.0 / 9.0)
    QuarticDoubleWells([kappa], [0.99 * h_crit])
    with pytest.raises(InputError, match="single minimum"):
        QuarticDoubleWells([kappa], [1.01 * h_crit])
    with pytest.raises(InputError):
        QuarticDoubleWells([-1.0, -1.0], [0.0])


def test_untilted_well_is_analytic():
    # h = 0: minima at +-sqrt(-6 kappa), barrier 3 kappa^2 / 2, Delta V = 0
    w = QuarticDoubleWells([-0.5], [0.0])
    lo, hi, top = w.well_stationary_points(0)
    assert sorted([lo, hi]) == pytest.approx([-np.sqrt(3.0), np.sqrt(3.0)], abs=1e-12)
    assert top == pytest.approx(0.0, abs=1e-12)
    assert w.barriers[0] == pytest.approx(1.5 * 0.25, rel=1e-12)
    assert w.delta_v[0] == pytest.approx(0.0, abs=1e-12)


def test_2_to_the_K_minima_and_eq_A2():
    w = random_double_wells(5, seed=4)
    spins, xs, es = w.minima()
    assert len(es) == 2**5
    # Eq. (A2): E_IS(sigma) = E_0 + sum_i Delta V_i sigma_i
    np.testing.assert_allclose(es, es[0] + spins @ w.delta_v, atol=1e-12)
    for s, x in zip(spins, xs):
        r = minimize(w, x + 0.05 * np.sin(np.arange(5.0) + 1), ftol=1e-12)
        assert r.converged
        np.testing.assert_allclose(r.x, x, atol=1e-9)      # the minimiser lands on the analytic minimum
        assert np.all(np.linalg.eigvalsh(w.hessian(r.x)) > 0)
        assert np.array_equal(w.spins(r.x), s)
    lo_dv, hi_dv = 0.0, 0.3
    assert np.all((w.delta_v >= lo_dv) & (w.delta_v <= hi_dv + 1e-9))


def test_muller_brown_published_stationary_points():
    mb = MullerBrown()
    # Müller & Brown (1979): minima energies -146.70, -108.17, -80.77; saddles -40.66, -72.25
    for xm, em in zip(mb.MINIMA, [-146.70, -108.17, -80.77]):
        r = minimize(mb, xm + np.array([0.03, -0.02]), ftol=1e-10, max_move=0.02)
        assert r.converged
        np.testing.assert_allclose(r.x, xm, atol=2e-5)
        assert r.energy == pytest.approx(em, abs=0.01)
    for xs, es in zip(mb.SADDLES, [-40.66, -72.25]):
        e, f = mb.energy_forces(xs)
        assert e == pytest.approx(es, abs=0.01)
        assert np.linalg.norm(f) < 1e-3


def test_three_minima_surface():
    s = ThreeMinimaSurface(w=2.0, k=5.0, s=0.6)
    for xm in s.minima:
        e, f = s.energy_forces(xm)
        assert e == pytest.approx(0.0, abs=1e-15)
        assert np.linalg.norm(f) < 1e-14
    for xs in s.saddles:
        e, f = s.energy_forces(xs)
        assert e == pytest.approx(4 * 2.0 / 27, rel=1e-14)
        assert np.linalg.norm(f) < 1e-13
    # the straight line between the outer minima is not the path: its midpoint is a
    # minimum along x only because the valley is curved (it sits above the valley floor)
    e_mid = s.energy(0.5 * (s.minima[0] + s.minima[2]))
    assert e_mid == pytest.approx(0.5 * 5.0 * 0.6**2, rel=1e-12)
    with pytest.raises(InputError):
        ThreeMinimaSurface(w=-1)
