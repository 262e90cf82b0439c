"""Model definitions against the papers' formulas (independent re-derivations)."""

import numpy as np
import pytest

from twolevel.errors import InputError
from twolevel.models import get_model
from twolevel.models.pss import SIGMA_MAX, SIGMA_MIN, sigma_moment, sigma_quantile


def test_pss_smoothing_vanishes_at_cutoff():
    m = get_model("pss")
    for di, dj in [(1.0, 1.0), (0.73, 1.6), (1.2, 0.9)]:
        rc = m.cutoff(0, 0, di, dj)
        # s_ij from the non-additive rule, written out independently
        s = 0.5 * (di + dj) * (1 - 0.2 * abs(di - dj))
        assert rc == pytest.approx(1.25 * s)
        r = rc * (1 - 1e-12)
        v, v1, v2, _ = m.pair(r, 0, 0, di, dj)
        assert abs(v) < 1e-9 and abs(v1) < 1e-8 and abs(v2) < 1e-6
        assert m.pair(rc * 1.0001, 0, 0, di, dj)[0] == 0.0


@pytest.mark.parametrize("name", ["tlj", "tlj-printed", "ka"])
def test_lj_smoothing_vanishes_at_cutoff(name):
    m = get_model(name)
    for ti in range(m.ntypes):
        for tj in range(m.ntypes):
            r = m.cutoff(ti, tj) * (1 - 1e-12)
            v, v1, v2, _ = m.pair(r, ti, tj)
            assert abs(v) < 1e-9 and abs(v1) < 1e-8 and abs(v2) < 1e-7


def test_tlj_parameters_of_002():
    # 002_b660eabf4d6c7be7.txt Sec. II B: direct LJ check at r = 1.1 sigma_AB for the AB pair.
    m = get_model("tlj")
    xc = 2.5
    C0, C2, C4 = 10 / xc**6 - 28 / xc**12, 48 / xc**14 - 15 / xc**8, 6 / xc**10 - 21 / xc**16
    eps, sig = 1.5, 0.8
    r = 1.1 * sig
    expected = 4 * eps * ((sig / r) ** 12 - (sig / r) ** 6) + 4 * eps * (C0 + C2 * (r / sig) ** 2 + C4 * (r / sig) ** 4)
    assert m.pair(r, 0, 1)[0] == pytest.approx(expected, rel=1e-13)
    assert m.composition == pytest.approx((4 / 6, 1 / 6, 1 / 6))
    assert m.density == 1.35


def test_tlj_c_row_is_the_midpoint_of_a_and_b():
    """002 Sec. II B prints eps_AC, eps_BC, eps_CC = 0.9, 0.84, 0.94 and sigma_AC, sigma_BC,
    sigma_CC = 1.25, 1.0, 0.75. Interchanged, every C parameter is the arithmetic mean of the
    A and B ones (the KA2 construction of 002 Ref. [31]); "tlj" uses that row, "tlj-printed"
    the text (docs/papers.md)."""
    A, B, C = 0, 1, 2
    printed = get_model("tlj-printed")
    e_p, s_p = printed.eps / 4, printed.sigma          # PairModel stores 4 eps_ij
    # the literal numbers of the text
    assert [e_p[A, C], e_p[B, C], e_p[C, C]] == [0.9, 0.84, 0.94]
    assert [s_p[A, C], s_p[B, C], s_p[C, C]] == [1.25, 1.0, 0.75]
    for name in ("tlj", "ka2"):
        m = get_model(name)
        assert m.name == "tlj"
        e, s = m.eps / 4, m.sigma
        # KA part unchanged (Kob & Andersen 1995 as printed in 002)
        assert (e[A, A], e[A, B], e[B, B], s[A, A], s[A, B], s[B, B]) == (1.0, 1.5, 0.5, 1.0, 0.8, 0.88)
        # C interpolates between A and B: C-X = (A-X + B-X)/2, C-C = (A-A + B-B)/2
        for X in (A, B):
            assert e[C, X] == pytest.approx((e[A, X] + e[B, X]) / 2, abs=1e-15)
            assert s[C, X] == pytest.approx((s[A, X] + s[B, X]) / 2, abs=1e-15)
        assert e[C, C] == pytest.approx((e[A, A] + e[B, B]) / 2, abs=1e-15)
        assert s[C, C] == pytest.approx((s[A, A] + s[B, B]) / 2, abs=1e-15)
        # the slip: the printed energies are these lengths and vice versa
        np.testing.assert_array_equal(e[C], s_p[C])
        np.testing.assert_array_equal(s[C], e_p[C])
        np.testing.assert_array_equal(e, e.T)
        np.testing.assert_array_equal(s, s.T)
        # C is medium-sized towards everyone: between A and B
        assert s[B, B] < s[C, C] < s[A, A] and s[A, B] < s[A, C] < s[A, A]


def test_ka_truncated_shifted():
    m = get_model("ka-ts")
    r = 2.5 * 0.88 * (1 - 1e-12)  # BB pair at the cutoff
    assert abs(m.pair(r, 1, 1)[0]) < 1e-10
    # the force does not vanish at the cutoff for the plain truncated-and-shifted form
    assert abs(m.pair(r, 1, 1)[1]) > 1e-3


@pytest.mark.parametrize("name", ["pss", "tlj", "ka"])
def test_radial_derivatives_by_finite_differences(name):
    m = get_model(name)
    r = np.linspace(0.85, 1.6, 13)
    h = 1e-5
    v = lambda x, k: m.pair(x, 0, 0, 1.0, 1.1)[k]  # noqa: E731
    for k in range(3):
        fd = (v(r + h, k) - v(r - h, k)) / (2 * h)
        np.testing.assert_allclose(v(r, k + 1), fd, rtol=1e-6, atol=1e-6)


def test_pss_diameter_distribution():
    # papers/README.md: P(s) ~ s^-3 on exactly [0.73, 1.62], mean diameter
    # 2 smin smax / (smin + smax) = 1.0065, mean s^3 = 1.1903
    smin, smax = SIGMA_MIN, SIGMA_MAX
    assert (smin, smax) == (0.73, 1.62)
    s = np.linspace(smin, smax, 400001)
    p = s**-3
    for k in (1, 2, 3):  # moments by quadrature against the closed form
        assert np.trapezoid(s**k * p, s) / np.trapezoid(p, s) == pytest.approx(sigma_moment(k), rel=1e-8)
    assert sigma_moment(1) == pytest.approx(2 * smin * smax / (smin + smax), rel=1e-12)
    assert sigma_moment(1) == pytest.approx(1.0065, abs=5e-5)
    assert sigma_moment(3) == pytest.approx(1.19025, abs=1e-5)  # README rounds it to 1.1903
    # quantiles: F(sigma_quantile(q)) = q
    q = np.array([0.0, 0.1, 0.5, 0.9])
    x = sigma_quantile(q, smin, smax)
    F = (smin**-2 - x**-2) / (smin**-2 - smax**-2)
    np.testing.assert_allclose(F, q, atol=1e-14)


def test_pss_random_diameters_mean_cube():
    """i.i.d. draws: the sample mean of s^3 matches 1.1903 within its statistical error."""
    n = 1_000_000
    diam = get_model("pss").draw_diameters(n, np.random.default_rng(3), method="random")
    s3 = diam**3
    err = s3.std(ddof=1) / np.sqrt(n)
    assert abs(s3.mean() - sigma_moment(3)) < 4 * err  # 1.19025
    assert diam.min() >= SIGMA_MIN and diam.max() <= SIGMA_MAX
    # the old distribution, 1.9 % less packed ([0.725, 1.611], mean s^3 1.1668), is ~35 errors away
    assert abs(1.1668 - 1.1903) > 20 * err


def test_pss_quantiles_are_the_reference_diameters(reference_dir):
    """N = 1500 quantile diameters = the multiset of the authors' glass (../shared/reference/pss) to 1e-6."""
    from twolevel import io as tio

    ref = tio.read(sorted((reference_dir / "pss").glob("*.data"))[0])
    conf = get_model("pss").random_configuration(ref.n, seed=11)  # the default method
    np.testing.assert_allclose(np.sort(conf.diameters), np.sort(ref.diameters), atol=1e-6, rtol=0)
    assert (conf.diameters**3).mean() == pytest.approx(1.1890, abs=5e-5)


@pytest.mark.parametrize("name,dim", [("pss", 2), ("pss", 3), ("tlj", 3), ("ka", 2)])
def test_random_configuration(name, dim):
    m = get_model(name)
    n = 500
    c = m.random_configuration(n, dim=dim, seed=7)
    assert c.positions.shape == (n, dim)
    assert c.density == pytest.approx(m.density)
    if m.mode == 0:
        counts = np.bincount(c.types, minlength=m.ntypes)
        np.testing.assert_allclose(counts / n, m.composition, atol=1.0 / n)
    # no overlaps: every pair further apart than 0.7 lattice spacings
    d = c.positions[:, None, :] - c.positions[None, :, :]
    d -= c.box * np.round(d / c.box)
    r = np.sqrt((d**2).sum(-1)) + np.eye(n) * 1e9
    spacing = c.box[0] / np.ceil(n ** (1 / dim))
    assert r.min() > 0.7 * spacing
    # same seed, same configuration
    c2 = m.random_configuration(n, dim=dim, seed=7)
    np.testing.assert_array_equal(c.positions, c2.positions)


def test_unknown_model():
    with pytest.raises(InputError, match="unknown model 'lj3'"):
        get_model("lj3")
