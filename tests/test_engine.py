"""Engine identities: forces = -grad E, Hessian = d forces, conservation, thermostats, minimisers."""

import numpy as np
import pytest

from twolevel.config import Configuration
from twolevel.engine import ParticleSystem, maxwell_boltzmann, minimize
from twolevel.errors import InputError, PhysicsError
from twolevel.models import get_model


def _system(name, n, dim, seed=0, relax=True):
    m = get_model(name)
    c = m.random_configuration(n, dim=dim, seed=seed)
    s = ParticleSystem(c)
    x = c.positions.copy()
    if relax:  # a disordered, not too compressed configuration
        x = minimize(s, x, ftol=1e-1, max_steps=200).x
        rng = np.random.default_rng(seed)
        x = x + rng.normal(0, 0.03, x.shape)
    return s, x


CASES = [("pss", 2, 120), ("pss", 3, 200), ("tlj", 2, 200), ("tlj", 3, 400), ("ka", 2, 200), ("ka", 3, 400)]


@pytest.mark.parametrize("name,dim,n", CASES)
def test_forces_are_minus_gradient(name, dim, n):
    s, x = _system(name, n, dim)
    e, f = s.energy_forces(x)
    assert e == pytest.approx(s.energy(x), rel=1e-12)
    rng = np.random.default_rng(1)
    h = 1e-6
    for i in rng.choice(n, 6, replace=False):
        for k in range(dim):
            xp = x.copy()
            xm = x.copy()
            xp[i, k] += h
            xm[i, k] -= h
            fd = -(s.energy(xp) - s.energy(xm)) / (2 * h)
            assert f[i, k] == pytest.approx(fd, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("name,dim,n", [("pss", 2, 80), ("tlj", 3, 400)])
def test_hessian_is_derivative_of_forces(name, dim, n):
    s, x = _system(name, n, dim)
    H = s.hessian(x).toarray()
    np.testing.assert_allclose(H, H.T, atol=1e-10)
    # translation invariance: each row sums to zero over particles per component
    np.testing.assert_allclose(H.reshape(n * dim, n, dim).sum(axis=1), 0, atol=1e-8)
    h = 1e-6
    rng = np.random.default_rng(2)
    for col in rng.choice(n * dim, 5, replace=False):
        xp = x.copy().ravel()
        xm = x.copy().ravel()
        xp[col] += h
        xm[col] -= h
        fd = -(s.energy_forces(xp.reshape(n, dim))[1] - s.energy_forces(xm.reshape(n, dim))[1]).ravel() / (2 * h)
        np.testing.assert_allclose(H[:, col], fd, rtol=1e-5, atol=1e-5 * np.abs(H).max())
    z = rng.normal(size=(n, dim))
    np.testing.assert_allclose(s.hessian_dot(x, z).ravel(), H @ z.ravel(), rtol=1e-10, atol=1e-8)


def test_third_derivative_contraction():
    s, x = _system("pss", 60, 2)
    rng = np.random.default_rng(3)
    z = rng.normal(size=x.shape)
    h = 1e-5
    # d/dt (H(x + t z) z) = U3 : z z
    fd = (s.hessian_dot(x + h * z, z) - s.hessian_dot(x - h * z, z)) / (2 * h)
    np.testing.assert_allclose(s.third_contract(x, z), fd, rtol=1e-5, atol=1e-5 * np.abs(fd).max())


def test_nve_energy_conservation_tlj():
    """TLJ at T = 0.5 (density 1.35), dt = 0.005, 2000 steps (t = 10).

    Bounds: total-energy fluctuations (max - min) below 2e-3 per particle, secular drift
    (linear fit over the run) below 5e-4 per particle, and the fluctuations of velocity
    Verlet scale as dt^2 (halving dt divides their std by about 4).
    """
    s, x = _system("tlj", 500, 3, relax=False)
    x = minimize(s, x, ftol=1e-3).x
    rng = np.random.default_rng(0)
    v = maxwell_boltzmann(s.n, 3, 0.5, rng)
    s.run_md(x, v, 1000, 0.005, "berendsen", temperature=0.5, tau=0.1)
    stds = []
    for dt in (0.005, 0.0025):
        xx, vv = x.copy(), v.copy()
        samples, _ = s.run_md(xx, vv, int(round(10 / dt)), dt, "nve", sample_every=10)
        etot = (samples[:, 0] + samples[:, 1]) / s.n
        assert np.isfinite(etot).all()
        t = np.arange(len(etot)) * 10 * dt
        slope = np.polyfit(t, etot, 1)[0]
        assert etot.max() - etot.min() < 2e-3
        assert abs(slope * t[-1]) < 5e-4
        stds.append(etot.std())
    assert 2.5 < stds[0] / stds[1] < 6.5


def test_berendsen_sets_temperature():
    s, x = _system("pss", 200, 2, relax=False)
    x = minimize(s, x, ftol=1e-3).x
    rng = np.random.default_rng(0)
    v = maxwell_boltzmann(s.n, 2, 0.1, rng)
    s.run_md(x, v, 500, 0.005, "berendsen", temperature=0.3, tau=0.2)
    samples, _ = s.run_md(x, v, 4000, 0.005, "berendsen", temperature=0.3, tau=0.2, sample_every=10)
    t = 2 * samples[:, 1] / (2 * (s.n - 1))
    assert t.mean() == pytest.approx(0.3, rel=0.01)


def test_langevin_canonical_kinetic_fluctuations():
    # Canonical ensemble: K ~ Gamma(f/2, T) with f = d N, so <K> = f T / 2 and Var K = f T^2 / 2.
    s, x = _system("pss", 32, 2, relax=False)
    x = minimize(s, x, ftol=1e-3).x
    rng = np.random.default_rng(1)
    v = maxwell_boltzmann(s.n, 2, 0.2, rng, zero_momentum=False)
    T = 0.2
    s.run_md(x, v, 2000, 0.005, "langevin", temperature=T, gamma=2.0, seed=5)
    samples, _ = s.run_md(x, v, 200000, 0.005, "langevin", temperature=T, gamma=2.0, seed=6, sample_every=20)
    k = samples[:, 1]
    f = 2 * s.n
    # correlation time ~ 1/(2 gamma) = 0.25 = 50 steps, samples every 20 steps: ~ 4000 independent ones
    assert k.mean() == pytest.approx(f * T / 2, rel=0.02)
    assert k.var() == pytest.approx(f * T**2 / 2, rel=0.1)


def test_nose_hoover_conserves_extended_energy_and_continues_across_calls():
    """Nosé-Hoover chain (002 Sec. II C's thermostat): the extended energy
    H' = U + K + sum Q v^2/2 + g T xi_1 + T sum xi_j is conserved with velocity-Verlet accuracy
    (fluctuations ~ dt^2), and a run cut into blocks is the same trajectory as one call."""
    from twolevel.engine.md import nhc_energy

    s, x = _system("pss", 100, 2, relax=False)
    x = minimize(s, x, ftol=1e-3).x
    rng = np.random.default_rng(4)
    T, tau = 0.3, 0.5
    v = maxwell_boltzmann(s.n, 2, 0.1, rng)     # start cold: the chain has work to do
    f = 2 * (s.n - 1)
    stds = []
    for dt in (0.004, 0.002):
        xx, vv, chain = x.copy(), v.copy(), np.zeros(6)
        h, temps = [], []
        for _ in range(int(round(4.0 / dt)) // 10):
            smp, _ = s.run_md(xx, vv, 10, dt, "nose-hoover", temperature=T, tau=tau, nhc=chain, sample_every=10)
            u, k = smp[-1, 0], smp[-1, 1]
            h.append((u + k + nhc_energy(chain, T, tau, f)) / s.n)
            temps.append(2 * k / f)
        h = np.array(h)
        assert np.isfinite(h).all()
        assert h.max() - h.min() < 2e-3
        assert temps[0] < 0.2 and np.mean(temps[len(temps) // 2:]) == pytest.approx(T, rel=0.1)
        stds.append(h.std())
    assert 2.5 < stds[0] / stds[1] < 6.5
    # blocks = one call (the chain state is carried in nhc)
    a, va, ca = x.copy(), v.copy(), np.zeros(6)
    s.run_md(a, va, 200, 0.004, "nose-hoover", temperature=T, tau=tau, nhc=ca)
    b, vb, cb = x.copy(), v.copy(), np.zeros(6)
    for _ in range(20):
        s.run_md(b, vb, 10, 0.004, "nose-hoover", temperature=T, tau=tau, nhc=cb)
    np.testing.assert_allclose(b, a, atol=1e-9)
    np.testing.assert_allclose(cb, ca, atol=1e-9)
    with pytest.raises(InputError, match="nhc"):
        s.run_md(a, va, 1, 0.004, "nose-hoover", temperature=T, nhc=np.zeros(3))


def test_nose_hoover_canonical_kinetic_fluctuations():
    # Canonical with total momentum conserved: K ~ Gamma(f/2, T), f = d (N - 1).
    s, x = _system("pss", 32, 2, relax=False)
    x = minimize(s, x, ftol=1e-3).x
    rng = np.random.default_rng(1)
    T = 0.2
    v = maxwell_boltzmann(s.n, 2, T, rng)
    chain = np.zeros(6)  # the caller owns the chain state: the second call continues the first
    s.run_md(x, v, 2000, 0.005, "nose-hoover", temperature=T, tau=0.2, nhc=chain)
    samples, _ = s.run_md(x, v, 200000, 0.005, "nose-hoover", temperature=T, tau=0.2, sample_every=20, nhc=chain)
    k = samples[:, 1]
    f = 2 * (s.n - 1)
    assert k.mean() == pytest.approx(f * T / 2, rel=0.02)
    assert k.var() == pytest.approx(f * T**2 / 2, rel=0.1)


@pytest.mark.parametrize("method", ["lbfgs", "fire"])
def test_minimisers_reach_tolerance_and_descend(method):
    s, x = _system("pss", 150, 2, relax=False)
    x = minimize(s, x, ftol=1e-2).x
    rng = np.random.default_rng(2)
    v = maxwell_boltzmann(s.n, 2, 0.05, rng)
    s.run_md(x, v, 500, 0.005, "berendsen", temperature=0.05)
    e0 = s.energy(x)
    r = minimize(s, x, method=method, ftol=1e-10, record=True)
    assert r.converged and r.max_force <= 1e-10
    f = r.forces.reshape(-1, 2)
    assert np.sqrt((f**2).sum(1)).max() == pytest.approx(r.max_force)
    assert r.energy < e0
    energies = np.array(r.energies)
    if method == "lbfgs":  # monotone up to rounding
        assert np.all(np.diff(energies) <= 1e-12 * abs(energies[0]))
    else:  # FIRE is inertial but never ends above where it started
        assert energies.max() <= energies[0] + 1e-12


@pytest.mark.parametrize("name,dim,n", [("pss", 2, 150), ("pss", 3, 200), ("tlj", 3, 400)])
def test_compiled_lbfgs_takes_the_python_drivers_steps(name, dim, n):
    """The compiled L-BFGS of a ParticleSystem (engine.minimize._lbfgs_particles) is
    twolevel.optimize.LBFGS: after 25 steps from a thermal configuration both are at the same
    point (differences from summation order only), and both end at the same minimum."""
    s, x = _system(name, n, dim)
    v = maxwell_boltzmann(s.n, dim, 0.05, np.random.default_rng(4))
    s.run_md(x, v, 200, 0.002, "berendsen", temperature=0.05)
    a = minimize(s, x, ftol=1e-12, max_steps=25, compiled=False)
    ev0 = s.force_evaluations
    b = minimize(s, x, ftol=1e-12, max_steps=25)
    assert s.force_evaluations - ev0 == b.force_evaluations == a.force_evaluations
    assert b.iterations == a.iterations == 25
    assert np.abs(b.x - a.x).max() < 1e-9
    assert b.energy == pytest.approx(a.energy, rel=1e-13)
    assert np.abs(b.forces - a.forces).max() < 1e-8
    fa = minimize(s, x, ftol=1e-9, compiled=False)
    fb = minimize(s, x, ftol=1e-9)
    assert fa.converged and fb.converged and fb.max_force <= 1e-9
    assert fb.energy == pytest.approx(fa.energy, rel=1e-12)
    assert np.abs(s.distance(fa.x, fb.x)).max() < 1e-6
    assert abs(fb.force_evaluations - fa.force_evaluations) <= 0.1 * fa.force_evaluations
    # the "norm" criterion (LAMMPS' convention) is the 2-norm of the whole force vector
    fn = minimize(s, x, ftol=1e-8, criterion="norm")
    assert fn.converged and np.sqrt(np.sum(fn.forces ** 2)) <= 1e-8


@pytest.mark.parametrize("name,dim,n", [("tlj", 3, 400), ("pss", 2, 300)])
def test_md_with_two_lists_is_the_same_trajectory(name, dim, n):
    """MD with the outer list and pruning (ParticleSystem.outer_skin) visits the same lists as MD
    with a cell search at every rebuild: the trajectories agree bit for bit over a run with many
    rebuilds (a hot liquid), and NVE energy is conserved."""
    s1, x = _system(name, n, dim)
    s0 = ParticleSystem(s1.conf, outer_skin=0.0)
    v = maxwell_boltzmann(n, dim, 1.0, np.random.default_rng(3))
    x0, v0, x1, v1 = x.copy(), v.copy(), x.copy(), v.copy()
    u0 = s1.energy(x1) + 0.5 * np.sum(v1 ** 2)
    s1.reset_neighbors()   # both start from a list built at x (the list's history sets the summation order)
    s0.run_md(x0, v0, 600, 0.002)
    b0 = s1.list_builds
    s1.run_md(x1, v1, 600, 0.002)
    assert s1.list_builds - b0 > 10       # the pruned branch ran
    assert np.array_equal(x0, x1) and np.array_equal(v0, v1)
    u1 = s1.energy(x1) + 0.5 * np.sum(v1 ** 2)
    assert abs(u1 - u0) < 1e-3 * abs(u0)
    # the outer list outlives resets and is shared by the compiled L-BFGS: minimise, reset, run
    # on, minimise again, as the exploration does; still the same bits as one list
    mins = {}
    for s, x_, v_ in ((s0, x0, v0), (s1, x1, v1)):
        for k in range(2):
            s.reset_neighbors()
            mins[s, k] = minimize(s, x_, ftol=1e-6)
            s.reset_neighbors()
            s.run_md(x_, v_, 100, 0.002)   # on from the MD positions, as explore does
    assert s1._have_outer and not s0._have_outer
    assert np.array_equal(x0, x1)
    for k in range(2):
        assert np.array_equal(mins[s0, k].x, mins[s1, k].x)
        assert mins[s0, k].force_evaluations == mins[s1, k].force_evaluations


def test_reference_pss_energies_and_polish(reference_dir):
    """../shared/reference/pss: LAMMPS minima of N = 1500 PSS; energy per particle in the file name."""
    from twolevel.io import read

    files = sorted(reference_dir.glob("pss/*.data"))
    assert len(files) == 3
    for path in files:
        conf = read(path)
        conf.model = "pss"
        s = ParticleSystem(conf)
        e_ref = float(path.stem)
        e = s.energy(conf.positions) / conf.n
        assert abs(e - e_ref) <= 5e-11, (path.name, e, e_ref)
        r = minimize(s, conf.positions, ftol=1e-10)
        assert r.converged
        assert abs(r.energy / conf.n - e) < 1e-8
        disp = np.sqrt((s.distance(conf.positions, r.x) ** 2).sum(1)).max()
        assert disp < 1e-3


def test_bad_inputs():
    m = get_model("pss")
    c = m.random_configuration(100, dim=2, seed=0)
    bad = c.positions.copy()
    bad[3] = np.nan
    with pytest.raises(InputError, match="particle 3 is not finite"):
        Configuration(bad, c.box, diameters=c.diameters, model="pss")
    overl = c.positions.copy()
    overl[5] = overl[6] + 1e-4
    s = ParticleSystem(Configuration(overl, c.box, diameters=c.diameters, model="pss"))
    with pytest.raises(PhysicsError, match="particles 5 and 6 overlap"):
        s.energy(overl)
    for compiled in (True, False):  # both L-BFGS drivers stop with the same message
        with pytest.raises(PhysicsError, match="particles 5 and 6 overlap"):
            minimize(s, overl, compiled=compiled)
    with pytest.raises(InputError, match="smaller than twice the largest cutoff"):
        ParticleSystem(Configuration(c.positions[:10] * 0.2, c.box * 0.2, diameters=c.diameters[:10], model="pss"))
    with pytest.raises(InputError, match="unknown thermostat"):
        s.run_md(c.positions.copy(), np.zeros_like(c.positions), 1, 0.001, "andersen", 0.1)


def _numpy_energy(model, conf):
    """Sum of model.pair over all pairs with the minimum image (plain numpy, no neighbour list)."""
    x, box = conf.positions, conf.box
    i, j = np.triu_indices(conf.n, 1)
    dx = x[i] - x[j]
    dx -= box * np.round(dx / box)
    r = np.sqrt((dx * dx).sum(axis=1))
    return float(model.pair(r, conf.types[i], conf.types[j], conf.diameters[i], conf.diameters[j])[0].sum())


@pytest.mark.parametrize("name,dim,n", [("pss", 3, 300), ("pss", 2, 200), ("tlj", 3, 300), ("tlj-printed", 3, 500),
                                        ("ka", 3, 300), ("ka-ts", 2, 200)])
def test_every_energy_route_agrees(name, dim, n):
    """The pair potential reaches the energy through five codes: the numpy model, the engine's
    kernel, the band evaluator, the swap-MC kernel and the Lees-Edwards (sheared-box) kernel. They
    must agree to 1e-12 per particle on every model, so that no copy of the formula can drift."""
    from twolevel.engine.band import BandEvaluator
    from twolevel.engine.swap import SwapMC
    from twolevel.vibrations.sheared import ShearedSystem

    m = get_model(name)
    conf = m.random_configuration(n, dim=dim, seed=4)
    rng = np.random.default_rng(1)
    conf.positions = (conf.positions + rng.normal(scale=0.04, size=conf.positions.shape)) % conf.box
    ref = _numpy_energy(m, conf)
    ps = ParticleSystem(conf)
    routes = {
        "engine": ps.energy_forces(conf.positions)[0],
        "band": BandEvaluator(ps, 2).evaluate(np.stack([conf.positions, conf.positions]))[0][1],
        "swap": SwapMC(conf, 1.0, seed=1).energy,
        "sheared": ShearedSystem(conf, tilt=0.0).energy_forces(conf.positions)[0],
    }
    for route, e in routes.items():
        assert abs(e - ref) / n < 1e-12, (route, e, ref)


@pytest.mark.parametrize("name,dim,n", [("pss", 3, 300), ("pss", 2, 200), ("tlj", 3, 400), ("tlj", 2, 300),
                                        ("ka-ts", 3, 300)])
def test_vectorised_kernel_matches_scalar_reference(name, dim, n):
    """Issue #19: the vectorised force kernel (gather / branch-free row loop / scatter) gives the
    energy, virial and forces of the scalar kernel it replaced to 1e-12 per particle, on a
    perturbed configuration with particles wrapped several boxes away (minimum image)."""
    from twolevel.engine import kernels, neighbors

    m = get_model(name)
    conf = m.random_configuration(n, dim=dim, seed=5)
    rng = np.random.default_rng(2)
    x = conf.positions + rng.normal(scale=0.05, size=conf.positions.shape)
    x += conf.box * rng.integers(-3, 4, size=x.shape)
    ps = ParticleSystem(conf)
    st, idx = neighbors.build_neighbors(x, ps.box, ps.types, ps.diam, ps.mp, ps.skin)
    f1, f2 = np.empty_like(x), np.empty_like(x)
    e1, w1 = kernels.energy_forces(x, ps.box, ps.types, ps.diam, ps.mp, st, idx, f1)
    e2, w2 = kernels.energy_forces_scalar(x, ps.box, ps.types, ps.diam, ps.mp, st, idx, f2)
    scale = max(1.0, abs(e2) / n)
    assert abs(e1 - e2) / n < 1e-12 * scale
    assert abs(w1 - w2) / n < 1e-12 * max(1.0, abs(w2) / n)
    assert np.abs(f1 - f2).max() < 1e-12 * max(1.0, np.abs(f2).max())
    assert np.abs(f1.sum(axis=0)).max() < 1e-9 * max(1.0, np.abs(f2).max())   # Newton's third law
    # the list's own pair parameters (kernels.pair_params, what MD and the minimiser pass) are the
    # table's / the mixing rule's: the same bits with and without, in both kernels
    pp = kernels.pair_params(ps.types, ps.diam, ps.mp, st, idx)
    f3, f4 = np.empty_like(x), np.empty_like(x)
    assert kernels.energy_forces(x, ps.box, ps.types, ps.diam, ps.mp, st, idx, f3, pp) == (e1, w1)
    assert kernels.energy_forces_scalar(x, ps.box, ps.types, ps.diam, ps.mp, st, idx, f4, pp) == (e2, w2)
    assert np.array_equal(f3, f1) and np.array_equal(f4, f2)


class _AnyPotential:
    """A particle system seen only through ``energy_forces``: engine.md.run_md_generic's route (the
    one explore takes for synthetic landscapes)."""

    def __init__(self, system):
        self.system = system

    def energy_forces(self, x):
        return self.system.energy_forces(x)


@pytest.mark.parametrize("thermostat", ["nve", "berendsen", "langevin", "nose-hoover"])
def test_generic_md_follows_the_compiled_trajectory(thermostat):
    """engine.md owns both integrators: the Python one (any potential) and the compiled one
    (particle systems) take the same steps, so 300 steps of a 2D PSS glass near T = 0.3 agree to
    1e-10 (same splitting, same Berendsen factor, same Langevin random stream, same chain)."""
    from twolevel.engine.md import run_md_generic

    s, x = _system("pss", 40, 2)
    x = minimize(s, x, ftol=1e-3).x
    v = maxwell_boltzmann(s.n, 2, 0.3, np.random.default_rng(4))
    kw = dict(thermostat=thermostat, temperature=0.3, tau=0.2, gamma=1.0, seed=11, dof=2.0 * (s.n - 1))
    xa, va, xb, vb = x.copy(), v.copy(), x.copy(), v.copy()
    _, fa = s.run_md(xa, va, 300, 0.005, nhc=np.zeros(6) if thermostat == "nose-hoover" else None, **kw)
    fb = run_md_generic(_AnyPotential(s), xb, vb, 300, 0.005, **kw)
    assert np.abs(xa - x).max() > 1e-3  # the particles moved
    np.testing.assert_allclose(xb, xa, rtol=0, atol=1e-10)
    np.testing.assert_allclose(vb, va, rtol=0, atol=1e-10)
    np.testing.assert_allclose(fb, fa, rtol=0, atol=1e-8)


def test_generic_md_refuses_what_the_compiled_one_refuses():
    from twolevel.engine.md import run_md_generic

    s, x = _system("pss", 20, 2, relax=False)
    with pytest.raises(InputError, match="unknown thermostat 'andersen'"):
        run_md_generic(_AnyPotential(s), x.copy(), np.zeros_like(x), 1, 0.001, "andersen", 0.1)
    with pytest.raises(InputError, match="needs a positive temperature"):
        run_md_generic(_AnyPotential(s), x.copy(), np.zeros_like(x), 1, 0.001, "berendsen", 0.0)
