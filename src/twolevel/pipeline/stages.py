"""Stages: what the pipeline runs, one registry entry per stage.

A :class:`Stage` names a function ``fn(args: dict) -> dict | None`` (as
``"module:function"``, so any executor can import it in its workers), the
artefacts it must leave in its directory, the stages it reads from, and its
scope: ``"sample"`` (one task per model, T_f and glass sample, directory
``RUN/<model>/Tf_<T_f>/sample_<k>/<stage>/``) or ``"study"`` (one task for the
whole study, ``RUN/<stage>/``).

``args`` for a sample stage::

    out_dir      this task's directory (created)
    inputs       {upstream stage: its directory}
    model, label, n, dim, density   the [[models]] entry
    T_f, sample  preparation temperature, sample index
    seed         the task's seed (twolevel.pipeline.executors.task_seed)
    params       the stage's resolved parameter table (config.resolved_stage_params)
    units        unit system names for this model

and for a study stage: ``out_dir``, ``run_dir``, ``study``, ``seed``,
``params``, ``config`` (the frozen config as JSON data), ``samples`` (one dict
per glass sample: label, model, n, dim, density, T_f, sample, dir, units,
ok = whether all its sample stages completed) and ``inputs`` ({stage: dir} of
study stages it reads).

The function returns ``None`` or a dict with optional ``"artefacts"`` (extra
file names in ``out_dir`` to checksum besides the declared ``outputs``) and
``"info"`` (a small JSON-able summary, logged). It must write every declared
output (an empty table when there is nothing to report), through
:mod:`twolevel.io.atomic`.

The adapters at the bottom glue the real stage modules (``twolevel.prepare``,
``twolevel.explore``, ``twolevel.paths``, ``twolevel.quantum``,
``twolevel.stats``, ``twolevel.report``) to this convention; tests register
their own stages through the same :class:`Stage` interface.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..layout import (DOUBLE_WELLS, EQUILIBRIUM, EXPLORE_META, GLASS, INHERENT_STRUCTURES, IS_CONFIGS, PAIRS,
                      PATHS_META, PREPARE, PREPARE_META, TLS, TRANSITIONS, stage_file)
from .artifacts import check_artefacts, check_manifest, discard, read_json, sha256_file, verify, write_json, write_marker
from .executors import resolve

__all__ = ["Stage", "STAGES", "default_stages", "execute_task", "TASK_FILE"]

TASK_FILE = ".task.json"  # a task's fingerprint, written when it starts (resume of partial work)


@dataclass(frozen=True)
class Stage:
    name: str
    fn: str
    outputs: tuple[str, ...]
    requires: tuple[str, ...] = ()
    scope: str = "sample"  # "sample" or "study"
    version: str = "1"
    optional: bool = False  # a study stage that is left out (not an error) when its module is missing
    enabled: Callable[[Any], bool] | None = field(default=None, compare=False)  # (config) -> bool
    description: str = ""

    def available(self) -> tuple[bool, str]:
        """(True, "") if ``fn`` can be imported here, else (False, why)."""
        try:
            resolve(self.fn)
        except (ImportError, AttributeError) as exc:
            return False, f"{self.fn} cannot be imported ({type(exc).__name__}: {exc})"
        return True, ""


# --------------------------------------------------------------------------- worker side
def execute_task(payload: dict) -> dict:
    """Run one stage task in a worker: check, run, verify outputs, write completeness markers.

    ``payload``: key, stage, fn, dir, outputs, fingerprint, integrity, args.
    Damaged artefacts (marker mismatch) and stale ones (other fingerprint) are
    removed before the stage runs, so it never reads them; files without a
    marker left by an interrupted attempt with the *same* fingerprint are kept,
    so a resumable stage continues where it stopped.
    """
    out = Path(payload["dir"])
    out.mkdir(parents=True, exist_ok=True)
    fp = payload["fingerprint"]
    mode = payload.get("integrity", "sha256")
    prev = read_json(out / TASK_FILE)
    same_task = isinstance(prev, dict) and prev.get("fingerprint") == fp
    discarded: dict[str, str] = {}
    if not same_task or payload.get("fresh"):
        why = "upstream recomputed" if same_task else "left by a task with other inputs"
        for entry in out.iterdir():
            discarded[entry.name] = why
            discard(entry)
    else:
        # an earlier attempt of this very task: keep its atomically written partial work (the stage
        # resumes from it) unless a completed artefact fails verification -- then start afresh
        for m in sorted(out.glob("*.done.json")):
            art = m.with_name(m.name[: -len(".done.json")])
            ok, why = verify(art, fp, mode)
            if not ok:
                discarded[art.name] = why
        for n in payload["outputs"][:1]:  # every artefact of a finished attempt, its marker deleted or not
            discarded.update(check_manifest(out, n, fp, mode))
        if discarded:
            for entry in out.iterdir():
                discard(entry)
    for tmp in out.glob(".*.tmp*"):  # temporary files of a write cut by a kill (never renamed)
        try:
            tmp.unlink()
        except OSError:
            pass
    write_json(out / TASK_FILE, {"fingerprint": fp, "task": payload["key"], "started": time.time(),
                                 "pid": os.getpid()})
    t0 = time.perf_counter()
    value = resolve(payload["fn"])(payload["args"])
    wall = time.perf_counter() - t0
    value = value if isinstance(value, dict) else {}
    missing = [n for n in payload["outputs"] if not (out / n).is_file()]
    if missing:
        raise RuntimeError(f"stage {payload['stage']} did not write {', '.join(missing)} in {out}")
    names = list(dict.fromkeys([*payload["outputs"], *[str(a) for a in value.get("artefacts", ())]]))
    markers = {n: {"size": (out / n).stat().st_size, "sha256": sha256_file(out / n)}
               for n in names if (out / n).is_file()}
    # the declared outputs' markers are written last and carry the manifest of every artefact
    declared = set(payload["outputs"])
    for n in sorted(markers, key=lambda n: n in declared):
        write_marker(out / n, task=payload["key"], fingerprint=fp, sha256=markers[n]["sha256"],
                     extra={"manifest": markers} if n in declared else None)
    info = value.get("info", {})
    try:
        json.dumps(info)
    except TypeError:
        info = {"repr": repr(info)[:500]}
    return {"key": payload["key"], "stage_wall": wall, "discarded": discarded, "artefacts": markers, "info": info}


def task_done(payload: dict) -> tuple[bool, dict[str, str]]:
    """Driver side: are all declared outputs present and verified with this fingerprint?"""
    out = Path(payload["dir"])
    mode = payload.get("integrity", "sha256")
    bad = check_artefacts([out / n for n in payload["outputs"]], payload["fingerprint"], mode)
    bad = {Path(k).name: v for k, v in bad.items()}
    if not bad and payload["outputs"]:
        # and every other artefact the task wrote (checkpoints, bands, libraries): a rerun may read them
        bad = check_manifest(out, payload["outputs"][0], payload["fingerprint"], mode)
    return not bad, bad


# --------------------------------------------------------------------------- helpers for adapters
def _write_parquet(path: Path, df) -> None:
    from ..io.atomic import atomic_path

    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


# --------------------------------------------------------------------------- real stage adapters
def prepare_stage(a: dict) -> dict:
    """prepare: equilibrium liquid at T_f, then the glass (twolevel.prepare.prepare_sample)."""
    from .. import prepare as mod

    p = {k: v for k, v in a["params"].items() if v is not None}
    kw = {"dim": a["dim"], **p}
    if a["density"] is not None:
        kw["density"] = a["density"]
    meta = mod.prepare_sample(a["out_dir"], a["model"], a["n"], a["T_f"], a["seed"], **kw)
    meta = meta if isinstance(meta, dict) else (read_json(Path(a["out_dir"]) / PREPARE_META) or {})
    info = {k: meta[k] for k in ("equilibrated", "tau_alpha", "sweeps", "time", "message")
            if k in meta and isinstance(meta[k], (int, float, str, bool))}
    return {"artefacts": _files(Path(a["out_dir"])), "info": info}


def _files(out: Path, exclude_dirs: tuple[str, ...] = ()) -> list[str]:
    """Relative names of the files under ``out`` (no markers, no hidden or temporary files)."""
    names = []
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out)
        if not p.is_file() or p.name.endswith(".done.json") or any(part.startswith(".") for part in rel.parts):
            continue
        if rel.parts[0] in exclude_dirs:
            continue
        names.append(str(rel))
    return names


def explore_stage(a: dict) -> dict:
    """explore: MD at T_exp, minimisation every tau_cg (twolevel.explore.explore_glass)."""
    from .. import explore as mod

    glass = Path(a["inputs"]["prepare"]) / GLASS
    res = mod.explore_glass(glass, a["out_dir"], seed=a["seed"], model=a["model"], progress=False, **a["params"])
    if not getattr(res, "complete", True):
        raise RuntimeError(f"explore stopped before the end in {a['out_dir']}")
    info = read_json(Path(a["out_dir"]) / EXPLORE_META) or {}
    counts = {k: v for k, v in info.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return {"artefacts": _files(Path(a["out_dir"])), "info": dict(list(counts.items())[:12])}


def paths_stage(a: dict) -> dict:
    """paths: minimum-energy paths of the candidate pairs (twolevel.paths.paths_for_library)."""
    from .. import paths as mod

    from ..explore import merge_library

    p = dict(a["params"])
    explore_dir = Path(a["inputs"]["explore"])
    summary = mod.paths_for_library(explore_dir, a["out_dir"], progress=False, **p)
    summary = summary if isinstance(summary, dict) else {}
    # intermediate minima join the glass's IS library (paths/library.parquet; explore/ stays as written)
    lib = merge_library(explore_dir, a["out_dir"])
    info = {k: v for k, v in summary.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
            and k in ("pairs", "pairs_done", "double_wells", "new_minima")}
    info["library"] = int(len(lib))
    # pairs/ holds the per-pair resumable units; the catalogue and its companions are the artefacts
    return {"artefacts": _files(Path(a["out_dir"]), exclude_dirs=("pairs",)), "info": info}


def quantum_stage(a: dict) -> dict:
    """quantum: the 1D Schrödinger problem along every double well (twolevel.quantum.run_catalogue)."""
    import pandas as pd

    from .. import quantum as q

    cat_path = Path(a["inputs"]["paths"]) / DOUBLE_WELLS
    df = pd.read_parquet(cat_path)
    if "status" in df.columns:
        df = df[df["status"].astype(str) == "ok"]
    keep = np.array([x is not None and len(x) >= 3 for x in df["xi"]], dtype=bool)
    short, df = df[~keep], df[keep]
    p = a["params"]
    specs = q.mass_specs(a["units"], p.get("masses") or None)
    if len(df):
        res = q.run_catalogue(df.reset_index(drop=True), specs, workers=1,
                              **{k: v for k, v in p.items() if k != "masses"})
    else:
        res = pd.DataFrame({"dw_id": pd.Series([], dtype="int64"), "units": pd.Series([], dtype="str"),
                            "m_tilde": pd.Series([], dtype="float64"), "is_tls": pd.Series([], dtype="bool"),
                            "tls_class": pd.Series([], dtype="str"), "E": pd.Series([], dtype="float64")})
    if len(short):  # a profile of fewer than 3 points cannot be solved: kept with a status, never dropped
        bad = pd.DataFrame([{"dw_id": int(i), "units": sp.label, "m_tilde": float(sp.m_tilde), "is_tls": False,
                             "tls_class": "bad_profile", "E": float("nan")}
                            for i in short["dw_id"] for sp in specs])
        res = pd.concat([res, bad], ignore_index=True) if len(res) else bad
    _write_parquet(Path(a["out_dir"]) / TLS, res)
    n_tls = int(res["is_tls"].sum()) if len(res) else 0
    return {"info": {"double_wells": int(len(df)), "rows": int(len(res)), "tls": n_tls}}


def search_stage(a: dict) -> dict:
    """search: learned pair selection in a closed loop over all IS pairs (twolevel.ml.loop.search_glass).

    Optional ([search] in the study config): reads explore/, runs paths + quantum only on the pairs
    of highest predicted TLS yield, retrains after every batch; resumable from its per-pair files.
    """
    from ..ml.loop import search_glass

    p = dict(a["params"])
    path_kw = p.pop("paths", {}) or {}
    if p.get("units") is None and a.get("units"):  # the study's unit systems of this model, first one
        p["units"] = a["units"][0]
    s = search_glass(Path(a["inputs"]["explore"]), a["out_dir"], path_kw=path_kw, **p)
    return {"artefacts": _files(Path(a["out_dir"]), exclude_dirs=("pairs",)),
            "info": {k: s[k] for k in ("pairs_total", "pairs_computed", "tls_found", "double_wells", "cpu_total_s")}}


def instanton_stage(a: dict) -> dict:
    """instanton (optional): adiabatic and ring-polymer instanton estimates for the TLS of a sample
    (twolevel.instanton.stage.run_tables); writes instanton.parquet."""
    from ..instanton.stage import run_tables

    p = dict(a["params"])
    units = p.pop("units", None) or (a["units"][0] if a.get("units") else None)
    qdir = Path(a["inputs"]["quantum"])
    out = Path(a["out_dir"]) / "instanton.parquet"
    Path(a["out_dir"]).mkdir(parents=True, exist_ok=True)
    df = run_tables(qdir / TLS, a["inputs"]["paths"], Path(a["inputs"]["prepare"]) / GLASS, units=units, out=out, **p)
    n_ok = int((df["status_inst"] == "ok").sum()) if len(df) else 0
    return {"info": {"double_wells": int(len(df)), "instanton_ok": n_ok}}


def stats_stage(a: dict) -> dict:
    """stats: n(E), n0 with bootstrap errors, the Eq. (3) decomposition (twolevel.stats.study_stats).

    Reads the samples whose sample stages all completed (``ok``); writes
    stats.json and the tables as CSV into ``out_dir``.
    """
    from .. import stats as mod

    p = a["params"]
    S = mod.study_stats(samples=a["samples"], out_dir=a["out_dir"], run_dir=a["run_dir"], seed=a["seed"] % 2**32, **p)
    out = Path(a["out_dir"])
    arts = sorted(q.name for q in out.glob("*.csv"))
    groups = len(S.table) if S is not None else 0
    return {"artefacts": arts, "info": {"groups": int(groups)}}


def report_stage(a: dict) -> dict:
    """report: RUN/report/index.html with figures, CSV/JSON (twolevel.report.html.write_report)."""
    from ..report import html as mod

    p = dict(a["params"])
    p.pop("enabled", None)
    title = p.pop("title", None) or a["study"]
    # no statistics settings here: the report reads the stats stage's stats.json and tables (its seed included)
    index = mod.write_report(a["run_dir"], a["out_dir"], stats_dir=a["inputs"].get("stats"), config=a["config"],
                             samples=[s for s in a["samples"] if s.get("ok", True)], title=title, progress=False)
    return {"artefacts": _files(Path(a["out_dir"])), "info": {"index": str(index)}}


def lattice_stage(a: dict) -> dict:
    """lattice: DPLM cooling runs and exact theory (twolevel.lattice.runner.run_cooling), RUN/lattice/."""
    from ..lattice.config import LatticeConfig
    from ..lattice.runner import run_cooling

    raw = dict(a["config"]["lattice"])
    raw["run"] = dict(raw.get("run", {}), seed=int(a["seed"] % 2**31), output=a["out_dir"], progress=False)
    cfg = LatticeConfig.model_validate(raw)
    res = run_cooling(cfg, a["out_dir"])
    r = res.get("results", {}) if isinstance(res, dict) else {}
    ff = r.get("fit_fluctuation", {}) if isinstance(r.get("fit_fluctuation"), dict) else {}
    return {"artefacts": _files(Path(a["out_dir"])),
            "info": {k: ff[k] for k in ("c1", "c3") if isinstance(ff.get(k), (int, float))}}


def harmonic_stage(a: dict) -> dict:
    """harmonic: modes, moduli, A4, nonlinear modes of the prepared glasses of each model and T_f
    (twolevel.vibrations.analysis.analyse_glasses), RUN/harmonic/<model>/Tf_<T_f>/ and harmonic.json."""
    from ..vibrations.analysis import analyse_glasses

    p = dict(a["params"])
    p["a4_window"] = tuple(p["a4_window"])
    p["f_window"] = tuple(p["f_window"])
    groups: dict[tuple, list[str]] = {}
    for s in a["samples"]:
        if s.get("ok", True):
            groups.setdefault((s["label"], s["T_f"]), []).append(str(stage_file(s["dir"], PREPARE, GLASS)))
    out = Path(a["out_dir"])
    index: dict = {}
    for (label, tf), files in sorted(groups.items()):
        d = out / label / f"Tf_{tf!r}"
        summary = analyse_glasses(files, d, label=f"{label} T_f={tf!r}", progress=False, **p)
        index.setdefault(label, {})[repr(tf)] = {"dir": str(d.relative_to(out)), "summary": summary}
    write_json(out / "harmonic.json", index)
    return {"artefacts": _files(out), "info": {"groups": len(groups)}}


def default_stages() -> list[Stage]:
    """The landscape route: prepare -> explore -> paths -> quantum per sample, then stats -> report."""
    here = __name__
    return [
        Stage("prepare", f"{here}:prepare_stage", (EQUILIBRIUM, GLASS, PREPARE_META),
              description="equilibrium liquid at T_f by swap Monte Carlo, quench to the glass"),
        Stage("explore", f"{here}:explore_stage",
              (INHERENT_STRUCTURES, IS_CONFIGS, TRANSITIONS, PAIRS, EXPLORE_META),
              requires=("prepare",), description="MD at T_exp, minimisation every tau_cg; candidate pairs"),
        Stage("paths", f"{here}:paths_stage", (DOUBLE_WELLS, PATHS_META), requires=("explore",),
              description="minimum-energy paths between the candidate pairs; double-well catalogue"),
        Stage("quantum", f"{here}:quantum_stage", (TLS,), requires=("paths",),
              description="1D Schrödinger equation along each path: E, Delta, Delta_0, Gamma"),
        Stage("search", f"{here}:search_stage", ("search.json", "batches.parquet", "tls_found.parquet"),
              requires=("explore",), enabled=lambda cfg: getattr(cfg, "search", None) is not None,
              description="learned pair selection: paths + quantum on the most promising IS pairs, retrain, repeat"),
        Stage("instanton", f"{here}:instanton_stage", ("instanton.parquet",), requires=("quantum",),
              enabled=lambda cfg: getattr(cfg, "instanton", None) is not None,
              description="optional: ring-polymer instanton and adiabatic splittings of the TLS"),
        Stage("stats", f"{here}:stats_stage", ("stats.json",), requires=("quantum",), scope="study",
              description="n(E), n0 with bootstrap error, Eq. (3) decomposition"),
        Stage("harmonic", f"{here}:harmonic_stage", ("harmonic.json",), requires=("prepare",), scope="study",
              enabled=lambda cfg: cfg.harmonic is not None,
              description="harmonic route: modes, moduli, A4, nonlinear modes of the prepared glasses (004)"),
        Stage("lattice", f"{here}:lattice_stage", ("results.json", "summary.parquet"), scope="study",
              enabled=lambda cfg: cfg.lattice is not None,
              description="lattice route: DPLM cooling, C_v, c1, c3 against the exact theory (000)"),
        # last, after every route it shows: a disabled route is simply not waited for
        Stage("report", f"{here}:report_stage", ("index.html", "summary.json"), requires=("stats", "harmonic", "lattice"),
              scope="study", enabled=lambda cfg: cfg.report.enabled, description="HTML report"),
    ]


STAGES = default_stages()
