"""Ultrastable limit: cooled DPLM glasses give c1, c3 of Eq. (A19) (000 Fig. 1, Fig. 7), TLS obey Boltzmann."""

import numpy as np
import pytest

from twolevel.lattice import analysis, gdist, theory
from twolevel.lattice.model import DPLM
from twolevel.lattice.protocol import CoolingOptions, cool

T_I = 0.05
FIT = (0.004, 0.03)


def _cool_samples(L, phi, n, nu, seed0):
    opts = CoolingOptions(nu=nu, T_end=0.003, dT_rel=0.01, returns_from_snapshots=False, D_every=10**9)
    cvs = []
    for s in range(n):
        m = DPLM("square", L, phi, gdist.uniform(), seed=seed0 + s)
        m.start(T_I)
        r = cool(m, T_I, opts)
        assert r.meta["E_running_end"] == pytest.approx(r.meta["E_exact_end"], abs=1e-8)
        cvs.append(analysis.cv_fluctuation(r.steps["T"], r.steps["E_var"], m.N))
    return r.steps["T"], np.array(cvs)


@pytest.mark.slow
def test_c1_c3_match_A19_and_scale_with_phi():
    # Cooling from T_I = 0.05 (far below T_g ~ 0.15): fluctuation C_v averaged over samples.
    # Faster cooling (nu = 1) than the paper keeps CI short; Delta E^max = T ln(0.1 w0 T/nu)
    # stays > 6 T, so c1, c3 are unaffected (the paper protocol is in validation/).
    fits = {}
    for phi, n in ((0.01, 8), (0.02, 4)):
        T, cvs = _cool_samples(400, phi, n, 1.0, 5000 + int(phi * 1e4))
        fit = analysis.fit_samples(T, cvs, *FIT)
        c1, c3 = theory.closed_form_c(T_I, phi)  # 000 Eq. (A19)
        print(phi, fit, c1, c3)
        assert fit["c1_err"] < 0.2 * c1
        assert abs(fit["c1"] - c1) < 3 * fit["c1_err"]
        assert abs(fit["c3"] - c3) < 3 * fit["c3_err"] + 0.1 * c3  # 0.1 c3: higher orders in the window
        fits[phi] = fit
    # c1 proportional to phi_v (000 Fig. 7)
    r = fits[0.02]["c1"] / fits[0.01]["c1"]
    rerr = r * np.hypot(fits[0.02]["c1_err"] / fits[0.02]["c1"], fits[0.01]["c1_err"] / fits[0.01]["c1"])
    assert abs(r - 2.0) < 3 * rerr


def test_tls_boltzmann_at_fixed_T():
    # 000 Fig. 3(b): the two levels of a TLS are populated as exp(-dE/T)
    m = DPLM("square", 200, 0.01, gdist.uniform(), seed=11)
    m.start(0.04)
    T = 0.03
    m.set_temperature(T)
    m.advance(np.inf, 20000)
    m.begin_map()
    m.advance(np.inf, 1_500_000)
    w = m.end_map()
    cls = analysis.classify_voids(w, m.slot_dE(), m.void_site, m.geom.nbr, T)
    tls = cls["tls"]
    assert cls["n_tls"] >= 10 and cls["n_frozen"] > cls["n_tls"] > cls["n_multi"]
    good = tls[np.minimum(tls["p1"], tls["p2"]) > 1e-5]  # at least ~100 visits of the rarer level
    assert good.size >= 10
    lhs = np.log(good["p2"] / good["p1"])
    assert np.allclose(lhs, -good["dE21"] / T, atol=0.3)
    assert np.median(np.abs(lhs + good["dE21"] / T)) < 0.1
    # occupation map: probabilities sum to the number of voids
    assert w["p_void"].sum() == pytest.approx(m.nv, rel=1e-9)
