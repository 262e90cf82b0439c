"""Landscape exploration: the library of inherent structures and the candidate double wells.

Protocol (001_1b8b0be289dbb4b8.txt "Landscape exploration"; 002_b660eabf4d6c7be7.txt
Sec. II A steps 2-3 and Sec. II D):

1. From a glass, run MD at the exploration temperature T_exp (Berendsen thermostat,
   velocities from the Maxwell-Boltzmann distribution, dt = 0.0025) and minimise a
   copy of the configuration every ``tau_cg`` (a time; round(tau_cg / dt) MD steps) to its
   inherent structure (IS).
   ``runs`` isoconfigurational runs (same glass, different velocities, 001) feed one
   library per glass.
2. A new minimum is the same IS as a known one when the energies agree within
   ``e_tol`` and the largest (minimum-image) particle displacement between the two
   is below ``d_tol``; each IS is stored once.
3. Consecutive distinct IS of a run define transitions; the transition matrix
   T_{a->b}, the persistence times tau_p (002 Sec. III A) and the candidate double
   wells: pairs with T_{a->b} >= 1 and T_{b->a} >= 1 (002 Sec. II D), with the
   Euclidean distance of 002 Eq. (7), the participation ratio of 002 Eq. (16) and
   the energy difference.
4. Optionally (``bisect=True``), when two consecutive minimisations land in different
   IS the MD segment between them is bisected (re-run exactly from stored snapshots)
   to find the IS visited in between.
5. Confinement check: the mean-squared displacement from the glass must plateau.

The exploration talks only to the :class:`~twolevel.engine.system.Potential`
interface (``energy``, ``energy_forces``, ``distance``, ``dim``) plus an MD
integrator of :mod:`twolevel.engine.md`: :meth:`ParticleSystem.run_md` (compiled) for
particle systems, :func:`~twolevel.engine.md.run_md_generic` (the same velocity Verlet,
Berendsen or Langevin, in Python) for any other potential (synthetic landscapes,
:mod:`twolevel.landscapes`).

Artefacts in ``out_dir`` (the ``explore/`` directory of a sample)::

    is_configs.h5               one dataset /configs/<is_id> per IS (+ /box, /types, /diameters, attr model)
    series.parquet              every minimisation: run, step, kind, is_id, energy, max_force, msd, ...
    inherent_structures.parquet is_id, energy, e_per_particle, first_seen(_time), first_run, visits, ...
    transitions.parquet         is_a -> is_b, count, first_time
    pairs.parquet               candidate double wells (both directions): is_a, is_b, n_ab, n_ba, e_a,
                                e_b, dE, d, d_total, PR, max_disp, first_time
    explore.json                parameters, status, counts, timings, confinement, warnings
    state.npz                   resume state (run, step, positions, velocities)

Determinism and resuming: every minimisation boundary and every ``md_segment``
steps the neighbour lists are rebuilt from scratch, so the trajectory depends only on
the state stored at the last checkpoint; resuming a stopped exploration reproduces
the uninterrupted one exactly (same seed).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from .errors import InputError, PhysicsError
from .io.atomic import atomic_open, atomic_path, atomic_write, sha256_file
from .measures import participation_ratio, particle_dim, per_particle_sq
from .layout import EXPLORE_META, INHERENT_STRUCTURES, IS_CONFIGS, PAIRS, SERIES, TRANSITIONS
from .params import Params
from .seeds import call_seed

__all__ = ["ExploreParams", "ExploreResult", "explore", "explore_glass", "ISLibrary", "ISConfigs", "read_library",
           "merge_library", "read_is", "read_pairs", "read_series", "read_transitions", "is_configuration",
           "persistence_times", "pair_measures"]

REGULAR = 0   # series kind: a minimisation every tau_cg
BISECT = 1    # series kind: a minimisation found by bisecting an MD segment
INITIAL = 2   # series kind: the minimised starting glass (step 0 of each run)

SCHEMA_VERSION = 1


# ============================================================================ parameters
class ExploreParams(Params):
    """``[explore]``: MD at T_exp in the glass metabasin, minimisation every tau_cg (002 Sec. II D).

    The one owner of the exploration's parameters and defaults: the study file's ``[explore]``,
    ``twolevel explore`` and :func:`explore` / :func:`explore_glass` all validate through it.
    ``tau_cg`` is a time (002 Table I); the MD steps between minimisations are
    ``round(tau_cg / dt)`` (:attr:`_Protocol.cg_steps`).
    """

    temperature: float | None = Field(None, gt=0, description="Exploration temperature (default per model: PSS T_MD = 0.04 (001), TLJ T_exp = 0.4 (002)).")
    dt: float | None = Field(None, gt=0, description="MD time step (default per model: TLJ 2.5e-3 (002 Sec. II D), PSS 0.01).")
    tau_cg: float = Field(2.0, gt=0, description="Time between minimisations, in MD time units as in 002 Table I (dataset 2: 2-31); the explore stage gets round(tau_cg / dt) MD steps.")
    n_cg: int = Field(1000, ge=1, description="Minimisations per run, N_cg of 002 Table I (1e4-1.6e5 there); exploration time tau_total = N_cg tau_cg per run.")
    runs: int = Field(1, ge=1, description="Isoconfigurational runs per glass, each with its own velocities (001: up to 200).")
    thermostat: Literal["berendsen", "langevin"] = Field("berendsen", description="Thermostat (002 Sec. II D: Berendsen).")
    tau_t: float = Field(0.1, gt=0, description="Berendsen coupling time.")
    gamma: float = Field(1.0, gt=0, description="Langevin friction (thermostat = langevin only).")
    minimiser: Literal["lbfgs", "fire"] = Field("lbfgs", description="Minimiser of the inherent structures (002 uses conjugate gradient; L-BFGS reaches the same minima).")
    ftol: float = Field(1e-8, gt=0, description="Minimiser tolerance: largest per-particle force.")
    max_steps: int = Field(20000, ge=1, description="Step limit of one minimisation.")
    match_ftol: float = Field(1e-5, ge=0, description="Early identification: each minimisation first stops at this largest per-particle force; if that point is a known IS (e_tol, d_tol) the known minimum is taken, and only new IS are polished on to ftol (docs/explore.md: ~40 % fewer force evaluations for revisits, the same library). 0, or a value <= ftol, polishes every minimisation.")
    e_tol: float = Field(1e-6, gt=0, description="Two minima are the same inherent structure if their energies differ by less than e_tol ...")
    d_tol: float = Field(0.01, gt=0, description="... and no particle moved more than d_tol between them.")
    bisect: bool = Field(False, description="Bisect MD segments between different IS to find the directly connected pairs.")
    bisect_min_steps: int = Field(1, ge=1, description="Stop bisecting below this many MD steps.")
    md_segment: int = Field(100, ge=1, description="Neighbour-list reset / snapshot interval (MD steps).")
    plateau_tol: float = Field(0.5, gt=0, description="Growth of the mean-squared displacement between the two last quarters of a run that is flagged as diffusion (confinement check).")


@dataclass(frozen=True)
class _Protocol:
    """The resolved protocol of one exploration: :class:`ExploreParams` with the model-dependent
    defaults filled in, ``tau_cg`` turned into MD steps, and the seed."""

    temperature: float
    dt: float
    tau_cg: float          # time between minimisations
    cg_steps: int          # the same in MD steps: round(tau_cg / dt)
    n_cg: int
    runs: int
    seed: int
    thermostat: str
    tau_t: float
    gamma: float
    minimiser: str
    ftol: float
    max_steps: int
    match_ftol: float
    e_tol: float
    d_tol: float
    bisect: bool
    bisect_min_steps: int
    md_segment: int
    plateau_tol: float

    # the parameters that define the trajectory; `runs` may grow between calls
    def key(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("runs")
        return d


#: dt when neither the call nor the potential's model gives one (002 Sec. II D)
GENERIC_DT = 0.0025


def _protocol(params: ExploreParams, seed: int, pot) -> _Protocol:
    model = getattr(pot, "model", None)
    T = params.temperature if params.temperature is not None else getattr(model, "explore_temperature", None)
    if T is None:
        raise InputError("explore: temperature is required (the potential has no model to take T_exp from)")
    dt = params.dt if params.dt is not None else getattr(model, "explore_dt", GENERIC_DT)
    if int(seed) != seed or seed < 0:
        raise InputError(f"explore: seed must be a non-negative integer, got {seed!r}")
    steps = max(1, int(round(params.tau_cg / dt)))  # 002 Table I gives tau_cg as a time
    d = params.model_dump()
    d.update(temperature=float(T), dt=float(dt), cg_steps=steps, seed=int(seed))
    return _Protocol(**d)


def _explore_params(params, overrides: dict) -> ExploreParams:
    """``params`` (an ExploreParams or None) with keyword overrides, validated in one place."""
    if params is not None and not isinstance(params, ExploreParams):
        raise InputError("explore: params must be an ExploreParams or None; the positional (temperature, tau_cg, "
                         "n_min) form was replaced by keywords temperature=, tau_cg= (an MD time, 002 Table I), n_cg=")
    if "n_min" in overrides:
        raise InputError("explore: n_min was renamed n_cg (minimisations per run, N_cg of 002 Table I)")
    return ExploreParams.merged("explore", params, **overrides)


@dataclass
class ExploreResult:
    out_dir: Path
    complete: bool
    n_is: int
    n_pairs: int
    n_transitions: int
    minimisations: int
    summary: dict = field(default_factory=dict)


# ============================================================================ helpers
def pair_measures(pot, xa: np.ndarray, xb: np.ndarray) -> dict:
    """Distance measures between two IS.

    d:        002_b660eabf4d6c7be7.txt Eq. (7), sqrt((1/N) sum_i |r_i^a - r_i^b|^2)
    d_total:  sqrt(sum_i |r_i^a - r_i^b|^2) (the 001 "distance d", = sqrt(N) d)
    PR:       002_b660eabf4d6c7be7.txt Eq. (16), [sum_i (d^i)^2]^2 / sum_i (d^i)^4 with d^i
              the displacement magnitude of particle i
    max_disp: the largest single-particle displacement
    """
    d2 = per_particle_sq(pot.distance(xa, xb), particle_dim(pot))
    s2 = float(d2.sum())
    return {"d": math.sqrt(s2 / d2.size), "d_total": math.sqrt(s2), "PR": participation_ratio(d2),
            "max_disp": math.sqrt(float(d2.max()))}


class ISLibrary:
    """The distinct inherent structures found so far.

    Identity rule: a minimum (x, E) is IS k when |E - E_k| <= e_tol and the largest
    per-particle displacement between x and x_k (``pot.distance``, minimum image for
    periodic systems) is <= d_tol. Candidates are scanned in order of increasing
    |E - E_k|, the last IS seen first (most minimisations return to it).
    """

    def __init__(self, pot, e_tol: float, d_tol: float):
        self.pot = pot
        self.dim = particle_dim(pot)
        self.e_tol = float(e_tol)
        self.d_tol = float(d_tol)
        self._e = np.empty(64)
        self.configs: list[np.ndarray] = []
        self.max_force: list[float] = []
        self.comparisons = 0

    def __len__(self) -> int:
        return len(self.configs)

    @property
    def energies(self) -> np.ndarray:
        return self._e[: len(self.configs)]

    def max_displacement(self, a, b) -> float:
        return math.sqrt(float(per_particle_sq(self.pot.distance(a, b), self.dim).max()))

    def same(self, k: int, x, e: float) -> bool:
        if abs(self._e[k] - e) > self.e_tol:
            return False
        self.comparisons += 1
        return self.max_displacement(self.configs[k], x) <= self.d_tol

    def match(self, x, e: float, hint: int = -1) -> int:
        """Index of the known IS equal to (x, e), or -1."""
        n = len(self.configs)
        if n == 0:
            return -1
        if 0 <= hint < n and self.same(hint, x, e):
            return hint
        de = np.abs(self._e[:n] - e)
        cand = np.nonzero(de <= self.e_tol)[0]
        for k in cand[np.argsort(de[cand], kind="stable")]:
            if k != hint and self.same(int(k), x, e):
                return int(k)
        return -1

    def add(self, x, e: float, max_force: float = float("nan")) -> int:
        n = len(self.configs)
        if n == self._e.size:
            self._e = np.concatenate([self._e, np.empty(n)])
        self._e[n] = e
        self.configs.append(np.array(x, dtype=np.float64, copy=True))
        self.max_force.append(float(max_force))
        return n

    def identify(self, x, e: float, max_force: float = float("nan"), hint: int = -1) -> tuple[int, bool]:
        k = self.match(x, e, hint)
        if k >= 0:
            return k, False
        return self.add(x, e, max_force), True


# ============================================================================ dynamics
def _seg_seed(seed: int, run: int, step: int) -> int:
    """Seed of the MD segment of ``run`` that starts at ``step`` (twolevel.seeds: collision-free;
    the old seed sequence of the words (seed, run, step) split a 63-bit seed into two words, so a
    large seed could meet another (seed, run, step))."""
    return call_seed(seed, "explore/md", run, step)


class _Dynamics:
    """MD + minimisation on one potential, deterministic given (pos, vel) at a segment start."""

    def __init__(self, pot, p: _Protocol):
        from .engine import ParticleSystem

        self.p = p
        self.particles = isinstance(pot, ParticleSystem)
        if self.particles:
            # separate systems (own neighbour lists) for MD and for minimisation
            self.md_sys = ParticleSystem(pot.conf, pot.model, pot.skin, pot.outer_skin)
            self.min_sys = ParticleSystem(pot.conf, pot.model, pot.skin)
        else:
            self.md_sys = self.min_sys = pot
        self.pot = pot
        self.dim = particle_dim(pot)
        self.md_steps = 0
        self.md_cpu = 0.0
        self.min_cpu = 0.0
        self.min_force_evals = 0
        self.minimisations = 0

    def velocities(self, shape, rng) -> np.ndarray:
        from .engine import maxwell_boltzmann

        size = int(np.prod(shape))
        dim = self.dim if size % self.dim == 0 else 1
        v = maxwell_boltzmann(size // dim, dim, self.p.temperature, rng, zero_momentum=self.particles)
        return v.reshape(shape)

    def advance(self, pos, vel, nsteps: int, seed: int) -> None:
        """nsteps MD steps in place, starting from freshly built neighbour lists."""
        if nsteps <= 0:
            return
        t0 = time.process_time()
        p = self.p
        if self.particles:
            self.md_sys._ref = None  # force a neighbour-list rebuild: trajectory depends on (pos, vel) only
            self.md_sys.run_md(pos, vel, nsteps, p.dt, thermostat=p.thermostat, temperature=p.temperature,
                               tau=p.tau_t, gamma=p.gamma, seed=seed)
        else:  # the same integrators in Python, for any potential (one owner: twolevel.engine.md)
            from .engine.md import run_md_generic

            run_md_generic(self.md_sys, pos, vel, nsteps, p.dt, thermostat=p.thermostat, temperature=p.temperature,
                           tau=p.tau_t, gamma=p.gamma, seed=seed)
        self.md_steps += nsteps
        self.md_cpu += time.process_time() - t0

    def minimise(self, x, lib: "ISLibrary | None" = None, hint: int = -1):
        """Minimise a copy of x to ftol. With a library and ``match_ftol > ftol``, stop first at
        match_ftol: when that point already is a known IS (the library's energy and displacement
        tolerances), return that IS's stored minimum instead of polishing (the energy there is
        within ~1e-9 of the minimum's for PSS N = 1500 at 1e-5, far inside e_tol = 1e-6;
        docs/explore.md). A new IS is polished on to ftol from where the first stage stopped."""
        from .engine import minimize

        t0 = time.process_time()
        p = self.p
        if self.particles:
            self.min_sys._ref = None
        early = lib is not None and len(lib) > 0 and p.match_ftol > p.ftol
        r = minimize(self.min_sys, x, method=p.minimiser, ftol=p.match_ftol if early else p.ftol,
                     max_steps=p.max_steps)
        evals = r.force_evaluations
        if early:
            k = lib.match(r.x, r.energy, hint) if r.converged else -1
            if k >= 0:
                r = dataclasses.replace(r, x=lib.configs[k].copy(), energy=float(lib.energies[k]),
                                        max_force=lib.max_force[k])
            else:
                rest = max(1, p.max_steps - r.iterations)
                r2 = minimize(self.min_sys, r.x, method=p.minimiser, ftol=p.ftol, max_steps=rest)
                evals += r2.force_evaluations
                r = dataclasses.replace(r2, iterations=r.iterations + r2.iterations, force_evaluations=evals)
        self.min_cpu += time.process_time() - t0
        self.min_force_evals += evals
        self.minimisations += 1
        return r


# ============================================================================ analysis
def _series_frame(series: dict):
    import pandas as pd

    df = pd.DataFrame({k: np.asarray(v) for k, v in series.items()})
    return df


def _ordered_series(df, p: _Protocol):
    """Converged minimisations in trajectory order, with the global step."""
    d = df[df["is_id"] >= 0].copy()
    d["global_step"] = d["run"].astype(np.int64) * (p.n_cg * p.cg_steps) + d["step"].astype(np.int64)
    return d.sort_values(["run", "step", "kind"], kind="stable")


def _transition_events(d):
    """(run, global_step, from, to) for every change of IS within a run."""
    ids = d["is_id"].to_numpy()
    runs = d["run"].to_numpy()
    gs = d["global_step"].to_numpy()
    if ids.size < 2:
        return np.empty((0, 4), dtype=np.int64)
    ch = (ids[1:] != ids[:-1]) & (runs[1:] == runs[:-1])
    w = np.nonzero(ch)[0]
    return np.stack([runs[w + 1], gs[w + 1], ids[w], ids[w + 1]], axis=1).astype(np.int64)


def persistence_times(d) -> np.ndarray:
    """Persistence times tau_p in MD steps (002_b660eabf4d6c7be7.txt Sec. III A): the time
    during which the minimisations keep ending in the same IS before a new IS is found.
    A stay runs from the first minimisation in that IS to the first one in another; the
    first stay of each run (it began before the run) and the last (not ended) are censored."""
    out = []
    for _, g in d.groupby("run", sort=True):
        ids = g["is_id"].to_numpy()
        st = g["step"].to_numpy()
        ch = np.nonzero(ids[1:] != ids[:-1])[0] + 1  # indices where a new IS starts
        if ch.size >= 2:
            out.append(st[ch[1:]] - st[ch[:-1]])
    return np.concatenate(out) if out else np.empty(0, dtype=np.int64)


def _derive(series_df, lib: ISLibrary, p: _Protocol, pot, n_particles: int):
    """The tables derived from the series and the library."""
    import pandas as pd

    d = _ordered_series(series_df, p)
    n = len(lib)
    e = lib.energies.copy()
    reg = d[d["kind"] != BISECT]
    visits = np.bincount(reg["is_id"].to_numpy(), minlength=n)[:n]
    bis = np.bincount(d.loc[d["kind"] == BISECT, "is_id"].to_numpy(), minlength=n)[:n]
    first = d.groupby("is_id", sort=True).agg(first_seen=("global_step", "min"))
    first_seen = np.full(n, -1, dtype=np.int64)
    first_seen[first.index.to_numpy()] = first["first_seen"].to_numpy()
    first_row = d.sort_values("global_step", kind="stable").drop_duplicates("is_id")
    first_run = np.full(n, -1, dtype=np.int64)
    first_run[first_row["is_id"].to_numpy()] = first_row["run"].to_numpy()
    found_by = np.where(visits > 0, "md", "bisection")
    is_df = pd.DataFrame({
        "is_id": np.arange(n, dtype=np.int64), "energy": e,
        "e_per_particle": e / n_particles,  # 002_b660eabf4d6c7be7.txt Eq. (6)
        "first_seen": first_seen, "first_seen_time": first_seen * p.dt, "first_run": first_run,
        "visits": visits.astype(np.int64), "bisect_visits": bis.astype(np.int64),
        "max_force": np.asarray(lib.max_force[:n], dtype=float), "found_by": found_by,
    })
    ev = _transition_events(d)
    if len(ev):
        evd = pd.DataFrame(ev, columns=["run", "global_step", "is_a", "is_b"])
        tr = evd.groupby(["is_a", "is_b"], sort=True).agg(count=("run", "size"),
                                                          first_step=("global_step", "min")).reset_index()
    else:
        tr = pd.DataFrame({"is_a": np.empty(0, np.int64), "is_b": np.empty(0, np.int64),
                           "count": np.empty(0, np.int64), "first_step": np.empty(0, np.int64)})
    tr["first_time"] = tr["first_step"] * p.dt
    # candidate double wells: T_{a->b} >= 1 and T_{b->a} >= 1 (002 Sec. II D)
    cnt = {(int(a), int(b)): (int(c), int(s)) for a, b, c, s in
           tr[["is_a", "is_b", "count", "first_step"]].itertuples(index=False)}
    rows = []
    for (a, b), (c_ab, s_ab) in cnt.items():
        if (b, a) not in cnt:
            continue
        lo, hi = (a, b) if (e[a], a) <= (e[b], b) else (b, a)
        if (lo, hi) != (a, b):
            continue  # each unordered pair once, from its lower-energy end
        c_ba, s_ba = cnt[(b, a)]
        m = pair_measures(pot, lib.configs[a], lib.configs[b])
        step = max(s_ab, s_ba)
        rows.append({"is_a": a, "is_b": b, "n_ab": c_ab, "n_ba": c_ba, "e_a": e[a], "e_b": e[b],
                     "dE": e[b] - e[a], **m, "first_step": step, "first_time": step * p.dt})
    cols = ["is_a", "is_b", "n_ab", "n_ba", "e_a", "e_b", "dE", "d", "d_total", "PR", "max_disp",
            "first_step", "first_time"]
    pairs = pd.DataFrame(rows, columns=cols)
    if len(pairs):
        pairs = pairs.sort_values(["first_step", "is_a", "is_b"], kind="stable").reset_index(drop=True)
    for c in ("is_a", "is_b", "n_ab", "n_ba", "first_step"):
        pairs[c] = pairs[c].astype(np.int64)
    tau_p = persistence_times(d)
    return is_df, tr, pairs, tau_p


def _confinement(series_df, p: _Protocol) -> dict:
    """MSD plateau check (002 Sec. II D: 'The mean-squared displacement reaches a plateau ...
    and does not grow above it'). Mean over runs of the MSD from the glass, at each
    regular minimisation; the growth between the second and the last quarter of the run."""
    reg = series_df[(series_df["kind"] == REGULAR) & np.isfinite(series_df["msd"])]
    if len(reg) == 0:
        return {"confined": None, "reason": "no MSD samples"}
    m = reg.groupby("step", sort=True)["msd"].mean()
    steps = m.index.to_numpy()
    vals = m.to_numpy()
    total = p.n_cg * p.cg_steps
    out = {"msd_steps": steps.tolist(), "msd": vals.tolist(), "msd_final": float(vals[-1])}
    mid = vals[(steps > total / 4) & (steps <= total / 2)]
    late = vals[steps > 3 * total / 4]
    if len(steps) < 8 or mid.size == 0 or late.size == 0 or steps[-1] < 0.9 * total:
        out.update(confined=None, reason="not enough MSD samples for the plateau check")
        return out
    growth = float(late.mean() / max(mid.mean(), 1e-300) - 1.0)
    out.update(msd_mid=float(mid.mean()), msd_late=float(late.mean()), growth=growth,
               confined=bool(growth <= p.plateau_tol))
    return out


# ============================================================================ storage
def _write_parquet(path: Path, df) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


_IS_GROUP = "configs"  # is_configs.h5: /configs/<is_id>


def _write_configs(path: Path, lib: ISLibrary, n_written: int, meta: dict) -> int:
    """Write the whole library to is_configs.h5 (atomic rename) when it has grown since n_written.

    The file is written afresh each time, never appended to: HDF5's layout
    depends on the history of the writes, so appending after a resume gave
    other bytes than an uninterrupted run (equal datasets). Written afresh, the
    file depends only on the library: a resumed exploration ends byte-identical.
    """
    import h5py

    n = len(lib)
    if n == n_written and path.exists():
        return n
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        # system description at the root (box, types, diameters datasets; model attribute)
        for k, v in meta.items():
            if isinstance(v, np.ndarray):
                f.create_dataset(k, data=v)
            elif v is not None:
                f.attrs[k] = v
        grp = f.create_group(_IS_GROUP)
        for k in range(n):
            ds = grp.create_dataset(str(k), data=lib.configs[k])
            ds.attrs["energy"] = float(lib.energies[k])
            ds.attrs["max_force"] = float(lib.max_force[k])
        f.attrs["n_is"] = n
    return n


class ISConfigs:
    """The one reader of ``is_configs.h5`` as :func:`explore` writes it: ``/configs/<is_id>``
    (positions, attributes energy and max_force) and, for particle systems, the datasets ``/box``,
    ``/types``, ``/diameters`` and the attribute ``model`` at the root. The paths stage reads its
    end points through it; a file in any other layout is refused in one line.

    ``ISConfigs(explore_dir)`` or ``ISConfigs(path_to_h5)``; use as a context manager.
    """

    def __init__(self, where):
        import h5py

        path = Path(where)
        path = path / IS_CONFIGS if path.is_dir() else path
        if not path.is_file():
            raise InputError(f"{path}: no such file (run the exploration first)")
        try:
            self.f = h5py.File(path, "r")
        except OSError as exc:
            raise InputError(f"{path}: not a readable HDF5 file ({exc})") from None
        self.path = path
        if not isinstance(self.f.get(_IS_GROUP), h5py.Group):
            self.f.close()
            raise InputError(f"{path}: not an IS library written by twolevel explore (no /{_IS_GROUP} group)")
        self.group = self.f[_IS_GROUP]

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.f.close()

    def __contains__(self, is_id) -> bool:
        return str(int(is_id)) in self.group

    def positions(self, is_id: int) -> np.ndarray:
        key = str(int(is_id))
        if key not in self.group:
            raise InputError(f"{self.path}: no inherent structure {is_id}")
        return self.group[key][()]

    def ids(self) -> list[int]:
        """The stored is_id, ascending."""
        return sorted(int(k) for k in self.group)

    def energy(self, is_id: int) -> float:
        return float(self.group[str(int(is_id))].attrs["energy"])

    def system(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, str | None]:
        """(box, types, diameters, model) of a particle-system exploration."""
        if "box" not in self.f:
            raise InputError(f"{self.path}: not a particle-system exploration (no /box)")
        model = self.f.attrs.get("model")
        model = model.decode() if isinstance(model, bytes) else (None if model is None else str(model))
        return self.f["box"][()], self.f["types"][()], self.f["diameters"][()], model

    def configuration(self, is_id: int):
        """Inherent structure ``is_id`` as a :class:`~twolevel.config.Configuration` (particle systems)."""
        return self._configuration(self.positions(is_id), is_id)

    def _configuration(self, x: np.ndarray, is_id: int):
        from .config import Configuration

        box, types, diameters, model = self.system()
        return Configuration(np.asarray(x, dtype=np.float64).reshape(-1, box.shape[0]), box, types, diameters, model,
                             {"is_id": int(is_id), "source": str(self.path)})


def read_is(out_dir, is_id: int, paths_dir=None) -> np.ndarray:
    """Coordinates of inherent structure ``is_id`` from ``out_dir/is_configs.h5``.

    With ``paths_dir`` (a paths stage directory), an intermediate minimum that the paths stage
    found and merged into the library (``paths_dir/new_minima.h5``) is found too.
    """
    import h5py

    with ISConfigs(out_dir) as store:
        if is_id in store:
            return store.positions(is_id)
        path = store.path
    if paths_dir is not None:
        extra = Path(paths_dir) / "new_minima.h5"
        if extra.is_file():
            with h5py.File(extra, "r") as f:
                if str(int(is_id)) in f:
                    return f[str(int(is_id))][()]
    raise InputError(f"{path}: no inherent structure {is_id}"
                     + (f" (nor in {Path(paths_dir) / 'new_minima.h5'})" if paths_dir is not None else ""))


def is_configuration(out_dir, is_id: int, paths_dir=None):
    """Inherent structure ``is_id`` as a :class:`~twolevel.config.Configuration` (particle systems)."""
    x = read_is(out_dir, is_id, paths_dir)
    with ISConfigs(out_dir) as store:
        return store._configuration(x, is_id)


def _read_table(out_dir, name):
    import pandas as pd

    path = Path(out_dir) / name
    if not path.is_file():
        raise InputError(f"{path}: no such file (run the exploration first)")
    return pd.read_parquet(path)


def read_library(out_dir, paths_dir=None):
    """The inherent-structure table (``inherent_structures.parquet``) as a DataFrame.

    With ``paths_dir``: the library of the glass after the paths stage (``paths_dir/library.parquet``,
    written by :func:`merge_library`), i.e. with the intermediate minima found by splitting paths.
    """
    if paths_dir is not None and (Path(paths_dir) / "library.parquet").is_file():
        return _read_table(paths_dir, "library.parquet")
    return _read_table(out_dir, INHERENT_STRUCTURES)


def merge_library(explore_dir, paths_dir):
    """Add the intermediate minima found by the paths stage to the IS library of the glass.

    A converged band with interior minima is split into elementary double wells between
    consecutive minima (001; 002_b660eabf4d6c7be7.txt Sec. II D); a minimum found that way and
    not already in the library gets a fresh ``is_id`` from the paths stage
    (``paths_dir/new_minima.{parquet,h5}``). This writes ``paths_dir/library.parquet``: every
    row of ``explore_dir/inherent_structures.parquet`` followed by one row per new minimum with
    ``found_by = "paths"``, ``found_between`` (the candidate pair whose band held it), no visits
    and no first-seen time. The exploration's own files are left untouched: they belong to the
    explore stage (checksummed, resumable), and a later exploration of the same glass keeps its
    own numbering. Idempotent; returns the merged table.
    """
    import h5py
    import pandas as pd

    explore_dir, paths_dir = Path(explore_dir), Path(paths_dir)
    lib = read_library(explore_dir)
    new_p = paths_dir / "new_minima.parquet"
    new = pd.read_parquet(new_p) if new_p.is_file() else pd.DataFrame(columns=["is_id", "energy", "found_between"])
    lib = lib.assign(found_between=pd.Series([None] * len(lib), dtype=object))
    if len(new):
        clash = sorted(set(new["is_id"].astype(int)) & set(lib["is_id"].astype(int)))
        if clash:
            raise InputError(f"{new_p}: is_id {clash[0]} already in {explore_dir / 'inherent_structures.parquet'}"
                             " (the exploration changed after the paths stage ran: rerun paths)")
        with h5py.File(paths_dir / "new_minima.h5", "r") as f:
            missing = [int(i) for i in new["is_id"] if str(int(i)) not in f]
            n_part = f[str(int(new["is_id"].iloc[0]))].shape[0] if not missing else None
        if missing:
            raise InputError(f"{paths_dir / 'new_minima.h5'}: no configuration for new minimum {missing[0]}")
        e = new["energy"].to_numpy(dtype=float)
        rows = pd.DataFrame({
            "is_id": new["is_id"].to_numpy(dtype=np.int64), "energy": e,
            "e_per_particle": e / n_part,  # 002_b660eabf4d6c7be7.txt Eq. (6)
            "first_seen": np.full(len(new), -1, np.int64), "first_seen_time": np.full(len(new), np.nan),
            "first_run": np.full(len(new), -1, np.int64), "visits": np.zeros(len(new), np.int64),
            "bisect_visits": np.zeros(len(new), np.int64), "max_force": np.full(len(new), np.nan),
            "found_by": "paths", "found_between": new["found_between"].astype(str).to_numpy(dtype=object),
        })
        lib = pd.concat([lib, rows], ignore_index=True)
    _write_parquet(paths_dir / "library.parquet", lib)
    return pd.read_parquet(paths_dir / "library.parquet")  # as every reader will see it (dtypes)


def read_pairs(out_dir):
    """The candidate double wells (``pairs.parquet``) as a DataFrame."""
    return _read_table(out_dir, PAIRS)


def read_transitions(out_dir):
    return _read_table(out_dir, TRANSITIONS)


def read_series(out_dir):
    return _read_table(out_dir, SERIES)


# ============================================================================ the stage
_SERIES_COLS = ("run", "step", "kind", "is_id", "energy", "max_force", "iterations", "converged", "msd")


def explore(pot, x0, out_dir, params: ExploreParams | None = None, *, seed: int = 0, progress: bool = False,
            stop_after: int | None = None, stop_seconds: float | None = None, checkpoint_every: int = 200,
            checkpoint_seconds: float = 120.0, meta: dict | None = None, **overrides) -> ExploreResult:
    """Explore the landscape of ``pot`` from ``x0``; write the artefacts into ``out_dir``.

    Parameters
    ----------
    pot : a Potential (ParticleSystem or any object with energy, energy_forces, distance, dim)
    x0 : starting coordinates (the glass)
    params, **overrides : an :class:`ExploreParams` and/or its fields as keywords (temperature,
        tau_cg (an MD time), n_cg, runs, dt, thermostat, tau_t, e_tol, d_tol, ftol, minimiser,
        max_steps, bisect, ...); temperature and dt default to the potential's model (PSS 0.04 /
        0.01, TLJ 0.4 / 0.0025), dt to 0.0025 for a potential without a model
    seed : seed of the velocities
    stop_after : stop (resumably) after this many regular minimisations in this call
    stop_seconds : stop (resumably) after the first minimisation that ends this many wall-clock
        seconds after the call started (``twolevel explore --time``)
    checkpoint_every, checkpoint_seconds : how often the resume state is written
    meta : extra entries for explore.json (e.g. the glass file)

    Resumable: a second call with the same parameters continues where the first stopped
    (``runs`` may be raised to add isoconfigurational runs); a finished exploration is a no-op.
    """
    p = _protocol(_explore_params(params, overrides), seed, pot)
    x0 = np.array(x0, dtype=np.float64, copy=True)
    if not np.all(np.isfinite(x0)):
        raise InputError("explore: starting coordinates are not finite")
    if stop_seconds is not None and not (math.isfinite(stop_seconds) and stop_seconds > 0):
        raise InputError(f"explore: stop_seconds must be a positive number of seconds, got {stop_seconds}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ex = _Explorer(pot, x0, out, p, progress, stop_after, checkpoint_every, checkpoint_seconds, meta or {})
    ex.deadline = None if stop_seconds is None else time.monotonic() + float(stop_seconds)
    return ex.run()


class _Explorer:
    def __init__(self, pot, x0, out, p, progress, stop_after, checkpoint_every, checkpoint_seconds, meta):
        self.pot, self.x0, self.out, self.p = pot, x0, out, p
        self.progress, self.stop_after = progress, stop_after
        self.deadline: float | None = None  # time.monotonic() after which the call stops (stop_seconds)
        self.checkpoint_every = max(1, int(checkpoint_every))
        self.checkpoint_seconds = float(checkpoint_seconds)
        self.meta = meta
        self.dyn = _Dynamics(pot, p)
        self.lib = ISLibrary(pot, p.e_tol, p.d_tol)
        self.series = {k: [] for k in _SERIES_COLS}
        self.n_particles = x0.size // self.dyn.dim if x0.size % self.dyn.dim == 0 else x0.size
        self.n_written = 0
        self.cpu_before = {"md": 0.0, "min": 0.0, "md_steps": 0, "minimisations": 0, "force_evals": 0}
        self.warnings: list[str] = []
        self.run_idx, self.k = 0, 0
        self.pos = self.vel = None
        self.last_id = -1
        self._init_min = None

    # -- state ------------------------------------------------------------------------
    def _h5_meta(self) -> dict:
        m = {"n_particles": self.n_particles, "dim": self.dyn.dim, "potential": type(self.pot).__name__}
        if self.dyn.particles:
            c = self.pot.conf
            m.update(box=np.asarray(self.pot.box), types=np.asarray(c.types), diameters=np.asarray(c.diameters),
                     model=self.pot.model.name)
        return m

    def _load(self) -> bool:
        """Load the resume state; False when starting fresh."""
        import h5py
        import pandas as pd

        st_path = self.out / "state.npz"
        if not st_path.exists():
            return False
        try:
            # a zip archive: np.load checks each member's CRC-32, so a truncated or flipped file fails here
            with np.load(st_path, allow_pickle=False) as z:
                st = {k: z[k] for k in z.files}
            stored = json.loads(str(st["params"]))
        except Exception as exc:  # noqa: BLE001 - a damaged checkpoint is discarded, never trusted
            return self._start_afresh(f"{st_path}: unreadable resume state ({' '.join(str(exc).split())})")
        if stored != json.loads(json.dumps(self.p.key())):
            diff = sorted(k for k in set(stored) | set(self.p.key()) if stored.get(k) != self.p.key().get(k))
            raise InputError(f"{self.out}: holds an exploration with different parameters ({', '.join(diff)}); "
                             f"use another output directory or the same parameters")
        if not np.array_equal(st["x0"], self.x0.ravel()):
            raise InputError(f"{self.out}: holds an exploration of a different starting configuration")
        n_series, n_is = int(st["n_series"]), int(st["n_is"])
        self.run_idx, self.k, self.last_id = int(st["run"]), int(st["k"]), int(st["last_id"])
        if self.run_idx > self.p.runs or (self.run_idx == self.p.runs and self.k > 0):
            raise InputError(f"{self.out}: already holds {self.run_idx} runs, more than the {self.p.runs} asked")
        if "files" in st:  # the checksums of the series and the library this state was written with
            for name, digest in json.loads(str(st["files"])).items():
                f = self.out / name
                if not f.is_file() or sha256_file(f) != digest:
                    return self._start_afresh(f"{f}: does not match the resume state (changed or damaged)")
        self.pos = st["pos"].reshape(self.x0.shape).copy()
        self.vel = st["vel"].reshape(self.x0.shape).copy()
        cpu = json.loads(str(st["cpu"]))
        self.cpu_before.update(cpu)
        try:
            df = pd.read_parquet(self.out / SERIES)
            if len(df) < n_series:
                raise ValueError(f"series has {len(df)} rows, state expects {n_series}")
            df = df.iloc[:n_series]
            for c in _SERIES_COLS:
                self.series[c] = df[c].tolist()
            with h5py.File(self.out / IS_CONFIGS, "r") as f:
                for k in range(n_is):
                    ds = f[f"{_IS_GROUP}/{k}"]
                    self.lib.add(ds[()], float(ds.attrs["energy"]), float(ds.attrs["max_force"]))
        except Exception as exc:  # noqa: BLE001
            return self._start_afresh(f"{self.out}: resume state inconsistent with the stored library "
                                      f"({' '.join(str(exc).split())})")
        self.n_written = n_is
        return True

    def _start_afresh(self, why: str) -> bool:
        """Discard a damaged checkpoint (state, series, library) with a warning; the run starts over."""
        msg = f"{why}; discarded, the exploration starts afresh"
        warnings.warn(msg, RuntimeWarning, stacklevel=3)
        for name in ("state.npz", SERIES, IS_CONFIGS):
            try:
                (self.out / name).unlink()
            except FileNotFoundError:
                pass
        self.__init__(self.pot, self.x0, self.out, self.p, self.progress, self.stop_after, self.checkpoint_every,
                      self.checkpoint_seconds, self.meta)
        return False

    def _checkpoint(self, final: bool = False) -> None:
        self.n_written = _write_configs(self.out / IS_CONFIGS, self.lib, self.n_written, self._h5_meta())
        sdf = _series_frame(self.series)
        _write_parquet(self.out / SERIES, sdf)
        cpu = self._cpu()
        pos = self.pos if self.pos is not None else self.x0
        vel = self.vel if self.vel is not None else np.zeros_like(self.x0)
        st = dict(params=np.array(json.dumps(self.p.key())), x0=self.x0.ravel(), pos=pos.ravel(),
                  vel=vel.ravel(), run=np.int64(self.run_idx), k=np.int64(self.k),
                  last_id=np.int64(self.last_id), n_series=np.int64(len(sdf)), n_is=np.int64(len(self.lib)),
                  cpu=np.array(json.dumps(cpu)),
                  files=np.array(json.dumps({n: sha256_file(self.out / n) for n in (SERIES, IS_CONFIGS)})))
        atomic_write(self.out / "state.npz", lambda t: np.savez(t, **st))
        self._write_products(sdf, final)
        self._last_ckpt = time.monotonic()

    def _cpu(self) -> dict:
        d = self.dyn
        b = self.cpu_before
        return {"md": b["md"] + d.md_cpu, "min": b["min"] + d.min_cpu, "md_steps": b["md_steps"] + d.md_steps,
                "minimisations": b["minimisations"] + d.minimisations,
                "force_evals": b["force_evals"] + d.min_force_evals}

    def _write_products(self, sdf, final: bool) -> dict:
        p = self.p
        is_df, tr, pairs, tau_p = _derive(sdf, self.lib, p, self.pot, self.n_particles)
        _write_parquet(self.out / INHERENT_STRUCTURES, is_df)
        _write_parquet(self.out / TRANSITIONS, tr)
        _write_parquet(self.out / PAIRS, pairs)
        conf = _confinement(sdf, p)
        if final and conf.get("confined") is False:
            msg = (f"exploration not confined: the MSD grows by {100 * conf['growth']:.0f}% between the second "
                   f"and the last quarter of the runs (diffusion? lower T_exp)")
            if msg not in self.warnings:
                self.warnings.append(msg)
                warnings.warn(msg, RuntimeWarning, stacklevel=3)
        cpu = self._cpu()
        nmin = cpu["minimisations"]
        reg = sdf[sdf["kind"] == REGULAR]
        summary = {
            "schema": SCHEMA_VERSION,
            "status": "complete" if final else "running",
            "params": dataclasses.asdict(p),
            "progress": {"run": self.run_idx, "minimisation": self.k, "runs": p.runs, "n_cg": p.n_cg},
            "n_particles": self.n_particles,
            "n_is": len(self.lib), "n_pairs": int(len(pairs)), "n_transitions": int(tr["count"].sum()),
            "n_distinct_transitions": int(len(tr)),
            "minimisations": int(nmin), "regular_minimisations": int(len(reg)),
            "bisection_minimisations": int((sdf["kind"] == BISECT).sum()),
            "unconverged": int((sdf["is_id"] < 0).sum()),
            "tau_p_steps": {"count": int(tau_p.size),
                            "median": float(np.median(tau_p)) if tau_p.size else None,
                            "mean": float(np.mean(tau_p)) if tau_p.size else None},
            "confinement": {k: v for k, v in conf.items() if k not in ("msd_steps", "msd")},
            "msd": {"steps": conf.get("msd_steps", []), "msd": conf.get("msd", [])},
            "timing": {**cpu, "minimisations_per_cpu_minute":
                       nmin / (cpu["md"] + cpu["min"]) * 60 if cpu["md"] + cpu["min"] > 0 else None},
            "identity_comparisons": self.lib.comparisons,
            "warnings": self.warnings,
            **self.meta,
        }
        with atomic_open(self.out / EXPLORE_META, "w") as fh:
            json.dump(summary, fh, indent=1, default=_json_default)
        self.summary = summary
        return summary

    # -- one minimisation -------------------------------------------------------------------
    def _record(self, run, step, kind, res, msd=float("nan")) -> int:
        if res.converged:
            k, _ = self.lib.identify(res.x, res.energy, res.max_force, hint=self.last_id)
        else:
            k = -1
        s = self.series
        s["run"].append(int(run)); s["step"].append(int(step)); s["kind"].append(int(kind))
        s["is_id"].append(int(k)); s["energy"].append(float(res.energy)); s["max_force"].append(float(res.max_force))
        s["iterations"].append(int(res.iterations)); s["converged"].append(bool(res.converged))
        s["msd"].append(float(msd))
        return k

    def _initial(self):
        if self._init_min is None:
            self._init_min = self.dyn.minimise(self.x0)
        else:
            self.dyn.minimisations += 1  # counted once per run (the result is deterministic)
        return self._init_min

    # -- the main loop --------------------------------------------------------------------------
    def run(self) -> ExploreResult:
        p = self.p
        resumed = self._load()
        jp = self.out / EXPLORE_META
        if resumed and self.run_idx == p.runs and self.k == 0 and jp.exists():
            try:
                old = json.loads(jp.read_text())
            except ValueError:
                old = {}
            if old.get("status") == "complete" and old.get("params") == json.loads(json.dumps(dataclasses.asdict(p))):
                self.summary = old
                self.warnings = old.get("warnings", [])
                return self._result(True)
        self._last_ckpt = time.monotonic()
        total = p.runs * p.n_cg
        done = self.run_idx * p.n_cg + self.k
        bar = None
        if self.progress:
            from .progressbar import progress_bar

            bar = progress_bar(total=total, initial=done, unit="minimisations", desc="explore")
        n_this_call = 0
        since_ckpt = 0
        stopped = False
        try:
            while self.run_idx < p.runs:
                r = self.run_idx
                if self.k == 0:
                    # a new isoconfigurational run: the glass, fresh Maxwell-Boltzmann velocities
                    self.pos = self.x0.copy()
                    self.vel = self.dyn.velocities(self.x0.shape, np.random.default_rng([p.seed, r]))
                    self.last_id = -1
                    k0 = self._record(r, 0, INITIAL, self._initial(), 0.0)
                    if k0 >= 0:
                        self.last_id = k0
                while self.k < p.n_cg:
                    s0 = self.k * p.cg_steps
                    snaps = self._advance(r, s0, s0 + p.cg_steps)
                    self.k += 1
                    s1 = s0 + p.cg_steps
                    msd = float(np.sum((self.pos - self.x0) ** 2)) / self.n_particles
                    res = self.dyn.minimise(self.pos, self.lib, self.last_id)
                    prev = self.last_id
                    if p.bisect and res.converged and prev >= 0:
                        # identify first (without recording) to know whether to bisect
                        kid, _ = self.lib.identify(res.x, res.energy, res.max_force, hint=prev)
                        if kid != prev:
                            for step, rr in self._bisect(r, snaps, s0, prev, s1, kid):
                                self.last_id = self._record(r, step, BISECT, rr)
                    kid = self._record(r, s1, REGULAR, res, msd)
                    if kid >= 0:
                        self.last_id = kid
                    n_this_call += 1
                    since_ckpt += 1
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(n_IS=len(self.lib), run=r)
                    if self.k == p.n_cg:
                        break
                    if self._budget_spent(n_this_call):
                        stopped = True
                        break
                    if since_ckpt >= self.checkpoint_every or \
                            time.monotonic() - self._last_ckpt > self.checkpoint_seconds:
                        self._checkpoint()
                        since_ckpt = 0
                if stopped:
                    break
                self.run_idx += 1
                self.k = 0
                if self._budget_spent(n_this_call) and self.run_idx < p.runs:
                    stopped = True
                    break
        finally:
            if bar is not None:
                bar.close()
        complete = self.run_idx >= p.runs
        self._checkpoint(final=complete)
        return self._result(complete)

    def _budget_spent(self, n_this_call: int) -> bool:
        """Whether this call's budget (stop_after minimisations, or the stop_seconds deadline) is used."""
        return ((self.stop_after is not None and n_this_call >= self.stop_after)
                or (self.deadline is not None and time.monotonic() >= self.deadline))

    def _result(self, complete: bool) -> ExploreResult:
        s = self.summary
        return ExploreResult(self.out, complete, int(s["n_is"]), int(s["n_pairs"]), int(s["n_transitions"]),
                             int(s["minimisations"]), s)

    def _advance(self, run: int, s0: int, s1: int) -> list:
        """MD from step s0 to s1 of run ``run`` (in place on self.pos/vel), in pieces whose
        boundaries are the multiples of md_segment; returns the snapshots at the piece
        starts when bisection is on (each one reproduces the trajectory exactly)."""
        p = self.p
        snaps = []
        s = s0
        while s < s1:
            e = min(s1, (s // p.md_segment + 1) * p.md_segment)
            if p.bisect:
                snaps.append((s, self.pos.copy(), self.vel.copy()))
            self.dyn.advance(self.pos, self.vel, e - s, _seg_seed(p.seed, run, s))
            s = e
        return snaps

    def _config_at(self, run: int, snaps: list, step: int) -> np.ndarray:
        """The exact MD configuration at ``step`` (between the snapshots' first step and the end)."""
        i = max(j for j, sn in enumerate(snaps) if sn[0] <= step)
        s, pos, vel = snaps[i]
        pos = pos.copy()
        vel = vel.copy()
        self.dyn.advance(pos, vel, step - s, _seg_seed(self.p.seed, run, s))
        return pos

    def _bisect(self, run, snaps, lo, lo_id, hi, hi_id) -> list:
        """IS visited between (lo, lo_id) and (hi, hi_id): a list of (step, MinimizeResult)
        in step order (binary search; an IS visited and left within one interval of
        bisect_min_steps steps can be missed)."""
        p = self.p
        if hi - lo <= p.bisect_min_steps:
            return []
        mid = (lo + hi) // 2
        res = self.dyn.minimise(self._config_at(run, snaps, mid))
        if not res.converged:
            return []
        mid_id, _ = self.lib.identify(res.x, res.energy, res.max_force, hint=lo_id)
        out = []
        if mid_id != lo_id:
            out += self._bisect(run, snaps, lo, lo_id, mid, mid_id)
        out.append((mid, res))
        if mid_id != hi_id:
            out += self._bisect(run, snaps, mid, mid_id, hi, hi_id)
        return out


def _json_default(o: Any):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def explore_glass(glass_path, out_dir, params: ExploreParams | None = None, *, seed: int = 0,
                  model: str | None = None, skin: float = 0.3, progress: bool = False, **kw) -> ExploreResult:
    """The exploration stage for one glass file (``prepare/glass.h5`` or any format twolevel.io reads).

    ``model`` overrides (or supplies, for files that name none, e.g. LAMMPS data) the glass model.
    ``params`` and the other keyword arguments are those of :func:`explore`. Writes ``out_dir`` (``explore/``).
    """
    from . import io
    from .engine import ParticleSystem

    glass_path = Path(glass_path)
    conf = io.read(glass_path)
    name = model or conf.model
    if name is None:
        raise InputError(f"{glass_path}: the file names no model; pass model= (e.g. 'pss', 'tlj')")
    try:
        pot = ParticleSystem(conf, model=name, skin=skin)
        e0 = pot.energy(conf.positions)
    except PhysicsError as exc:  # overlapping particles, NaN: name the file, not only the particles
        raise PhysicsError(f"{glass_path}: {exc}") from None
    meta = {"glass": str(glass_path), "model": pot.model.name, "n": conf.n, "dim": conf.dim,
            "glass_energy_per_particle": e0 / conf.n}
    return explore(pot, conf.positions, out_dir, params, seed=seed, progress=progress, meta=meta, **kw)
