"""Exact low-temperature theory of the DPLM (000_ac86d19d448073de.txt Sec. V, App. A, Sec. VI).

- P(Delta E) of a hop attempt out of an equilibrium configuration at T_I: the sum of
  z-1 new bonds drawn from g and minus z-1 broken bonds drawn from p_eq,
  000 Eqs. (A15)-(A16), computed by numerical convolution on a grid (FFT).
- q, the probability that a hop is energetically possible, 000 Eqs. (4)-(5).
- c1 and c3 from P(0) and P''(0), 000 Eq. (A13) (the /30 form; Eq. (10) misprints /15,
  see papers/README.md), and closed forms (A18)-(A19) for z = 4, (A20)-(A21) for z = 6.
- C_v(T) of independent TLS without the small-Delta E expansion, 000 Eqs. (A5)-(A7).
- the glycerol unit conversion of 000 Sec. VI.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import fftconvolve

from ..errors import InputError
from ..stats import phi_two_level
from .gdist import GDist

KB_J_PER_K_MOL = 8.314  # 000 Sec. VI: k_B = 8.314 J/(K mol)


@dataclass
class DeltaEDistribution:
    """P(Delta E) on the grid x (spacing h), normalised to 1."""

    x: np.ndarray
    P: np.ndarray
    h: float
    z: int
    T_I: float

    def at(self, e) -> np.ndarray:
        return np.interp(e, self.x, self.P, left=0.0, right=0.0)

    def derivatives0(self, window: float | None = None, deg: int = 6) -> tuple[float, float]:
        """P(0) and P''(0) from a least-squares polynomial fit over |Delta E| <= window."""
        if window is None:
            window = max(25 * self.h, 0.25 * self.T_I)
        m = np.abs(self.x) <= window
        xs = self.x[m] / window
        c = np.polynomial.polynomial.polyfit(xs, self.P[m], deg)
        return float(c[0]), float(2.0 * c[2] / window**2)

    def cumulative(self, emax: float) -> float:
        """integral_{-inf}^{emax} P dDelta E (000 Eq. (4))."""
        m = self.x <= emax
        return float(self.P[m].sum() * self.h)


def _conv_power(a: np.ndarray, n: int) -> np.ndarray:
    out = np.array([1.0])
    for _ in range(n):
        out = fftconvolve(out, a)
    return np.clip(out, 0.0, None)


def delta_e_distribution(g: GDist, T_I: float, z: int = 4, h: float | None = None) -> DeltaEDistribution:
    """000 Eq. (A16): P = g^(*(z-1)) * (P_eq reflected)^(*(z-1)), P_eq from Eq. (A14) at T_I.

    Cells of width h carry the exact probability mass of each distribution (atoms included);
    Delta E = h (sum of new-bond cells - sum of broken-bond cells) then falls on multiples of h.
    """
    if h is None:
        h = min(T_I / 200.0, (g.vmax - g.vmin) / 4000.0)
    x0, mg = g.cell_masses(h)
    _, mp = g.cell_masses(h, T=T_I)
    n = z - 1
    A = _conv_power(mg, n)  # index i: sum of new bonds = n x0 + h (i + n/2)
    B = _conv_power(mp[::-1], n)  # index j: -(sum of broken bonds) = -(n x0 + h (n(len-1) - j + n/2))
    C = fftconvolve(A, B)
    C = np.clip(C, 0.0, None)
    L = len(mg)
    m = np.arange(C.size)
    x = h * (m - n * (L - 1))
    P = C / (C.sum() * h)
    return DeltaEDistribution(x, P, h, z, T_I)


# ---- closed forms -----------------------------------------------------------
def closed_form_P(T_I: float, z: int = 4, dV: float = 1.0, kB: float = 1.0) -> tuple[float, float]:
    """P(0), P''(0) for uniform g on [0, dV] in the limit T_I -> 0.

    z = 4: 000 Eq. (A18) P(0) = 6 kB^2 T_I^2 / dV^3, P''(0) = 1 / dV^3.
    z = 6: 000 Eq. (A20) P(0) = 70 kB^4 T_I^4 / dV^5, P''(0) = 15 kB^2 T_I^2 / dV^5.
    """
    if z == 4:
        return 6.0 * (kB * T_I) ** 2 / dV**3, 1.0 / dV**3
    if z == 6:
        return 70.0 * (kB * T_I) ** 4 / dV**5, 15.0 * (kB * T_I) ** 2 / dV**5
    raise InputError(f"closed forms exist for z = 4 and z = 6 (000 Eqs. (A18)-(A21)), got z = {z}")


def closed_form_c(T_I: float, phi_v: float, z: int = 4, dV: float = 1.0, kB: float = 1.0) -> tuple[float, float]:
    """c1, c3 for uniform g: 000 Eq. (A19) (z = 4) and Eq. (A21) (z = 6)."""
    if z == 4:
        return (8.0 * np.pi**2 * phi_v * kB**4 * T_I**2 / dV**3,  # Eq. (A19)
                14.0 * np.pi**4 * phi_v * kB**4 / (15.0 * dV**3))
    if z == 6:
        return (140.0 * np.pi**2 * phi_v * kB**6 * T_I**4 / dV**5,  # Eq. (A21)
                21.0 * np.pi**4 * phi_v * kB**6 * T_I**2 / dV**5)
    raise InputError(f"closed forms exist for z = 4 and z = 6 (000 Eqs. (A18)-(A21)), got z = {z}")


def c_from_P(P0: float, P2: float, phi_v: float, z: int = 4, kB: float = 1.0) -> tuple[float, float]:
    """000 Eq. (A13): c1 = pi^2 z phi_v kB^2 P(0) / 3, c3 = 7 pi^4 z phi_v kB^4 P''(0) / 30."""
    return np.pi**2 * z * phi_v * kB**2 * P0 / 3.0, 7.0 * np.pi**4 * z * phi_v * kB**4 * P2 / 30.0


def c1_c3(g: GDist, T_I: float, phi_v: float, z: int = 4, h: float | None = None) -> dict:
    """c1, c3 for any g(V) and z from the numerical convolution (A16) and Eq. (A13)."""
    dist = delta_e_distribution(g, T_I, z, h)
    P0, P2 = dist.derivatives0()
    c1, c3 = c_from_P(P0, P2, phi_v, z)
    return {"P0": P0, "P2": P2, "c1": c1, "c3": c3, "dist": dist}


# ---- heat capacity of independent TLS ----------------------------------------
# Phi(Delta E) = Delta E^2 sech^2(Delta E / 2T) / (4 T^2), 000 Eq. (7)/(A4): one owner,
# twolevel.stats.phi_two_level (stats.tls_heat_capacity is the catalogue's C(T) per particle)


def cv_exact(dist: DeltaEDistribution, T: np.ndarray, phi_v: float, emax: np.ndarray | float | None = None) -> np.ndarray:
    """C_v(T) = z phi_v int_{-inf}^{emax} P(Delta E) Phi(Delta E) dDelta E, 000 Eq. (A5)/(6).

    With emax None the upper limit is infinite (Eq. (A6)/(8)); no expansion of P.
    """
    T = np.atleast_1d(np.asarray(T, dtype=np.float64))
    out = np.empty_like(T)
    em = np.broadcast_to(np.inf if emax is None else emax, T.shape)
    for i, t in enumerate(T):
        w = dist.P * phi_two_level(dist.x, t)
        w[dist.x > em[i]] = 0.0
        out[i] = dist.z * phi_v * w.sum() * dist.h
    return out


def delta_e_max(T, nu_cool: float, w0: float = 1e6, kB: float = 1.0):
    """000 Eq. (5): Delta E^max = ln(0.1 w0 T / nu_cool) kB T."""
    T = np.asarray(T, dtype=np.float64)
    return np.log(0.1 * w0 * T / nu_cool) * kB * T


def q_hop(g: GDist, T, nu_cool: float, z: int = 4, T_I=None, w0: float = 1e6) -> np.ndarray:
    """000 Eqs. (4)-(5): q = int_{-inf}^{Delta E^max} P(Delta E); P for equilibrium at T_I (default T_I = T)."""
    T = np.atleast_1d(np.asarray(T, dtype=np.float64))
    out = np.empty_like(T)
    for i, t in enumerate(T):
        ti = t if T_I is None else T_I
        dist = delta_e_distribution(g, ti, z)
        out[i] = dist.cumulative(float(delta_e_max(t, nu_cool, w0)))
    return out


# ---- physical units (000 Sec. VI) --------------------------------------------
def to_physical(c1: float, c3: float, Tg_sim: float, Tg_K: float, kB: float = KB_J_PER_K_MOL) -> tuple[float, float]:
    """Convert c1, c3 (units of k_B per particle, T in model units) to J/(K^2 mol) and J/(K^4 mol).

    T_model = T_K Tg_sim / Tg_K; C_v[J/(K mol)] = kB C_v[model] (000 Sec. VI).
    """
    s = Tg_sim / Tg_K
    return c1 * kB * s, c3 * kB * s**3


def glycerol_example() -> dict:
    """000 Sec. VI: G0 = 0.2, sigma_V = 0.1, phi_v = 0.031, simulated c1 = 0.0178 at T_g = 0.24 -> 193 K."""
    c1_phys, _ = to_physical(0.0178, 0.0, 0.24, 193.0)
    # c3 quoted in physical units by the paper; back to model units
    c3_model = 5.034e-8 / (KB_J_PER_K_MOL * (0.24 / 193.0) ** 3)
    return {"c1_model": 0.0178, "c1_J_per_K2_mol": c1_phys, "paper_c1_J_per_K2_mol": 1.835e-4,
            "experiment_c1_J_per_K2_mol": 1.84e-4, "c3_model": c3_model, "paper_c3_J_per_K4_mol": 5.034e-8,
            "experiment_c3_J_per_K4_mol": 1.01e-3, "Tg_model": 0.24, "Tg_K": 193.0}


# ---- sample-to-sample scatter of the fitted c1, c3 ----------------------------
def fit_weights(T, Tmin: float, Tmax: float) -> np.ndarray:
    """(2, len(T)) weights W with (c1, c3) = W @ C_v: the least-squares fit of C_v/T = c1 + c3 T^2
    (000 Eq. (1)) over Tmin <= T <= Tmax is linear in the C_v(T_k) (zero weight outside)."""
    T = np.asarray(T, dtype=np.float64)
    m = (T >= Tmin) & (T <= Tmax)
    W = np.zeros((2, T.size))
    if m.sum() < 3:
        return W * np.nan
    A = np.vstack([np.ones(m.sum()), T[m] ** 2]).T
    W[:, m] = np.linalg.pinv(A) / T[m]
    return W


def sample_scatter(dist: DeltaEDistribution, T, phi_v: float, nsites: int, Tmin: float, Tmax: float,
                   emax=None) -> dict:
    """Mean and sample-to-sample standard deviation of c1, c3 fitted to one sample's C_v(T).

    One sample's C_v(T) = N^-1 sum over its M = z phi_v nsites hop slots of Phi(Delta E_s / T)
    (000 Eqs. (A4)-(A5), slots with Delta E_s <= emax(T)), N = (1 - phi_v) nsites particles. The
    fitted (c1, c3) = W @ C_v (:func:`fit_weights`) is then N^-1 sum_s f(Delta E_s) with
    f(x) = sum_k W_k Phi(x / T_k). With the slots independent draws from P(Delta E) (000 Eq. (A16))
    and their number Poisson with mean M: mean = (M/N) <f>, variance = (M/N^2) <f^2>.
    <f^2> is dominated by the rare slots with |Delta E| ~ Tmin (the largest weights, at the
    lowest T): a sample holds M P(0) Tmin of them, well below one at L = 200, phi_v = 0.01,
    so per-sample c1 has a heavy tail and few samples underestimate c1 and its error alike.

    Returns dict with mean_c1, std_c1, rel_c1 (std / mean per sample), and the same for c3, M, N.
    """
    T = np.atleast_1d(np.asarray(T, dtype=np.float64))
    W = fit_weights(T, Tmin, Tmax)
    em = np.broadcast_to(np.inf if emax is None else np.asarray(emax, dtype=np.float64), T.shape)
    use = np.nonzero(np.any(W != 0, axis=0))[0]
    keep = dist.P > 0
    x, P = dist.x[keep], dist.P[keep]
    f = np.zeros((2, x.size))
    for k in use:
        ph = phi_two_level(x, T[k])
        ph[x > em[k]] = 0.0
        f += W[:, k:k + 1] * ph[None, :]
    nv = phi_v * nsites
    M = dist.z * nv
    N = nsites - nv
    Ef = (f * P).sum(axis=1) * dist.h
    Ef2 = (f * f * P).sum(axis=1) * dist.h
    mean = M / N * Ef
    std = np.sqrt(M * Ef2) / N
    out = {"M": float(M), "N": float(N)}
    for j, name in enumerate(("c1", "c3")):
        out[f"mean_{name}"] = float(mean[j])
        out[f"std_{name}"] = float(std[j])
        out[f"rel_{name}"] = float(std[j] / abs(mean[j])) if mean[j] != 0 else float("inf")
    out["f_grid"] = (x, P * dist.h, f)
    return out


def simulate_sample_fits(scatter: dict, nsamples: int, rng=None, cut: float = 0.6) -> np.ndarray:
    """(2, nsamples) per-sample (c1, c3) drawn from the exact theory behind :func:`sample_scatter`:
    a Poisson(M) number of hop slots with Delta E from P(Delta E), each adding f(Delta E) / N.
    Slots with |Delta E| >= ``cut`` (where Phi(Delta E / T) is negligible in the fit window) enter by
    their mean. Used to check error bars and coverage (tests, docs/lattice.md)."""
    rng = np.random.default_rng(rng)
    x, w, f = scatter["f_grid"]
    M, N = scatter["M"], scatter["N"]
    act = np.abs(x) < cut
    mu_out = M * (w[~act] * f[:, ~act]).sum(axis=1) / N
    cdf = np.cumsum(w[act])
    k = rng.poisson(M * cdf[-1], size=nsamples)
    idx = np.searchsorted(cdf / cdf[-1], rng.random(int(k.sum())))
    seg = np.repeat(np.arange(nsamples), k)
    out = np.zeros((2, nsamples))
    for j in range(2):
        out[j] = np.bincount(seg, weights=f[j, act][idx], minlength=nsamples)
    return out / N + mu_out[:, None]


def samples_needed(rel_per_sample: float, target: float = 0.1) -> int:
    """Samples for a standard error of the mean of target x |mean|: ceil((rel / target)^2), at least 2."""
    if not np.isfinite(rel_per_sample):
        return 0
    return max(2, int(np.ceil((rel_per_sample / target) ** 2)))
