"""Structural relaxation: self-intermediate scattering function F_s(k, t) and tau_alpha.

    F_s(k, t) = < (1/N) sum_j exp(i k . [r_j(t) - r_j(0)]) >

averaged over the directions of k analytically: sin(k r)/(k r) in 3D, J_0(k r) in 2D.
tau_alpha is where F_s first crosses 1/e: 001_1b8b0be289dbb4b8.txt ("F_s(k = 7.0,
tau_alpha) = e^-1", PSS) and 002_b660eabf4d6c7be7.txt Sec. II C ("F_s(q = 7.2, t = tau_alpha)
= 1/e", TLJ). Displacements use unwrapped positions (the MC kernel and the MD loop
never wrap).

Dynamics measured here: swap Monte Carlo (time in sweeps = N attempted moves),
translational-only Monte Carlo, hybrid swap MC/MD and plain MD (time in reduced MD
units, Langevin thermostat).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import j0

from .config import Configuration
from .errors import InputError
from .seeds import call_seed

def k_alpha(model: str | None) -> float:
    """|k| of F_s(k, t) for tau_alpha: the model's ``k_alpha`` (7.0 for an unnamed system)."""
    return _model_fact(model, "k_alpha", 7.0)


def md_dt(model: str | None) -> float:
    """MD time step of relaxation runs: the model's ``md_dt`` (0.005 for an unnamed system)."""
    return _model_fact(model, "md_dt", 0.005)


def _model_fact(model, name: str, default: float) -> float:
    from .models import ALL_MODEL_NAMES, get_model

    if model is None or str(model).lower() not in ALL_MODEL_NAMES:
        return default
    return float(getattr(get_model(model), name))


def fs_self(disp: np.ndarray, k: float, remove_drift: bool = True) -> float:
    """F_s(k) of one displacement field (N, d), isotropically averaged over k directions.

    ``remove_drift``: displacements are taken relative to the centre of mass (equal masses: the
    mean displacement). A Langevin thermostat does not conserve momentum, so the centre of
    mass diffuses with D = T / (N gamma); for N = 360, T = 1, gamma = 0.1 it moves ~0.5 in 10
    time units, which alone takes F_s(k = 7.2) to zero and fakes a tau_alpha ~ 10 at every T.
    Monte Carlo translations make it random-walk too. Newtonian MD (002) conserves momentum,
    so subtracting the drift makes the measurement independent of the thermostat."""
    disp = np.asarray(disp, dtype=float)
    if remove_drift:
        disp = disp - disp.mean(axis=0)
    r = np.sqrt(np.sum(disp * disp, axis=1))
    kr = k * r
    if disp.shape[1] == 3:
        return float(np.mean(np.sinc(kr / np.pi)))     # sin(kr)/(kr)
    if disp.shape[1] == 2:
        return float(np.mean(j0(kr)))
    return float(np.mean(np.cos(kr)))


def crossing_time(t: np.ndarray, f: np.ndarray, level: float = np.exp(-1.0)) -> float | None:
    """First time where f drops below ``level``, interpolated linearly in log t; None if never."""
    t = np.asarray(t, dtype=float)
    f = np.asarray(f, dtype=float)
    below = np.nonzero(f < level)[0]
    if below.size == 0:
        return None
    m = int(below[0])
    if m == 0:
        return float(t[0])
    t0, t1, f0, f1 = t[m - 1], t[m], f[m - 1], f[m]
    if t0 <= 0:
        return float(t0 + (f0 - level) / (f0 - f1) * (t1 - t0))
    w = (f0 - level) / (f0 - f1)
    return float(np.exp(np.log(t0) + w * (np.log(t1) - np.log(t0))))


def log_times(t_max: float, t_min: float, per_decade: int = 8) -> np.ndarray:
    """Increasing, roughly log-spaced times in (0, t_max]."""
    if t_max <= 0 or t_min <= 0:
        raise InputError("time window must be positive")
    n = max(2, int(np.ceil(per_decade * np.log10(max(t_max / t_min, 1.0 + 1e-9)))) + 1)
    return np.unique(np.geomspace(t_min, t_max, n))


@dataclass
class Relaxation:
    """F_s(k, t) of one dynamics at one temperature, and tau_alpha (None: not reached)."""

    dynamics: str
    temperature: float
    k: float
    times: np.ndarray
    fs: np.ndarray
    tau_alpha: float | None
    time_unit: str
    meta: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"dynamics": self.dynamics, "temperature": self.temperature, "k": self.k,
                "times": self.times.tolist(), "fs": self.fs.tolist(), "tau_alpha": self.tau_alpha,
                "time_unit": self.time_unit, **self.meta}


def _measure(advance, positions, times, k, origins: int, stop_below: float | None = None):
    """Average F_s over ``origins`` successive time origins; ``advance(dt)`` moves time on.

    With ``stop_below`` (single origin only) the measurement ends at the first time F_s drops
    below that level, so ``t_max`` can be a generous budget; returns (times, fs) truncated."""
    if stop_below is not None and origins != 1:
        raise InputError("stop_below needs a single time origin (origins = 1)")
    out = np.zeros(len(times))
    last = len(times)
    for _ in range(origins):
        x0 = positions().copy()
        now = 0.0
        for m, t in enumerate(times):
            advance(t - now)
            now = t
            out[m] += fs_self(positions() - x0, k)
            if stop_below is not None and out[m] < stop_below:
                last = m + 1
                break
    return times[:last], out[:last] / origins


def relax_mc(conf: Configuration, temperature: float, *, swap: bool = True, t_max: float = 100.0,
             k: float | None = None, p_swap: float = 0.2, delta: float | None = None, seed: int = 0,
             equilibrate: float = 0.0, origins: int = 1, per_decade: int = 8,
             stop_below: float | None = None) -> Relaxation:
    """F_s(k, t) under (swap) Monte Carlo; times in sweeps. ``equilibrate`` sweeps first
    (with step-size tuning, which stops before the measurement). ``stop_below``: end the
    (single-origin) measurement once F_s drops below this level (e.g. 0.2)."""
    from .engine.swap import SwapMC, tune_delta

    k = k_alpha(conf.model) if k is None else float(k)
    mc = SwapMC(conf, temperature, swap=None if swap else "none", p_swap=p_swap,
                delta=0.1 if delta is None else delta, seed=seed)
    if delta is None:
        tune_delta(mc, 0.3, rounds=8, sweeps_per_round=2)
    if equilibrate > 0:
        mc.sweeps(equilibrate)
    times = log_times(t_max, 1.0, per_decade)
    times, fs = _measure(lambda dt: mc.run(int(round(dt * mc.n))), lambda: mc.pos, times, k, origins,
                         stop_below)
    return Relaxation("swap MC" if swap else "MC", float(temperature), k, times, fs,
                      crossing_time(times, fs), "sweeps",
                      {"acceptance": mc.acceptance, "delta": mc.delta, "energy": mc.energy / mc.n,
                       "final": mc.configuration()})


def relax_md(conf: Configuration, temperature: float, *, t_max: float = 100.0, k: float | None = None,
             dt: float | None = None, gamma: float = 0.1, seed: int = 0, equilibrate: float = 0.0,
             origins: int = 1, per_decade: int = 8, stop_below: float | None = None,
             thermostat: str = "nose-hoover", tau: float = 0.5) -> Relaxation:
    """F_s(k, t) under plain MD; times in MD units. Thermostat: a Nosé-Hoover chain of period tau
    (default; 002_b660eabf4d6c7be7.txt Sec. II C's NVT MD) or Langevin BAOAB with weak friction
    gamma (``thermostat="langevin"``), which leaves the structural relaxation of a dense liquid
    essentially Newtonian."""
    if thermostat not in ("nose-hoover", "langevin"):
        raise InputError(f"relax_md: thermostat must be nose-hoover or langevin, got {thermostat!r}")
    from .engine import ParticleSystem, maxwell_boltzmann

    k = k_alpha(conf.model) if k is None else float(k)
    dt = md_dt(conf.model) if dt is None else float(dt)
    ps = ParticleSystem(conf)
    pos = conf.positions.copy()
    vel = maxwell_boltzmann(conf.n, conf.dim, temperature, np.random.default_rng(seed))
    chain = np.zeros(6) if thermostat == "nose-hoover" else None
    calls = [0]

    def advance(t):
        nsteps = int(round(t / dt))
        if nsteps > 0:
            calls[0] += 1
            ps.run_md(pos, vel, nsteps, dt, thermostat=thermostat, temperature=temperature,
                      gamma=gamma, tau=tau, seed=call_seed(seed, "relax_md", calls[0]), nhc=chain)

    if equilibrate > 0:
        advance(equilibrate)
    times = log_times(t_max, max(dt, 0.05), per_decade)
    times = np.unique(np.maximum(np.round(times / dt), 1) * dt)
    times, fs = _measure(advance, lambda: pos, times, k, origins, stop_below)
    return Relaxation("MD", float(temperature), k, times, fs, crossing_time(times, fs), "MD time",
                      {"dt": dt, "thermostat": thermostat, "gamma": gamma, "tau": tau,
                       "energy": ps.energy(pos) / conf.n,
                       "pressure": ps.pressure(pos, temperature), "final": ps.configuration(pos)})


def relax_hybrid(conf: Configuration, temperature: float, *, t_max: float = 100.0, k: float | None = None,
                 seed: int = 0, equilibrate: float = 0.0, origins: int = 1, per_decade: int = 8,
                 stop_below: float | None = None, **hybrid) -> Relaxation:
    """F_s(k, t) under hybrid swap MC / MD (002 Sec. II C); times in MD units."""
    from .engine.swap import HybridSwapMD

    k = k_alpha(conf.model) if k is None else float(k)
    h = HybridSwapMD(conf, temperature, seed=seed, **hybrid)
    if equilibrate > 0:
        h.run_time(equilibrate)
    tb = h.md_steps * h.dt
    times = log_times(t_max, tb, per_decade)
    times = np.unique(np.maximum(np.round(times / tb), 1) * tb)
    times, fs = _measure(lambda t: h.run_blocks(int(round(t / tb))), lambda: h.pos, times, k, origins,
                         stop_below)
    return Relaxation("swap MC/MD", float(temperature), k, times, fs, crossing_time(times, fs), "MD time",
                      {"acceptance": h.mc.acceptance, "energy": h.mc.energy / h.mc.n,
                       "final": h.configuration()})
