"""Run protocols: continuous cooling (000_ac86d19d448073de.txt Sec. III) and fixed-T runs.

Cooling: T(t) decreases from T_I towards 0 at rate nu_cool. The kernel needs constant
rates between updates, so T is held piecewise constant on steps of width
dT = min(dT_rel T, dT_max) (level = the step's mid temperature, duration dT/nu_cool);
all rates are recomputed at each step (O(number of voids)). An exponential waiting
time that would cross a step boundary is discarded and the clock set to the boundary,
which is exact for piecewise-constant rates (memoryless). Per step the driver records
the time-averaged energy, its time variance, event and return counts, and the fraction
q of hop attempts with dE < Delta E^max (000 Eqs. (4)-(5)).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from .analysis import ReturnCounter, classify_voids
from .model import DPLM
from .theory import delta_e_max


def temperature_steps(T_I: float, T_end: float, dT_rel: float, dT_max: float) -> np.ndarray:
    """Edges T_0 = T_I > T_1 > ... >= T_end of the piecewise-constant cooling schedule."""
    edges = [T_I]
    T = T_I
    while T > T_end * (1 + 1e-12):
        T = max(T - min(dT_rel * T, dT_max), T_end)
        edges.append(T)
    return np.array(edges)


@dataclass
class CoolingOptions:
    nu: float = 1e-4
    T_end: float = 0.002
    dT_rel: float = 0.005
    dT_max: float = 1e-3
    maps_T: tuple = ()  # void occupation maps when T first falls to these values (000 Fig. 2)
    map_hops: int = 10_000_000  # hops per map window
    trace_voids: int = 16  # voids whose displacement-time series is kept in map windows
    trace_capacity: int = 200_000
    returns_from_snapshots: bool = True  # P_ret, Q_ret from end-of-step snapshots (000 Fig. 4a)
    D_every: int = 4  # steps per diffusion window


@dataclass
class CoolingRun:
    """Result of one cooling run: one row per temperature step plus windows."""

    steps: dict
    diffusion: dict
    maps: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)


def _msd(model: DPLM, p0: np.ndarray) -> float:
    d = model.geom.cartesian(model.pdisp - p0)
    return float((d * d).sum(axis=1).mean())


def cool(model: DPLM, T_I: float, opts: CoolingOptions, progress=None) -> CoolingRun:
    """Cool one started sample from T_I to opts.T_end at rate opts.nu (000 Sec. III)."""
    if opts.nu <= 0:
        raise InputError(f"cooling rate nu must be positive, got {opts.nu}")
    edges = temperature_steps(T_I, opts.T_end, opts.dT_rel, opts.dT_max)
    nst = len(edges) - 1
    cols = {k: np.zeros(nst) for k in ("T", "T_hi", "T_lo", "t0", "duration", "E_mean", "E_var", "E_end", "q",
                                       "frac_downhill")}
    icols = {k: np.zeros(nst, dtype=np.int64) for k in ("events", "p_prev", "p_ret", "v_prev", "v_ret",
                                                         "p_prev_snap", "p_ret_snap", "v_prev_snap", "v_ret_snap")}
    Dwin = {"T": [], "D": [], "dt": [], "msd": []}
    maps = []
    pending_maps = sorted(opts.maps_T, reverse=True)
    rc_p = ReturnCounter(model.particle_sites()) if opts.returns_from_snapshots else None
    rc_v = ReturnCounter(model.void_site) if opts.returns_from_snapshots else None
    p0 = model.pdisp.copy()
    tD0 = model.t
    TD = []
    map_left = 0
    map_T = None
    t_wall = time.perf_counter()
    t_cpu = time.process_time()
    ev0 = model.events
    for i in range(nst):
        Thi, Tlo = edges[i], edges[i + 1]
        T = 0.5 * (Thi + Tlo)
        dur = (Thi - Tlo) / opts.nu
        model.set_temperature(T)
        t0 = model.t
        t_stop = t0 + dur
        model.acc[2] = model.E  # Eref for the time integrals
        model.acc[3] = model.acc[4] = 0.0
        c0 = model.cnt.copy()
        if pending_maps and map_left == 0 and T <= pending_maps[0]:
            map_T = pending_maps.pop(0)
            while pending_maps and T <= pending_maps[0]:
                pending_maps.pop(0)
            model.begin_map()
            # trace the likely TLS first: voids with exactly one hop below Delta E^max (Eq. (5))
            ok = (model.slot_dE() < delta_e_max(T, opts.nu, model.w0)).sum(axis=1)
            order = np.concatenate([np.nonzero(ok == 1)[0], np.nonzero(ok >= 2)[0], np.nonzero(ok == 0)[0]])
            vids = np.sort(order[: opts.trace_voids])
            model.begin_trace(voids=vids, capacity=opts.trace_capacity)
            map_left = int(opts.map_hops)
            map_T_start = T
        while model.t < t_stop:
            if map_left > 0:
                n = model.advance(t_stop, map_left)
                map_left -= n
                if map_left <= 0:
                    w = model.end_map()
                    tr = model.end_trace()
                    cls = classify_voids(w, model.slot_dE(), model.void_site, model.geom.nbr, T)
                    maps.append({"T_target": map_T, "T_start": map_T_start, "T_end": T, "window": w, "trace": tr,
                                 "classes": cls})
                    map_left = 0
            else:
                model.advance(t_stop)
        c1 = model.cnt
        cols["T"][i], cols["T_hi"][i], cols["T_lo"][i] = T, Thi, Tlo
        cols["t0"][i], cols["duration"][i] = t0, dur
        mE = model.acc[3] / dur
        cols["E_mean"][i] = model.acc[2] + mE
        cols["E_var"][i] = max(model.acc[4] / dur - mE * mE, 0.0)
        cols["E_end"][i] = model.E
        dEs = model.dE[np.isfinite(model.dE)]
        if dEs.size:
            cols["q"][i] = float((dEs < delta_e_max(T, opts.nu, model.w0)).mean())
            cols["frac_downhill"][i] = float((dEs <= 0).mean())
        icols["events"][i] = c1[0] - c0[0]
        icols["p_prev"][i], icols["p_ret"][i] = c1[1] - c0[1], c1[2] - c0[2]
        icols["v_prev"][i], icols["v_ret"][i] = c1[3] - c0[3], c1[4] - c0[4]
        if rc_p is not None:
            icols["p_prev_snap"][i], icols["p_ret_snap"][i] = rc_p.update(model.particle_sites())
            icols["v_prev_snap"][i], icols["v_ret_snap"][i] = rc_v.update(model.void_site)
        TD.append(T)
        if (i + 1) % opts.D_every == 0 or i == nst - 1:
            dt = model.t - tD0
            if dt > 0:
                msd = _msd(model, p0)
                Dwin["T"].append(float(np.mean(TD)))
                Dwin["D"].append(msd / (2 * model.geom.dim * dt))
                Dwin["dt"].append(dt)
                Dwin["msd"].append(msd)
            p0 = model.pdisp.copy()
            tD0 = model.t
            TD = []
        if progress is not None:
            progress(i + 1, nst, model)
    if map_left > 0:  # close an unfinished window
        w = model.end_map()
        tr = model.end_trace()
        maps.append({"T_target": map_T, "T_start": map_T_start, "T_end": model.T, "window": w, "trace": tr,
                     "classes": classify_voids(w, model.slot_dE(), model.void_site, model.geom.nbr, model.T)})
    steps = {**cols, **icols}
    wall = time.perf_counter() - t_wall
    cpu = time.process_time() - t_cpu
    meta = {"events": int(model.events - ev0), "wall_s": wall, "events_per_s": (model.events - ev0) / max(wall, 1e-9),
            "cpu_s": cpu, "events_per_cpu_s": (model.events - ev0) / max(cpu, 1e-9),
            "E_exact_end": model.energy_exact(), "E_running_end": model.E, "N": model.N, "nv": model.nv,
            "steps": nst}
    return CoolingRun(steps, {k: np.array(v) for k, v in Dwin.items()}, maps, meta)


def run_fixed(model: DPLM, T: float, duration: float | None = None, events: int | None = None,
              chunks: int = 20, progress=None) -> dict:
    """Fixed-T run split into chunks; per chunk: time, <E>, Var(E), events, MSD-based D."""
    if duration is None and events is None:
        raise InputError("run_fixed: give a duration or a number of events")
    model.set_temperature(T)
    rows = {k: [] for k in ("t", "E_mean", "E_var", "events", "D", "p_prev", "p_ret", "v_prev", "v_ret")}
    t_start = model.t
    ev_per = None if events is None else max(1, events // chunks)
    p0 = model.pdisp.copy()
    wall0 = time.perf_counter()
    cpu0 = time.process_time()
    ev0 = model.events
    for c in range(chunks):
        t0 = model.t
        t_stop = t_start + duration * (c + 1) / chunks if duration is not None else np.inf
        model.acc[2] = model.E
        model.acc[3] = model.acc[4] = 0.0
        c0 = model.cnt.copy()
        pp = model.pdisp.copy()
        n = model.advance(t_stop, ev_per if ev_per is not None else 1 << 62)
        dt = model.t - t0
        mE = model.acc[3] / dt if dt > 0 else 0.0
        rows["t"].append(model.t)
        rows["E_mean"].append(model.acc[2] + mE)
        rows["E_var"].append(max(model.acc[4] / dt - mE * mE, 0.0) if dt > 0 else 0.0)
        rows["events"].append(n)
        rows["D"].append(_msd(model, pp) / (2 * model.geom.dim * dt) if dt > 0 else np.nan)
        for j, k in enumerate(("p_prev", "p_ret", "v_prev", "v_ret")):
            rows[k].append(int(model.cnt[j + 1] - c0[j + 1]))
        if progress is not None:
            progress(c + 1, chunks, model)
    wall = time.perf_counter() - wall0
    out = {k: np.array(v) for k, v in rows.items()}
    tot = model.t - t_start
    out["D_total"] = _msd(model, p0) / (2 * model.geom.dim * tot) if tot > 0 else np.nan
    out["events_per_s"] = (model.events - ev0) / max(wall, 1e-9)
    out["wall_s"] = wall
    out["cpu_s"] = time.process_time() - cpu0
    out["events_per_cpu_s"] = (model.events - ev0) / max(out["cpu_s"], 1e-9)
    return out
