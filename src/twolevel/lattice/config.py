"""TOML configuration of a lattice run (validated by pydantic, unknown keys rejected).

Example: examples/lattice_ultrastable.toml. Every error names the key at fault.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import InputError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # inf / nan refused in every float field


class LatticeSection(_Strict):
    kind: Literal["square", "triangular", "cubic"] = "square"
    L: int = Field(200, ge=3)
    phi_v: float = Field(0.005, gt=0.0, lt=1.0)


class GSection(_Strict):
    family: Literal["uniform", "linear", "uniform_delta", "fermi_gauss", "table"] = "uniform"
    V0: float = 0.0
    dV: float = Field(1.0, gt=0.0)
    G0: Optional[float] = None
    sigma_V: Optional[float] = None
    points: Optional[list[list[float]]] = None


class StartSection(_Strict):
    T_I: float = Field(0.05, gt=0.0)
    method: Literal["direct", "random"] = "direct"
    void_sweeps: int = Field(30, ge=0)


class CoolingSection(_Strict):
    nu: float = Field(1e-4, gt=0.0)
    T_end: float = Field(0.002, gt=0.0)
    dT_rel: float = Field(0.005, gt=0.0, le=0.2)
    dT_max: float = Field(1e-3, gt=0.0)


class MeasureSection(_Strict):
    fit_T_min: Optional[float] = Field(None, gt=0.0)  # default 0.1 T_I
    fit_T_max: Optional[float] = Field(None, gt=0.0)  # default 0.6 T_I
    cv_window_rel: float = Field(0.1, gt=0.0, le=1.0)
    maps_T: list[float] = []
    map_hops: int = Field(10_000_000, ge=1)
    trace_voids: int = Field(16, ge=0)
    returns_from_snapshots: bool = True
    D_every: int = Field(4, ge=1)
    D_ref: float = Field(0.1, gt=0.0)


class RunSection(_Strict):
    samples: int = Field(1, ge=1)
    seed: int = 0
    w0: float = Field(1e6, gt=0.0)
    output: str = "lattice_run"
    figures: bool = True
    progress: bool = True


class LatticeConfig(_Strict):
    lattice: LatticeSection = LatticeSection()
    g: GSection = GSection()
    start: StartSection = StartSection()
    cooling: CoolingSection = CoolingSection()
    measure: MeasureSection = MeasureSection()
    run: RunSection = RunSection()

    def make_g(self):
        from .gdist import from_params

        return from_params(self.g.family, V0=self.g.V0, dV=self.g.dV, G0=self.g.G0, sigma_V=self.g.sigma_V,
                           points=self.g.points)


def _first_error(exc: ValidationError, source: str) -> str:
    e = exc.errors()[0]
    loc = ".".join(str(x) for x in e["loc"])
    return f"{source}: {loc}: {e['msg']}"


def load_config(path: str | Path) -> LatticeConfig:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None
    try:
        cfg = LatticeConfig.model_validate(raw)
    except ValidationError as exc:
        raise InputError(_first_error(exc, str(path))) from None
    if cfg.cooling.T_end >= cfg.start.T_I:
        raise InputError(f"{path}: cooling.T_end must be below start.T_I")
    check_fit_window(cfg, str(path))
    cfg.make_g()  # family-specific checks raise InputError naming the key
    return cfg


def fit_window(cfg: LatticeConfig) -> tuple[float, float]:
    """The C_v/T = c1 + c3 T^2 fit window: measure.fit_T_min, fit_T_max (defaults 0.1 T_I, 0.6 T_I)."""
    T_I = cfg.start.T_I
    return cfg.measure.fit_T_min or 0.1 * T_I, cfg.measure.fit_T_max or 0.6 * T_I


def check_fit_window(cfg: LatticeConfig, source: str = "lattice config") -> None:
    """One-line InputError unless the fit window holds at least 3 cooling steps (a silent NaN fit otherwise)."""
    from .protocol import temperature_steps

    lo, hi = fit_window(cfg)
    if lo >= hi:
        raise InputError(f"{source}: measure.fit_T_min ({lo:g}) must be below measure.fit_T_max ({hi:g})")
    c = cfg.cooling
    e = temperature_steps(cfg.start.T_I, c.T_end, c.dT_rel, c.dT_max)
    T = 0.5 * (e[1:] + e[:-1])
    k = int(((T >= lo) & (T <= hi)).sum())
    if k < 3:
        raise InputError(f"{source}: the fit window measure.fit_T_min..fit_T_max = [{lo:g}, {hi:g}] holds {k} cooling "
                         f"step(s) between start.T_I = {cfg.start.T_I:g} and cooling.T_end = {c.T_end:g}; need >= 3")
