"""Small, fast stage functions for the pipeline tests, registered through the same Stage interface.

They do real (tiny) work with the task's seed -- a random glass from the real
model code, a random catalogue of quartic double wells -- and the real
quantum stage runs on that catalogue, so the numbers compared between
executors are computed, not copied. Environment switches (inherited by the
workers):

  TWOLEVEL_FAKE_SLEEP=<s>      each fake task sleeps this long (kill tests)
  TWOLEVEL_FAKE_FAIL=<text>    a task whose out_dir contains <text> raises
  TWOLEVEL_FAKE_COUNT=<dir>    each fake call appends a line to <dir>/<pid> (counts attempts)
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from twolevel.io.atomic import atomic_open, atomic_path
from twolevel.pipeline.stages import Stage


def _common(a: dict) -> np.random.Generator:
    cnt = os.environ.get("TWOLEVEL_FAKE_COUNT")
    if cnt:
        with open(Path(cnt) / f"{os.getpid()}", "a") as fh:
            fh.write(a["out_dir"] + "\n")
    fail = os.environ.get("TWOLEVEL_FAKE_FAIL")
    if fail and fail in a["out_dir"]:
        raise RuntimeError(f"injected failure in {a['out_dir']}")
    s = float(os.environ.get("TWOLEVEL_FAKE_SLEEP", "0") or 0)
    if s:
        time.sleep(s)
    return np.random.default_rng(a["seed"])


def prepare(a: dict) -> dict:
    from twolevel import io
    from twolevel.models import get_model

    _common(a)
    conf = get_model(a["model"]).random_configuration(a["n"], density=a["density"], dim=a["dim"], seed=a["seed"] % 2**31)
    io.write(Path(a["out_dir"]) / "glass.h5", conf)
    with atomic_open(Path(a["out_dir"]) / "prepare.json", "w") as fh:
        json.dump({"model": a["model"], "n": a["n"], "T_f": a["T_f"], "seed": a["seed"]}, fh)
    return {"info": {"n": a["n"]}}


def prepare_quench(a: dict) -> dict:
    """A stand-in for swap-MC preparation: lattice start, short Langevin MD at T_f, minimisation."""
    from twolevel import io
    from twolevel.engine import ParticleSystem, maxwell_boltzmann, minimize
    from twolevel.models import get_model

    rng = _common(a)
    conf = get_model(a["model"]).random_configuration(a["n"], density=a["density"], dim=a["dim"], seed=a["seed"] % 2**31)
    pot = ParticleSystem(conf)
    x0 = minimize(pot, conf.positions, ftol=1e-3).x
    v = maxwell_boltzmann(conf.n, conf.dim, a["T_f"], rng)
    pot.run_md(x0, v, 300, 0.005, thermostat="langevin", temperature=a["T_f"], seed=a["seed"] % 2**31)
    res = minimize(pot, x0, ftol=1e-8)
    io.write(Path(a["out_dir"]) / "glass.h5", pot.configuration(res.x))
    with atomic_open(Path(a["out_dir"]) / "prepare.json", "w") as fh:
        json.dump({"model": a["model"], "N": a["n"], "T_f": a["T_f"], "seed": a["seed"],
                   "energy_per_particle": res.energy / conf.n, "equilibrated": False}, fh)
    return {}


def explore(a: dict) -> dict:
    import pandas as pd

    from twolevel import io

    rng = _common(a)
    conf = io.read(Path(a["inputs"]["prepare"]) / "glass.h5")  # reads the upstream artefact
    m = 12
    df = pd.DataFrame({"is_a": np.arange(m), "is_b": np.arange(m) + 1,
                       "dE": rng.exponential(0.05, m) * (1 + conf.positions[:m, 0] * 0)})
    with atomic_path(Path(a["out_dir"]) / "pairs.parquet") as tmp:
        df.to_parquet(tmp, index=False)
    return {}


def paths(a: dict) -> dict:
    import pandas as pd

    rng = _common(a)
    pairs = pd.read_parquet(Path(a["inputs"]["explore"]) / "pairs.parquet")
    xi = np.linspace(0.0, 1.0, 41)
    rows = []
    for i, dE in enumerate(pairs["dE"].to_numpy()):
        h = rng.uniform(0.005, 0.05)  # barrier height (epsilon)
        d = rng.uniform(0.3, 1.0)  # path length (sigma)
        V = 16 * h * xi**2 * (1 - xi) ** 2 + dE * (3 * xi**2 - 2 * xi**3)  # minima at 0 and 1, asymmetry dE
        rows.append({"dw_id": i, "is_a": int(pairs["is_a"][i]), "is_b": int(pairs["is_b"][i]), "d": d,
                     "xi": xi.tolist(), "V": V.tolist(), "status": "ok"})
    with atomic_path(Path(a["out_dir"]) / "double_wells.parquet") as tmp:
        pd.DataFrame(rows).to_parquet(tmp, index=False)
    return {}


def stats(a: dict) -> dict:
    """n(E < k_B T_Q) per particle and glass, per model, T_f and unit system (a simple, exact statistic)."""
    import pandas as pd

    from twolevel.units import get_units

    _common(a)
    out = {}
    for s in a["samples"]:
        if not s["ok"]:
            continue
        df = pd.read_parquet(Path(s["dir"]) / "quantum" / "tls.parquet")
        for u in s["units"]:
            kTQ = get_units(u).kT_Q
            sub = df[df["units"] == get_units(u).name]
            k = f"{s['label']}/{s['T_f']!r}/{get_units(u).name}"
            rec = out.setdefault(k, {"N_g": 0, "N_DW": 0, "N_active": 0, "n": s["n"], "E_sum": 0.0})
            rec["N_g"] += 1
            rec["N_DW"] += int(len(sub))
            rec["N_active"] += int((sub["E"] < kTQ).sum())
            rec["E_sum"] += float(np.nansum(sub["E"]))
    for rec in out.values():
        rec["n_active_per_particle"] = rec["N_active"] / (rec["n"] * rec["N_g"])
    with atomic_open(Path(a["out_dir"]) / "stats.json", "w") as fh:
        json.dump(out, fh, sort_keys=True)
    return {}


def square_or_die(x):
    """Executor test helper: "die" kills the worker process, anything else is squared."""
    if x == "die":
        os._exit(3)
    time.sleep(0.05)
    return x * x


def fake_stages(real_stats: bool = True) -> list[Stage]:
    here = __name__
    return [
        Stage("prepare", f"{here}:prepare", ("glass.h5", "prepare.json")),
        Stage("explore", f"{here}:explore", ("pairs.parquet",), requires=("prepare",)),
        Stage("paths", f"{here}:paths", ("double_wells.parquet",), requires=("explore",)),
        Stage("quantum", "twolevel.pipeline.stages:quantum_stage", ("tls.parquet",), requires=("paths",)),
        Stage("stats", "twolevel.pipeline.stages:stats_stage" if real_stats else f"{here}:stats", ("stats.json",),
              requires=("quantum",), scope="study"),
    ]


def tiny_config(out, name="tiny", seed=7, samples=2, tf=(0.1, 0.2), **over) -> dict:
    cfg = {
        "study": {"name": name, "seed": seed, "output": str(out), "units": ["pss-ar"]},
        "models": [{"model": "pss", "n": 16, "dim": 2, "tf": list(tf), "samples": samples}],
        "quantum": {"n_xi": 300},
        "stats": {"bootstrap": 200},
    }
    cfg.update(over)
    return cfg


def explore_with_state(a: dict) -> dict:
    """``explore`` that also leaves an undeclared artefact (a checkpoint), as the real stages do."""
    explore(a)
    rng = np.random.default_rng(a["seed"])
    with atomic_path(Path(a["out_dir"]) / "state.npz") as tmp:
        np.savez(tmp, x=rng.normal(size=64))
    return {"artefacts": ["state.npz"]}


def stages_with_state() -> list[Stage]:
    """fake_stages() whose explore stage also writes state.npz (listed only in the task's manifest)."""
    st = fake_stages()
    st[1] = Stage("explore", f"{__name__}:explore_with_state", ("pairs.parquet",), requires=("prepare",))
    return st
