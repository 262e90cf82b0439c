"""Swap Monte Carlo: detailed balance, local energy differences, conserved multisets,
and the same thermodynamics as plain MD."""

import itertools

import numpy as np
import pytest

from twolevel.config import Configuration
from twolevel.engine import ParticleSystem
from twolevel.engine.swap import HybridSwapMD, SwapMC, list_energy, tune_delta
from twolevel.errors import InputError
from twolevel.models import get_model


def _exact_weights(model, pos, labels, T, kind):
    """Boltzmann weights of every permutation of the labels, energies from model.pair (numpy)."""
    perms = list(itertools.permutations(labels))
    es = []
    for perm in perms:
        e = 0.0
        for a, b in itertools.combinations(range(len(pos)), 2):
            r = np.linalg.norm(pos[a] - pos[b])
            if kind == "diameters":
                e += float(model.pair(r, 0, 0, perm[a], perm[b])[0])
            else:
                e += float(model.pair(r, perm[a], perm[b])[0])
        es.append(e)
    es = np.array(es)
    w = np.exp(-(es - es.min()) / T)
    return perms, w / w.sum()


def _sample_frequencies(mc, labels_of, perms, nsamples, moves_between):
    counts = np.zeros(len(perms))
    index = {p: m for m, p in enumerate(perms)}
    for _ in range(nsamples):
        mc.run(moves_between)
        counts[index[tuple(labels_of(mc))]] += 1
    return counts


@pytest.mark.parametrize("kind", ["diameters", "types"])
def test_detailed_balance_of_exchanges(kind):
    # three particles on fixed positions, exchanges only: 3! assignments, exact weights
    pos = np.array([[1.0, 1.0, 1.0], [2.0, 1.0, 1.0], [1.0, 2.05, 1.0]])
    if kind == "diameters":
        model, labels, T, box = get_model("pss"), (0.8, 1.0, 1.3), 1.0, 6.0
        pos = np.array([[1.0, 1.0, 1.0], [2.0, 1.0, 1.0], [1.0, 2.05, 1.0]])
        conf = Configuration(pos, np.full(3, box), diameters=np.array(labels), model="pss")
        labels_of = lambda mc: mc.diam  # noqa: E731
    else:
        model, labels, T, box = get_model("tlj"), (0, 1, 2), 5.0, 7.0
        pos = np.array([[1.0, 1.0, 1.0], [2.1, 1.0, 1.0], [1.0, 2.2, 1.0]])
        conf = Configuration(pos, np.full(3, box), types=np.array(labels), model="tlj")
        labels_of = lambda mc: mc.types  # noqa: E731
    perms, p = _exact_weights(model, pos, labels, T, kind)
    mc = SwapMC(conf, T, swap=kind, p_swap=1.0, seed=11)
    nsamp = 20000
    counts = _sample_frequencies(mc, labels_of, perms, nsamp, 6)
    assert np.array_equal(mc.pos, pos)                      # exchanges only: nothing moved
    freq = counts / nsamp
    # successive samples are 6 attempts apart (nearly independent); allow 5 binomial sigmas
    sigma = np.sqrt(p * (1 - p) / nsamp)
    assert np.all(np.abs(freq - p) < 5 * sigma + 1e-3), (freq, p)
    chi2 = np.sum((counts - nsamp * p) ** 2 / (nsamp * p))
    assert chi2 < 30.0          # 5 degrees of freedom: p-value ~ 1e-5


def test_local_differences_and_conserved_diameters():
    model = get_model("pss")
    conf = model.random_configuration(300, seed=3, diameters="quantiles")
    mc = SwapMC(conf, 0.25, seed=4, delta=0.12)
    tune_delta(mc, 0.3, rounds=4, sweeps_per_round=5)
    mc.sweeps(400)
    # the energy accumulated from local differences equals a full recomputation (two kernels)
    full = mc.full_energy()
    assert abs(mc.energy - full) < 1e-9 * abs(full)
    assert abs(list_energy(mc.pos, mc.box, mc.types, mc.diam, mc.mp, mc.nbr, mc.nn) - full) < 1e-9 * abs(full)
    # and the incremental list holds every interacting pair: compare with the engine
    ps = ParticleSystem(mc.configuration())
    assert ps.energy(mc.pos) == pytest.approx(full, rel=1e-12)
    # exchanges happened and the multiset is conserved bit for bit
    assert mc.counts[3] > 1000
    assert not np.array_equal(mc.diam, conf.diameters)
    assert np.array_equal(np.sort(mc.diam), np.sort(conf.diameters))


def test_two_dimensions():
    model = get_model("pss")
    conf = model.random_configuration(200, dim=2, seed=1, diameters="quantiles")
    mc = SwapMC(conf, 0.5, seed=2)
    mc.sweeps(200)
    assert abs(mc.energy - mc.full_energy()) < 1e-9 * abs(mc.full_energy())
    assert np.array_equal(np.sort(mc.diam), np.sort(conf.diameters))


def test_hybrid_conserves_composition():
    model = get_model("tlj")
    conf = model.random_configuration(340, seed=2)
    pre = SwapMC(conf, 1.0, swap="types", p_swap=0.1, delta=0.05, seed=1)
    pre.sweeps(30)
    h = HybridSwapMD(pre.configuration(), 1.0, seed=3)
    h.run_blocks(5)
    assert h.time == pytest.approx(5 * 10 * 0.005)
    assert np.array_equal(np.bincount(h.mc.types, minlength=3), np.bincount(conf.types, minlength=3))
    assert np.all(np.isfinite(h.pos))
    assert h.mc.counts[2] == 5 * round(1.75 * 340)


def _block_stats(x, nblocks=20):
    x = np.asarray(x)
    m = len(x) // nblocks
    b = x[: m * nblocks].reshape(nblocks, m).mean(axis=1)
    return b.mean(), b.std(ddof=1) / np.sqrt(nblocks)


def test_swap_mc_and_md_same_energy_and_pressure():
    """Swap MC samples the Boltzmann distribution of the diameter permutations, which for
    equal masses is the fixed-diameter canonical ensemble (relabelling): <U> and <P> agree."""
    T = 0.2
    model = get_model("pss")
    conf = model.random_configuration(108, seed=7, diameters="quantiles")
    mc = SwapMC(conf, T, seed=8)
    tune_delta(mc, 0.3, rounds=6, sweeps_per_round=5)
    mc.sweeps(1500)
    vol = float(np.prod(mc.box))
    e_mc, p_mc = [], []
    for _ in range(400):
        mc.sweeps(25)
        u, w = mc.energy_virial()
        e_mc.append(u / mc.n)
        p_mc.append(mc.n * T / vol + w / (3 * vol))
    start = mc.configuration()
    ps = ParticleSystem(start)
    pos = start.positions.copy()
    rng = np.random.default_rng(1)
    vel = rng.normal(0, np.sqrt(T), pos.shape)
    ps.run_md(pos, vel, 4000, 0.005, thermostat="langevin", temperature=T, gamma=1.0, seed=2)
    samples, _ = ps.run_md(pos, vel, 60000, 0.005, thermostat="langevin", temperature=T, gamma=1.0,
                           seed=3, sample_every=50)
    e_md = samples[:, 0] / mc.n
    p_md = mc.n * T / vol + samples[:, 2] / (3 * vol)
    (me, se), (mm, sm) = _block_stats(e_mc), _block_stats(e_md)
    (pe, spe), (pm, spm) = _block_stats(p_mc), _block_stats(p_md)
    assert max(se, sm) < 0.01 and max(spe, spm) < 0.1      # resolving power of the test
    assert abs(me - mm) < 4 * np.hypot(se, sm), (me, se, mm, sm)
    assert abs(pe - pm) < 4 * np.hypot(spe, spm), (pe, spe, pm, spm)


def test_bad_input():
    conf = get_model("pss").random_configuration(200, seed=1)
    with pytest.raises(InputError):
        SwapMC(conf, -1.0)
    with pytest.raises(InputError):
        SwapMC(conf, 0.1, swap="types")
    with pytest.raises(InputError):
        SwapMC(conf, 0.1, p_swap=1.5)
    with pytest.raises(InputError):
        SwapMC(get_model("pss").random_configuration(20, seed=1), 0.1)   # box too small


def test_row_segments_hold_every_needed_pair():
    """The incremental rows: a pair within its current cutoff x_c s_ik is in the near part of
    both rows, and a pair within x_c s(v, k) for ANY value v of the multiset (what an exchange
    of i can produce) is in the near + mid part of row i; smax follows the exchanged values."""
    model = get_model("pss")
    conf = model.random_configuration(300, seed=5, diameters="random")
    mc = SwapMC(conf, 0.3, seed=6, delta=0.1)
    mc.sweeps(200)
    assert mc.counts[3] > 500 and mc.counts[4] > 0              # exchanges and row updates happened
    d = mc.pos[:, None, :] - mc.pos[None, :, :]
    d -= mc.box * np.round(d / mc.box)                       # minimum image, (N, N, 3)
    r = np.sqrt(np.sum(d ** 2, axis=-1))
    di = mc.diam
    s_now = model.pair_sigma_eps(0, 0, di[:, None], di[None, :])[0]
    allv = np.unique(di)
    s_any = model.pair_sigma_eps(0, 0, allv[None, :], di[:, None])[0].max(axis=1)   # per partner k
    assert np.allclose(mc.smax, s_any, rtol=0, atol=1e-12)
    xc = model.xc
    for i in range(mc.n):
        row = mc.nbr[i, :mc.nn[i]]
        near = set(row[:mc.nnear[i]].tolist())
        mid = set(row[:mc.nmid[i]].tolist())
        for k in np.nonzero(r[i] < xc * s_now[i])[0]:
            if k != i:
                assert k in near, (i, k)
        for k in np.nonzero(r[i] < xc * s_any)[0]:
            if k != i:
                assert k in mid, (i, k)
