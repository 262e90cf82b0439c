"""Unit systems: from reduced (simulation) units to physical ones.

A unit system is a length ``sigma`` (m), an energy ``epsilon`` (J), a particle
mass ``mass`` (kg) and the model's number density ``number_density`` in
sigma^-3 (the papers' rho). Everything else follows:

* dimensionless mass (the "quantumness" of the tunnelling problem)
  ``m_tilde = m sigma^2 epsilon / hbar^2``
  (001_1b8b0be289dbb4b8.txt below Eq. (2); 002_b660eabf4d6c7be7.txt Eq. (11));
* quantum temperature ``T_Q = 2 pi hbar^2 / (m sigma^2 k_B)``
  (002_b660eabf4d6c7be7.txt Eq. (9)), i.e. ``k_B T_Q = 2 pi / m_tilde`` in units
  of epsilon;
* the classical time unit ``tau = sqrt(m sigma^2 / epsilon)``;
* the quantum time unit ``hbar / epsilon``, the unit of the WKB decay rate
  Gamma computed by :mod:`twolevel.quantum` with hbar = 1;
* energies in kelvin, ``E / k_B``;
* the TLS density n0 (slope of the cumulative splitting distribution n(E) ~ n0 E)
  in J^-1 m^-3.

Density convention for n0. In 001 (section "Density of two-level systems") n(E)
counts double wells per particle, so n0 is "per particle per epsilon"; per
volume it becomes ``n0 * rho / (epsilon sigma^3)`` with rho the number density
in sigma^-3 (rho = 1 for PSS, 1.35 for TLJ). In 002 Sec. IV B n0 is printed in
epsilon^-1 sigma^-3 already (per volume), so only ``1 / (epsilon sigma^3)`` is
applied. :meth:`UnitSystem.n0_to_si` takes ``per="particle"`` (default) or
``per="volume"`` to say which one it is given.

Built-in systems carry exactly the parameters printed in the papers:

=========  ==========  ===========================  ============  =====  ==========================
name       sigma (m)   epsilon                      mass (kg)     rho    source
=========  ==========  ===========================  ============  =====  ==========================
pss-ar     3.4e-10     epsilon/4 = 1.65e-21 J       6e-26         1      001, "Argon" (PSS)
pss-ni     2.21e-10    6.14e-20 J                   1.02e-25      1      001, "Nickel" (PSS)
tlj-ar     3.405e-10   epsilon/k_B = 125.2 K        6.634e-26     1.35   002 Sec. IV B, Ar (TLJ)
tlj-nip    2.21e-10    epsilon/k_B = 934 K          9.266e-26     1.35   002 Sec. IV B, NiP (TLJ)
=========  ==========  ===========================  ============  =====  ==========================

Short aliases: ``ar`` = ``pss-ar`` and ``ni`` = ``pss-ni`` (the letter 001),
``nip`` = ``tlj-nip``, ``ar-tlj`` / ``ar_tlj`` = ``tlj-ar``.

Users define their own with :meth:`UnitSystem.from_dict` (keys ``sigma``,
``mass`` and one of ``epsilon`` (J) / ``epsilon_K`` (epsilon/k_B in K), optional
``number_density``, ``name``) or :func:`load_units` on a TOML file.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from scipy import constants as _c

from .errors import InputError

HBAR = _c.hbar  # J s
K_B = _c.k  # J / K

__all__ = [
    "UnitSystem",
    "BUILTIN",
    "ALIASES",
    "get_units",
    "load_units",
    "list_units",
    "kT_Q",
]


def kT_Q(m_tilde: float) -> float:
    """k_B T_Q in units of epsilon for a dimensionless mass m~.

    # 002_b660eabf4d6c7be7.txt Eq. (9) with Eq. (11): k_B T_Q = 2 pi hbar^2/(m sigma^2) = 2 pi / m~ epsilon
    """
    return 2.0 * math.pi / float(m_tilde)


@dataclass(frozen=True)
class UnitSystem:
    """A set of physical units for a reduced-unit model.

    sigma: length unit (m); epsilon: energy unit (J); mass: particle mass (kg);
    number_density: the model's number density in sigma^-3 (used to turn
    per-particle densities into per-volume ones).
    """

    name: str
    sigma: float
    epsilon: float
    mass: float
    number_density: float = 1.0
    description: str = ""
    # values printed in the source paper, for reference and tests
    printed: Mapping[str, float] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for key in ("sigma", "epsilon", "mass", "number_density"):
            v = getattr(self, key)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise InputError(f"unit system {self.name!r}: {key} must be a positive number, got {v!r}")

    # -- derived scales -------------------------------------------------------
    @property
    def m_tilde(self) -> float:
        """Dimensionless mass m~ = m sigma^2 epsilon / hbar^2.

        # 002_b660eabf4d6c7be7.txt Eq. (11); 001_1b8b0be289dbb4b8.txt below Eq. (2)
        """
        return self.mass * self.sigma**2 * self.epsilon / HBAR**2

    @property
    def kT_Q(self) -> float:
        """k_B T_Q in units of epsilon (= 2 pi / m~). # 002_b660eabf4d6c7be7.txt Eq. (9)"""
        return kT_Q(self.m_tilde)

    @property
    def T_Q(self) -> float:
        """T_Q = 2 pi hbar^2 / (m sigma^2 k_B) in kelvin. # 002_b660eabf4d6c7be7.txt Eq. (9)"""
        return 2.0 * math.pi * HBAR**2 / (self.mass * self.sigma**2 * K_B)

    @property
    def epsilon_K(self) -> float:
        """epsilon / k_B in kelvin."""
        return self.epsilon / K_B

    @property
    def tau(self) -> float:
        """Classical (MD) time unit sqrt(m sigma^2 / epsilon) in seconds."""
        return math.sqrt(self.mass * self.sigma**2 / self.epsilon)

    @property
    def tau_quantum(self) -> float:
        """Quantum time unit hbar / epsilon in seconds (unit of Gamma with hbar = 1)."""
        return HBAR / self.epsilon

    # -- conversions ------------------------------------------------------------
    def energy_to_K(self, e):
        """Energy in epsilon -> temperature E / k_B in kelvin."""
        return np.asarray(e, dtype=float) * self.epsilon_K

    def energy_to_J(self, e):
        """Energy in epsilon -> joules."""
        return np.asarray(e, dtype=float) * self.epsilon

    def rate_to_hz(self, rate):
        """Rate in epsilon / hbar (reduced units with hbar = 1) -> s^-1."""
        return np.asarray(rate, dtype=float) * self.epsilon / HBAR

    def n0_to_si(self, n0, per: str = "particle"):
        """TLS density n0 -> J^-1 m^-3.

        ``per="particle"``: n0 in epsilon^-1 per particle (001's n(E) normalised
        by the number of particles), multiplied by the number density rho
        (sigma^-3). ``per="volume"``: n0 already in epsilon^-1 sigma^-3 (002 Sec. IV B).
        """
        n0 = np.asarray(n0, dtype=float)
        if per == "particle":
            n0 = n0 * self.number_density
        elif per != "volume":
            raise InputError(f"n0_to_si: per must be 'particle' or 'volume', got {per!r}")
        return n0 / (self.epsilon * self.sigma**3)

    def summary(self) -> dict[str, float | str]:
        """The parameters and derived scales, as a flat dict."""
        return {
            "name": self.name,
            "sigma_m": self.sigma,
            "epsilon_J": self.epsilon,
            "epsilon_K": self.epsilon_K,
            "mass_kg": self.mass,
            "number_density": self.number_density,
            "m_tilde": self.m_tilde,
            "kT_Q_eps": self.kT_Q,
            "T_Q_K": self.T_Q,
            "tau_s": self.tau,
        }

    # -- construction -------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: Mapping[str, Any], name: str | None = None) -> "UnitSystem":
        """Build a unit system from a dict / TOML table.

        Keys: ``sigma`` (m), ``mass`` (kg), exactly one of ``epsilon`` (J) or
        ``epsilon_K`` (K), optional ``number_density`` (sigma^-3, default 1),
        ``name``, ``description``.
        """
        nm = str(d.get("name", name or "custom"))
        known = {"name", "sigma", "mass", "epsilon", "epsilon_K", "number_density", "description"}
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(f"unit system {nm!r}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(known))})")
        for key in ("sigma", "mass"):
            if key not in d:
                raise InputError(f"unit system {nm!r}: missing key {key!r}")
        if ("epsilon" in d) == ("epsilon_K" in d):
            raise InputError(f"unit system {nm!r}: give exactly one of 'epsilon' (J) or 'epsilon_K' (K)")
        try:
            eps = float(d["epsilon"]) if "epsilon" in d else float(d["epsilon_K"]) * K_B
            return cls(
                name=nm,
                sigma=float(d["sigma"]),
                epsilon=eps,
                mass=float(d["mass"]),
                number_density=float(d.get("number_density", 1.0)),
                description=str(d.get("description", "")),
            )
        except (TypeError, ValueError) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(f"unit system {nm!r}: values must be numbers ({exc})") from None


# Parameters exactly as printed in the papers.
BUILTIN: dict[str, UnitSystem] = {
    # 001_1b8b0be289dbb4b8.txt, "Density of two-level systems": Argon parameters
    # sigma = 3.4e-10 m, epsilon/4 = 1.65e-21 J, m = 6e-26 kg; "T_Q ~ 0.73 K, m~ ~ 4000",
    # "k_B T_Q = 0.0015 epsilon". PSS number density rho = 1.
    "pss-ar": UnitSystem(
        name="pss-ar",
        sigma=3.4e-10,
        epsilon=4 * 1.65e-21,
        mass=6e-26,
        number_density=1.0,
        description="Argon units for PSS (001)",
        printed={"m_tilde": 4000, "kT_Q": 0.0015, "T_Q_K": 0.73},
    ),
    # 001_1b8b0be289dbb4b8.txt: Nickel, sigma = 2.21e-10 m, epsilon = 6.14e-20 J,
    # m = 1.02e-25 kg; "T_Q ~ 0.9 K, m~ ~ 30000", "k_B T_Q = 0.0002 epsilon".
    "pss-ni": UnitSystem(
        name="pss-ni",
        sigma=2.21e-10,
        epsilon=6.14e-20,
        mass=1.02e-25,
        number_density=1.0,
        description="Nickel units for PSS (001)",
        printed={"m_tilde": 30000, "kT_Q": 0.0002, "T_Q_K": 0.9},
    ),
    # 002_b660eabf4d6c7be7.txt Sec. IV B: Ar, sigma = 3.405e-10 m, epsilon/k_B = 125.2 K,
    # m = 6.634e-26 kg, tau_LJ = 2.1 ps; "T_Q ~ 0.658 K and m~ ~ 1200"; Sec. III C
    # "k_B T_Q = 0.005 epsilon". TLJ number density rho = 1.35 (Sec. II).
    "tlj-ar": UnitSystem(
        name="tlj-ar",
        sigma=3.405e-10,
        epsilon=125.2 * K_B,
        mass=6.634e-26,
        number_density=1.35,
        description="Argon units for TLJ (002)",
        printed={"m_tilde": 1200, "kT_Q": 0.005, "T_Q_K": 0.658, "tau_s": 2.1e-12},
    ),
    # 002_b660eabf4d6c7be7.txt Sec. IV B: NiP, sigma = 2.21e-10 m, epsilon/k_B = 934 K,
    # m = 9.266e-26 kg; "T_Q ~ 1.118 K and m~ ~ 5250"; Sec. III C "k_B T_Q = 0.0012 epsilon".
    # (The printed tau_LJ = 2.5 ps does not follow from these numbers: sqrt(m sigma^2/eps) = 0.59 ps.)
    "tlj-nip": UnitSystem(
        name="tlj-nip",
        sigma=2.21e-10,
        epsilon=934.0 * K_B,
        mass=9.266e-26,
        number_density=1.35,
        description="NiP units for TLJ (002)",
        printed={"m_tilde": 5250, "kT_Q": 0.0012, "T_Q_K": 1.118},
    ),
}

ALIASES: dict[str, str] = {
    "ar": "pss-ar",
    "ni": "pss-ni",
    "nip": "tlj-nip",
    "ar-tlj": "tlj-ar",
    "ar_tlj": "tlj-ar",
    "pss_ar": "pss-ar",
    "pss_ni": "pss-ni",
    "tlj_ar": "tlj-ar",
    "tlj_nip": "tlj-nip",
}


def list_units() -> list[str]:
    """Names of the built-in unit systems and their aliases."""
    return sorted(BUILTIN) + sorted(ALIASES)


def load_units(path: str | Path, table: str | None = None) -> UnitSystem:
    """Read a unit system from a TOML file.

    The file holds the keys of :meth:`UnitSystem.from_dict` at top level, or in
    a table ``[units]``, or in the table named by ``table``.
    """
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise InputError(f"{p}: unit file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{p}: not valid TOML ({exc})") from None
    if table is not None:
        if table not in data or not isinstance(data[table], dict):
            raise InputError(f"{p}: no table [{table}]")
        data = data[table]
    elif "units" in data and isinstance(data["units"], dict):
        data = data["units"]
    return UnitSystem.from_dict(data, name=p.stem)


def get_units(spec: "str | Path | Mapping[str, Any] | UnitSystem") -> UnitSystem:
    """A unit system from a built-in name/alias, a TOML path, a dict, or itself."""
    if isinstance(spec, UnitSystem):
        return spec
    if isinstance(spec, Mapping):
        return UnitSystem.from_dict(spec)
    s = str(spec)
    key = s.strip().lower()
    key = ALIASES.get(key, key)
    if key in BUILTIN:
        return BUILTIN[key]
    if s.endswith(".toml") or Path(s).is_file():
        return load_units(s)
    raise InputError(f"unknown unit system {s!r} (built in: {', '.join(list_units())}; or a .toml file)")
