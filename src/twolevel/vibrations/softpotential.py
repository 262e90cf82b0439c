"""Soft-potential estimate of the TLS density from quasi-localised modes.

004_9b896d29dc320c3d.txt (Ji 2021), Eqs. (1)-(12) and Table I:

- along a QLM the energy is U(s) = m omega^2 s^2/2 + kappa s^3/6 + chi s^4/24 (Eq. (1));
- symmetric double wells have kappa = kappa_c = omega sqrt(3 m chi); WKB gives
  Delta_0 = W exp[-(omega / omega_bar)^3], omega_bar = (hbar chi / (2 m^2))^(1/3),
  W = hbar (hbar chi / (96 m^2))^(1/3) (Eq. (3));
- TLS with splitting E sit at omega_0 = [ln(W/E)]^(1/3) omega_bar (Eq. (6)); with
  chi = c1 m omega_D^2 / a^2 this is Eq. (12) for omega_0 / omega_D;
- n0 = C0 P(omega_0, kappa_0) kappa_0 with C0 = 31 / (6 hbar a^3) ln^-2(W / k_B K) (Eq. (8),
  E = 1 k_B K; the 31 is ln(2E / Delta_min) of Eq. (7) for Delta_min ~ 1e-13 k_B K);
- P(omega_0, kappa_0) kappa_0 = D_L(omega_0) f(omega_0) (Eqs. (9)-(10)), D_L(omega_0) = A4 omega_0^4,
  f(omega_0) from the density of nonlinear modes between the symmetric-double-well line
  kappa/sqrt(chi) = sqrt(3) omega and the spinodal line kappa/sqrt(chi) = sqrt(8/3) omega in the
  window omega_1/omega_D in [0.04, 0.16] (004 text around Fig. 2).

Physical constants are SI (scipy.constants); a material is (m, a, omega_D).
004 Table I prints omega_0/omega_D = 0.94 at T_p = 0.35: a slip for about 0.094
(../shared/papers/README.md), which :func:`omega0_ratio` reproduces.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
from scipy.constants import hbar as HBAR
from scipy.constants import k as K_B

from ..errors import InputError

SQRT3 = np.sqrt(3.0)
SQRT83 = np.sqrt(8.0 / 3.0)
# ln(2E / Delta_min) of 004 Eq. (7) as printed in Eq. (8) ("C0 ~ 31 / (6 hbar a^3) ...")
LOG_FACTOR_004 = 31.0


@dataclass(frozen=True)
class Material:
    """A material for the conversion: particle mass m [kg], interparticle distance a = (V/N)^(1/3) [m],
    Debye frequency omega_D [rad/s] of the reference preparation."""

    name: str
    mass: float
    a: float
    omega_D: float
    source: str = ""

    @property
    def debye_temperature(self) -> float:
        return self.omega_D * HBAR / K_B

    def with_omega_D(self, omega_D: float) -> "Material":
        return replace(self, omega_D=float(omega_D))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["debye_temperature_K"] = self.debye_temperature
        return d


# 004 text: amorphous silicon, m = 4.8e-26 kg, a = 2.9e-10 m (ref. [49]); omega_D = 530 k_B K / hbar
# at T_p = 0.55 (ref. [50]).
AMORPHOUS_SILICON = Material("a-Si", 4.8e-26, 2.9e-10, 530.0 * K_B / HBAR,
                             "004_9b896d29dc320c3d.txt (refs. [49], [50])")
MATERIALS = {"a-si": AMORPHOUS_SILICON, "asi": AMORPHOUS_SILICON, "amorphous-silicon": AMORPHOUS_SILICON}


def get_material(spec) -> Material:
    if isinstance(spec, Material):
        return spec
    if isinstance(spec, dict):
        try:
            return Material(str(spec.get("name", "custom")), float(spec["mass"]), float(spec["a"]),
                            float(spec["omega_D"]) if "omega_D" in spec
                            else float(spec["debye_temperature"]) * K_B / HBAR)
        except KeyError as exc:
            raise InputError(f"material needs keys mass, a and omega_D (or debye_temperature); missing {exc}") from None
    key = str(spec).lower()
    if key not in MATERIALS:
        raise InputError(f"unknown material {spec!r}; built in: a-si (or give mass, a, omega_D)")
    return MATERIALS[key]


# -- 004 Eqs. (3), (6), (8), (12) --------------------------------------------------------------

def chi_from_c1(c1: float, mass: float, omega_D: float, a: float) -> float:
    """chi = c1 m omega_D^2 / a^2 (004 text before Eq. (12))."""
    return c1 * mass * omega_D**2 / a**2


def omega_bar(chi: float, mass: float) -> float:
    """omega_bar = (hbar chi / (2 m^2))^(1/3) (004 Eq. (3))."""
    return (HBAR * chi / (2 * mass**2)) ** (1 / 3)


def tunnelling_W(chi: float, mass: float) -> float:
    """W = hbar (hbar chi / (96 m^2))^(1/3) (004 Eq. (3), after ref. [39])."""
    return HBAR * (HBAR * chi / (96 * mass**2)) ** (1 / 3)


def omega0(chi: float, mass: float, E: float = K_B) -> float:
    """omega_0 = [ln(W / E)]^(1/3) omega_bar (004 Eq. (6)); E in J (default 1 k_B K)."""
    w = tunnelling_W(chi, mass)
    if not w > E:
        raise InputError(f"W = {w:.3g} J is not above E = {E:.3g} J: ln(W/E) <= 0 in 004 Eq. (6)")
    return np.log(w / E) ** (1 / 3) * omega_bar(chi, mass)


def omega0_ratio(c1: float, material: Material, E: float = K_B) -> float:
    """omega_0 / omega_D of 004 Eq. (12):

    [c1 hbar / (2 m omega_D a^2) ln( hbar omega_D / E (c1 hbar / (96 m omega_D a^2))^(1/3) )]^(1/3)
    """
    m, a, wd = material.mass, material.a, material.omega_D
    arg = HBAR * wd / E * (c1 * HBAR / (96 * m * wd * a**2)) ** (1 / 3)
    if not arg > 1:
        raise InputError(f"004 Eq. (12): the logarithm's argument {arg:.3g} is not above 1 (c1 = {c1})")
    return float((c1 * HBAR / (2 * m * wd * a**2) * np.log(arg)) ** (1 / 3))


def c0_prefactor(chi: float, mass: float, a: float, E: float = K_B,
                 log_factor: float = LOG_FACTOR_004) -> float:
    """C0 = ln(2E/Delta_min) / (6 hbar a^3) ln^-2(W / E) in (J m^3 s)^-1 (004 Eqs. (7)-(8))."""
    w = tunnelling_W(chi, mass)
    return float(log_factor / (6 * HBAR * a**3) / np.log(w / E) ** 2)


# -- from the simulation ---------------------------------------------------------------------------

def c1_from_chi(chi_sim, omega_D_sim: float, density: float, dim: int = 3) -> float:
    """c1 = median(chi_1 a^2 / (m omega_D^2)) in simulation units (m = 1, a = rho^(-1/d)) (004 SI, Fig. 4)."""
    chi = np.asarray(chi_sim, float)
    chi = chi[np.isfinite(chi)]
    if chi.size == 0:
        raise InputError("no chi_1 values to take the median of")
    a = density ** (-1.0 / dim)
    return float(np.median(chi) * a * a / omega_D_sim**2)


@dataclass
class SymmetricFraction:
    f: float
    f_err: float
    n_between: int
    n_window: int
    window: tuple
    factor: float

    def to_dict(self) -> dict:
        return asdict(self)


def symmetric_fraction(omega_1, kappa_1, chi_1, omega_D: float, window=(0.04, 0.16),
                       omega0_over_omegaD: float | None = None, chi: str = "median") -> SymmetricFraction:
    """f(omega_0) of 004 Eq. (10) from nonlinear modes (all in simulation units).

    004 (text around Fig. 2): P(omega_0, kappa_0) is the mean density of modes between the
    spinodal line kappa/sqrt(chi) = sqrt(8/3) omega and the symmetric line kappa/sqrt(chi) = sqrt(3) omega
    in the window omega_1 / omega_D in [w_a, w_b], times kappa_0 = sqrt(3 chi) omega_0; the
    denominator int P(omega_0, kappa) dkappa is the mean D_L over the same window. With the
    strip's area (sqrt 3 - sqrt(8/3)) sqrt(chi) (w_b^2 - w_a^2) / 2 this gives

        f = (N_between / N_window) sqrt(3) / (sqrt(3) - sqrt(8/3)) * 2 omega_0 / (omega_a + omega_b).

    chi="median" uses one chi per preparation (the median of chi_1, as in the model of 004,
    where chi is a constant); chi="mode" uses each mode's own chi_1. Without omega_0 the window
    centre is used. f_err is the Poisson error of N_between.
    """
    w = np.asarray(omega_1, float) / omega_D
    k = np.abs(np.asarray(kappa_1, float))
    c = np.asarray(chi_1, float)
    if not (w.shape == k.shape == c.shape):
        raise InputError("omega_1, kappa_1 and chi_1 must have the same length")
    wa, wb = map(float, window)
    if not 0 <= wa < wb:
        raise InputError(f"omega window must satisfy 0 <= lower < upper, got {window}")
    ok = np.isfinite(w) & np.isfinite(k) & np.isfinite(c) & (c > 0) & (w > 0)
    if chi == "median":
        c = np.full_like(c, np.median(c[ok]) if ok.any() else np.nan)
    elif chi != "mode":
        raise InputError(f"chi must be 'median' or 'mode', got {chi!r}")
    inw = ok & (w >= wa) & (w <= wb)
    q = k[inw] / (np.sqrt(c[inw]) * w[inw] * omega_D)      # kappa / (sqrt(chi) omega)
    nb = int(np.sum((q >= SQRT83) & (q <= SQRT3)))
    nw = int(inw.sum())
    w0 = 0.5 * (wa + wb) if omega0_over_omegaD is None else float(omega0_over_omegaD)
    factor = SQRT3 / (SQRT3 - SQRT83) * 2 * w0 / (wa + wb)
    if nw == 0:
        return SymmetricFraction(float("nan"), float("nan"), 0, 0, (wa, wb), factor)
    f = nb / nw * factor
    err = (np.sqrt(nb) if nb > 0 else 1.0) / nw * factor
    return SymmetricFraction(float(f), float(err), nb, nw, (wa, wb), float(factor))


@dataclass
class SoftPotentialEstimate:
    label: str
    material: str
    omega_D: float            # rad/s
    c1: float
    omega0_over_omegaD: float
    omega0_over_omegabar: float
    C0: float                 # (J m^3 s)^-1
    A4_omega_D5: float
    D_L: float                # s
    f: float
    n0: float                 # J^-1 m^-3
    n0_err: float | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["debye_temperature_K"] = self.omega_D * HBAR / K_B
        return d


def soft_potential_n0(c1: float, A4_omega_D5: float, f: float, material: Material, label: str = "",
                      E: float = K_B, log_factor: float = LOG_FACTOR_004, A4_rel_err: float = 0.0,
                      f_rel_err: float = 0.0) -> SoftPotentialEstimate:
    """n0 = C0 D_L(omega_0) f(omega_0) (004 Eqs. (8)-(9), Table I).

    c1: chi in units of m omega_D^2 / a^2; A4_omega_D5: the dimensionless A4 omega_D^5 of the
    simulation; f: the symmetric fraction; material: m, a and the omega_D of this preparation.
    D_L(omega_0) = A4 omega_0^4 = (A4 omega_D^5) (omega_0/omega_D)^4 / omega_D [s].
    """
    m, a, wd = material.mass, material.a, material.omega_D
    chi = chi_from_c1(c1, m, wd, a)
    r = omega0_ratio(c1, material, E)
    w0 = omega0(chi, m, E)
    C0 = c0_prefactor(chi, m, a, E, log_factor)
    DL = A4_omega_D5 * r**4 / wd
    n0 = C0 * DL * f
    err = n0 * float(np.hypot(A4_rel_err, f_rel_err)) if (A4_rel_err or f_rel_err) else None
    return SoftPotentialEstimate(label, material.name, wd, c1, r, w0 / omega_bar(chi, m), C0, A4_omega_D5,
                                 DL, f, n0, err)


# 004 Table I: T_p, omega_D [K] (text and SI), c1 (text), then the printed columns
# omega_0/omega_D, C0 [(J m^3 s)^-1], D_L(omega_0) [s], f(omega_0), n0 [J^-1 m^-3].
# The 0.94 at T_p = 0.35 is printed so; it is a slip for about 0.094.
TABLE_I_004 = (
    {"T_p": 0.80, "debye_temperature": 500.0, "c1": 0.5, "omega0_over_omegaD": 0.06, "C0": 5.4e62,
     "D_L": 5.3e-15, "f": 0.36, "n0": 1.0e48},
    {"T_p": 0.55, "debye_temperature": 530.0, "c1": 0.8, "omega0_over_omegaD": 0.07, "C0": 4.8e62,
     "D_L": 3.8e-16, "f": 0.26, "n0": 4.7e46},
    {"T_p": 0.35, "debye_temperature": 590.0, "c1": 2.1, "omega0_over_omegaD": 0.94, "C0": 3.7e62,
     "D_L": 2.5e-16, "f": 0.05, "n0": 4.2e45},
    {"T_p": 0.30, "debye_temperature": 610.0, "c1": 2.5, "omega0_over_omegaD": 0.10, "C0": 3.5e62,
     "D_L": 5.9e-17, "f": 0.03, "n0": 6.1e44},
)


def table_i(material: Material = AMORPHOUS_SILICON) -> list[dict]:
    """Recompute omega_0/omega_D, omega_0/omega_bar and C0 of 004 Table I from its printed inputs."""
    rows = []
    for row in TABLE_I_004:
        mat = material.with_omega_D(row["debye_temperature"] * K_B / HBAR)
        chi = chi_from_c1(row["c1"], mat.mass, mat.omega_D, mat.a)
        rows.append({"T_p": row["T_p"], "debye_temperature": row["debye_temperature"], "c1": row["c1"],
                     "omega0_over_omegaD": omega0_ratio(row["c1"], mat),
                     "omega0_over_omegabar": omega0(chi, mat.mass) / omega_bar(chi, mat.mass),
                     "C0": c0_prefactor(chi, mat.mass, mat.a),
                     "printed_omega0_over_omegaD": row["omega0_over_omegaD"], "printed_C0": row["C0"],
                     # A4 omega_D^5 implied by the printed D_L = A4 omega_0^4 and the recomputed omega_0
                     "implied_A4_omega_D5": row["D_L"] * mat.omega_D / omega0_ratio(row["c1"], mat) ** 4,
                     "printed_n0": row["n0"], "product_C0_DL_f": row["C0"] * row["D_L"] * row["f"]})
    return rows


# -- comparison with the TLS route (002 Fig. 10b) ----------------------------------------------------

def compare_routes(harmonic, tls, key: str | None = None, units: str | None = None):
    """Join harmonic-route summaries (A4_omega_D5[, _err]) with TLS-route summaries (n0[, n0_err]).

    harmonic, tls: iterables of dicts (or DataFrames) sharing ``key``; by default "label" when
    the TLS side has it, else "T_f" (the table of :func:`twolevel.stats.summarise`, one row per
    T_f and unit system; ``units`` selects the unit system when there are several).
    Returns a pandas DataFrame with columns label, A4_omega_D5, A4_omega_D5_err, n0, n0_err
    (002_b660eabf4d6c7be7.txt Fig. 10b plots A4 omega_D^5 against n0).
    """
    import pandas as pd

    h = pd.DataFrame(list(harmonic) if not isinstance(harmonic, pd.DataFrame) else harmonic)
    t = pd.DataFrame(list(tls) if not isinstance(tls, pd.DataFrame) else tls)
    if key is None:
        key = "label" if "label" in t.columns else "T_f"
    if "units" in t.columns and t["units"].nunique() > 1:
        if units is None:
            raise InputError(f"the TLS summary has several unit systems {sorted(map(str, t['units'].unique()))}; "
                             f"choose one")
        t = t[t["units"] == units]
    for df, need, what in ((h, "A4_omega_D5", "harmonic"), (t, "n0", "TLS")):
        if key not in df.columns or need not in df.columns:
            raise InputError(f"{what} summaries need columns {key!r} and {need!r}; got {list(df.columns)}")
    if "A4_omega_D5_err" not in h.columns:
        h["A4_omega_D5_err"] = np.nan
    if "n0_err" not in t.columns:
        t["n0_err"] = np.nan

    def norm(v):
        try:
            return f"{float(v):.6g}"
        except (TypeError, ValueError):
            return str(v)

    h["_k"] = h[key].map(norm)
    t["_k"] = t[key].map(norm)
    out = h[["_k", "A4_omega_D5", "A4_omega_D5_err"]].merge(t[["_k", "n0", "n0_err"]], on="_k", how="inner")
    if out.empty:
        raise InputError(f"no common {key!r} between the harmonic and TLS summaries")
    return out.rename(columns={"_k": "label"})
