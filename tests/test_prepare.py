"""The prepare stage: files, verdict, resumption, quench, warnings; F_s and tau_alpha helpers."""

import json

import numpy as np
import pytest
from scipy.special import j0

from twolevel import io as tio
from twolevel.dynamics import crossing_time, fs_self
from twolevel.engine import ParticleSystem
from twolevel.errors import InputError
from twolevel.models import get_model
from twolevel.prepare import (FILES, block_mean_error, prepare_sample, prepare_samples, sample_dir,
                              sample_seed, stationarity)

FAST = dict(n_tau=6.0, min_segment=20.0, tune_sweeps=20)


def test_fs_and_tau_helpers():
    # isotropic average of exp(i k.r): sin(kr)/(kr) in 3D, J0(kr) in 2D
    rng = np.random.default_rng(0)
    r = rng.uniform(0, 1, 50)
    u = rng.normal(size=(50, 3))
    u /= np.linalg.norm(u, axis=1)[:, None]
    assert fs_self(u * r[:, None], 7.0, remove_drift=False) == pytest.approx(
        np.mean(np.sin(7 * r) / (7 * r)), rel=1e-12)
    assert fs_self(u[:, :2] / np.linalg.norm(u[:, :2], axis=1)[:, None] * r[:, None], 7.0,
                   remove_drift=False) == pytest.approx(np.mean(j0(7 * r)), rel=1e-12)
    # a rigid translation of the whole system (centre-of-mass drift of a Langevin thermostat) is
    # not structural relaxation: F_s stays 1, and a drift added to a field changes nothing
    assert fs_self(np.tile([0.3, -0.2, 0.5], (50, 1)), 7.0) == pytest.approx(1.0, abs=1e-14)
    field = u * r[:, None]
    field -= field.mean(axis=0)
    assert fs_self(field + [0.4, 0.1, -0.3], 7.0) == pytest.approx(fs_self(field, 7.0, remove_drift=False),
                                                                   rel=1e-12)
    # the 1/e crossing of an exponential on a log grid is its time constant
    t = np.geomspace(0.1, 1000, 200)
    assert crossing_time(t, np.exp(-t / 37.0)) == pytest.approx(37.0, rel=1e-3)
    assert crossing_time(t, np.full_like(t, 0.9)) is None


def test_block_statistics():
    rng = np.random.default_rng(1)
    t = np.arange(100000.0)
    x = rng.normal(size=t.size)
    m, s, nb = block_mean_error(t, x, 1000.0)
    assert nb == 100 and abs(m) < 4 * 0.00316 and s == pytest.approx(1 / np.sqrt(t.size), rel=0.25)
    assert stationarity(t, x, 0.0, 1000.0)["z"] < 4
    assert stationarity(t, x + 1e-4 * t, 0.0, 1000.0)["z"] > 10        # a drifting energy fails


def test_prepare_sample_files_verdict_and_noop(tmp_path):
    out = tmp_path / "prep"
    with pytest.warns(UserWarning, match="onset"):
        meta = prepare_sample(out, "pss", 128, 0.3, 5, **FAST)
    for f in FILES:
        assert (out / f).exists()
    assert not (out / "checkpoint.npz").exists()
    stored = json.loads((out / "prepare.json").read_text())
    assert stored["equilibrated"] is True and meta["equilibrated"] is True
    assert stored["run_tau"] >= 6.0 and stored["drift_z"] <= 3.0
    assert stored["tau_alpha"] > 0 and stored["time_unit"] == "sweeps"
    assert 0.1 < stored["acceptance_translation"] < 0.6 and stored["acceptance_swap"] > 0.05
    for key in ("model", "N", "T_f", "seed", "attempted_moves", "quench"):
        assert key in stored
    eq = tio.read(out / "equilibrium.h5")
    glass = tio.read(out / "glass.h5")
    assert eq.n == glass.n == 128 and eq.meta["T_f"] == 0.3
    assert np.array_equal(np.sort(eq.diameters), np.sort(glass.diameters))
    # the MD quench lands at the exploration temperature's energy, far below the liquid's
    assert stored["quench"]["energy_per_particle"] < stored["energy_per_particle"]
    mtime = (out / "glass.h5").stat().st_mtime_ns
    assert prepare_sample(out, "pss", 128, 0.3, 5, **FAST)["tau_alpha"] == stored["tau_alpha"]
    assert (out / "glass.h5").stat().st_mtime_ns == mtime            # rerun is a no-op
    with pytest.raises(InputError):
        prepare_sample(out, "pss", 128, 0.3, 6, **FAST)               # another sample's folder


def test_failure_is_reported_and_resumed(tmp_path):
    out = tmp_path / "fail"
    with pytest.warns(UserWarning, match="NOT equilibrated"):
        meta = prepare_sample(out, "pss", 128, 0.3, 1, **{**FAST, "max_time": 150.0})
    assert meta["equilibrated"] is False
    assert "tau_alpha" in meta["reason"]
    assert (out / "checkpoint.npz").exists()
    t_before = meta["time_run"]
    meta2 = prepare_sample(out, "pss", 128, 0.3, 1, **FAST)        # bigger budget: continues
    assert meta2["equilibrated"] is True and meta2["time_run"] > t_before


def test_interrupted_run_continues_from_checkpoint(tmp_path):
    out = tmp_path / "int"
    calls = []

    def stop(frac, info):
        calls.append(info["time"])
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        prepare_sample(out, "pss", 128, 0.3, 2, progress=stop, **FAST)
    assert (out / "checkpoint.npz").exists() and not (out / "prepare.json").exists()
    seen = []
    meta = prepare_sample(out, "pss", 128, 0.3, 2, progress=lambda f, i: seen.append(i["time"]), **FAST)
    assert meta["equilibrated"] and seen[0] > calls[-1]           # went on, did not restart
    assert meta["segments"] == 2 + len(seen)


def test_minimisation_quench_and_samples(tmp_path):
    metas = prepare_samples(tmp_path, "pss", 100, 0.3, 2, 9, **{**FAST, "quench": "minimize", "dim": 2})
    assert [m["seed"] for m in metas] == [sample_seed(9, "pss", 0.3, 0), sample_seed(9, "pss", 0.3, 1)]
    assert metas[0]["seed"] != metas[1]["seed"]
    d = sample_dir(tmp_path, "pss", 0.3, 1) / "prepare"
    glass = tio.read(d / "glass.h5")
    _, f = ParticleSystem(glass).energy_forces(glass.positions)
    assert np.abs(f).max() < 1e-6 and metas[1]["quench"]["converged"]


def test_bad_input(tmp_path):
    with pytest.raises(InputError):
        prepare_sample(tmp_path / "a", "pss", 128, -0.1, 1)
    with pytest.raises(InputError):
        prepare_sample(tmp_path / "b", "pss", 128, 0.1, 1, n_taus=3)
    with pytest.raises(InputError):
        prepare_sample(tmp_path / "c", "nope", 128, 0.1, 1)
    with pytest.raises(InputError):
        prepare_sample(tmp_path / "d", "pss", 128, 0.1, 1, quench="anneal")
    with pytest.warns(UserWarning, match="below the lowest"):
        with pytest.warns(UserWarning, match="NOT equilibrated"):
            m = prepare_sample(tmp_path / "e", "pss", 128, 0.05, 1, **{**FAST, "max_time": 40.0})
    assert m["equilibrated"] is False


def test_hybrid_accepts_exchanges_with_the_midpoint_tlj_only():
    """002 Sec. II C: swaps of particle types speed TLJ up, which needs exchanges to be accepted.
    With C the midpoint of A and B (model "tlj") the hybrid accepts ~0.3 % of the attempts at
    T = 1 (N = 360: 0.25-0.3 %, docs/prepare.md); with the C row as printed ("tlj-printed")
    an exchange costs Delta U of tens to thousands of epsilon and none is accepted."""
    from twolevel.engine.swap import HybridSwapMD, SwapMC, tune_delta

    acc = {}
    for name in ("tlj", "tlj-printed"):
        conf = get_model(name).random_configuration(340, seed=4)     # L = 6.3 > 2 x 2.5 x 1.25
        pre = SwapMC(conf, 1.0, swap="types", p_swap=0.1, delta=0.05, seed=1)
        tune_delta(pre, 0.3, rounds=4, sweeps_per_round=5)
        pre.sweeps(30)
        h = HybridSwapMD(pre.configuration(), 1.0, seed=2)
        h.run_time(3.0)                                              # melt the lattice memory
        c = h.run_time(3.0)
        acc[name] = c["swap_acc"] / c["swap"]
        assert c["swap"] == 60 * round(1.75 * 340)
        assert np.array_equal(np.bincount(h.mc.types), np.bincount(conf.types))
    assert 5e-4 < acc["tlj"] < 0.05, acc
    assert acc["tlj-printed"] < 1e-4, acc


def test_hybrid_nose_hoover_blocks_hold_the_temperature_and_the_chain_state():
    """The hybrid's MD blocks use 002's Nosé-Hoover thermostat (default): started cold, the
    kinetic temperature of the MD blocks relaxes to T; the chain state is carried from block to
    block (one trajectory), so the blocked run equals one long NH run of the same MD."""
    from twolevel.engine import maxwell_boltzmann
    from twolevel.engine.swap import HybridSwapMD

    from twolevel.engine import minimize

    conf = get_model("tlj").random_configuration(200, seed=5)
    conf.positions[:] = minimize(ParticleSystem(conf), conf.positions, ftol=1e-2).x
    T = 0.8
    v0 = maxwell_boltzmann(conf.n, 3, 0.2, np.random.default_rng(3))
    h = HybridSwapMD(conf, T, seed=1, swap_factor=0.0, velocities=v0)   # MD blocks only
    assert h.thermostat == "nose-hoover"
    temps = []
    for _ in range(60):
        h.run_blocks(10)
        temps.append(np.sum(h.vel ** 2) / (3 * (conf.n - 1)))
    assert temps[0] < T and np.mean(temps[30:]) == pytest.approx(T, rel=0.05)
    # 20 blocks of 10 steps = the same MD in one call of 200 steps, chain started from zero
    h = HybridSwapMD(conf, T, seed=1, swap_factor=0.0, velocities=v0)
    h.run_blocks(20)
    ps = ParticleSystem(conf)
    pos, vel, chain = conf.positions.copy(), v0.copy(), np.zeros(6)
    ps.run_md(pos, vel, 200, 0.005, "nose-hoover", temperature=T, tau=0.5, nhc=chain)
    np.testing.assert_allclose(h.nhc, chain, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(h.pos, pos, atol=1e-9)
    with pytest.raises(InputError, match="thermostat"):
        HybridSwapMD(conf, T, thermostat="berendsen")


def test_prepare_and_run_give_sample_k_the_same_seed(tmp_path):
    """One seed scheme: twolevel prepare's sample k is seeded like the study pipeline's prepare task
    (it used to be SeedSequence([seed, k]) in one and a hash of the task key in the other)."""
    from twolevel.pipeline.study import Study

    st = Study(name="s", model="pss", n=64, tf=[0.3, 0.0625], samples=3, seed=5, out=tmp_path / "run")
    planned = {t.key: t.payload["args"]["seed"] for t in st.plan() if t.stage.name == "prepare"}
    assert len(planned) == 6
    for T_f in (0.3, 0.0625):
        for k in range(3):
            key = f"pss/Tf_{T_f!r}/sample_{k}/prepare"
            assert planned[key] == sample_seed(5, "pss", T_f, k)
            assert str(sample_dir(tmp_path / "run", "pss", T_f, k)).endswith(key.rsplit("/", 1)[0])
