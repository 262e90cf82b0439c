"""Elastic moduli, sound speeds and the Debye frequency of a glass at T = 0.

- :func:`born_nonaffine_shear`: the shear modulus of the inherent structure from its Hessian,
  G = (d^2U/dgamma^2 - Xi^T H^+ Xi) / V (Born term minus the non-affine correction). This is
  the tangent modulus d sigma_xy / d gamma at gamma = 0 exactly (no finite strain), and the
  default everywhere the harmonic route needs G (002_b660eabf4d6c7be7.txt Sec. IV C, 004 SI).
- :func:`aqs_shear`: the same G by athermal quasistatic simple shear under Lees-Edwards
  boundary conditions (tilt the box, move the particles affinely, minimise, record sigma_xy;
  G = slope of sigma_xy(gamma), 002 Sec. IV C, Eq. (17)). Kept as an independent check: it
  refuses (status "nonlinear" or "plastic", modulus NaN) when sigma(gamma) is not a straight
  line over the strain window, as happens before a plastic event (softening without a drop).
- :func:`shear_modulus`: G by either method, with the AQS check attached.
- :func:`quasistatic_bulk`: bulk modulus K = -V dP/dV by quasistatic hydrostatic
  strain with periodic boundaries, 002 Eq. (17).
- :func:`sound_speeds`, :func:`debye_frequency` (002 Eq. (19), 004 SI),
  :func:`first_transverse_frequency` (002 Eq. (18)) and :func:`debye_scaled`
  (the 004 SI scaling of omega_D across preparations from the moduli).

All in reduced units with unit masses (m = 1).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import scipy.sparse.linalg as spla

from ..config import Configuration
from ..engine import ParticleSystem, minimize
from ..errors import ConvergenceError, InputError, PhysicsError
from .sheared import ShearedSystem


#: AQS defaults: strain window and steps small enough that sigma_xy(gamma) is a straight line on
#: small glasses (measured: relative curvature 1e-5 - 1e-4 at gamma_max = 1e-6, docs/harmonic.md).
AQS_GAMMA_MAX = 1e-6
AQS_STEPS = 5
#: Linearity criterion of the AQS slope: the tangent slope of a quadratic fit of sigma_xy(gamma)
#: may change by at most this fraction of G across the fitted window. For a quadratic curve the
#: least-squares line then has the tangent slope at gamma = 0 to within lin_tol / 2 = 1e-4.
AQS_LIN_TOL = 2e-4


@dataclass
class ModulusResult:
    """A modulus from a quasistatic stress-strain curve.

    ``status``: "ok" (the slope is reported), "nonlinear" (sigma(gamma) curves by more than
    ``lin_tol`` over the window: no slope, ``modulus`` is NaN) or "plastic" (a stress drop before
    the third point: no slope). ``nonlinearity`` = |change of the tangent slope across the fitted
    window| / |slope|, from a quadratic fit; ``slope`` is the least-squares slope whatever the
    status (for diagnostics only).
    """

    modulus: float
    stderr: float
    strain: np.ndarray          # applied strains (gamma, or ln(V/V0) for the bulk)
    stress: np.ndarray          # sigma_xy, or pressure P
    energy: np.ndarray
    n_fit: int                  # points of the elastic branch used in the fit
    plastic_event: bool         # a stress/energy drop was seen (fit stops before it)
    kind: str = "shear"
    meta: dict = field(default_factory=dict)
    status: str = "ok"
    nonlinearity: float = 0.0
    slope: float = float("nan")
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("strain", "stress", "energy"):
            d[k] = np.asarray(d[k]).tolist()
        return d


def _relax(pot, x, ftol, max_steps):
    res = minimize(pot, x, method="lbfgs", ftol=ftol, max_steps=max_steps)
    if not res.converged:
        res = minimize(pot, res.x, method="fire", ftol=ftol, max_steps=max_steps)
    if not res.converged:
        raise ConvergenceError(f"minimisation did not reach max force {ftol:g} "
                               f"(got {res.max_force:.3g} after {res.iterations} steps)")
    return res


def _linear_fit(x, y):
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    A = np.vstack([x, np.ones_like(x)]).T
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    n = len(x)
    if n > 2:
        resid = y - A @ coef
        s2 = float(resid @ resid) / (n - 2)
        var = s2 / max(float(((x - x.mean()) ** 2).sum()), 1e-300)
        err = float(np.sqrt(var))
    else:
        err = float("nan")
    return float(coef[0]), err


def nonlinearity(strain, stress) -> float:
    """Relative change of the tangent slope of sigma(gamma) across the window.

    Quadratic least squares sigma = a + b t + c t^2 (t = gamma - gamma_0, >= 3 points):
    |sigma'(t_end) - sigma'(0)| / |slope of the straight-line fit| = |2 c t_end| / |G_lin|.
    Zero for a straight line; for a quadratic curve the straight-line slope differs from the
    tangent at the first point by half of it.
    """
    g = np.asarray(strain, float)
    s = np.asarray(stress, float)
    if len(g) < 3:
        return float("nan")
    t = g - g[0]
    span = float(t[-1])
    if span == 0:
        return float("nan")
    u = t / span                                   # conditioning: u in [0, 1]
    c2, c1, _ = np.polyfit(u, s, 2)
    lin = np.polyfit(u, s, 1)[0]
    return float(abs(2 * c2) / max(abs(lin), 1e-300))


def _elastic_branch(strain, stress, energy, rel_drop):
    """Number of leading points before the first plastic event (stress drop against the trend)."""
    n = len(strain)
    if n < 3:
        return n, False
    ds = np.diff(stress)
    scale = max(np.median(np.abs(ds)), 1e-300)
    for k in range(1, n - 1):
        # a drop: the stress increment turns against the elastic slope by more than rel_drop
        if np.sign(ds[k]) != np.sign(ds[0]) and abs(ds[k]) > rel_drop * scale:
            return k + 1, True
    return n, False


def aqs_shear(conf: Configuration, model=None, gamma_max: float = AQS_GAMMA_MAX, steps: int = AQS_STEPS,
              ftol: float = 1e-11, max_steps: int = 100000, rel_drop: float = 0.5,
              x0: np.ndarray | None = None, lin_tol: float = AQS_LIN_TOL) -> ModulusResult:
    """Shear modulus by athermal quasistatic simple shear with Lees-Edwards boundaries.

    The glass is first relaxed in the untilted box, then sheared in ``steps`` steps up to
    ``gamma_max`` (affine move x_i += dgamma y_i and box tilt, then minimisation to max force
    ``ftol``). G is the slope of sigma_xy(gamma) on the elastic branch before the first stress
    drop (002_b660eabf4d6c7be7.txt Eq. (17), G = sigma_xy / gamma_xy), with its standard error.

    The slope is reported only where sigma(gamma) is a straight line: when the tangent slope of
    a quadratic fit changes by more than ``lin_tol`` x G across the fitted branch (see
    :func:`nonlinearity`) the result has status "nonlinear" and modulus NaN; a stress drop before
    the third point gives status "plastic". Both happen before plastic events, where sigma(gamma)
    softens (the lowest Hessian eigenvalue goes to zero); a smaller ``gamma_max`` helps unless the
    glass sits on the instability. :func:`born_nonaffine_shear` has no such limitation.
    """
    if not (np.isfinite(gamma_max) and gamma_max > 0 and int(steps) >= 2 and lin_tol > 0):
        raise InputError(f"AQS shear needs gamma_max > 0, steps >= 2 and lin_tol > 0, got {gamma_max}, {steps}, "
                         f"{lin_tol}")
    steps = int(steps)
    sys_ = ShearedSystem(conf, model)
    x = conf.positions.copy() if x0 is None else np.array(x0, dtype=float).reshape(conf.positions.shape)
    x = _relax(sys_, x, ftol, max_steps).x
    dg = gamma_max / steps
    gam, sig, en = [0.0], [sys_.stress_xy(x)], [sys_.energy(x)]
    for _ in range(steps):
        x = sys_.shear_affinely(x, dg)
        x = _relax(sys_, x, ftol, max_steps).x
        gam.append(sys_.strain)
        sig.append(sys_.stress_xy(x))
        en.append(sys_.energy(x))
    gam, sig, en = map(np.asarray, (gam, sig, en))
    meta = {"gamma_max": gamma_max, "steps": steps, "ftol": ftol, "lin_tol": lin_tol}
    nfit, plastic = _elastic_branch(gam, sig, en, rel_drop)
    if nfit < 3:
        msg = (f"AQS shear: stress drop before the third strain step (gamma_max {gamma_max:g}, {steps} steps); "
               f"use a smaller gamma_max")
        return ModulusResult(float("nan"), float("nan"), gam, sig, en, nfit, plastic, "shear", meta,
                             status="plastic", nonlinearity=float("nan"), message=msg)
    g, err = _linear_fit(gam[:nfit], sig[:nfit])
    nl = nonlinearity(gam[:nfit], sig[:nfit])
    if not nl <= lin_tol:
        msg = (f"AQS shear: sigma_xy(gamma) is not linear up to gamma {gam[nfit - 1]:.3g} (tangent slope changes "
               f"by {nl:.2g} of G > {lin_tol:g}); no slope reported; use a smaller gamma_max or "
               f"born_nonaffine_shear")
        return ModulusResult(float("nan"), float("nan"), gam, sig, en, nfit, plastic, "shear", meta,
                             status="nonlinear", nonlinearity=nl, slope=g, message=msg)
    return ModulusResult(g, err, gam, sig, en, nfit, plastic, "shear", meta, status="ok", nonlinearity=nl,
                         slope=g)


def quasistatic_bulk(conf: Configuration, model=None, strain_max: float = 1e-3, steps: int = 4,
                     ftol: float = 1e-11, max_steps: int = 100000,
                     x0: np.ndarray | None = None) -> ModulusResult:
    """Bulk modulus K = -V dP/dV by quasistatic hydrostatic strain (002 Eq. (17)).

    Box and positions are scaled by (1 + e) for e in [-strain_max, strain_max] (2 steps + 1
    points), each state relaxed; K is minus the slope of P against ln(V / V0) = d ln(1 + e).
    """
    if not (strain_max > 0 and steps >= 1):
        raise InputError(f"bulk strain needs strain_max > 0 and steps >= 1, got {strain_max}, {steps}")
    x = conf.positions.copy() if x0 is None else np.array(x0, dtype=float).reshape(conf.positions.shape)
    ps0 = ParticleSystem(conf, model)
    x = _relax(ps0, x, ftol, max_steps).x
    eps = np.linspace(-strain_max, strain_max, 2 * steps + 1)
    lnv, p, en = [], [], []
    for e in eps:
        c = Configuration(x * (1 + e), conf.box * (1 + e), conf.types, conf.diameters, conf.model,
                          conf.meta)
        ps = ParticleSystem(c, ps0.model)
        xe = _relax(ps, c.positions, ftol, max_steps).x
        lnv.append(conf.dim * np.log1p(e))
        p.append(ps.pressure(xe))
        en.append(ps.energy(xe))
    lnv, p, en = map(np.asarray, (lnv, p, en))
    slope, err = _linear_fit(lnv, p)
    return ModulusResult(-slope, err, lnv, p, en, len(eps), False, "bulk",
                         {"strain_max": strain_max, "steps": steps, "ftol": ftol})


def born_nonaffine_shear(conf: Configuration, model=None, x: np.ndarray | None = None,
                         relax: bool = True, ftol: float = 1e-11, dense_max: int = 4000,
                         zero_tol: float = 1e-8) -> dict:
    """G = G_Born - Xi^T H^+ Xi / V from the Hessian at the inherent structure.

    The tangent shear modulus d sigma_xy / d gamma at gamma = 0 under simple shear with the
    particles relaxed (the Schur complement of the Hessian in (positions, strain)): exact, no
    finite strain, hence the harmonic route's default (002_b660eabf4d6c7be7.txt Sec. IV C
    defines G = sigma_xy / gamma_xy, Eq. (17); this is its gamma -> 0 limit).

    H^+ is the pseudo-inverse on the complement of the zero modes (the d translations and
    any rattlers, |lambda| <= zero_tol x lambda_max): dense eigendecomposition up to
    ``dense_max`` degrees of freedom, MINRES on the projected system beyond. A negative
    eigenvalue below that (the structure is not a minimum) is a PhysicsError. Returns
    dict(G, G_born, G_nonaffine, stress, x, lambda_min) (lambda_min the lowest non-zero
    eigenvalue, None on the MINRES path).
    """
    x = conf.positions.copy() if x is None else np.array(x, dtype=float).reshape(conf.positions.shape)
    ps = ParticleSystem(conf, model)
    if relax:
        x = _relax(ps, x, ftol, 100000).x
    sh = ShearedSystem(conf, ps.model)
    born, xi = sh.born_xi(x)
    stress = sh.stress_xy(x)
    H = ps.hessian(x)
    b = xi.ravel()
    nd = b.size
    # remove the translation components (Xi sums to zero per component already, up to rounding)
    b = (b.reshape(-1, conf.dim) - b.reshape(-1, conf.dim).mean(axis=0)).ravel()
    lam_min = None
    if nd <= dense_max:
        w, v = np.linalg.eigh(H.toarray())
        tol = zero_tol * max(1.0, float(w[-1]))
        if w[0] < -tol:
            raise PhysicsError(f"Born - non-affine shear modulus: the structure is not a minimum (Hessian eigenvalue "
                               f"{w[0]:.3g}); relax it first")
        keep = w > tol
        c = v[:, keep].T @ b
        na = float(np.sum(c * c / w[keep]))
        lam_min = float(w[keep][0])
    else:
        u, info = spla.minres(H, b, rtol=1e-10, maxiter=20 * nd)
        if info != 0:
            raise ConvergenceError(f"MINRES for the non-affine displacement did not converge (info {info})")
        na = float(b @ u)
    vol = conf.volume
    return {"G": (born - na) / vol, "G_born": born / vol, "G_nonaffine": na / vol, "stress": stress,
            "x": x, "lambda_min": lam_min}


#: An AQS slope that passed its linearity check must agree with Born - non-affine to this
#: relative tolerance (measured agreement 1e-6 - 1e-4 on small PSS glasses, docs/harmonic.md).
AQS_AGREE_TOL = 1e-3


def shear_modulus(conf: Configuration, model=None, method: str = "born", aqs_check: bool = True,
                  gamma_max: float = AQS_GAMMA_MAX, steps: int = AQS_STEPS, ftol: float = 1e-11,
                  lin_tol: float = AQS_LIN_TOL, agree_tol: float = AQS_AGREE_TOL) -> dict:
    """The shear modulus G of one glass, by Born minus non-affine (default) or AQS, with a check.

    ``method="born"``: G from :func:`born_nonaffine_shear`; with ``aqs_check`` an AQS run
    (``gamma_max``, ``steps``) is attached as a check. ``method="aqs"``: G is the AQS slope
    (002 Sec. IV C as printed); a refused slope (not linear, or a drop) is a ConvergenceError,
    and Born minus non-affine is the check. Returns a JSON-able dict: method, G, G_err (0 for
    Born - non-affine: exact up to round-off; the AQS fit error otherwise), G_born, G_nonaffine,
    G_bn, lambda_min, sigma_xy (residual shear stress), aqs (ModulusResult.to_dict() or None), aqs_status ("ok", "nonlinear",
    "plastic" or "skipped"), aqs_G, aqs_rel_diff = aqs_G / G_bn - 1 and aqs_agrees (None
    unless the AQS slope was reported).
    """
    if method not in ("born", "aqs"):
        raise InputError(f"shear modulus method must be 'born' or 'aqs', got {method!r}")
    bn = born_nonaffine_shear(conf, model, ftol=ftol)
    out = {"method": method, "G_bn": bn["G"], "G_born": bn["G_born"], "G_nonaffine": bn["G_nonaffine"],
           "lambda_min": bn["lambda_min"], "sigma_xy": bn["stress"], "aqs": None, "aqs_status": "skipped",
           "aqs_G": None, "aqs_rel_diff": None, "aqs_agrees": None}
    if aqs_check or method == "aqs":
        relaxed = Configuration(bn["x"], conf.box, conf.types, conf.diameters, conf.model, conf.meta)
        aq = aqs_shear(relaxed, model, gamma_max=gamma_max, steps=steps, ftol=ftol, lin_tol=lin_tol)
        out["aqs"] = aq.to_dict()
        out["aqs_status"] = aq.status
        if aq.ok:
            out["aqs_G"] = aq.modulus
            out["aqs_rel_diff"] = aq.modulus / bn["G"] - 1 if bn["G"] != 0 else float("inf")
            out["aqs_agrees"] = bool(abs(aq.modulus - bn["G"]) <= agree_tol * abs(bn["G"]))
        if method == "aqs":
            if not aq.ok:
                raise ConvergenceError(aq.message)
            out["G"], out["G_err"] = aq.modulus, aq.stderr
            return out
    out["G"], out["G_err"] = bn["G"], 0.0
    return out


# -- sound speeds and the Debye frequency ---------------------------------------------------

def longitudinal_modulus(G: float, K: float, dim: int = 3) -> float:
    """M = K + 2 (d - 1) / d G (K + 4G/3 in 3D, K + G in 2D)."""
    return K + 2.0 * (dim - 1) / dim * G


def sound_speeds(G: float, K: float, density: float, mass: float = 1.0, dim: int = 3):
    """c_t = sqrt(G / (m rho)), c_l = sqrt((K + 4G/3) / (m rho)) (002 Sec. IV C, 004 SI)."""
    if G <= 0 or longitudinal_modulus(G, K, dim) <= 0 or density <= 0 or mass <= 0:
        raise InputError(f"sound speeds need G > 0, K + 2(d-1)G/d > 0, rho > 0, m > 0; got G={G}, K={K}, "
                         f"rho={density}, m={mass}")
    ct = np.sqrt(G / (mass * density))
    cl = np.sqrt(longitudinal_modulus(G, K, dim) / (mass * density))
    return float(ct), float(cl)


def debye_frequency(ct: float, cl: float, density: float, dim: int = 3) -> float:
    """Debye frequency.

    3D: omega_D = (18 pi^2 rho / (2 c_t^-3 + c_l^-3))^(1/3)   (002_b660eabf4d6c7be7.txt Eq. (19)).
    2D (same counting, d N modes in a disc of radius k_D per branch):
        omega_D = (8 pi rho / (c_t^-2 + c_l^-2))^(1/2).
    """
    if dim == 3:
        return float((18 * np.pi**2 * density / (2 * ct**-3 + cl**-3)) ** (1 / 3))
    if dim == 2:
        return float(np.sqrt(8 * np.pi * density / (ct**-2 + cl**-2)))
    raise InputError(f"Debye frequency for d = 2 or 3, got {dim}")


def first_transverse_frequency(ct: float, box) -> float:
    """omega_t = 2 pi c_t / L (002 Eq. (18)); L the largest box side (the lowest plane wave)."""
    return float(2 * np.pi * ct / np.max(np.asarray(box, float)))


def debye_scaled(G: float, K: float, G0: float, K0: float, omega_D0: float, dim: int = 3) -> float:
    """omega_D of a preparation from that of a reference one at the same density (004 SI):

    omega_D = omega_D0 [(2 G^-3/2 + (K + 4G/3)^-3/2) / (2 G0^-3/2 + (K0 + 4G0/3)^-3/2)]^(-1/3)
    (3D; in 2D the exponents are -1 and -1/2, from the 2D Debye counting).
    """
    if dim == 3:
        num = 2 * G**-1.5 + longitudinal_modulus(G, K, 3) ** -1.5
        den = 2 * G0**-1.5 + longitudinal_modulus(G0, K0, 3) ** -1.5
        return float(omega_D0 * (num / den) ** (-1 / 3))
    num = G**-1.0 + longitudinal_modulus(G, K, 2) ** -1.0
    den = G0**-1.0 + longitudinal_modulus(G0, K0, 2) ** -1.0
    return float(omega_D0 * (num / den) ** -0.5)


@dataclass
class ElasticSummary:
    G: float
    G_err: float
    K: float
    K_err: float
    density: float
    dim: int
    c_t: float
    c_l: float
    omega_D: float
    omega_t: float
    box: list

    def to_dict(self) -> dict:
        return asdict(self)


def elastic_summary(G: float, K: float, conf: Configuration, G_err: float = 0.0,
                    K_err: float = 0.0) -> ElasticSummary:
    ct, cl = sound_speeds(G, K, conf.density, 1.0, conf.dim)
    return ElasticSummary(float(G), float(G_err), float(K), float(K_err), conf.density, conf.dim, ct, cl,
                          debye_frequency(ct, cl, conf.density, conf.dim),
                          first_transverse_frequency(ct, conf.box), conf.box.tolist())


def elastic_constants(conf: Configuration, model=None, method: str = "born", aqs_check: bool = False,
                      gamma_max: float = AQS_GAMMA_MAX, steps: int = AQS_STEPS, bulk_strain: float = 1e-3,
                      ftol: float = 1e-11):
    """G (Born - non-affine by default, :func:`shear_modulus`) + hydrostatic strain K
    -> (ElasticSummary, shear dict of :func:`shear_modulus`, bulk ModulusResult)."""
    sh = shear_modulus(conf, model, method=method, aqs_check=aqs_check, gamma_max=gamma_max, steps=steps, ftol=ftol)
    bk = quasistatic_bulk(conf, model, strain_max=bulk_strain, ftol=ftol)
    return elastic_summary(sh["G"], bk.modulus, conf, sh["G_err"], bk.stderr), sh, bk
