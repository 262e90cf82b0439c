"""KMC kernel: exact Boltzmann weights (detailed balance), cache consistency, O(N) bond storage."""

import copy
import itertools

import numpy as np
import pytest

from twolevel.lattice import gdist
from twolevel.lattice import kernels as K
from twolevel.lattice.model import DPLM


def _visit_frequencies(model, T, nevents):
    """Jump-chain visits weighted by the exact mean residence 1/R of each state."""
    model.set_temperature(T)
    weights = {}
    for _ in range(nevents):
        occ = model.occ
        sites = np.nonzero(occ >= 0)[0]
        key = tuple(sites[np.argsort(occ[sites])])
        R = model.tree[1]
        weights[key] = weights.get(key, 0.0) + 1.0 / R
        model.advance(np.inf, 1)
    tot = sum(weights.values())
    return {k: v / tot for k, v in weights.items()}


@pytest.mark.parametrize("kind", ["square", "triangular"])
def test_detailed_balance_exact_boltzmann(kind):
    # 3 x 3 lattice, 3 particles, 6 voids: 504 states; compare with exp(-E/T) from Eq. (2)
    m = DPLM(kind, 3, 6 / 9, gdist.uniform(), seed=5)
    m.start(0.3)
    T = 0.25
    freq = _visit_frequencies(m, T, 60000)
    geom = m.geom
    adj = np.zeros((9, 9), bool)
    for s in range(9):
        adj[s, geom.nbr[s]] = True
    V = {(a, b): float(m.pair_V(a, b)[0]) for a, b in itertools.combinations(range(3), 2)}
    states, w = [], []
    for sites in itertools.permutations(range(9), 3):
        E = sum(V[(a, b)] for a, b in itertools.combinations(range(3), 2) if adj[sites[a], sites[b]])
        states.append(sites)
        w.append(np.exp(-E / T))
    w = np.array(w) / np.sum(w)
    est = np.array([freq.get(s, 0.0) for s in states])
    assert len(freq) == 504  # ergodic: every state visited
    tv = 0.5 * np.abs(est - w).sum()
    assert tv < 0.06
    # energy classes: masses agree within a few per cent
    Es = -T * np.log(w * np.sum([np.exp(0)]))
    order = np.argsort(Es)
    for chunk in np.array_split(order, 6):
        assert est[chunk].sum() == pytest.approx(w[chunk].sum(), rel=0.08, abs=0.01)


def test_caches_match_fresh_recomputation():
    # dense voids, many neighbours: running E, bond cache and hop energies equal a recomputation
    m = DPLM("square", 12, 0.12, gdist.uniform(), seed=2)
    m.start(0.1)
    for T in (0.1, 0.04, 0.3):
        m.set_temperature(T)
        m.advance(np.inf, 50000)
    assert m.E == pytest.approx(m.energy_exact(), abs=1e-9)
    fresh = copy.deepcopy(m)
    K.init_slots(fresh.geom.nbr, fresh.occ, fresh.void_site, fresh.bondE, *fresh._gargs, fresh.dE, fresh.newV)
    fin = np.isfinite(m.dE)
    assert np.array_equal(fin, np.isfinite(fresh.dE))
    assert np.allclose(m.dE[fin], fresh.dE[fin], atol=1e-12)
    # bond cache equals V of the current neighbours
    b = m.bond_energies()
    assert b.sum() == pytest.approx(m.energy_exact(), abs=1e-9)


@pytest.mark.parametrize("kind", ["triangular", "cubic"])
def test_other_lattices_consistent(kind):
    m = DPLM(kind, 6, 0.1, gdist.uniform(), seed=9)
    m.start(0.2)
    m.set_temperature(0.2)
    m.advance(np.inf, 20000)
    assert m.E == pytest.approx(m.energy_exact(), abs=1e-9)


def test_pair_hash_symmetric_uniform_and_stored_pairs():
    m = DPLM("square", 30, 0.05, gdist.uniform(), seed=1)
    m.start(0.05)
    k = np.arange(0, 800)
    l = np.arange(1, 801)[::-1]
    assert np.array_equal(m.pair_V(k, l), m.pair_V(l, k))
    # a-priori values: uniform on [0, 1] (KS-like check on many far-apart pairs)
    a = np.arange(0, 20000, dtype=np.int64)
    u = K.apriori_V_many(a, a + 7919, m.gkind, m.ga, m.gb, m.gtab, m.seedm)
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.var() - 1 / 12) < 0.003
    us = np.sort(u)
    assert np.max(np.abs(us - np.arange(1, us.size + 1) / us.size)) < 0.015
    # stored pairs are exactly the start neighbours, and their values are p_eq-small
    assert (m.initN >= 0).sum() == 2 * m.bond_energies().size
    assert m.bond_energies().mean() == pytest.approx(0.05, rel=0.1)


def test_memory_is_linear_in_N():
    g = gdist.uniform()
    small = DPLM("square", 100, 0.005, g, seed=0)
    big = DPLM("square", 200, 0.005, g, seed=0)
    assert big.memory_bytes() / small.memory_bytes() == pytest.approx(4.0, rel=0.05)
    assert big.memory_bytes() < 50e6  # L = 200 in well under 1 GB (the N^2 table needs 12.7 GB)
    # L = 1000: about 1e6 sites, O(N) arrays only
    huge = DPLM("square", 1000, 0.005, g, seed=0)
    assert huge.memory_bytes() < 400e6
