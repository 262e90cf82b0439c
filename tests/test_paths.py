"""Minimum energy paths: climbing-image NEB, string method, splitting, double-well records.

The reference values do not come from the band code: stationary points of the analytic
surfaces are found here by Newton's method on grad V = 0 with the analytic Hessian,
starting from the literature values (Müller & Brown, Theor. Chim. Acta 53, 75 (1979)),
and the saddle character is checked through the Hessian spectrum.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from twolevel.errors import InputError
from twolevel.paths import (
    band_energies_forces,
    find_path,
    neb,
    path_between,
    path_curvature,
    paths_for_library,
    string_method,
)


# ----------------------------------------------------------------------------- analytic surfaces
class MullerBrown:
    """V = sum_k A_k exp(a_k (x-x0_k)^2 + b_k (x-x0_k)(y-y0_k) + c_k (y-y0_k)^2)."""

    A = np.array([-200.0, -100.0, -170.0, 15.0])
    a = np.array([-1.0, -1.0, -6.5, 0.7])
    b = np.array([0.0, 0.0, 11.0, 0.6])
    c = np.array([-10.0, -10.0, -6.5, 0.7])
    x0 = np.array([1.0, 0.0, -0.5, -1.0])
    y0 = np.array([0.0, 0.5, 1.5, 1.0])

    def _terms(self, p):
        X, Y = p[0] - self.x0, p[1] - self.y0
        t = self.A * np.exp(self.a * X * X + self.b * X * Y + self.c * Y * Y)
        gx = 2 * self.a * X + self.b * Y
        gy = self.b * X + 2 * self.c * Y
        return t, gx, gy

    def energy_forces(self, p):
        t, gx, gy = self._terms(np.asarray(p))
        return float(t.sum()), -np.array([(t * gx).sum(), (t * gy).sum()])

    def energy(self, p):
        return self.energy_forces(p)[0]

    def grad_hess(self, p):
        t, gx, gy = self._terms(np.asarray(p))
        g = np.array([(t * gx).sum(), (t * gy).sum()])
        h = np.array([[(t * (gx * gx + 2 * self.a)).sum(), (t * (gx * gy + self.b)).sum()],
                      [(t * (gx * gy + self.b)).sum(), (t * (gy * gy + 2 * self.c)).sum()]])
        return g, h

    def distance(self, x, y):
        return np.asarray(y, float) - np.asarray(x, float)


class TripleWell:
    """V = x^2 (x^2 - 1)^2 + tilt x + kappa (y - q x^2)^2: minima near x = -1, 0, 1 on a curved valley."""

    tilt, kappa, q = 0.05, 2.0, 0.3

    def energy_forces(self, p):
        x, y = p
        u = y - self.q * x * x
        e = x * x * (x * x - 1) ** 2 + self.tilt * x + self.kappa * u * u
        gx = 2 * x * (x * x - 1) ** 2 + 4 * x ** 3 * (x * x - 1) + self.tilt - 4 * self.kappa * self.q * x * u
        gy = 2 * self.kappa * u
        return float(e), -np.array([gx, gy])

    def energy(self, p):
        return self.energy_forces(p)[0]

    def grad_hess(self, p, h=1e-6):  # exact enough for Newton: central differences of the analytic gradient
        g = -self.energy_forces(p)[1]
        H = np.empty((2, 2))
        for i in range(2):
            e = np.zeros(2)
            e[i] = h
            H[:, i] = (-self.energy_forces(p + e)[1] + self.energy_forces(p - e)[1]) / (2 * h)
        return g, 0.5 * (H + H.T)

    def distance(self, x, y):
        return np.asarray(y, float) - np.asarray(x, float)


def newton(surface, p0, tol=1e-13):
    p = np.array(p0, float)
    for _ in range(100):
        g, h = surface.grad_hess(p)
        step = np.linalg.solve(h, g)
        p -= step
        if np.abs(step).max() < tol:
            break
    g, h = surface.grad_hess(p)
    assert np.abs(g).max() < 1e-8
    return p, surface.energy(p), np.linalg.eigvalsh(h)


MB = MullerBrown()
# literature estimates (Müller & Brown 1979), refined below by Newton
MB_A, MB_B, MB_C = (-0.558, 1.442), (0.623, 0.028), (-0.050, 0.467)
MB_S1, MB_S2 = (-0.822, 0.624), (0.212, 0.293)
MB_BAND = dict(spring=200.0, dt=1e-3, max_move=0.01)  # MB energies are ~100: stiffer springs, smaller steps


@pytest.fixture(scope="module")
def mb_points():
    pts = {k: newton(MB, v) for k, v in dict(A=MB_A, B=MB_B, C=MB_C, S1=MB_S1, S2=MB_S2).items()}
    for k in "ABC":
        assert np.all(pts[k][2] > 0)
    for k in ("S1", "S2"):
        assert (pts[k][2] < 0).sum() == 1
    return pts


def test_mueller_brown_climbing_image_on_saddle(mb_points):
    xs, es, _ = mb_points["S2"]
    (xc, ec, _), (xb, eb, _) = mb_points["C"], mb_points["B"]
    r = neb(MB, xc, xb, images=16, ftol=1e-6, **MB_BAND)
    assert r.converged
    assert np.linalg.norm(r.saddle - xs) < 1e-6
    assert abs(r.energies.max() - es) < 1e-9 * abs(es)
    assert r.climbing == int(np.argmax(r.energies))
    # the double-well numbers from the profile are the true ones
    res = find_path(MB, xc, xb, images=16, ftol=1e-6, **MB_BAND)
    (dw,) = res.double_wells
    assert dw.ok and not res.split
    assert dw.V_a == pytest.approx(es - eb, rel=1e-9)  # B is deeper than C: xi = 0 at B
    assert dw.dV == pytest.approx(ec - eb, rel=1e-9)
    assert dw.V_b == pytest.approx(dw.V_a - dw.dV / 2, rel=1e-12)
    assert dw.reversed and dw.xi[0] == 0 and dw.xi[-1] == 1 and dw.V[0] == 0


def test_string_method_climbing_image_on_saddle(mb_points):
    xs, es, _ = mb_points["S1"]
    r = string_method(MB, mb_points["A"][0], mb_points["C"][0], images=16, ftol=1e-6, dt=1e-3, max_move=0.01)
    assert r.converged
    assert np.linalg.norm(r.saddle - xs) < 1e-6
    assert abs(r.energies.max() - es) < 1e-9 * abs(es)
    # string images stay evenly spaced on each side of the climbing image
    X = r.images
    seg = np.linalg.norm(np.diff(X, axis=0), axis=1)
    c = r.climbing
    for part in (seg[:c], seg[c:]):
        if len(part) > 2:
            assert part.std() / part.mean() < 0.05


def test_mueller_brown_split_at_intermediate_minimum(mb_points):
    (xa, ea, _), (xb, eb, _), (xc, ec, _) = mb_points["A"], mb_points["B"], mb_points["C"]
    res = find_path(MB, xa, xb, images=24, method="string", ftol=1e-6, dt=1e-3, max_move=0.01, curvature=True)
    assert res.split and len(res.double_wells) == 2 and len(res.new_minima) == 1
    assert np.linalg.norm(res.minima[res.new_minima[0]] - xc) < 1e-6
    dw1, dw2 = res.double_wells
    assert dw1.ok and dw2.ok
    # A-C: A deeper, barrier through S1; C-B: B deeper, barrier through S2
    assert dw1.V_a == pytest.approx(mb_points["S1"][1] - ea, rel=1e-9)
    assert dw1.dV == pytest.approx(ec - ea, rel=1e-9)
    assert dw2.V_a == pytest.approx(mb_points["S2"][1] - eb, rel=1e-9)
    assert dw2.dV == pytest.approx(ec - eb, rel=1e-9)
    for dw, s in ((dw1, "S1"), (dw2, "S2")):
        assert dw.curvature["n_negative_saddle"] == 1
        assert dw.curvature["hess_saddle"][0] == pytest.approx(mb_points[s][2][0], rel=1e-4)


def test_triple_well_neb_split_true_barriers():
    tw = TripleWell()
    m = [newton(tw, (x, tw.q * x * x)) for x in (-1.0, 0.0, 1.0)]
    s = [newton(tw, (x, tw.q * x * x)) for x in (-0.577, 0.577)]
    assert all((mi[2] > 0).all() for mi in m) and all((si[2] < 0).sum() == 1 for si in s)
    res = find_path(tw, m[0][0], m[2][0], images=32, method="neb", spring=1.0, ftol=1e-7)
    assert res.split and len(res.double_wells) == 2
    got = sorted((dw.E_saddle, dw.E_low, dw.E_high) for dw in res.double_wells)
    want = sorted((s[i][1], min(m[i][1], m[i + 1][1]), max(m[i][1], m[i + 1][1])) for i in range(2))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    for dw in res.double_wells:
        assert dw.ok and dw.band.converged


def test_curvature_along_path_tangent_is_unstable_mode(mb_points):
    r = neb(MB, mb_points["C"][0], mb_points["B"][0], images=16, ftol=1e-6, **MB_BAND)
    cur = path_curvature(MB, r, n_modes=2, n_project=2)
    c = r.climbing
    assert cur["n_negative"][c] == 1
    assert cur["n_negative"][0] == 0 and cur["n_negative"][-1] == 0
    # at the saddle the MEP runs along the unstable eigenvector (002 App. C, Fig. 13b)
    assert cur["projections"][c, 0] == pytest.approx(1.0, abs=1e-3)  # discrete tangent, 16 images
    assert cur["eigenvalues"][c, 0] == pytest.approx(mb_points["S2"][2][0], rel=1e-4)


# ----------------------------------------------------------------------------- a glass double well
def _glass_pair(n=64, seed=5, T_exp=0.08, every=200):
    """Two adjacent inherent structures of a small 2D PSS glass: melt, quench, MD + minimisation."""
    from twolevel.engine import ParticleSystem, maxwell_boltzmann, minimize
    from twolevel.models import get_model

    conf = get_model("pss").random_configuration(n, dim=2, seed=seed)
    s = ParticleSystem(conf)
    rng = np.random.default_rng(seed)
    x = minimize(s, conf.positions, method="fire", ftol=1e-2, max_steps=2000).x
    v = maxwell_boltzmann(n, 2, 1.0, rng)
    s.run_md(x, v, 1500, 0.005, thermostat="langevin", temperature=1.0, seed=seed)
    r0 = minimize(s, x, ftol=1e-10)
    x = r0.x.copy()
    v = maxwell_boltzmann(n, 2, T_exp, rng)
    for _ in range(100):
        s.run_md(x, v, every, 0.005, thermostat="berendsen", temperature=T_exp)
        r = minimize(s, x, ftol=1e-8)
        if np.sqrt((s.distance(r0.x, r.x) ** 2).sum(axis=1)).max() > 0.05:
            return s, r0.x, r.x
    raise RuntimeError("no transition found")  # pragma: no cover


@pytest.fixture(scope="module")
def glass():
    return _glass_pair()


def test_band_kernel_matches_single_evaluations(glass):
    s, xa, xb = glass
    from twolevel.paths import interpolate

    band = interpolate(s, xa, xb, 8)
    E, F = band_energies_forces(s, band)
    for i in range(8):
        e, f = s.energy_forces(band[i])
        assert E[i] == pytest.approx(e, rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(F[i], f, rtol=1e-10, atol=1e-10)
    # minimum image: the straight band never stretches a particle across the box
    step = np.abs(np.diff(band, axis=0)).max()
    assert step < 0.5 * s.box.min() / 7


def test_string_and_neb_agree_on_glass_double_well(glass):
    s, xa, xb = glass
    r_neb = find_path(s, xa, xb, images=32, method="neb", ftol=1e-4, curvature=True)
    dws = [dw for dw in r_neb.double_wells if dw.ok]
    assert dws
    dw = dws[0]
    assert dw.curvature["n_negative_saddle"] == 1  # a first-order saddle
    assert all(e > 0 for e in dw.curvature["hess_low"]) and all(e > 0 for e in dw.curvature["hess_high"])
    r_str = find_path(s, dw.x_low, dw.x_high, images=32, method="string", ftol=1e-4, split=False)
    (dw2,) = r_str.double_wells
    assert dw2.ok
    assert dw2.V_a == pytest.approx(dw.V_a, rel=1e-6)
    assert dw2.dV == pytest.approx(dw.dV, rel=1e-9, abs=1e-12)
    assert dw2.d == pytest.approx(dw.d, rel=2e-2)  # different discretisations of the same curve
    # record identities: 002 Eq. (16) bounds, path length above the straight-line distance
    assert 1.0 <= dw.PR <= s.n
    assert dw.d >= dw.d_direct * (1 - 1e-12)
    assert np.sum(dw.displacement ** 2) == pytest.approx(dw.d_direct ** 2)
    assert np.all(np.diff(dw.xi) > 0)


def test_refuses_same_minimum_and_different_glasses(glass):
    s, xa, xb = glass
    with pytest.raises(InputError, match="same minimum"):
        find_path(s, xa, xa.copy(), images=8)
    from twolevel.models import get_model

    ca = s.configuration(xa)
    other = get_model("pss").random_configuration(s.n, dim=2, seed=99)
    with pytest.raises(InputError, match="different glasses"):
        path_between(ca, other, images=8)
    bigger = get_model("pss").random_configuration(s.n + 4, dim=2, seed=2)
    with pytest.raises(InputError, match="different glasses"):
        path_between(ca, bigger, images=8)


# ----------------------------------------------------------------------------- the stage and the CLI
def _library(tmp_path, s, xs, pairs):
    import h5py
    import pandas as pd

    ex = tmp_path / "explore"
    ex.mkdir()
    with h5py.File(ex / "is_configs.h5", "w") as f:
        f["box"] = s.box
        f["types"] = s.conf.types
        f["diameters"] = s.conf.diameters
        f.attrs["model"] = "pss"
        for i, x in enumerate(xs):
            f[f"configs/{i}"] = x  # the layout twolevel explore writes (explore.ISConfigs reads only it)
    pd.DataFrame({"is_id": range(len(xs)), "energy": [s.energy(x) for x in xs]}).to_parquet(
        ex / "inherent_structures.parquet")
    pd.DataFrame({"is_a": [p[0] for p in pairs], "is_b": [p[1] for p in pairs],
                  "n_ab": 1, "n_ba": 1}).to_parquet(ex / "pairs.parquet")
    return ex


def test_stage_catalogue_resumable_and_read_by_quantum(glass, tmp_path):
    from twolevel.quantum import run_catalogue, validate_catalogue
    import pandas as pd

    s, xa, xb = glass
    ex = _library(tmp_path, s, [xa, xb], [(0, 1)])
    out = tmp_path / "paths"
    summ = paths_for_library(ex, out, images=16, ftol=1e-4, progress=False, hessian=False)
    assert summ["complete"] and summ["pairs_done"] == 1
    cat = pd.read_parquet(out / "double_wells.parquet")
    validate_catalogue(cat)
    assert len(cat) >= 1 and set(cat["status"]) == {"ok"}
    row = cat.iloc[0]
    assert row["V_b"] == pytest.approx(row["V_a"] - row["dV"] / 2)
    # the quantum stage's columns: every ok double well has its end curvatures and a band
    # without rigid translation (share recomputed here from bands.h5)
    import h5py

    for col in ("translation_share", "curv_low", "curv_high"):
        assert col in cat.columns and np.all(np.isfinite(cat[col]))
    assert np.all(cat["curv_low"] > 0) and np.all(cat["curv_high"] > 0)
    with h5py.File(out / "bands.h5", "r") as f:
        for i, share in zip(cat["dw_id"], cat["translation_share"]):
            bd = f[str(i)]["band_disp"][()].astype(np.float64)
            assert share < 1e-8 and _share(bd, s.dim) < 1e-6  # float32 storage
    res = pd.read_parquet(out / "path_results.parquet")
    assert len(res) >= len(cat)
    q = run_catalogue(cat, masses=[1000.0])
    assert len(q) == len(cat) and np.all(np.isfinite(q["E"]))
    # rerun: a no-op; a lost pair file is recomputed, the rest is kept
    mtime = (out / "double_wells.parquet").stat().st_mtime_ns
    assert paths_for_library(ex, out, images=16, ftol=1e-4, progress=False, hessian=False) == json.loads(
        (out / "paths.json").read_text())
    assert (out / "double_wells.parquet").stat().st_mtime_ns == mtime
    (out / "paths.json").unlink()
    again = paths_for_library(ex, out, images=16, ftol=1e-4, progress=False, hessian=False)
    assert again["pairs_computed_this_run"] == 0 and again["double_wells"] == summ["double_wells"]
    # a pair file written before bands were translation-free (no format attribute) is recomputed
    pf = out / "pairs" / "pair_0_1.h5"
    with h5py.File(pf, "a") as f:
        del f.attrs["format"]
    (out / "paths.json").unlink()
    with pytest.warns(RuntimeWarning, match="recorded SHA-256"):
        again = paths_for_library(ex, out, images=16, ftol=1e-4, progress=False, hessian=False)
    assert again["pairs_computed_this_run"] == 1 and again["double_wells"] == summ["double_wells"]
    # issue #17: a flipped byte in the stored pair (partial state) is found and the pair computed again
    raw = bytearray(pf.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    pf.write_bytes(bytes(raw))
    (out / "paths.json").unlink()
    with pytest.warns(RuntimeWarning, match="recorded SHA-256"):
        again = paths_for_library(ex, out, images=16, ftol=1e-4, progress=False, hessian=False)
    assert again["pairs_computed_this_run"] == 1 and again["double_wells"] == summ["double_wells"]
    pd.testing.assert_frame_equal(pd.read_parquet(out / "double_wells.parquet"), cat)
    # a pair file without its record (a kill between the two writes) is computed again, silently
    (out / "pairs" / "pair_0_1.h5.sha256").unlink()
    (out / "paths.json").unlink()
    again = paths_for_library(ex, out, images=16, ftol=1e-4, progress=False, hessian=False)
    assert again["pairs_computed_this_run"] == 1


def test_stage_refuses_bad_libraries(glass, tmp_path):
    import pandas as pd

    s, xa, xb = glass
    ex = _library(tmp_path, s, [xa, xb], [(1, 1)])
    with pytest.raises(InputError, match="with itself"):
        paths_for_library(ex, tmp_path / "out", images=8, progress=False)
    pd.DataFrame({"first": [0], "second": [1]}).to_parquet(ex / "pairs.parquet")
    with pytest.raises(InputError, match="missing column 'is_a'"):
        paths_for_library(ex, tmp_path / "out", images=8, progress=False)
    with pytest.raises(InputError, match="not found"):
        paths_for_library(tmp_path / "nowhere", tmp_path / "out", progress=False)


def test_cli_paths_errors_are_one_line(tmp_path):
    from typer.testing import CliRunner

    from twolevel.cli import app

    r = CliRunner().invoke(app, ["paths", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    assert r.exit_code != 0
    assert isinstance(r.exception, InputError) or "not found" in r.output


def test_figures(glass, mb_points, tmp_path):
    from twolevel.report.paths_figs import (curvature_figure, displacement_figure, distributions_figure,
                                            profile_figure)

    s, xa, xb = glass
    res = find_path(s, xa, xb, images=16, method="string", ftol=1e-3)
    dw = res.double_wells[0]
    assert profile_figure(dw.xi, dw.V, tmp_path / "p.png", d=dw.d, m_tilde=1000.0).stat().st_size > 0
    cat = [dict(dV=w.dV, V_b=w.V_b, d=w.d, PR=w.PR, T_f=t) for w in res.double_wells for t in (0.06, 0.09)]
    assert distributions_figure(cat, tmp_path / "dist.png", group="T_f").stat().st_size > 0
    assert displacement_figure(dw.x_low.reshape(-1, 2), s.box, dw.displacement, s.conf.diameters,
                               tmp_path / "real.png", pr=dw.PR).stat().st_size > 0
    r = neb(MB, mb_points["C"][0], mb_points["B"][0], images=8, ftol=1e-3, **MB_BAND)
    assert curvature_figure(path_curvature(MB, r, n_modes=2, n_project=2), tmp_path / "c.png").stat().st_size > 0


@pytest.mark.parametrize("opt", [dict(optimizer="lbfgs", alpha=2000.0),
                                 dict(optimizer="fire-classic", dt=1e-3, dt_max=1e-2)])
def test_other_band_optimizers_find_the_mueller_brown_saddle(mb_points, opt):
    """The L-BFGS and classic-FIRE band optimizers converge the climbing image onto the Newton
    saddle S2 of the Müller-Brown surface (an analytic stationary point, not our own output)."""
    xs, es, _ = mb_points["S2"]
    r = neb(MB, mb_points["C"][0], mb_points["B"][0], images=16, ftol=1e-6, spring=200.0, max_move=0.01,
            max_steps=20000, **opt)
    assert r.converged
    assert np.linalg.norm(r.saddle - xs) < 1e-6
    assert abs(r.energies.max() - es) < 1e-9 * abs(es)


def test_unknown_band_optimizer_is_an_input_error(mb_points):
    with pytest.raises(InputError, match="optimizer"):
        neb(MB, mb_points["C"][0], mb_points["B"][0], images=8, optimizer="newton")


# ----------------------------------------------------------------------------- frozen images
@pytest.mark.parametrize("opt", [dict(optimizer="fire", dt=1e-3, max_move=0.01),
                                 dict(optimizer="fire-classic", dt=1e-3, dt_max=1e-2, max_move=0.01)])
def test_frozen_images_reach_the_saddle_with_fewer_evaluations(opt):
    """freeze=1: images whose band force is already within tolerance are neither moved nor
    recomputed. The climbing image still lands on the Müller-Brown saddle (root of grad V found
    here by scipy, not by the band code) to 1e-8, with fewer potential calls than the plain scheme,
    and the band's evaluation count is the number of calls the potential actually received."""
    from scipy.optimize import root

    from twolevel.landscapes import MullerBrown

    mb = MullerBrown()
    sol = root(lambda p: -mb.energy_forces(p)[1], MullerBrown.SADDLES[1], tol=1e-14)
    xs, es = sol.x, mb.energy(sol.x)
    _, B, C = MullerBrown.MINIMA
    counts = {}
    for freeze in (None, 1.0):
        mb.force_evaluations = 0
        r = neb(mb, C, B, images=16, spring=200.0, ftol=1e-3, climb_ftol=1e-7, freeze=freeze, **opt)
        assert r.converged
        assert r.force_evaluations == mb.force_evaluations  # counted = actually computed
        assert np.linalg.norm(r.saddle - xs) < 1e-8
        assert r.energies[r.climbing] == pytest.approx(es, rel=1e-12)
        counts[freeze] = r.force_evaluations
        # the convergence test holds with exact forces on every image of the returned band
        from twolevel.paths import improved_tangents

        E = np.array([mb.energy(x) for x in r.images])
        np.testing.assert_array_equal(E, r.energies)  # cached energies are the exact ones
        F = np.array([mb.energy_forces(x)[1] for x in r.images[1:-1]])
        tau = improved_tangents(r.images, E)
        Fp = F - (F * tau).sum(axis=1)[:, None] * tau
        d = np.linalg.norm(np.diff(r.images, axis=0), axis=1)
        G = Fp + (200.0 * (d[1:] - d[:-1]))[:, None] * tau
        c = r.climbing - 1
        G[c] = F[c] - 2 * (F[c] @ tau[c]) * tau[c]
        assert np.linalg.norm(G[c]) <= 1e-7
        assert np.max(np.delete(np.linalg.norm(Fp, axis=1), c)) <= 1e-3
    assert counts[1.0] < 0.9 * counts[None]


def test_stalled_climbing_image_returns_the_best_band_within_ftol():
    """climb_patience: a climbing-image tolerance no band can reach (1e-14, below rounding) on
    the Müller-Brown surface. The band stops 25 steps after the climbing image last improved,
    reports convergence at ftol with ``climb_stalled``, and the band it returns meets ftol on
    every image with forces recomputed here (exact, not the cached ones); the climbing image sits
    on the saddle found by scipy to the accuracy a 1e-3 force allows."""
    from scipy.optimize import root

    from twolevel.landscapes import MullerBrown
    from twolevel.paths import band_scheme, improved_tangents

    mb = MullerBrown()
    xs = root(lambda p: -mb.energy_forces(p)[1], MullerBrown.SADDLES[1], tol=1e-14).x
    _, B, C = MullerBrown.MINIMA
    kw = dict(band_scheme("frozen", 1e-3), dt=1e-3, dt_max=1e-2, max_move=0.01, climb_ftol=1e-14, climb_patience=25)
    r = neb(mb, C, B, images=16, spring=200.0, ftol=1e-3, max_steps=20000, **kw)
    assert r.converged and r.climb_stalled and r.iterations < 20000
    E = np.array([mb.energy(x) for x in r.images])
    np.testing.assert_array_equal(E, r.energies)
    F = np.array([mb.energy_forces(x)[1] for x in r.images[1:-1]])
    tau = improved_tangents(r.images, E)
    Fp = F - (F * tau).sum(axis=1)[:, None] * tau
    c = r.climbing - 1
    assert np.linalg.norm(F[c]) <= 1e-3  # perp criterion: the climbing image's full force
    assert np.max(np.delete(np.linalg.norm(Fp, axis=1), c)) <= 1e-3
    assert np.linalg.norm(r.saddle - xs) < 1e-3
    with pytest.raises(InputError, match="climb_patience"):
        neb(mb, C, B, images=8, climb_patience=0)


def test_coarse_then_frozen_particle_reaches_the_mueller_brown_saddle():
    """The benchmark's cheapest scheme (docs/paths.md "Cheaper paths?"): a 6-image band relaxed
    to 5 ftol, then the 16-image band on it with "frozen-particle" (classic FIRE, converged
    images held, each coordinate's move capped, climbing image to ftol/10). The climbing image
    lands on the saddle found by scipy's root finder to the accuracy its force test allows
    (|F| <= 1e-5, smallest |Hessian eigenvalue| there ~ 100: |x - x_s| ~ 1e-7), and the count
    includes both bands' evaluations (the potential's own counter)."""
    from scipy.optimize import root

    from twolevel.landscapes import MullerBrown
    from twolevel.paths import band_scheme, coarse_to_fine, interpolate

    mb = MullerBrown()
    xs = root(lambda p: -mb.energy_forces(p)[1], MullerBrown.SADDLES[1], tol=1e-14).x
    _, B, C = MullerBrown.MINIMA
    kw = dict(band_scheme("frozen-particle", 1e-4), dt=1e-3, dt_max=1e-2, max_move=0.01)
    mb.force_evaluations = 0
    r = coarse_to_fine(mb, interpolate(mb, C, B, 16), coarse=6, coarse_ftol=5e-4, spring=200.0, ftol=1e-4,
                       max_steps=20000, **kw)
    assert r.converged
    assert r.force_evaluations == mb.force_evaluations
    assert np.linalg.norm(r.saddle - xs) < 1e-6
    assert r.energies[r.climbing] == pytest.approx(mb.energy(xs), abs=1e-9)


@pytest.mark.parametrize("coarse", [None, 12])
def test_frozen_scheme_on_a_stored_pair_reaches_the_newton_saddle(coarse):
    """The "frozen" scheme, and 12 coarse images first then "frozen-particle", at the stage's test
    (perp, ftol 1e-4) on pair 2 of the benchmark's
    fixed set (benchmarks/data/pss_double_wells.npz, N = 200 PSS; its top is flat to 1e-10 over
    several images, where the climbing image used to hop between them and never converge):
    V_a equals the energy of the stationary point that Newton's method (dense analytic Hessian,
    translations left out) reaches from the climbing image, to 1e-8, and that point is a first-
    order saddle (one negative eigenvalue)."""
    from pathlib import Path

    from twolevel.config import Configuration
    from twolevel.engine import ParticleSystem
    from twolevel.paths import band_scheme, coarse_to_fine, interpolate, optimize_band

    data = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "pss_double_wells.npz"
    z = np.load(data)
    k = 2
    s = ParticleSystem(Configuration(z["x_a"][k], z["box"][k], None, z["diameters"][k], "pss"))
    band = interpolate(s, z["x_a"][k], z["x_b"][k], 64)
    if coarse:  # the benchmark's c12/5-frozen-particle
        r = coarse_to_fine(s, band, coarse=coarse, coarse_ftol=5e-4, ftol=1e-4, **band_scheme("frozen-particle", 1e-4))
    else:
        r = optimize_band(s, band, ftol=1e-4, **band_scheme("frozen", 1e-4))
    assert r.converged
    x = r.saddle.copy()
    for _ in range(8):
        _, f = s.energy_forces(x)
        w, V = np.linalg.eigh(s.hessian(x).toarray())
        keep = np.abs(w) > 1e-6
        x = x + (V[:, keep] @ ((V[:, keep].T @ f.reshape(-1)) / w[keep])).reshape(x.shape)
    e, f = s.energy_forces(x)
    assert np.sqrt((f * f).sum(axis=1)).max() < 1e-9
    w = np.linalg.eigvalsh(s.hessian(x).toarray())
    assert (w < -1e-6).sum() == 1
    assert r.barrier == pytest.approx(e - r.energies[0], abs=1e-8)


def test_freeze_refuses_string_and_lbfgs(mb_points):
    for kw in (dict(method="string"), dict(optimizer="lbfgs")):
        with pytest.raises(InputError, match="freez"):
            from twolevel.paths import interpolate, optimize_band

            optimize_band(MB, interpolate(MB, mb_points["C"][0], mb_points["B"][0], 8), freeze=1.0, **kw)
    with pytest.raises(InputError, match="freeze"):
        neb(MB, mb_points["C"][0], mb_points["B"][0], images=8, freeze=1.5)


def test_frozen_scheme_finds_the_same_glass_double_well(glass):
    """The "frozen" band scheme (config [paths] scheme, CLI --scheme) at the stage's default
    tolerance (perpendicular criterion, ftol 1e-4) gives the double well FIRE 2.0 gives: the
    climbing image held to ftol/10 reaches the same saddle energy."""
    from twolevel.paths import band_scheme

    s, xa, xb = glass
    ref = [dw for dw in find_path(s, xa, xb, images=32, ftol=1e-4).double_wells if dw.ok]
    frz = [dw for dw in find_path(s, xa, xb, images=32, ftol=1e-4, scheme="frozen").double_wells if dw.ok]
    assert ref and len(frz) == len(ref)
    for a, b in zip(ref, frz):
        assert b.V_a == pytest.approx(a.V_a, rel=1e-5, abs=1e-8)
        assert b.dV == pytest.approx(a.dV, rel=1e-9, abs=1e-12)
    assert band_scheme("frozen", 1e-4)["climb_ftol"] == pytest.approx(1e-5)
    with pytest.raises(InputError, match="band scheme"):
        band_scheme("fast", 1e-4)
    with pytest.raises(InputError):
        find_path(s, xa, xb, images=8, method="string", scheme="frozen")


# ----------------------------------------------------------------------------- uniform translations
def _translation_projector(n, dim):
    """Orthonormal basis (n dim, dim) of the uniform translations, built here independently."""
    T = np.zeros((n * dim, dim))
    for a in range(dim):
        T[a::dim, a] = 1.0 / np.sqrt(n)
    return T


def _share(images, dim):
    """sum_i |P_T dx_i| / sum_i |dx_i| over the image-to-image steps dx_i, P_T = T T^T."""
    X = np.asarray(images).reshape(len(images), -1)
    dx = np.diff(X, axis=0)
    T = _translation_projector(X.shape[1] // dim, dim)
    return np.linalg.norm(dx @ T, axis=1).sum() / np.linalg.norm(dx, axis=1).sum()


def _drifted(s, xb, size=0.3, seed=7):
    """x_b rigidly translated by a seeded random vector of length ``size`` (wrapped into the box)."""
    rng = np.random.default_rng(seed)
    shift = rng.normal(size=s.dim)
    return (xb + shift * size / np.linalg.norm(shift)) % s.box


def _raw_band(s, xa, xb, m):
    """Straight minimum-image band x_a -> x_b WITHOUT any alignment (what the old code made)."""
    xb2 = xa + s.distance(xa, xb)
    return np.array([xa + (xb2 - xa) * u for u in np.linspace(0.0, 1.0, m)])


@pytest.fixture(scope="module")
def glass_reference_band(glass):
    from twolevel.paths import optimize_band

    s, xa, xb = glass
    return optimize_band(s, _raw_band(s, xa, xb, 32), ftol=1e-4)


@pytest.mark.parametrize("scheme", ["fire2", "fire-classic", "lbfgs", "frozen", "string"])
def test_band_carries_no_rigid_translation(glass, glass_reference_band, scheme):
    """The end minimum rigidly translated by 0.3 sigma: the initial straight band then spends
    59 % of its length translating the box (measured with a projector built here). Every
    optimiser / scheme removes it: translation share < 1e-8 after the optimisation, the far end
    has zero mean displacement from the first, and the barrier is the one of the undrifted band
    to within the band tolerance (ftol 1e-4: V_a to ~1e-8)."""
    from twolevel.paths import band_scheme, optimize_band

    s, xa, xb = glass
    kw = {"fire2": {}, "fire-classic": dict(optimizer="fire-classic", dt=0.1, dt_max=1.0, alpha0=0.1, max_move=0.2),
          "lbfgs": dict(optimizer="lbfgs"), "frozen": band_scheme("frozen", 1e-4),
          "string": dict(method="string", spring=0.0)}[scheme]
    raw = _raw_band(s, xa, _drifted(s, xb), 32)
    if scheme == "lbfgs":
        # the force-only band L-BFGS (like ASE's, no line search) diverges from a straight band in
        # this glass with or without drift; start it from a band pre-relaxed by FIRE to 3e-2 that
        # is then translated rigidly, more and more along the band, by the same 0.3 sigma
        pre = optimize_band(s, _raw_band(s, xa, xb, 32), ftol=3e-2).images
        shift = (_drifted(s, xb) - xb + s.box / 2) % s.box - s.box / 2
        raw = pre + np.linspace(0.0, 1.0, len(pre))[:, None, None] * shift[None, :, :]
    assert _share(raw, s.dim) > 0.5
    r = optimize_band(s, raw, ftol=1e-4, **kw)
    assert r.converged
    assert _share(r.images, s.dim) < 1e-8
    np.testing.assert_allclose((r.images[-1] - r.images[0]).mean(axis=0), 0.0, atol=1e-12)
    ref = glass_reference_band
    assert r.energies.max() - r.energies[0] == pytest.approx(ref.energies.max() - ref.energies[0], abs=1e-7)
    assert r.energies[-1] == pytest.approx(ref.energies[-1], abs=1e-10)  # the translated end is the same minimum


def test_double_well_of_a_drifted_pair_is_the_undrifted_one(glass):
    """find_path with x_b rigidly translated gives the double well of the untranslated pair
    (barrier, asymmetry, length, PR, end curvatures) and a translation share < 1e-8; a pure
    translation of a minimum is the same minimum (the box has no origin)."""
    s, xa, xb = glass
    ref = [dw for dw in find_path(s, xa, xb, images=32, ftol=1e-4).double_wells if dw.ok]
    got = [dw for dw in find_path(s, xa, _drifted(s, xb), images=32, ftol=1e-4).double_wells if dw.ok]
    assert ref and len(got) == len(ref)
    for a, b in zip(ref, got):
        assert b.translation_share < 1e-8 and _share(b.band.images, s.dim) < 1e-8
        assert b.V_a == pytest.approx(a.V_a, abs=1e-7)
        assert b.dV == pytest.approx(a.dV, abs=1e-10)
        assert b.d == pytest.approx(a.d, rel=1e-6)
        assert b.PR == pytest.approx(a.PR, rel=1e-6)
        assert b.curv_low == pytest.approx(a.curv_low, rel=1e-4)
        assert b.curv_high == pytest.approx(a.curv_high, rel=1e-4)
        assert "translation_share" in b.scalars() and "curv_low" in b.scalars()
    with pytest.raises(InputError, match="same minimum"):
        find_path(s, xa, _drifted(s, xa), images=8)


def test_analytic_surfaces_are_not_projected(mb_points):
    """Müller-Brown (landscapes.MullerBrown has dim = 2 but no box: one particle) keeps its
    motion: nothing is projected and the translation share is 0."""
    from twolevel.landscapes import MullerBrown
    from twolevel.paths import interpolate, translation_share

    mb = MullerBrown()
    band = interpolate(mb, mb_points["C"][0], mb_points["B"][0], 8)
    np.testing.assert_allclose(band[-1], mb_points["B"][0], rtol=0, atol=1e-15)
    assert translation_share(mb, band) == 0.0


# ----------------------------------------------------------------------------- end curvatures
def test_end_curvatures_match_a_dense_finite_difference_hessian(glass):
    """curv_low / curv_high = d^2 t^T H t with H a dense Hessian from central differences of the
    forces (built here) and t the band's one-sided second-order tangent at the end with the
    uniform translations removed (also built here)."""
    s, xa, xb = glass
    (dw,) = [w for w in find_path(s, xa, xb, images=32, ftol=1e-4).double_wells if w.ok]
    X = dw.band.images.reshape(32, -1)
    if dw.reversed:
        X = X[::-1]
    T = _translation_projector(s.n, s.dim)

    def tangent(P):
        h1 = np.linalg.norm(P[1] - P[0])
        s2 = h1 + np.linalg.norm(P[2] - P[1])
        t = (s2 / (h1 * (s2 - h1))) * (P[1] - P[0]) - (h1 / (s2 * (s2 - h1))) * (P[2] - P[0])
        t = t - T @ (T.T @ t)
        return t / np.linalg.norm(t)

    def dense_hessian(x, h=1e-5):
        x = x.reshape(-1)
        H = np.empty((x.size, x.size))
        for j in range(x.size):
            e = np.zeros(x.size)
            e[j] = h
            H[:, j] = -(s.energy_forces((x + e).reshape(-1, s.dim))[1].reshape(-1)
                        - s.energy_forces((x - e).reshape(-1, s.dim))[1].reshape(-1)) / (2 * h)
        return 0.5 * (H + H.T)

    d = np.linalg.norm(np.diff(X, axis=0), axis=1).sum()
    assert dw.d == pytest.approx(d, rel=1e-12)
    for x, P, got in ((X[0], X, dw.curv_low), (X[-1], X[::-1], dw.curv_high)):
        t = tangent(P)
        H = dense_hessian(x)
        assert got == pytest.approx(d * d * (t @ H @ t), rel=1e-6)
        assert got > 0
    # the force central difference (the path for potentials without a Hessian-vector product)
    from twolevel.paths import curvature_along, end_tangent

    class ForcesOnly:
        def energy_forces(self, x):
            return s.energy_forces(x)

    t = end_tangent(s, X, 0)
    assert curvature_along(ForcesOnly(), X[0].reshape(-1, s.dim), t) == pytest.approx(
        curvature_along(s, X[0].reshape(-1, s.dim), t), rel=1e-6)


def test_end_curvature_on_mueller_brown_is_the_curvature_along_the_mep(mb_points):
    """Müller-Brown, string method with 64 images between A and C: curv / d^2 at both minima is
    the softest Hessian eigenvalue of that minimum (analytic Hessian at the Newton minimum), the
    curvature along the MEP there: the steepest-descent path from the saddle S1, integrated here
    with scipy, arrives at each minimum along that eigenvector. Measured: 1.6e-9 (A) and 2.4e-5
    (C) relative with the quadratic tangent; the chord's errors are 1.5e-7 and 3.6e-4."""
    from scipy.integrate import solve_ivp

    from twolevel.paths import end_curvatures

    xs = mb_points["S1"][0]
    lam_s, V_s = np.linalg.eigh(MB.grad_hess(xs)[1])
    res = find_path(MB, mb_points["A"][0], mb_points["C"][0], images=64, method="string", ftol=1e-6,
                    dt=1e-3, max_move=0.01, split=False)
    (dw,) = res.double_wells
    assert dw.ok and dw.band.converged and not dw.reversed  # A is the deeper minimum
    d = np.linalg.norm(np.diff(dw.band.images, axis=0), axis=1).sum()
    for key, got in (("A", dw.curv_low), ("C", dw.curv_high)):
        xm = mb_points[key][0]
        lam, vec = np.linalg.eigh(MB.grad_hess(xm)[1])
        u = V_s[:, 0] * np.sign(V_s[:, 0] @ (xm - xs))

        def flow(_, p):
            g = MB.grad_hess(p)[0]
            return -g / np.linalg.norm(g)

        near = lambda _, p: np.linalg.norm(p - xm) - 1e-4  # noqa: E731
        near.terminal = True
        sd = solve_ivp(flow, (0, 10), xs + 1e-6 * u, rtol=1e-10, atol=1e-12, events=near, max_step=1e-2)
        arrive = sd.y[:, -1] - xm
        assert abs(vec[:, 0] @ arrive) / np.linalg.norm(arrive) > 0.999  # along the softest mode
        assert got / d ** 2 == pytest.approx(lam[0], rel=1e-4)
    # the chord (first-order tangent) is worse, as documented
    lo, hi = end_curvatures(MB, dw.band.images, tangent="chord")
    assert abs(hi / d ** 2 / mb_points["C"][2][0] - 1) > abs(dw.curv_high / d ** 2 / mb_points["C"][2][0] - 1)
    with pytest.raises(InputError, match="tangent"):
        end_curvatures(MB, dw.band.images, tangent="spline")


def test_coarse_to_fine_lands_on_the_mueller_brown_saddle(mb_points):
    """A 5-image band relaxed first, then the 16-image band started on it: the climbing image
    is on the Newton saddle S2, and the evaluations of both stages are counted."""
    from twolevel.paths import coarse_to_fine, interpolate

    xs, es, _ = mb_points["S2"]
    band = interpolate(MB, mb_points["C"][0], mb_points["B"][0], 16)
    calls = {"n": 0}

    class Counted(MullerBrown):
        def energy_forces(self, x):
            calls["n"] += 1
            return super().energy_forces(x)

    r = coarse_to_fine(Counted(), band, coarse=5, ftol=1e-6, **MB_BAND)
    assert r.converged and r.images.shape == band.shape
    assert np.linalg.norm(r.saddle - xs) < 1e-6
    assert abs(r.energies.max() - es) < 1e-9 * abs(es)
    assert r.force_evaluations == calls["n"]
    with pytest.raises(InputError, match="coarse"):
        coarse_to_fine(MB, band, coarse=16)
