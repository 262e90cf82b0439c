"""CPU-time estimates of a study's tasks from measured throughput (``twolevel run --dry-run``).

The figures are those of docs/benchmarks.md, stored as data in ``twolevel/data/throughput.json``
(one core, the project's 2-core test machine). Each estimate says what it rests on; a stage whose
cost depends on what an earlier stage finds (paths: the number of candidate pairs) is estimated
only when ``[paths] limit`` bounds it, else reported as unknown. The same per-task figures give
``twolevel status`` a time left before the first task of a stage has finished.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any

__all__ = ["estimate", "format_estimate", "per_task_seconds", "task_cpu_seconds", "tau_alpha_sweeps", "throughput"]


@lru_cache(maxsize=1)
def throughput() -> dict[str, Any]:
    """The measured throughput table (twolevel/data/throughput.json)."""
    from importlib import resources

    return json.loads(resources.files("twolevel").joinpath("data/throughput.json").read_text(encoding="utf-8"))


def tau_alpha_sweeps(T: float) -> float:
    """PSS swap-MC tau_alpha at T (sweeps): log tau interpolated linearly in 1/T between the measured
    points, extrapolated with the slope of the nearest segment (a lower bound below the lowest T)."""
    pts = sorted(throughput()["prepare_pss"]["tau_alpha_sweeps"], key=lambda p: 1.0 / p[0])
    x = [1.0 / t for t, _ in pts]
    y = [math.log(v) for _, v in pts]
    u = 1.0 / float(T)
    k = 0 if u <= x[1] else (len(x) - 2 if u >= x[-2] else max(i for i in range(len(x) - 1) if x[i] <= u))
    slope = (y[k + 1] - y[k]) / (x[k + 1] - x[k])
    return math.exp(y[k] + slope * (u - x[k]))


def _prepare(a: dict) -> tuple[float | None, str]:
    p, n = a["params"], int(a["n"])
    if a["model"] == "pss":
        d = throughput()["prepare_pss"]
        sweeps = float(p.get("n_tau", 30.0)) * tau_alpha_sweeps(a["T_f"]) + float(p.get("tune_sweeps", 100))
        if p.get("max_time"):
            sweeps = min(sweeps, float(p["max_time"]))
        s = sweeps * n / d["moves_per_cpu_s"]
        basis = "swap MC, n_tau tau_alpha(T_f) sweeps"
    else:
        d = throughput()["prepare_hybrid"]
        t = float(p.get("max_time") or 2e4)
        s = t / float(p.get("md_dt", 0.005)) * n / d["md_steps_per_cpu_s_per_particle"]
        basis = "hybrid MC/MD up to max_time"
    if p.get("max_seconds"):
        s = min(s, float(p["max_seconds"]))
        basis += ", capped by max_seconds"
    return s, basis


def _explore(a: dict) -> tuple[float, str]:
    p, n = a["params"], int(a["n"])
    d = throughput()["explore"]["pss" if a["model"] == "pss" else "other"]
    dt = float(p.get("dt") or 0.01)
    steps = max(1, round(float(p["tau_cg"]) / dt))
    per_min = d["seconds_per_minimisation"] * n / d["n_ref"] + steps / (d["md_steps_per_cpu_s"] * d["n_ref"] / n)
    runs = int(p.get("runs", 1))
    return per_min * int(p["n_cg"]) * runs, f"{int(p['n_cg']) * runs} minimisations, {steps} MD steps each"


def _paths(a: dict) -> tuple[float | None, str]:
    p, n = a["params"], int(a["n"])
    d = throughput()["paths"]
    per = d["cpu_s_per_band"] * int(p.get("images", 64)) / d["images_ref"] * n / d["n_ref"]
    if p.get("limit"):
        return per * int(p["limit"]), f"at most {p['limit']} bands of {per:.3g} CPU-s"
    return None, f"{per:.3g} CPU-s per candidate pair; the number of pairs is known after explore"


def task_cpu_seconds(stage: str, args: dict) -> tuple[float | None, str]:
    """(estimated CPU-seconds, what it rests on) of one task of ``stage`` (payload ``args``)."""
    if stage == "prepare":
        return _prepare(args)
    if stage == "explore":
        return _explore(args)
    if stage == "paths":
        return _paths(args)
    if stage == "quantum":
        return 0.0, f"negligible: {throughput()['quantum']['double_wells_per_cpu_s']:.0f} double wells per CPU-second"
    if stage in ("stats", "report"):
        return 60.0, "about a minute"
    return None, "not estimated"


def estimate(tasks) -> list[dict]:
    """Per stage, in plan order: tasks to run, estimated CPU-seconds (None when unknown for any
    task) and the basis. ``tasks``: the PlannedTask objects still to run."""
    out: dict[str, dict] = {}
    for t in tasks:
        st = t.stage.name
        rec = out.setdefault(st, {"stage": st, "tasks": 0, "cpu_s": 0.0, "basis": ""})
        rec["tasks"] += 1
        args = t.payload.get("args", {})
        s, basis = task_cpu_seconds(st, args)
        rec["basis"] = rec["basis"] or basis
        rec["cpu_s"] = None if s is None or rec["cpu_s"] is None else rec["cpu_s"] + s
    return list(out.values())


def _h(s: float, unit: str = "CPU-") -> str:
    h = s / 3600
    if h >= 100:
        return f"{h:,.0f} {unit}h"
    return f"{h:.3g} {unit}h" if s >= 360 else f"{s / 60:.2g} {unit}min"


def per_task_seconds(tasks) -> dict[str, float]:
    """Mean estimated CPU-seconds of one task per stage, for the stages whose tasks all have an
    estimate (``twolevel status``'s time left before a stage's first task has finished)."""
    return {r["stage"]: r["cpu_s"] / r["tasks"] for r in estimate(tasks) if r["cpu_s"] is not None and r["tasks"]}


def format_estimate(rows: list[dict], workers: int) -> str:
    """The dry run's cost table: stage, tasks, CPU time, basis; total and wall time on ``workers``."""
    lines = ["estimated cost from measured throughput (docs/benchmarks.md; one core each):"]
    known = 0.0
    for r in rows:
        cost = _h(r["cpu_s"]) if r["cpu_s"] is not None else "unknown"
        lines.append(f"  {r['stage']:<9} {r['tasks']:>6} task(s)  {cost:>14}  ({r['basis']})")
        known += r["cpu_s"] or 0.0
    unknown = [r["stage"] for r in rows if r["cpu_s"] is None]
    w = max(1, int(workers))
    lines.append(f"  total {'at least ' if unknown else ''}{_h(known)}, about {_h(known / w, '')} on {w} worker(s)"
                 + (f" (not counted: {', '.join(unknown)})" if unknown else ""))
    return "\n".join(lines)
