"""Elastic moduli, sound speeds and the Debye frequency of a glass at T = 0.

- :func:`aqs_shear`: shear modulus G by athermal quasistatic simple shear under
  Lees-Edwards boundary conditions (tilt the box, move the particles affinely,
  minimise, record sigma_xy; G = sigma_xy / gamma_xy from a linear fit of the
  elastic branch), 002_b660eabf4d6c7be7.txt Sec. IV C, Eq. (17).
- :func:`quasistatic_bulk`: bulk modulus K = -V dP/dV by quasistatic hydrostatic
  strain with periodic boundaries, 002 Eq. (17).
- :func:`born_nonaffine_shear`: the same G from the Hessian,
  G = (d^2U/dgamma^2 - Xi^T H^+ Xi) / V (Born term minus the non-affine correction).
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
from ..errors import ConvergenceError, InputError
from .sheared import ShearedSystem


@dataclass
class ModulusResult:
    """A modulus from a quasistatic stress-strain curve."""

    modulus: float
    stderr: float
    strain: np.ndarray          # applied strains (gamma, or ln(V/V0) for the bulk)
    stress: np.ndarray          # sigma_xy, or pressure P
    energy: np.ndarray
    n_fit: int                  # points of the elastic branch used in the fit
    plastic_event: bool         # a stress/energy drop was seen (fit stops before it)
    kind: str = "shear"
    meta: dict = field(default_factory=dict)

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


def aqs_shear(conf: Configuration, model=None, gamma_max: float = 1e-3, steps: int = 10,
              ftol: float = 1e-11, max_steps: int = 100000, rel_drop: float = 0.5,
              x0: np.ndarray | None = None) -> ModulusResult:
    """Shear modulus by athermal quasistatic simple shear with Lees-Edwards boundaries.

    The glass is first relaxed in the untilted box, then sheared in ``steps`` steps up to
    ``gamma_max`` (affine move x_i += dgamma y_i and box tilt, then minimisation to max force
    ``ftol``). G is the slope of sigma_xy(gamma) on the elastic branch before the first stress
    drop (002_b660eabf4d6c7be7.txt Eq. (17), G = sigma_xy / gamma_xy), with its standard error.
    """
    if not (gamma_max > 0 and steps >= 2):
        raise InputError(f"AQS shear needs gamma_max > 0 and steps >= 2, got {gamma_max}, {steps}")
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
    nfit, plastic = _elastic_branch(gam, sig, en, rel_drop)
    if nfit < 3:
        raise ConvergenceError(f"AQS shear: plastic event before the third strain step "
                               f"(gamma_max {gamma_max:g}, {steps} steps); use a smaller gamma_max")
    g, err = _linear_fit(gam[:nfit], sig[:nfit])
    return ModulusResult(g, err, gam, sig, en, nfit, plastic, "shear",
                         {"gamma_max": gamma_max, "steps": steps, "ftol": ftol})


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

    H^+ is the pseudo-inverse on the complement of the zero modes (the d translations and
    any rattlers): dense eigendecomposition up to ``dense_max`` degrees of freedom, MINRES
    on the projected system beyond. Returns dict(G, G_born, G_nonaffine, stress).
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
    if nd <= dense_max:
        w, v = np.linalg.eigh(H.toarray())
        keep = w > zero_tol * max(1.0, float(w[-1]))
        c = v[:, keep].T @ b
        na = float(np.sum(c * c / w[keep]))
    else:
        u, info = spla.minres(H, b, rtol=1e-10, maxiter=20 * nd)
        if info != 0:
            raise ConvergenceError(f"MINRES for the non-affine displacement did not converge (info {info})")
        na = float(b @ u)
    vol = conf.volume
    return {"G": (born - na) / vol, "G_born": born / vol, "G_nonaffine": na / vol, "stress": stress,
            "x": x}


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


def elastic_constants(conf: Configuration, model=None, gamma_max: float = 1e-3, steps: int = 10,
                      bulk_strain: float = 1e-3, ftol: float = 1e-11):
    """AQS shear + hydrostatic strain -> (ElasticSummary, shear ModulusResult, bulk ModulusResult)."""
    sh = aqs_shear(conf, model, gamma_max=gamma_max, steps=steps, ftol=ftol)
    bk = quasistatic_bulk(conf, model, strain_max=bulk_strain, ftol=ftol)
    return elastic_summary(sh.modulus, bk.modulus, conf, sh.stderr, bk.stderr), sh, bk
