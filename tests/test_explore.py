"""Landscape exploration (002_b660eabf4d6c7be7.txt Sec. II D, Sec. III A-B, App. A)."""

import glob
import json
import warnings

import numpy as np
import pandas as pd
import pytest

from twolevel import io
from twolevel.engine import ParticleSystem, maxwell_boltzmann, minimize
from twolevel.errors import InputError
from twolevel.explore import (ISLibrary, explore, explore_glass, pair_measures, persistence_times, read_is,
                              read_library, read_pairs, read_series, read_transitions)
from twolevel.landscapes import random_double_wells

REF = sorted(glob.glob("/work/shared/reference/pss/*.data"))
K = 4


@pytest.fixture(scope="module")
def wells():
    return random_double_wells(K, seed=1, delta_v=(0.0, 0.2), barrier=(0.3, 0.5))


def _run(wells, out, **kw):
    _, xs, _ = wells.minima()
    args = dict(temperature=0.25, tau_cg=0.5, n_cg=600, runs=2, seed=1, dt=0.05)  # tau_cg: 10 steps
    args.update(kw)
    return explore(wells, xs[0], out, **args)


@pytest.fixture(scope="module")
def full(wells, tmp_path_factory):
    out = tmp_path_factory.mktemp("wells")
    res = _run(wells, out)
    return res, out


# --------------------------------------------------------------------------- 002 App. A
def test_all_2K_minima_found(wells, full):
    res, out = full
    lib = read_library(out)
    spins, xs, es = wells.minima()
    assert res.complete and res.n_is == len(lib) == 2**K
    # every IS is one of the analytic minima (Eq. (A2)), each exactly once
    labels = set()
    for i in lib["is_id"]:
        x = read_is(out, i)
        s = wells.spins(x)
        j = int(np.nonzero((spins == s).all(axis=1))[0][0])
        np.testing.assert_allclose(x, xs[j], atol=1e-5)
        assert lib.loc[i, "energy"] == pytest.approx(es[j], abs=1e-9)
        labels.add(tuple(s))
    assert len(labels) == 2**K
    assert lib["visits"].sum() == res.summary["regular_minimisations"] + 2  # + the glass of each run


def test_pair_statistics_are_elementary(wells, full):
    """Candidate double wells: each differs in one well i, with dE = Delta V_i (Eq. (A2)),
    PR = 1 (Eq. (16): one coordinate moves) and d = |x_i^+ - x_i^-| / sqrt(K) (Eq. (7));
    together they expose exactly K elementary double wells."""
    res, out = full
    pairs = read_pairs(out)
    assert res.n_pairs == len(pairs) > K
    dv = wells.delta_v
    flipped = set()
    for r in pairs.itertuples():
        sa, sb = wells.spins(read_is(out, r.is_a)), wells.spins(read_is(out, r.is_b))
        diff = np.nonzero(sa != sb)[0]
        assert len(diff) == 1
        i = int(diff[0])
        flipped.add(i)
        lo, hi, _ = wells.well_stationary_points(i)
        assert r.dE == pytest.approx(dv[i], abs=1e-9) and r.dE >= 0  # is_a is the lower minimum
        assert r.PR == pytest.approx(1.0, abs=1e-9)
        assert r.d == pytest.approx(abs(hi - lo) / np.sqrt(K), rel=1e-6)
        assert r.max_disp == pytest.approx(abs(hi - lo), rel=1e-6)
        assert r.n_ab >= 1 and r.n_ba >= 1
    assert flipped == set(range(K))                 # exactly K elementary excitations
    assert len(pairs) <= K * 2 ** (K - 1)           # pairs of IS differing in one spin


def test_transitions_consistent_with_series(full):
    res, out = full
    s = read_series(out)
    tr = read_transitions(out)
    assert (s["is_id"] >= 0).all()
    changes = 0
    for _, g in s.sort_values(["run", "step"]).groupby("run"):
        ids = g["is_id"].to_numpy()
        changes += int((ids[1:] != ids[:-1]).sum())
    assert tr["count"].sum() == changes == res.n_transitions
    # the candidate pairs are exactly the transitions seen both ways (002 Sec. II D)
    both = {(a, b) for a, b in zip(tr.is_a, tr.is_b) if ((tr.is_a == b) & (tr.is_b == a)).any()}
    pairs = read_pairs(out)
    assert {frozenset(p) for p in both} == {frozenset((a, b)) for a, b in zip(pairs.is_a, pairs.is_b)}
    info = json.loads((out / "explore.json").read_text())
    assert info["status"] == "complete" and info["confinement"]["confined"] is True


@pytest.mark.filterwarnings("ignore:exploration not confined")  # 2 short runs: well populations still relaxing
def test_bisection_replaces_composite_jumps(wells, tmp_path):
    """With a long tau_cg two wells can flip between minimisations (a composite jump, Hamming
    distance 2). Bisection re-runs the same trajectory exactly and inserts the intermediate IS."""
    kw = dict(tau_cg=5.0, n_cg=40, runs=2)  # 100 MD steps
    plain = _run(wells, tmp_path / "plain", **kw)
    bis = _run(wells, tmp_path / "bis", bisect=True, **kw)

    def hamming(out):
        tr = read_transitions(out)
        sp = {i: wells.spins(read_is(out, i)) for i in read_library(out)["is_id"]}
        return np.array([np.abs(sp[a] - sp[b]).sum() for a, b in zip(tr.is_a, tr.is_b)]), tr["count"].to_numpy()

    hp, cp = hamming(tmp_path / "plain")
    hb, cb = hamming(tmp_path / "bis")
    assert cp[hp > 1].sum() > 0                        # composite jumps without bisection
    assert cb[hb > 1].sum() < 0.25 * cp[hp > 1].sum()  # mostly resolved with it
    assert bis.n_transitions > plain.n_transitions
    # the regular minimisations see the same trajectory (same energies, in order)
    sp_, sb_ = read_series(tmp_path / "plain"), read_series(tmp_path / "bis")
    sb_ = sb_[sb_["kind"] != 1]
    np.testing.assert_array_equal(sp_["step"].to_numpy(), sb_["step"].to_numpy())
    np.testing.assert_allclose(sp_["energy"].to_numpy(), sb_["energy"].to_numpy(), rtol=0, atol=1e-12)
    assert bis.summary["bisection_minimisations"] > 0


# --------------------------------------------------------------------------- resume
def _assert_same_library(a, b):
    for name in ("series.parquet", "inherent_structures.parquet", "transitions.parquet", "pairs.parquet"):
        pa, pb = pd.read_parquet(a / name), pd.read_parquet(b / name)
        pd.testing.assert_frame_equal(pa, pb, check_exact=True)
    for i in pd.read_parquet(a / "inherent_structures.parquet")["is_id"]:
        np.testing.assert_array_equal(read_is(a, i), read_is(b, i))


def test_resume_gives_same_library(wells, tmp_path):
    kw = dict(n_cg=100, runs=3, checkpoint_every=30)
    ref = _run(wells, tmp_path / "ref", **kw)
    r1 = _run(wells, tmp_path / "cut", stop_after=110, **kw)   # stops inside run 2
    assert not r1.complete
    assert json.loads((tmp_path / "cut" / "explore.json").read_text())["status"] == "running"
    r2 = _run(wells, tmp_path / "cut", stop_after=90, **kw)    # stops exactly at a run's end
    assert not r2.complete
    r3 = _run(wells, tmp_path / "cut", **kw)
    assert r3.complete and r3.n_is == ref.n_is and r3.n_pairs == ref.n_pairs
    _assert_same_library(tmp_path / "ref", tmp_path / "cut")
    # a finished stage is a no-op; different parameters are refused
    again = _run(wells, tmp_path / "cut", **kw)
    assert again.complete and again.minimisations == r3.minimisations
    with pytest.raises(InputError, match="different parameters"):
        _run(wells, tmp_path / "cut", n_cg=100, runs=3, temperature=0.3)


@pytest.fixture(scope="module")
def small_glass(tmp_path_factory):
    """A small PSS glass: melt a lattice start at T = 0.3, then minimise (N = 100, d = 3)."""
    from twolevel.models import get_model

    m = get_model("pss")
    c = m.random_configuration(100, dim=3, seed=5)
    ps = ParticleSystem(c)
    x = minimize(ps, c.positions, method="fire", ftol=1e-3).x
    v = maxwell_boltzmann(c.n, 3, 0.3, np.random.default_rng(0))
    ps.run_md(x, v, 1000, 0.005, thermostat="berendsen", temperature=0.3)
    r = minimize(ps, x, ftol=1e-8)
    path = tmp_path_factory.mktemp("glass") / "glass.h5"
    io.write(path, ps.configuration(r.x))
    return path


@pytest.mark.filterwarnings("ignore:exploration not confined")  # runs of 1.5 time units: MSD still rising
def test_particle_system_resume_and_cli(small_glass, tmp_path):
    """Exact resume for a particle system (neighbour lists rebuilt at every checkpoint boundary)
    and the CLI on the same glass."""
    from typer.testing import CliRunner

    from twolevel.cli import app

    kw = dict(temperature=0.06, tau_cg=0.15, dt=0.0025, n_cg=10, runs=2, seed=3)  # tau_cg: 60 steps
    ref = explore_glass(small_glass, tmp_path / "ref", **kw)
    explore_glass(small_glass, tmp_path / "cut", stop_after=7, **kw)
    res = explore_glass(small_glass, tmp_path / "cut", **kw)
    assert res.complete and res.n_is == ref.n_is
    _assert_same_library(tmp_path / "ref", tmp_path / "cut")
    info = json.loads((tmp_path / "ref" / "explore.json").read_text())
    assert info["model"] == "pss" and info["n"] == 100
    assert info["confinement"]["msd_final"] < 0.1       # a glass: no diffusion at T = 0.06

    out = tmp_path / "cli"
    args = ["explore", str(small_glass), "--temperature", "0.06", "--tau-cg", "0.15", "--dt", "0.0025", "--n-cg", "10",
            "--runs", "2", "--seed", "3", "--out", str(out), "--no-progress"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "inherent structures" in r.output
    for f in ("inherent_structures.parquet", "is_configs.h5", "transitions.parquet", "pairs.parquet",
              "explore.json", "figures/matrices.png", "figures/counts_vs_time.png", "figures/tau_p_cdf.png"):
        assert (out / f).is_file(), f
    _assert_same_library(tmp_path / "ref", out)
    r = CliRunner().invoke(app, args[:-4] + ["--out", str(out), "--no-progress", "--temperature", "0.07"])
    assert r.exit_code != 0
    # the paths command on this library writes the merged IS library beside its catalogue
    pout = tmp_path / "paths"
    r = CliRunner().invoke(app, ["paths", str(out), "--out", str(pout), "--images", "8", "--limit", "1",
                                 "--no-hessian", "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "library.parquet" in r.output
    merged = read_library(out, pout)
    assert list(merged["is_id"][:res.n_is]) == list(read_library(out)["is_id"])


@pytest.mark.filterwarnings("ignore:exploration not confined")
def test_early_identification_finds_the_same_library(small_glass, tmp_path):
    """Issue #19 item 3: stopping revisits at match_ftol (known IS taken from the library) gives the
    same IS sequence and the same distinct minima as polishing every minimisation to ftol, with
    fewer force evaluations. The trajectory is untouched (minimisations work on copies)."""
    kw = dict(temperature=0.08, tau_cg=0.1, dt=0.0025, n_cg=40, runs=1, seed=4)
    full = explore_glass(small_glass, tmp_path / "full", match_ftol=0.0, **kw)
    fast = explore_glass(small_glass, tmp_path / "fast", **kw)
    assert full.complete and fast.complete and full.n_is == fast.n_is
    sf = pd.read_parquet(tmp_path / "full" / "series.parquet")
    ss = pd.read_parquet(tmp_path / "fast" / "series.parquet")
    assert list(sf["is_id"]) == list(ss["is_id"])
    lf = pd.read_parquet(tmp_path / "full" / "inherent_structures.parquet")
    ls = pd.read_parquet(tmp_path / "fast" / "inherent_structures.parquet")
    assert 1 < len(lf) < len(sf)                    # several IS, and revisits to save on
    np.testing.assert_allclose(ls["energy"], lf["energy"], rtol=0, atol=1e-9)
    for i in lf["is_id"]:
        assert np.abs(read_is(tmp_path / "full", i) - read_is(tmp_path / "fast", i)).max() < 1e-6
    ef = json.loads((tmp_path / "full" / "explore.json").read_text())
    es = json.loads((tmp_path / "fast" / "explore.json").read_text())
    assert es["timing"]["force_evals"] < 0.9 * ef["timing"]["force_evals"]


# --------------------------------------------------------------------------- IS identity
@pytest.mark.skipif(len(REF) != 3, reason="reference PSS minima not available")
def test_same_is_from_two_starts_and_hops_are_distinct():
    """Reference: three inherent structures of one PSS glass (N = 1500) from another code
    (shared/reference/pss). Re-minimised from two different perturbed starts, the first one
    is recognised as one IS; the three, which differ by localised hops (a few particles
    move 0.4-0.8 sigma), are three IS even when the energy tolerance cannot separate them."""
    confs = [io.read(f) for f in REF]
    ps = ParticleSystem(confs[0], model="pss")
    rng = np.random.default_rng(0)
    lib = ISLibrary(ps, e_tol=1e-6, d_tol=0.01)
    ids = []
    for _ in range(2):
        x = confs[0].positions + rng.normal(0, 0.03, confs[0].positions.shape)
        r = minimize(ps, x, ftol=1e-6)
        assert r.converged
        ids.append(lib.identify(r.x, r.energy)[0])
    assert ids == [0, 0] and len(lib) == 1
    loose = ISLibrary(ps, e_tol=10.0, d_tol=0.01)       # the energy test lets everything through
    mins = [minimize(ps, c.positions, ftol=1e-6) for c in confs]
    got = [loose.identify(r.x, r.energy)[0] for r in mins]
    assert got == [0, 1, 2]
    # energies per particle as printed by the other code (file names)
    for r, f in zip(mins, REF):
        assert r.energy / ps.n == pytest.approx(float(f.rsplit("/", 1)[1][:-5]), abs=2e-9)
    m = pair_measures(ps, mins[0].x, mins[1].x)
    assert 0.2 < m["max_disp"] < 1.0 and m["PR"] < 20   # a localised rearrangement


def test_one_well_flip_is_a_new_is(wells):
    """Two IS differing by one 'particle' hop (one well flipped) are two, whatever e_tol."""
    spins, xs, es = wells.minima()
    lib = ISLibrary(wells, e_tol=1e3, d_tol=0.01)
    assert lib.identify(xs[0], es[0])[0] == 0
    assert lib.identify(xs[1], es[1]) == (1, True)               # spins differ in the last well
    assert lib.identify(xs[0] + 1e-4, es[0] + 1e-9) == (0, False)  # within tolerance: same IS


# --------------------------------------------------------------------------- formulas
def test_pair_measures_analytic():
    class Flat:
        dim = 3

        def distance(self, x, y):
            return y - x

    n = 10
    a = np.zeros((n, 3))
    b = a.copy()
    b[3] = [0.3, 0.4, 0.0]                       # one particle moves 0.5
    m = pair_measures(Flat(), a, b)
    assert m["PR"] == pytest.approx(1.0)          # 002 Eq. (16)
    assert m["d"] == pytest.approx(0.5 / np.sqrt(n))  # 002 Eq. (7)
    assert m["d_total"] == pytest.approx(0.5) and m["max_disp"] == pytest.approx(0.5)
    b[7] = [0.0, 0.0, -0.5]                      # two particles, equal moves
    assert pair_measures(Flat(), a, b)["PR"] == pytest.approx(2.0)
    b[:] = 0.1                                    # everybody moves the same: PR = N
    assert pair_measures(Flat(), a, b)["PR"] == pytest.approx(n)


def test_persistence_times_by_hand():
    # IS sequence every 10 steps: 0 0 1 1 1 0 2 2 | run 1: 5 5 6 5
    d = pd.DataFrame({"run": [0] * 8 + [1] * 4, "step": list(range(0, 80, 10)) + [0, 10, 20, 30],
                      "is_id": [0, 0, 1, 1, 1, 0, 2, 2, 5, 5, 6, 5]})
    # complete stays: IS 1 from 20 to 50 (30), IS 0 from 50 to 60 (10), IS 6 from 20 to 30 (10)
    assert sorted(persistence_times(d).tolist()) == [10, 10, 30]


# --------------------------------------------------------------------------- confinement, bad input
class Corrugated:
    """V = A sum_i (1 - cos 2 pi x_i): 1D particles on a washboard; at T >> A they diffuse."""

    dim = 1

    def __init__(self, a):
        self.a = a

    def energy(self, x):
        return float(self.a * np.sum(1 - np.cos(2 * np.pi * x)))

    def energy_forces(self, x):
        return self.energy(x), -self.a * 2 * np.pi * np.sin(2 * np.pi * x)

    def distance(self, x, y):
        return y - x


def test_diffusion_is_reported(tmp_path):
    pot = Corrugated(0.05)
    with pytest.warns(RuntimeWarning, match="not confined"):
        res = explore(pot, np.zeros(20), tmp_path / "d", temperature=1.0, tau_cg=0.4, n_cg=40, runs=1, dt=0.02,
                      thermostat="langevin", gamma=0.5)
    assert res.summary["confinement"]["confined"] is False
    assert res.summary["confinement"]["growth"] > 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ok = explore(Corrugated(5.0), np.zeros(20), tmp_path / "c", temperature=0.3, tau_cg=0.4, n_cg=40,
                     dt=0.02, thermostat="langevin")
    assert ok.summary["confinement"]["confined"] is True


def test_bad_input(wells, tmp_path):
    _, xs, _ = wells.minima()
    with pytest.raises(InputError, match="temperature"):
        explore(wells, xs[0], tmp_path / "a", temperature=-1, tau_cg=0.5, n_cg=5)
    with pytest.raises(InputError, match="tau_cg: must be > 0"):
        explore(wells, xs[0], tmp_path / "a", temperature=0.1, tau_cg=0.0, n_cg=5)
    with pytest.raises(InputError, match="tau_cg: must be a finite number"):
        explore(wells, xs[0], tmp_path / "a", temperature=0.1, tau_cg=float("inf"), n_cg=5)
    with pytest.raises(InputError, match="thermostat"):
        explore(wells, xs[0], tmp_path / "a", temperature=0.1, tau_cg=0.5, n_cg=5, thermostat="nose")
    with pytest.raises(InputError, match="tolerance: unknown key"):
        explore(wells, xs[0], tmp_path / "a", temperature=0.1, tau_cg=0.5, n_cg=5, tolerance=3)
    with pytest.raises(InputError, match="temperature is required"):  # no model to take T_exp from
        explore(wells, xs[0], tmp_path / "a", tau_cg=0.5, n_cg=5)
    # the old positional (temperature, tau_cg in steps, n_min) form is refused, never reinterpreted
    with pytest.raises(InputError, match="replaced by keywords"):
        explore(wells, xs[0], tmp_path / "a", 0.1)
    with pytest.raises(InputError, match="renamed n_cg"):
        explore(wells, xs[0], tmp_path / "a", temperature=0.1, tau_cg=0.5, n_min=5)
    if REF:
        with pytest.raises(InputError, match="names no model"):
            explore_glass(REF[0], tmp_path / "b", temperature=0.04, tau_cg=0.1, n_cg=2)
    with pytest.raises(InputError, match="no such file"):
        explore_glass(tmp_path / "missing.h5", tmp_path / "b", temperature=0.04, tau_cg=0.1, n_cg=2)


# --------------------------------------------------------------------------- library growth
def test_merge_library_adds_paths_minima(full, tmp_path):
    """Intermediate minima from the paths stage join the glass's IS library (issue #5 item 3):
    library.parquet = explore's IS + the new ones, configurations readable by id, idempotent,
    and an id that collides with the exploration is refused with one line."""
    import h5py

    from twolevel.explore import merge_library

    _, out = full
    lib = read_library(out)
    n0 = len(lib)
    x0 = read_is(out, 0)
    paths = tmp_path / "paths"
    paths.mkdir()
    new_id = int(lib["is_id"].max()) + 1
    x_new = x0 + 0.5
    pd.DataFrame({"is_id": [new_id], "energy": [-1.25], "found_between": ["0-3"]}).to_parquet(
        paths / "new_minima.parquet")
    with h5py.File(paths / "new_minima.h5", "w") as f:
        f.create_dataset(str(new_id), data=x_new).attrs["energy"] = -1.25
    merged = merge_library(out, paths)
    assert len(merged) == n0 + 1 and (paths / "library.parquet").is_file()
    row = merged[merged["is_id"] == new_id].iloc[0]
    assert row["found_by"] == "paths" and row["found_between"] == "0-3" and row["visits"] == 0
    assert row["e_per_particle"] == pytest.approx(-1.25 / x_new.shape[0])
    pd.testing.assert_frame_equal(merged.iloc[:n0].drop(columns="found_between"), lib)
    pd.testing.assert_frame_equal(read_library(out, paths), merged)
    np.testing.assert_array_equal(read_is(out, new_id, paths), x_new)
    with pytest.raises(InputError, match=f"no inherent structure {new_id}"):
        read_is(out, new_id)
    pd.testing.assert_frame_equal(merge_library(out, paths), merged)      # idempotent
    assert len(read_library(out)) == n0                                   # explore's files untouched
    pd.DataFrame({"is_id": [1], "energy": [-1.0], "found_between": ["0-3"]}).to_parquet(
        paths / "new_minima.parquet")
    with pytest.raises(InputError, match="already in"):
        merge_library(out, paths)
