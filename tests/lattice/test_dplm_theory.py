"""Exact theory of 000_ac86d19d448073de.txt App. A against its closed forms."""

import numpy as np
import pytest

from twolevel.lattice import gdist, theory
from twolevel.stats import phi_two_level


@pytest.mark.parametrize("T_I", [0.03, 0.05])
def test_convolution_reproduces_A18_z4(T_I):
    # 000 Eq. (A18): P(0) = 6 T_I^2 / dV^3, P''(0) = 1 / dV^3 (exact as T_I -> 0; e^{-1/T_I} corrections)
    d = theory.delta_e_distribution(gdist.uniform(), T_I, z=4)
    assert abs(d.P.sum() * d.h - 1) < 1e-9
    P0, P2 = d.derivatives0()
    assert P0 == pytest.approx(6 * T_I**2, rel=1e-4)
    assert P2 == pytest.approx(1.0, rel=1e-4)


@pytest.mark.parametrize("T_I", [0.03, 0.05])
def test_convolution_reproduces_A20_z6(T_I):
    # 000 Eq. (A20): P(0) = 70 T_I^4, P''(0) = 15 T_I^2 (uniform g on [0, 1], z = 6)
    d = theory.delta_e_distribution(gdist.uniform(), T_I, z=6)
    P0, P2 = d.derivatives0()
    assert P0 == pytest.approx(70 * T_I**4, rel=1e-4)
    assert P2 == pytest.approx(15 * T_I**2, rel=1e-4)


def test_A13_gives_A19_and_A21():
    # Eq. (A13) with /30 (not Eq. (10)'s /15) turns (A18) into (A19) and (A20) into (A21)
    for z in (4, 6):
        P0, P2 = theory.closed_form_P(0.04, z)
        assert np.allclose(theory.c_from_P(P0, P2, 0.005, z), theory.closed_form_c(0.04, 0.005, z), rtol=1e-12)
    # independent numbers: c1 = 8 pi^2 phi T^2, c3 = 14 pi^4 phi / 15
    c1, c3 = theory.closed_form_c(0.05, 0.005, 4)
    assert c1 == pytest.approx(8 * np.pi**2 * 0.005 * 0.0025)
    assert c3 == pytest.approx(14 * np.pi**4 * 0.005 / 15)


def test_dV_scaling_of_closed_forms():
    # a uniform g on [0, dV]: P(0) ~ T^2/dV^3 by dimensional analysis, checked numerically
    d = theory.delta_e_distribution(gdist.uniform(0.0, 2.0), 0.06, z=4)
    P0, P2 = d.derivatives0()
    assert P0 == pytest.approx(6 * 0.06**2 / 8, rel=1e-3)
    assert P2 == pytest.approx(1 / 8, rel=1e-3)


def test_cv_exact_tends_to_c1T_plus_c3T3():
    # 000 Eqs. (A6)-(A13): the full TLS sum approaches c1 T + c3 T^3 as T -> 0
    d = theory.delta_e_distribution(gdist.uniform(), 0.05, z=4)
    c1, c3 = theory.closed_form_c(0.05, 0.01)
    T = np.array([0.002, 0.005, 0.01])
    cv = theory.cv_exact(d, T, 0.01)
    assert np.allclose(cv, c1 * T + c3 * T**3, rtol=5e-3)


def test_tls_heat_capacity_integral():
    # I_1 = 2 pi^2/3 (000 Eq. (A12)): integral of x^2 sech^2(x/2)/4 over x >= 0 is pi^2/6... times 4/4
    x = np.linspace(0, 60, 600001)
    f = phi_two_level(x, 1.0)
    # int_0^inf x^2 sech^2(x/2) dx / 4 = I_1 / 4 with I_1 = 2 pi^2 / 3 -> pi^2/6
    assert np.trapezoid(f, x) == pytest.approx(np.pi**2 / 6, rel=1e-6)


def test_general_g_families():
    # g = 2V (000 Fig. 8 inset): P(Delta E) qualitatively like the uniform case, P(0) > 0, normalised
    d = theory.delta_e_distribution(gdist.linear(), 0.1, z=4)
    assert abs(d.P.sum() * d.h - 1) < 1e-9
    assert d.at(0.0) > 0
    fg = gdist.fermi_gauss(0.2, 0.1)
    assert fg.norm() == pytest.approx(1.0, rel=1e-3)  # Eqs. (13)-(15) are nearly normalised already
    r = theory.c1_c3(fg, 0.24, 0.031)
    assert r["c1"] > 0 and r["c3"] > 0


def test_glycerol_units():
    # 000 Sec. VI: c1 = 0.0178 with T_g = 0.24 <-> 193 K, k_B = 8.314 J/(K mol) gives 1.835e-4 J/(K^2 mol)
    ex = theory.glycerol_example()
    assert ex["c1_J_per_K2_mol"] == pytest.approx(1.835e-4, rel=5e-3)


def test_q_small_at_low_T():
    # 000 Fig. 4(b): q decreases towards 0 as T falls
    q = theory.q_hop(gdist.uniform(), [0.03, 0.05, 0.1, 0.2], 1e-4)
    assert np.all(np.diff(q) > 0) and q[0] < 0.06
