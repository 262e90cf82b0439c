"""Ring-polymer instanton splittings against exact references (twolevel.instanton).

Physics asserted here comes from outside our instanton code: exact splittings from a sinc-DVR
diagonalisation (Colbert & Miller 1992) and from twolevel.quantum's 1D solver, separability of
uncoupled problems, the reduced-mass identity of a two-particle system, and the semiclassical
accuracy of the instanton (error O(hbar omega / Vb), Richardson & Althorpe, JCP 134, 054109 (2011)).
"""

from __future__ import annotations

import numpy as np
import pytest

from twolevel import quantum
from twolevel.errors import InputError
from twolevel.instanton import Coupled2D, Quartic1D, dvr_levels, instanton

A1, B1 = np.array([-1.0]), np.array([1.0])


def _exact_1d(model, m):
    lv = dvr_levels(model, m, n_x=300, x_max=2.3)
    return lv[1] - lv[0]


def test_dvr_agrees_with_quantum_1d():
    """Two exact solvers of the same 1D problem: the quartic between the minima, continued
    harmonically beyond them (what twolevel.quantum solves for a profile ending at minima)."""
    m = 32.0
    model = Quartic1D(1.0, harmonic_outside=True)
    xi = np.linspace(0.0, 1.0, 129)
    x = -1 + 2 * xi
    q = quantum.tunnelling(xi, (x * x - 1) ** 2, 2.0, m, curv_low=32.0, curv_high=32.0)
    assert q.E == pytest.approx(_exact_1d(model, m), rel=1e-5)


@pytest.mark.parametrize("m, bound", [(32.0, 0.11), (64.0, 0.075)])
def test_1d_quartic_semiclassical_accuracy(m, bound):
    """Symmetric quartic: the instanton splitting is high by ~0.2 hbar omega / Vb (measured
    10.6 % at Vb/hbar omega = 2, 7.2 % at 2.83), the O(hbar) error of the semiclassical limit."""
    exact = _exact_1d(Quartic1D(1.0), m)
    r = instanton(Quartic1D(1.0), A1, B1, m, n_beads=64)
    assert r.status == "ok"
    err = r.Delta_0 / exact - 1
    assert 0 < err < bound


def test_uncoupled_2d_is_1d():
    """c = 0: the transverse mode separates and its determinant cancels exactly."""
    m = 32.0
    r1 = instanton(Quartic1D(1.0), A1, B1, m, n_beads=48, tau=50.0)
    model = Coupled2D("curved", Vb=1.0, omega=1.0, c=0.0)
    r2 = instanton(model, *model.minima(), m, n_beads=48, tau=50.0)
    assert r2.Delta_0 == pytest.approx(r1.Delta_0, rel=1e-6)
    assert r2.S == pytest.approx(r1.S, rel=1e-9)


def test_convergence_with_beads():
    """At fixed tau the discretised splitting converges as the bead count grows."""
    m = 32.0
    model = Coupled2D("curved", Vb=1.0, omega=1.0, c=0.3)
    d = [instanton(model, *model.minima(), m, n_beads=p, tau=40.0, path0=model.mep(33)).Delta_0
         for p in (32, 64, 128)]
    assert abs(d[2] / d[1] - 1) < abs(d[1] / d[0] - 1)
    assert abs(d[2] / d[1] - 1) < 0.01


def test_curved_coupling_against_dvr_and_mep():
    """Symmetric mode coupling (curved MEP): the instanton cuts the corner and is within a few
    percent of the exact splitting, where the 1D MEP result is off by much more."""
    from twolevel.instanton.adiabatic import profile, tunnelling_1d

    m = 32.0
    model = Coupled2D("curved", Vb=1.0, omega=1.0, c=0.5)
    lv = dvr_levels(model, m, n_x=44, n_y=32)
    exact = lv[1] - lv[0]
    r = instanton(model, *model.minima(), m, n_beads=64, path0=model.mep(33))
    assert r.status == "ok"
    mep = model.mep(65)
    pr = profile(model, mep)
    e_mep = tunnelling_1d(pr["xi"], pr["V"], pr["d"], m).E
    err_inst = abs(r.Delta_0 / exact - 1)
    err_mep = abs(e_mep / exact - 1)
    assert err_inst < 0.15
    assert err_mep > 2 * err_inst


def test_adiabatic_zero_point_energy_on_fewer_images():
    """The transverse zero-point energy diagonalised at 17 of 65 images and splined in arc length
    is the every-image one on a smooth path (curved 2D model: omega_perp changes along the MEP),
    ends exact; fewer than 3 points is refused in one line."""
    from twolevel.instanton.adiabatic import transverse_zpe, zpe_nodes

    model = Coupled2D("curved", Vb=1.0, omega=1.0, c=0.5)
    mep = model.mep(65)
    full, _ = transverse_zpe(model, mep, 32.0)
    few, _ = transverse_zpe(model, mep, 32.0, points=17)
    assert np.ptp(full) > 1e-3                      # the profile is not flat
    assert np.abs(few - full).max() < 1e-3 * np.ptp(full) + 1e-12
    assert few[0] == full[0] and few[-1] == full[-1]
    nodes = zpe_nodes(65, 17)
    assert nodes[0] == 0 and nodes[-1] == 64 and len(nodes) == 17
    assert np.array_equal(zpe_nodes(10, 40), np.arange(10))
    with pytest.raises(InputError, match="zpe_points must be >= 3"):
        transverse_zpe(model, mep, 32.0, points=2)


class _Pair:
    """Two particles of mass m in a periodic 2D box interacting through V(r2 - r1) = model(r):
    the relative motion is the model with the reduced mass m / 2; the two translations are zero
    modes."""

    dim = 2

    def __init__(self, model, box=20.0):
        self.model = model
        self.box = np.array([box, box])

    def _r(self, x):
        x = np.asarray(x, float).reshape(2, 2)
        d = x[1] - x[0]
        return d - self.box * np.round(d / self.box)

    def energy_forces(self, x):
        r = self._r(x)
        g = self.model.gradient(r)
        return self.model.energy(r), np.array([g, -g])

    def hessian(self, x):
        H = self.model.hessian(self._r(x))
        return np.block([[H, -H], [-H, H]])

    def distance(self, x, y):
        d = np.asarray(y, float) - np.asarray(x, float)
        return d - self.box * np.round(d / self.box)


def test_two_particles_reduced_mass_and_translation_invariance():
    m = 64.0
    model = Coupled2D("linear", Vb=1.0, omega=1.0, c=0.3)
    a, b = model.minima()
    ref = instanton(model, a, b, m / 2, n_beads=48, tau=60.0)
    pair = _Pair(model)
    xa = np.array([[3.0, 4.0], [3.0, 4.0] + a])
    xb = np.array([[3.0, 4.0], [3.0, 4.0] + b])
    r1 = instanton(pair, xa, xb, m, n_beads=48, tau=60.0)
    shift = np.array([7.3, -2.1])
    r2 = instanton(pair, xa + shift, xb + shift + np.array([0.4, 0.0]), m, n_beads=48, tau=60.0)
    assert r1.status == r2.status == "ok"
    assert r1.Delta_0 == pytest.approx(ref.Delta_0, rel=1e-5)
    assert r2.Delta_0 == pytest.approx(r1.Delta_0, rel=1e-8)


def test_not_converged_gets_status_not_exception():
    model = Coupled2D("curved", Vb=1.0, omega=1.0, c=0.3)
    r = instanton(model, *model.minima(), 32.0, n_beads=32, max_iter=2, newton_steps=0)
    assert r.status == "not_converged"
    assert np.isnan(r.Delta_0) and np.isnan(r.E)


def test_bad_input():
    model = Coupled2D("curved")
    with pytest.raises(InputError):
        instanton(model, *model.minima(), -1.0)
    with pytest.raises(InputError):
        instanton(model, np.zeros(2), np.zeros(3), 10.0)
    with pytest.raises(InputError):
        Coupled2D("quadratic")


def test_failed_instanton_keeps_1d_result():
    from twolevel.instanton.stage import best_estimate

    rec = {"E_1d": 2e-3, "Delta_0_1d": 1e-4, "E_inst": float("nan"), "Delta_0_inst": float("nan"),
           "status_inst": "not_converged"}
    b = best_estimate(rec)
    assert b["E_best"] == 2e-3 and b["E_source"] == "1d"
    rec.update(E_inst=1.5e-3, Delta_0_inst=2e-4, status_inst="active_space")   # an estimate only
    assert best_estimate(rec)["E_best"] == 2e-3
    rec.update(status_inst="ok")
    b = best_estimate(rec)
    assert b["E_best"] == 1.5e-3 and b["ratio_D0_inst_1d"] == pytest.approx(2.0)


def test_instanton_section_is_optional():
    from twolevel.pipeline import config as C
    from twolevel.pipeline.stages import default_stages

    st = {s.name: s for s in default_stages()}["instanton"]
    assert st.requires == ("quantum",)
    assert C.StudyConfig.model_fields["instanton"].default is None
    p = C.InstantonParams(n_beads=32, limit=5)
    assert p.tau_factor == 30.0 and p.adiabatic
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        C.InstantonParams(n_beads=2)


def test_report_summary_counts_n0_each_way(tmp_path):
    """n0 = count in the window / (N width), per estimate; failed instantons fall back to 1D."""
    import pandas as pd

    from twolevel.instanton.stage import best_estimate
    from twolevel.report.instanton_figs import ratio_figure, summary

    rows = []
    for e1, ei, st in [(1e-3, 2e-3, "ok"), (1.5e-3, float("nan"), "not_converged"), (5e-3, 1e-3, "ok")]:
        r = {"E_1d": e1, "E_ad": e1, "Delta_0_1d": 1e-4, "E_inst": ei, "Delta_0_inst": 2e-4, "status_inst": st}
        r.update(best_estimate(r))
        rows.append(r)
    df = pd.DataFrame(rows)
    s = summary(df, n_particles=100, e_window=(0.0, 4e-3))
    assert s["status"] == {"ok": 2, "not_converged": 1}
    assert s["n0"]["E_1d"] == pytest.approx(2 / (100 * 4e-3))
    assert s["n0"]["E_best"] == pytest.approx(3 / (100 * 4e-3))
    assert s["ratio_E_inst_1d"]["q50"] == pytest.approx((2.0 + 0.2) / 2)  # median of the two converged
    assert ratio_figure(df, tmp_path / "r.png").exists()
    # the report shows the stage when a sample holds instanton/instanton.parquet, and only then
    from twolevel.report.html import _instanton_section

    assert _instanton_section(tmp_path / "run", tmp_path / "report") is None
    d = tmp_path / "run" / "pss" / "Tf_0.1" / "sample_0" / "instanton"
    d.mkdir(parents=True)
    ratios = df.assign(ratio_E_inst_1d=df["E_inst"] / df["E_1d"], ratio_D0_inst_1d=df["Delta_0_inst"] / df["Delta_0_1d"])
    ratios.to_parquet(d / "instanton.parquet")
    sec = _instanton_section(tmp_path / "run", tmp_path / "report")
    assert sec is not None and sec.figures[0][0].exists()
    assert "ok: 2" in sec.notes[0] and "not_converged: 1" in sec.notes[0]


def test_shallow_well_is_not_given_a_semiclassical_splitting():
    """Vb / hbar omega = 0.35 (m = 1): S < 3, outside the deep-tunnelling regime."""
    r = instanton(Quartic1D(1.0), A1, B1, 1.0, n_beads=32)
    assert r.S < 3 and r.status == "shallow" and np.isnan(r.E)


def test_select_takes_doublets_below_e_max_lowest_first():
    import pandas as pd

    from twolevel.instanton.stage import select

    df = pd.DataFrame({"dw_id": [0, 1, 2, 3], "units": ["pss-ar"] * 4, "is_tls": [False, True, False, False],
                       "tls_class": ["single_well", "doublet", "doublet", "doublet"],
                       "E": [1e-3, 2e-3, 5e-4, float("nan")]})
    assert select(df, "ar", e_max=1.0)["dw_id"].tolist() == [2, 1]
    assert select(df, "pss-ar")["dw_id"].tolist() == [1]
    with pytest.raises(InputError):
        select(df, "nip")


# ----------------------------------------------------------------------------- active space
M_AR = 4116.240087345603   # m~ of pss-ar (twolevel.units)


@pytest.fixture(scope="module")
def glass_dw():
    """One double well of a stored N = 200 PSS glass (benchmarks/data/pss_double_wells.npz, pair 0):
    the system, its two minima and a 16-image band between them."""
    from pathlib import Path

    from twolevel.config import Configuration
    from twolevel.engine import ParticleSystem
    from twolevel.paths import find_path

    z = np.load(Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "pss_double_wells.npz")
    s = ParticleSystem(Configuration(z["x_a"][0], z["box"][0], None, z["diameters"][0], "pss"))
    dw = find_path(s, z["x_a"][0], z["x_b"][0], images=16).ok[0]
    return s, dw.x_low, dw.x_high, dw.band.images[::-1] if dw.reversed else dw.band.images


def test_active_space_determinants_against_dense(glass_dw):
    """The active-space operator (block LU + border e_B) and the closed-form reference determinant
    equal the dense compressions W^T A W and W^T A_0 W of the full chain matrices."""
    from twolevel.instanton.rpi import _Chain, _initial_path, _smoothstep, active_set
    from twolevel.paths import _align

    s, xa, xb, img = glass_dw
    xb = _align(s, xa, xb)
    idx = active_set(s, xa, xb, 1.0)
    ch = _Chain(s, xa, xb, M_AR, 4, 40.0, None, idx)
    Q = _initial_path(ch, img, 0.05)
    A, eB = ch.operator(Q)
    assert eB is not None and 0 < idx.size < ch.f
    N, f, b = ch.N, ch.f, ch.b
    W = np.zeros((N * f, N * idx.size + 1))
    for i in range(N):
        W[i * f + idx, i * idx.size + np.arange(idx.size)] = 1.0
    W[:, -1] = eB.reshape(-1)
    _, _, d2s = _smoothstep(ch._u(Q))

    def chain_matrix(hessians):
        K = np.zeros((N * f, N * f))
        for i, H in enumerate(hessians):
            K[i * f:(i + 1) * f, i * f:(i + 1) * f] = (2 / b) * np.eye(f) + b * H
            if i:
                K[i * f:(i + 1) * f, (i - 1) * f:i * f] = K[(i - 1) * f:i * f, i * f:(i + 1) * f] = -np.eye(f) / b
        return K

    Hs = [s.hessian(Q[i].reshape(-1, 3) / ch.sm).toarray() / M_AR
          - (ch.dV * d2s[i] / ch.L ** 2) * np.outer(ch.e, ch.e) for i in range(N)]
    AW = W.T @ chain_matrix(Hs) @ W
    assert A.logdet == pytest.approx(np.linalg.slogdet(AW)[1], abs=1e-7)
    r = np.random.default_rng(0).normal(size=AW.shape[0])
    assert np.allclose(A.solve(r), np.linalg.solve(AW, r), rtol=1e-8, atol=1e-10)
    Ha = s.hessian(xa)
    A0W = W.T @ chain_matrix([Ha.toarray() / M_AR] * N) @ W
    mu = (2 - 2 * np.cos(np.pi * np.arange(1, N + 1) / (N + 1))) / b
    assert ch.reference_logdet(Ha, None, mu, eB) == pytest.approx(np.linalg.slogdet(A0W)[1], abs=1e-7)


def test_active_space_on_whole_system_equals_full(glass_dw):
    """An active radius that reaches every particle runs the active-space code on the whole
    system: the same Delta_0 as the full determinant."""
    s, xa, xb, img = glass_dw
    full = instanton(s, xa, xb, M_AR, n_beads=16, path0=img, active_radius=float("inf"))
    whole = instanton(s, xa, xb, M_AR, n_beads=16, path0=img, active_radius=100.0)
    assert full.status == whole.status == "ok"
    assert whole.n_active == full.n_active == 3 * s.n
    assert whole.log_Delta_0 == pytest.approx(full.log_Delta_0, abs=1e-6)
    assert whole.S == pytest.approx(full.S, abs=1e-8)


def test_active_space_rigid_translation_invariance(glass_dw):
    """A rigid translation of the whole glass (and of one minimum against the other) changes
    nothing with an active space either."""
    s, xa, xb, img = glass_dw
    r1 = instanton(s, xa, xb, M_AR, n_beads=16, path0=img, active_radius=1.5)
    shift = np.array([0.37, -1.1, 2.3])
    r2 = instanton(s, xa + shift, xb + shift + np.array([0.02, 0.0, -0.01]), M_AR, n_beads=16,
                   path0=img + shift, active_radius=1.5)
    assert r1.status == r2.status == "active_space"   # converged; the prefactor is the active space's
    assert 0 < r1.n_active < 3 * s.n
    assert r2.log_Delta_0 == pytest.approx(r1.log_Delta_0, abs=1e-6)
    assert r2.S == pytest.approx(r1.S, abs=1e-8)


def test_run_sample_end_to_end(glass_dw, tmp_path):
    """The stage on a sample directory laid out as the pipeline writes it (glass, bands.h5, the
    quantum table): one row per selected double well, the instanton's status, and E_best = E_1d
    unless the status is ok. (run_tables once shadowed its parameters with a loop variable.)"""
    import h5py
    import pandas as pd

    from twolevel import io, layout
    from twolevel.instanton.stage import run_sample

    s, xa, xb, img = glass_dw
    sample = tmp_path / "sample_0"
    for d in (layout.PREPARE, layout.PATHS, layout.QUANTUM):
        (sample / d).mkdir(parents=True)
    io.write(sample / layout.PREPARE / layout.GLASS, s.configuration(xa))
    with h5py.File(sample / layout.PATHS / layout.BANDS, "w") as f:
        g = f.create_group("7")
        g["x_low"], g["x_high"] = xa, xb
        g["band_disp"] = img.reshape(len(img), -1) - xa.reshape(1, -1)
    row = {"dw_id": 7, "units": "pss-ar", "m_tilde": M_AR, "E": 1e-3, "Delta": 9e-4, "Delta_0": 1e-4,
           "tls_class": "doublet", "dV": s.energy(xb) - s.energy(xa), "V_a": 0.1, "d": 0.5, "is_tls": True}
    pd.DataFrame([row]).to_parquet(sample / layout.QUANTUM / layout.TLS)
    df = run_sample(sample, e_max=1.0, n_beads=16, adiabatic=False, out=tmp_path / "i.parquet")
    assert list(df["dw_id"]) == [7] and (tmp_path / "i.parquet").is_file()
    r = df.iloc[0]
    assert r["status_inst"] in ("ok", "shallow", "not_two_state", "unstable", "not_converged", "no_soft_mode")
    assert r["E_best"] == (r["E_inst"] if r["status_inst"] == "ok" else 1e-3)
    with pytest.raises(Exception, match="n_bead"):
        run_sample(sample, n_bead=16)
