"""Direct construction (000 Sec. III, Ref. [19]): exact equilibrium at T_I, and the bias of random voids."""

import math

import numpy as np
import pytest

from twolevel.lattice import gdist
from twolevel.lattice.model import DPLM


def _peq_cdf(v, T):
    # uniform g on [0, 1]: p_eq is a truncated exponential (000 Eq. (A14))
    return -np.expm1(-v / T) / -np.expm1(-1 / T)


def test_occupied_bonds_follow_peq():
    m = DPLM("square", 60, 0.02, gdist.uniform(), seed=4)
    m.start(0.1)
    b = np.sort(m.bond_energies())
    ks = np.max(np.abs(_peq_cdf(b, 0.1) - np.arange(1, b.size + 1) / b.size))
    assert ks < 1.63 / np.sqrt(b.size)  # KS at the 1 % level


def test_kmc_keeps_construction_equilibrium():
    # a long fixed-T run started from the construction keeps its mean energy, void contacts
    # and the p_eq bond histogram (it would drift if the start were not equilibrium)
    T = 0.2
    g = gdist.uniform()
    E0, nvv0 = [], []
    for s in range(40):
        m = DPLM("square", 16, 0.1, g, seed=100 + s)
        m.start(T)
        E0.append(m.E / m.N)
        nvv0.append(m.void_contacts())
    E0, nvv0 = np.array(E0), np.array(nvv0)
    m = DPLM("square", 16, 0.1, g, seed=7)
    m.start(T)
    m.set_temperature(T)
    m.advance(np.inf, 200_000)  # forget the start
    Es, nvv, bonds = [], [], []
    for _ in range(100):
        m.advance(np.inf, 20_000)
        Es.append(m.E / m.N)
        nvv.append(m.void_contacts())
        bonds.append(m.bond_energies())
    Es = np.array(Es)
    # autocorrelated series: compare with generous errors (block standard error)
    blk = Es.reshape(20, 5).mean(axis=1)
    err = np.hypot(blk.std(ddof=1) / np.sqrt(20), E0.std(ddof=1) / np.sqrt(40))
    assert abs(Es.mean() - E0.mean()) < 4 * err
    assert np.mean(nvv) == pytest.approx(nvv0.mean(), abs=max(1.0, 0.3 * nvv0.mean()))
    b = np.sort(np.concatenate(bonds[::10]))
    ks = np.max(np.abs(_peq_cdf(b, T) - np.arange(1, b.size + 1) / b.size))
    assert ks < 0.03
    # and the energy drift of random void placement at the same T is visible in contacts
    r = DPLM("square", 16, 0.1, g, seed=101)
    cont = []
    for s in range(40):
        r = DPLM("square", 16, 0.1, g, seed=200 + s)
        r.start(T, method="random")
        cont.append(r.void_contacts())
    assert np.mean(cont) > 2.5 * nvv0.mean()  # contacts suppressed by z1 ~ 0.2 in equilibrium


def _irwin_hall_pdf(x, n):
    # density of a sum of n uniforms on [0, 1] (independent of the package)
    x = np.asarray(x, dtype=float)
    if n == 0:
        return np.zeros_like(x)
    out = np.zeros_like(x)
    for k in range(n + 1):
        out += (-1) ** k * math.comb(n, k) * np.clip(x - k, 0, None) ** (n - 1)
    return out / math.factorial(n - 1)


def _P0_estimate(m):
    """P(Delta E = 0) per hop direction, averaged exactly over the a-priori new bonds:
    E[f_{n'}(S)] with S the sum of broken (p_eq) bonds and n' the number of new bonds."""
    z = m.geom.z
    vals = []
    for v in range(m.nv):
        a = m.void_site[v]
        for d in range(z):
            s = m.geom.nbr[a, d]
            if m.occ[s] < 0:
                continue
            S = m.bondE[s].sum()
            nn = sum(1 for dd in range(z) if dd != d and m.occ[m.geom.nbr[a, dd]] >= 0)
            vals.append(_irwin_hall_pdf(S, nn))
    return np.array(vals)


def test_random_void_placement_overestimates_tls_density():
    # With random voids, a hop next to a second void forms only z-2 new bonds, making
    # |Delta E| ~ 0 more likely by ~1/(2 T_I) (P(0) = 3T vs 6T^2): overestimate ~ 3 phi_v / (2 T_I).
    T_I, phi = 0.05, 0.02
    g = gdist.uniform()
    est = {"direct": [], "random": []}
    for method in est:
        for s in range(3):
            m = DPLM("square", 200, phi, g, seed=300 + s)
            m.start(T_I, method=method)
            est[method].append(_P0_estimate(m))
    direct = np.concatenate(est["direct"])
    rand = np.concatenate(est["random"])
    # direct construction: P(0) of Eq. (A18) (voids isolated), small corrections O(phi)
    assert direct.mean() == pytest.approx(6 * T_I**2, rel=0.06)
    ratio = rand.mean() / direct.mean()
    err = ratio * np.hypot(rand.std() / rand.mean() / np.sqrt(rand.size),
                           direct.std() / direct.mean() / np.sqrt(direct.size))
    # independent prediction for random placement: binomial void neighbours, exact E[f_n'(S_n)]
    rng = np.random.default_rng(0)
    u = rng.random((400000, 3))
    Vb = -T_I * np.log1p(-u * -np.expm1(-1 / T_I))  # p_eq samples
    pred_rand = 0.0
    for nn in range(4):
        for nb in range(4):
            w = math.comb(3, nn) * (1 - phi) ** nn * phi ** (3 - nn) * math.comb(3, nb) * (1 - phi) ** nb * phi ** (3 - nb)
            pred_rand += w * _irwin_hall_pdf(Vb[:, :nb].sum(axis=1), nn).mean()
    pred_ratio = pred_rand / (6 * T_I**2)
    print(f'random/direct P(0) = {ratio:.3f} +- {err:.3f}; predicted {pred_ratio:.3f}; 1 + 3phi/(2T_I) = {1 + 3 * phi / (2 * T_I):.3f}')
    assert ratio == pytest.approx(pred_ratio, abs=4 * err + 0.05)
    assert ratio - 1 == pytest.approx(3 * phi / (2 * T_I), rel=0.35)  # the leading-order estimate
    # at the paper's parameters (phi_v = 0.005, T_I = 0.05) the leading-order bias is 15 %
    assert 3 * 0.005 / (2 * 0.05) == pytest.approx(0.15)
