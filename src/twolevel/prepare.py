"""Stage ``prepare``: an equilibrium liquid at the fictive temperature T_f, then a fast quench.

001_1b8b0be289dbb4b8.txt ("Glass preparation") and 002_b660eabf4d6c7be7.txt Sec. II C:
equilibrium configurations at T_f by swap Monte Carlo (PSS: translations + diameter
exchanges) or hybrid swap MC/MD (TLJ: 10 MD steps + 1.75 N type exchanges), then a rapid
quench by MD at the exploration temperature (001: T_MD = 0.04; 002 Sec. II D: T_exp = 0.4)
or by direct energy minimisation. T_f is then Tool's fictive temperature of the glass.

Equilibration you can trust
---------------------------
After a short start-up (melting the lattice start and tuning the translational step to a
target acceptance; the step is frozen afterwards so the production chain obeys detailed
balance), the run proceeds in segments. Each segment measures F_s(k, t) from its own time
origin (k = 7.0 PSS, 7.2 TLJ) and records the potential energy. A sample is called
EQUILIBRATED only when

1. tau_alpha (the median of the segment values in the second half of the run) is measured,
2. the run after start-up lasted at least ``n_tau`` tau_alpha (default 30), and
3. the energy over the second half of the run is stationary: the means of its two halves
   (block averages, blocks >= tau_alpha) differ by at most ``z_max`` (default 3) combined
   standard errors.

Otherwise the run continues until the budget (``max_time`` in the dynamics' time unit,
``max_seconds`` of wall time) is spent, and the sample is stored with ``equilibrated:
false`` and a message saying by how much it failed (tau_alpha run length achieved vs
required, drift in standard errors). A checkpoint is written after every segment; a rerun
continues from it. A finished, equilibrated sample is never recomputed.

Run layout (../shared/DESIGN.md): ``RUN/<model>/Tf_<T_f>/sample_<k>/prepare/`` holds
``equilibrium.h5``, ``glass.h5``, ``prepare.json``, and ``trace.npz`` (energy and tau
history for the figures).
"""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path
from typing import Callable, Literal

import numpy as np
from pydantic import Field

from . import io as tio
from .config import Configuration
from .dynamics import crossing_time, fs_self, log_times
from .errors import InputError
from .io.atomic import atomic_open, atomic_write
from .layout import EQUILIBRIUM, GLASS, PREPARE_META
from .models import PairModel, get_model
from .models.pss import DEFAULT_DIAMETERS
from .params import Params
from .seeds import sample_key, stage_seed

FILES = (EQUILIBRIUM, GLASS, PREPARE_META)
CHECKPOINT = "checkpoint.npz"
TRACE = "trace.npz"

class PrepareParams(Params):
    """``[prepare]``: equilibrium liquid at T_f by swap Monte Carlo (PSS) or hybrid swap MC/MD (TLJ), then a quench.

    The one owner of the stage's defaults: the study file's ``[prepare]``, ``twolevel prepare`` and
    :func:`prepare_sample` all validate through this class (docs/prepare.md gives the reasons).
    """

    diameters: Literal["quantiles", "random"] = Field(DEFAULT_DIAMETERS, description="PSS diameters on [0.73, 1.62]: the deterministic quantiles F^-1(k/N) of P(s) ~ s^-3 (default at every entry point, as the authors' glasses and the reference data: every glass holds the same multiset), or i.i.d. draws.")
    n_tau: float = Field(30.0, gt=0, description="Required run length after start-up, in structural relaxation times tau_alpha (measured on the fly); a sample is `equilibrated` only then.")
    z_max: float = Field(3.0, gt=0, description="Stationarity test: allowed energy drift between the two halves of the run, in standard errors.")
    p_swap: float = Field(0.2, ge=0, le=1, description="PSS: fraction of diameter-exchange attempts (Ninarello et al. 2017, used by 001).")
    target_acceptance: float = Field(0.3, gt=0, lt=1, description="PSS: translational acceptance aimed at while tuning the step.")
    tune_sweeps: int = Field(100, ge=0, description="Start-up (melting the lattice start, tuning), in sweeps.")
    min_segment: float | None = Field(None, gt=0, description="Shortest segment: default 50 sweeps (MC) or 5 time units (hybrid).")
    max_time: float | None = Field(None, gt=0, description="Budget in the dynamics' unit: default 1e7 sweeps (MC), 2e4 MD time (hybrid); a sample not equilibrated within it is stored with `equilibrated: false`.")
    max_seconds: float | None = Field(None, gt=0, description="Wall-clock budget per sample (default unlimited).")
    quench: Literal["md", "minimize"] = Field("md", description="Quench by MD at T_quench (001, 002) or by direct minimisation.")
    T_quench: float | None = Field(None, gt=0, description="Quench temperature; default the exploration temperature (001: T_MD; 002: T_exp).")
    quench_time: float = Field(10.0, gt=0, description="MD time of the quench (Berendsen).")
    md_steps: int = Field(10, ge=1, description="TLJ hybrid: MD steps per block (002 Sec. II C: 10).")
    md_dt: float = Field(0.005, gt=0, description="TLJ hybrid: MD time step (002: 5e-3).")
    swap_factor: float = Field(1.75, gt=0, description="TLJ hybrid: type-exchange attempts per block, in units of N (002: 1.75 N).")
    thermostat: Literal["nose-hoover", "langevin"] = Field("nose-hoover", description="TLJ hybrid: thermostat of the MD blocks (002 Sec. II C: Nosé-Hoover).")
    tau_nh: float = Field(0.5, gt=0, description="TLJ hybrid: Nosé-Hoover chain period (100 dt, LAMMPS' usual Tdamp).")
    gamma: float = Field(1.0, gt=0, description="TLJ hybrid: Langevin friction (thermostat = langevin only).")


def sample_seed(seed: int, model: str, T_f: float, k: int) -> int:
    """Seed of sample k's preparation: the study pipeline's prepare-task seed (twolevel.seeds), so
    ``twolevel prepare`` and ``twolevel run`` give the same glass for the same seed."""
    return stage_seed(seed, str(model).lower(), T_f, k, "prepare")


def sample_dir(run_dir: str | os.PathLike, model: str, T_f: float, k: int) -> Path:
    """RUN/<model>/Tf_<T_f>/sample_<k> (the stage writes into its ``prepare/`` subfolder), the
    layout of the study pipeline."""
    return Path(run_dir) / sample_key(str(model).lower(), T_f, k)


def check_temperature(model: PairModel, T_f: float) -> str | None:
    """Warn (and return the message) when T_f lies outside the range the papers prepared."""
    ref = dict(model.reference_temperatures)
    if not ref:
        return None
    lo = ref.get("lowest_equilibrated", ref.get("glass_transition"))
    hi = ref.get("onset")
    msg = None
    names = ", ".join(f"{k} {v:g}" for k, v in ref.items())
    if lo is not None and T_f < lo:
        msg = (f"T_f = {T_f:g} is below the lowest temperature equilibrated in the papers for model "
               f"{model.name} ({names}); swap equilibration is expected to fail or take very long")
    elif hi is not None and T_f > hi:
        msg = (f"T_f = {T_f:g} is above the onset temperature of model {model.name} ({names}); the "
               f"liquid is not supercooled and the quench gives a poorly annealed glass")
    if msg:
        warnings.warn(msg, UserWarning, stacklevel=3)
    return msg


# ------------------------------------------------------------------------------------------
# statistics
# ------------------------------------------------------------------------------------------
def block_mean_error(t: np.ndarray, x: np.ndarray, block: float) -> tuple[float, float, int]:
    """Mean and standard error of x(t) from block averages over time blocks of length ``block``."""
    t = np.asarray(t, float)
    x = np.asarray(x, float)
    if len(x) == 0:
        return float("nan"), float("inf"), 0
    ids = np.floor((t - t[0]) / block).astype(np.int64)
    nb = int(ids.max()) + 1
    if nb < 2:
        return float(x.mean()), float("inf"), nb
    sums = np.bincount(ids, weights=x, minlength=nb)
    cnt = np.bincount(ids, minlength=nb)
    ok = cnt > 0
    means = sums[ok] / cnt[ok]
    nb = len(means)
    if nb < 2:
        return float(x.mean()), float("inf"), nb
    return float(means.mean()), float(means.std(ddof=1) / np.sqrt(nb)), nb


def stationarity(t: np.ndarray, e: np.ndarray, t_from: float, block: float) -> dict:
    """Compare the energy means of the two halves of the window t >= t_from."""
    sel = t >= t_from
    t, e = t[sel], e[sel]
    if len(t) < 8:
        return {"z": float("inf"), "mean": float("nan"), "sem": float("inf"), "blocks": 0}
    mid = 0.5 * (t[0] + t[-1])
    a = t < mid
    m1, s1, b1 = block_mean_error(t[a], e[a], block)
    m2, s2, b2 = block_mean_error(t[~a], e[~a], block)
    mall, sall, ball = block_mean_error(t, e, block)
    den = np.hypot(s1, s2)
    z = abs(m1 - m2) / den if np.isfinite(den) and den > 0 else float("inf")
    if min(b1, b2) < 3:
        z = float("inf")     # too few blocks to judge
    return {"z": float(z), "mean": mall, "sem": sall, "blocks": int(min(b1, b2)),
            "mean_first": m1, "mean_second": m2}


# ------------------------------------------------------------------------------------------
# dynamics wrappers with one interface: advance(dt), positions, energy, state for checkpoints
# ------------------------------------------------------------------------------------------
class _MCDriver:
    unit = "sweeps"
    name = "swap MC"

    def __init__(self, conf, T, seed, p):
        from .engine.swap import SwapMC

        self.mc = SwapMC(conf, T, p_swap=p["p_swap"], delta=0.1, seed=seed)
        self.t = 0.0

    def startup(self, p):
        from .engine.swap import tune_delta

        rounds = max(1, int(p["tune_sweeps"] // 5))
        tune_delta(self.mc, p["target_acceptance"], rounds=rounds, sweeps_per_round=5.0)

    def advance(self, dt):
        nm = int(round(dt * self.mc.n))
        if nm > 0:
            self.mc.run(nm)
        self.t += nm / self.mc.n

    @property
    def pos(self):
        return self.mc.pos

    @property
    def energy(self):
        return self.mc.energy

    def stats(self):
        c = self.mc.counts
        return {"delta": self.mc.delta, "acceptance_translation": self.mc.acceptance["translation"],
                "acceptance_swap": self.mc.acceptance["swap"], "attempted_moves": int(self.mc.attempted),
                "attempted_translations": int(c[0]), "attempted_swaps": int(c[2]),
                "p_swap": self.mc.p_swap}

    def state(self):
        mc = self.mc
        return {"pos": mc.pos, "diam": mc.diam, "types": mc.types, "delta": mc.delta, "calls": mc.calls,
                "counts": mc.counts, "attempted": mc.attempted, "t": self.t}

    def restore(self, s):
        mc = self.mc
        mc.set_delta(float(s["delta"]))
        mc.set_state(s["pos"], s["diam"], s["types"])
        mc.calls = int(s["calls"])
        mc.counts[:] = s["counts"]
        mc.attempted = int(s["attempted"])
        self.t = float(s["t"])

    def configuration(self, **meta):
        return self.mc.configuration(**meta)


class _HybridDriver:
    unit = "MD time"
    name = "swap MC/MD"

    def __init__(self, conf, T, seed, p):
        from .engine.swap import SwapMC

        # start-up by Monte Carlo (translations + type exchanges): it copes with the close
        # contacts of the lattice start where MD would blow up
        self.pre = SwapMC(conf, T, swap="types", p_swap=0.1, delta=0.05, seed=seed)
        self.seed = seed
        self.T = T
        self.p = p
        self.h = None
        self.t = 0.0

    def _make(self, conf, vel=None):
        from .engine.swap import HybridSwapMD

        p = self.p
        self.h = HybridSwapMD(conf, self.T, dt=p["md_dt"], md_steps=p["md_steps"],
                              swap_factor=p["swap_factor"], gamma=p["gamma"], seed=self.seed,
                              velocities=vel, thermostat=p["thermostat"], tau=p["tau_nh"])

    def startup(self, p):
        from .engine.swap import tune_delta

        rounds = max(1, int(p["tune_sweeps"] // 5))
        tune_delta(self.pre, p["target_acceptance"], rounds=rounds, sweeps_per_round=5.0)
        self._make(self.pre.configuration())

    def advance(self, dt):
        nb = int(round(dt / (self.h.md_steps * self.h.dt)))
        if nb > 0:
            self.h.run_blocks(nb)
        self.t = self.h.time

    @property
    def pos(self):
        return self.h.pos

    @property
    def energy(self):
        return self.h.mc.energy

    def stats(self):
        mc = self.h.mc
        c = mc.counts
        return {"acceptance_swap": mc.acceptance["swap"], "attempted_swaps": int(c[2]),
                "md_steps": int(self.h.blocks * self.h.md_steps), "md_dt": self.h.dt,
                "blocks": int(self.h.blocks), "swaps_per_block": int(self.h.n_swaps),
                "startup_mc_acceptance_translation": self.pre.acceptance["translation"]}

    def state(self):
        mc = self.h.mc
        return {"pos": mc.pos, "diam": mc.diam, "types": mc.types, "vel": self.h.vel, "calls": mc.calls,
                "counts": mc.counts, "attempted": mc.attempted, "blocks": self.h.blocks, "t": self.t}

    def restore(self, s):
        conf = self.pre.configuration()
        conf.positions = np.array(s["pos"])
        conf.types = np.array(s["types"])
        self._make(conf, np.array(s["vel"]))
        mc = self.h.mc
        mc.calls = int(s["calls"])
        mc.counts[:] = s["counts"]
        mc.attempted = int(s["attempted"])
        self.h.blocks = int(s["blocks"])
        self.t = float(s["t"])

    def configuration(self, **meta):
        return self.h.configuration(**meta)


# ------------------------------------------------------------------------------------------
# the stage
# ------------------------------------------------------------------------------------------
def _params(model: PairModel, params: dict, dim: int, density: float | None) -> dict:
    """The validated parameters (:class:`PrepareParams`) with the model-dependent defaults filled in."""
    p = PrepareParams.build("prepare", **params).model_dump()
    p.update(dim=int(dim), density=density)
    if dim not in (2, 3):
        raise InputError(f"prepare: dim must be 2 or 3, got {dim!r}")
    if density is not None and not (np.isfinite(density) and density > 0):
        raise InputError(f"prepare: density must be a positive number, got {density!r}")
    hybrid = model.mode == 0
    if p["min_segment"] is None:
        p["min_segment"] = 5.0 if hybrid else 50.0
    if p["max_time"] is None:
        p["max_time"] = 2e4 if hybrid else 1e7
    if p["T_quench"] is None:
        p["T_quench"] = model.explore_temperature  # the quench target: 001 T_MD, 002 T_exp
    return p


def _write_json(path: Path, obj: dict) -> None:
    with atomic_open(path, "w") as fh:
        json.dump(obj, fh, indent=2, default=lambda o: o.item() if hasattr(o, "item") else str(o))
        fh.write("\n")


def is_complete(out_dir: str | os.PathLike) -> bool:
    out = Path(out_dir)
    return all((out / f).exists() for f in FILES)


def prepare_sample(out_dir: str | os.PathLike, model: str | PairModel, n: int, T_f: float, seed: int,
                   progress: Callable[[float, dict], None] | None = None, *, dim: int = 3,
                   density: float | None = None, **params) -> dict:
    """Equilibrate one sample at T_f, quench it, store ``equilibrium.h5``, ``glass.h5``,
    ``prepare.json`` (and ``trace.npz``) in ``out_dir``. Returns the metadata dict.

    Resumable: an equilibrated finished sample is returned as stored; an unfinished one
    continues from ``checkpoint.npz``; a finished but NOT equilibrated one continues when
    the new budget is larger. ``progress(fraction, info)`` is called after every segment.
    ``dim`` and ``density`` (default: the model's) describe the system; ``**params`` are the fields of
    :class:`PrepareParams` (defaults and reasons there and in docs/prepare.md).
    """
    model = get_model(model) if isinstance(model, str) else model
    p = _params(model, params, dim, density)
    n = int(n)
    T_f = float(T_f)
    if not (np.isfinite(T_f) and T_f > 0):
        raise InputError(f"prepare: T_f must be a positive temperature, got {T_f}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ident = {"model": model.name, "N": n, "T_f": T_f, "seed": int(seed), "dim": int(p["dim"])}
    meta_path = out / PREPARE_META
    ckpt = out / CHECKPOINT
    if is_complete(out):
        old = json.loads(meta_path.read_text())
        same = all(old.get(k) == v for k, v in ident.items())
        if not same:
            raise InputError(f"{meta_path}: holds a different sample ({ {k: old.get(k) for k in ident} }); "
                             f"use another directory")
        if old.get("equilibrated") or not ckpt.exists() or old.get("time_run", 0) >= p["max_time"]:
            return old
    warning = check_temperature(model, T_f)
    t_wall0 = time.perf_counter()

    hybrid = model.mode == 0
    conf0 = model.random_configuration(n, density=p["density"], dim=p["dim"], seed=int(seed),
                                       **({} if hybrid else {"diameters": p["diameters"]}))
    drv = _HybridDriver(conf0, T_f, int(seed), p) if hybrid else _MCDriver(conf0, T_f, int(seed), p)
    k = model.k_alpha

    # -- state: fresh or from the checkpoint -------------------------------------------------
    trace_t: list[float] = []
    trace_e: list[float] = []
    segs: list[tuple[float, float, float]] = []       # (start, length, tau or nan)
    seg_len = float(p["min_segment"])
    wall_before = 0.0
    last_fs = (np.zeros(0), np.zeros(0))
    if ckpt.exists():
        try:
            with np.load(ckpt, allow_pickle=False) as z:
                s = {key: z[key] for key in z.files}
        except Exception as exc:  # a damaged checkpoint is ignored, never trusted
            warnings.warn(f"{ckpt}: unreadable checkpoint ({exc}); starting afresh", UserWarning)
            s = None
        if s is not None:
            got = json.loads(str(s["ident"]))
            if got != ident:
                raise InputError(f"{ckpt}: checkpoint of a different sample ({got}); use another directory")
            drv.restore(s)
            trace_t = s["trace_t"].tolist()
            trace_e = s["trace_e"].tolist()
            segs = [tuple(r) for r in s["segs"].tolist()]
            seg_len = float(s["seg_len"])
            wall_before = float(s["wall"])
            last_fs = (s["fs_t"], s["fs"])
    if not segs and not trace_t:
        drv.startup(p)
        drv.t = 0.0

    def save_checkpoint():
        st = drv.state()
        arrays = {key: np.asarray(v) for key, v in st.items()}
        arrays.update(ident=np.array(json.dumps(ident)), trace_t=np.array(trace_t), trace_e=np.array(trace_e),
                      segs=np.array(segs, dtype=float).reshape(-1, 3), seg_len=np.array(seg_len),
                      wall=np.array(wall_before + time.perf_counter() - t_wall0),
                      fs_t=np.asarray(last_fs[0]), fs=np.asarray(last_fs[1]))
        atomic_write(ckpt, lambda tmp: np.savez(tmp, **arrays))

    def verdict():
        t_run = drv.t
        half = [s_[2] for s_ in segs if s_[0] >= 0.5 * t_run and np.isfinite(s_[2])]
        if not half:
            half = [s_[2] for s_ in segs if np.isfinite(s_[2])][-3:]
        tau = float(np.median(half)) if half else None
        res = {"tau_alpha": tau, "time_run": t_run}
        if tau is None:
            res.update(equilibrated=False, run_tau=0.0, z=float("inf"),
                       reason=f"F_s(k={k:g}) never fell below 1/e within a segment of "
                              f"{max([s_[1] for s_ in segs] or [0]):g} {drv.unit}: tau_alpha is longer")
            return res
        st = stationarity(np.array(trace_t), np.array(trace_e), 0.5 * t_run, tau)
        run_tau = t_run / tau
        ok_len = run_tau >= p["n_tau"]
        ok_z = st["z"] <= p["z_max"]
        res.update(run_tau=run_tau, z=st["z"], energy_mean=st["mean"], energy_sem=st["sem"],
                   stationarity_blocks=st["blocks"], equilibrated=bool(ok_len and ok_z))
        why = []
        if not ok_len:
            why.append(f"ran {run_tau:.1f} tau_alpha of the {p['n_tau']:g} required "
                       f"(tau_alpha = {tau:.4g} {drv.unit}; {p['n_tau'] * tau - t_run:.4g} {drv.unit} missing)")
        if not ok_z:
            why.append(f"energy drifts by {st['z']:.1f} standard errors between the halves of the last "
                       f"half of the run (limit {p['z_max']:g})")
        res["reason"] = "; ".join(why)
        return res

    # -- equilibration loop -----------------------------------------------------------------
    v = verdict() if segs else {"equilibrated": False}
    while not v["equilibrated"]:
        wall = wall_before + time.perf_counter() - t_wall0
        if drv.t >= p["max_time"] or (p["max_seconds"] is not None and wall >= p["max_seconds"]):
            break
        L = min(seg_len, max(p["max_time"] - drv.t, p["min_segment"]))
        t0 = drv.t
        grid = np.unique(np.concatenate([log_times(L, min(1.0, L / 10)), np.linspace(L / 40, L, 40)]))
        x0 = drv.pos.copy()
        fs = np.empty(len(grid))
        now = 0.0
        for m, tg in enumerate(grid):
            drv.advance(tg - now)
            now = tg
            fs[m] = fs_self(drv.pos - x0, k)
            trace_t.append(drv.t)
            trace_e.append(drv.energy / n)
        tau_seg = crossing_time(grid, fs)
        segs.append((t0, drv.t - t0, np.nan if tau_seg is None else tau_seg))
        last_fs = (grid, fs)
        seg_len = 2 * L if tau_seg is None else max(p["min_segment"], 3.0 * tau_seg)
        v = verdict()
        save_checkpoint()
        if progress is not None:
            frac_budget = drv.t / p["max_time"]
            frac_eq = (v.get("run_tau", 0.0) / p["n_tau"]) if v.get("tau_alpha") else 0.0
            progress(float(min(1.0, max(frac_budget, min(frac_eq, 0.99)))), {**v, "time": drv.t})

    # -- store the equilibrium configuration, quench, metadata ------------------------------
    wall = wall_before + time.perf_counter() - t_wall0
    eq_meta = {**ident, "equilibrated": bool(v["equilibrated"]), "tau_alpha": v.get("tau_alpha")}
    eq_conf = drv.configuration(**{k_: v_ for k_, v_ in eq_meta.items() if k_ != "model"})
    eq_conf.positions = eq_conf.wrapped()
    glass, qinfo = quench(eq_conf, model, p, int(seed))
    tio.write(out / EQUILIBRIUM, eq_conf)
    tio.write(out / GLASS, glass)
    t_arr = np.array(trace_t)
    atomic_write(out / TRACE, lambda tmp: np.savez(
        tmp, t=t_arr, energy=np.array(trace_e), segments=np.array(segs, float).reshape(-1, 3),
        fs_t=np.asarray(last_fs[0]), fs=np.asarray(last_fs[1])))
    from . import __version__

    meta = {
        **ident, "density": float(eq_conf.density), "equilibrated": bool(v["equilibrated"]),
        "reason": v.get("reason") or None,
        "dynamics": drv.name, "time_unit": drv.unit, "k": k,
        "tau_alpha": v.get("tau_alpha"), "time_run": float(drv.t), "run_tau": v.get("run_tau"),
        "n_tau_required": p["n_tau"], "drift_z": v.get("z"), "z_max": p["z_max"],
        "energy_per_particle": v.get("energy_mean"), "energy_sem": v.get("energy_sem"),
        "segments": len(segs), "tau_segments": [None if not np.isfinite(s_[2]) else s_[2] for s_ in segs],
        **drv.stats(), "quench": qinfo, "temperature_warning": warning,
        "wall_seconds": wall, "version": __version__,
        "params": {k_: v_ for k_, v_ in p.items()},
    }
    _write_json(meta_path, meta)
    if v["equilibrated"] and ckpt.exists():
        ckpt.unlink()
    if not v["equilibrated"]:
        warnings.warn(f"{out}: sample NOT equilibrated at T_f = {T_f:g}: {v.get('reason')}", UserWarning,
                      stacklevel=2)
    return meta


def quench(conf: Configuration, model: PairModel, p: dict, seed: int) -> tuple[Configuration, dict]:
    """Fast quench of an equilibrium configuration: MD at T_quench (Berendsen, velocities drawn
    at T_quench) for ``quench_time``, or direct minimisation (L-BFGS to max force 1e-8)."""
    from .engine import ParticleSystem, maxwell_boltzmann, minimize

    ps = ParticleSystem(conf, model)
    x = conf.positions.copy()
    if p["quench"] == "minimize":
        r = minimize(ps, x, method="lbfgs", ftol=1e-8)
        info = {"method": "minimize", "energy_per_particle": r.energy / conf.n, "max_force": r.max_force,
                "converged": bool(r.converged), "iterations": int(r.iterations)}
        x = r.x.reshape(conf.positions.shape)
    else:
        dt = model.md_dt
        nsteps = max(1, int(round(p["quench_time"] / dt)))
        rng = np.random.default_rng(np.random.SeedSequence([seed, 99]))
        vel = maxwell_boltzmann(conf.n, conf.dim, p["T_quench"], rng)
        samples, _ = ps.run_md(x, vel, nsteps, dt, thermostat="berendsen", temperature=p["T_quench"],
                               tau=0.1, sample_every=nsteps)
        info = {"method": "md", "T_quench": p["T_quench"], "time": nsteps * dt, "dt": dt, "steps": nsteps,
                "energy_per_particle": float(samples[-1, 0]) / conf.n,
                "kinetic_temperature": float(2 * samples[-1, 1] / (conf.dim * (conf.n - 1)))}
    glass = ps.configuration(x, quench=info["method"], T_quench=p.get("T_quench"))
    glass.positions = glass.wrapped()
    return glass, info


def prepare_samples(run_dir: str | os.PathLike, model: str, n: int, T_f: float, samples: int, seed: int,
                    progress: Callable[[int, float, dict], None] | None = None, **params) -> list[dict]:
    """N_g independent samples at T_f, sample k seeded by :func:`sample_seed`, each in
    ``sample_dir(run_dir, model, T_f, k) / "prepare"``. ``progress(k, fraction, info)``."""
    if int(samples) < 1:
        raise InputError(f"prepare: number of samples must be at least 1, got {samples}")
    out = []
    for kk in range(int(samples)):
        cb = None if progress is None else (lambda f, info, kk=kk: progress(kk, f, info))
        name = str(model).lower()
        d = sample_dir(run_dir, name, T_f, kk) / "prepare"
        out.append(prepare_sample(d, model, n, T_f, sample_seed(seed, name, T_f, kk), progress=cb, **params))
        if progress is not None:
            progress(kk, 1.0, out[-1])
    return out


def load_trace(out_dir: str | os.PathLike) -> dict:
    """The energy / tau history of a prepared sample (for the figures)."""
    path = Path(out_dir) / TRACE
    if not path.exists():
        raise InputError(f"{path}: no trace (run the prepare stage first)")
    with np.load(path, allow_pickle=False) as z:
        return {key: z[key] for key in z.files}
