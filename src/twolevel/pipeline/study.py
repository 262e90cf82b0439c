"""The study: plan every task of a config, skip what is stored, run the rest on an executor.

``run_study(config, executor)`` is what ``twolevel run`` does; :class:`Study`
is the same thing as an object for notebooks::

    from twolevel.pipeline import Study
    st = Study("examples/pss_001.toml", out="runs/pss")      # or Study(name=..., model="pss", n=..., tf=[...])
    st.pending()                  # tasks still to do, and why
    st.prepare()                  # one stage (and what it needs) ...
    st.run()                      # ... or everything; a finished study does nothing
    st.catalogue()                # all double wells, with model/T_f/sample columns
    st.tls(); st.summary()
    pd.read_parquet(st.run_dir / "tables" / "tls")   # the same, study-wide, written at the end of a run

Run directory ``RUN/``::

    config.toml, config.json       the frozen config (every default filled in)
    <model>/Tf_<T_f>/sample_<k>/<stage>/   artefacts + <artefact>.done.json markers
    stats/, report/                study-wide stages
    log.jsonl, pipeline.log        what each invocation did, task by task (ran / reused / failed)
    status.json                    progress (twolevel status RUN)
    run_summary.json               tasks, failures, and the statistics (n0, N_TLS, ...) when present
    tables/<level>/                IS, double wells, TLS of every sample: hive-partitioned Parquet
                                   (model=/T_f=/sample=), pd.read_parquet(RUN / "tables/tls") (.tables)
    seeds.json, provenance.json, provenance/<run_id>.json

A task is reused when its artefacts verify (:mod:`.artifacts`) with its
current fingerprint and all its upstream tasks are reused; otherwise it runs
(and so does everything downstream of it). So a rerun of a finished study
does nothing, an interrupted one continues with exactly the missing tasks, a
damaged artefact is recomputed, and changing a stage's parameters recomputes
that stage and what follows.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import operator
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..errors import InputError
from . import config as C
from ..layout import DOUBLE_WELLS, REPORT, REPORT_INDEX, RUN_SUMMARY, STATS, STATS_JSON, TLS, stage_file
from .artifacts import fingerprint, read_json, write_json
from ..seeds import sample_key, task_seed
from .executors import Executor, Task, TaskResult, make_executor, sigterm_as_interrupt
from .progress import StudyProgress, read_status
from .provenance import collect, new_run_id
from .stages import STAGES, Stage, execute_task, task_done

__all__ = ["Study", "run_study", "RunResult", "SampleRef", "PlannedTask", "read_log", "check_owner", "lock_dir"]


@dataclass(frozen=True)
class SampleRef:
    """One glass sample: a [[models]] entry, a T_f and an index."""

    label: str
    model: str
    n: int
    dim: int
    density: float | None
    composition: tuple | None
    T_f: float
    index: int
    dir: Path
    units: tuple[str, ...]

    @property
    def key(self) -> str:
        return sample_key(self.label, self.T_f, self.index)

    def as_dict(self) -> dict:
        return {"label": self.label, "model": self.model, "n": self.n, "dim": self.dim, "density": self.density,
                "composition": list(self.composition) if self.composition else None, "T_f": self.T_f,
                "sample": self.index, "dir": str(self.dir), "units": list(self.units)}


@dataclass
class PlannedTask:
    key: str
    stage: Stage
    dir: Path
    payload: dict
    deps: tuple[str, ...]
    sample: SampleRef | None = None
    status: str = "todo"  # "reused" or "todo"
    reason: str = ""


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    ran: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    wall: float = 0.0
    summary: dict = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.failed and not self.skipped

    def __repr__(self) -> str:
        return (f"RunResult({self.run_dir}: ran {len(self.ran)}, reused {len(self.reused)}, failed {len(self.failed)}, "
                f"skipped {len(self.skipped)}, {self.wall:.1f} s)")


# --------------------------------------------------------------------------- config from kwargs
_STUDY_KEYS = ("name", "seed", "output", "units", "description")
_MODEL_KEYS = ("model", "n", "dim", "density", "tf", "samples")


def _config_from_kwargs(kw: dict) -> dict:
    kw = dict(kw)
    if "out" in kw and "output" not in kw:
        kw["output"] = str(kw.pop("out"))
    data: dict[str, Any] = {"study": {k: kw.pop(k) for k in _STUDY_KEYS if k in kw}}
    if "models" in kw:
        data["models"] = kw.pop("models")
    else:
        m = {k: kw.pop(k) for k in _MODEL_KEYS if k in kw}
        if "tf" in m and not isinstance(m["tf"], (list, tuple)):
            m["tf"] = [m["tf"]]
        if "tf" in m:
            m["tf"] = [float(t) for t in m["tf"]]
        data["models"] = [m] if m else []
    data.update(kw)  # stage tables: prepare=dict(...), explore=dict(...), ...
    return data


def _as_config(config) -> tuple[C.StudyConfig, str | None]:
    if isinstance(config, C.StudyConfig):
        return config, None
    if isinstance(config, Mapping):
        return C.parse_config(config), None
    if isinstance(config, (str, os.PathLike)):
        p = Path(config)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError:
            text = None
        return C.load_config(p), text
    raise InputError(f"config: expected a TOML path, a mapping or a StudyConfig, got {type(config).__name__}")


# --------------------------------------------------------------------------- logging
class _Log:
    def __init__(self, run_dir: Path, run_id: str, echo: bool = False) -> None:
        self.run_id = run_id
        self.jsonl = open(run_dir / "log.jsonl", "a", encoding="utf-8")
        self.text = open(run_dir / "pipeline.log", "a", encoding="utf-8")
        self.echo = echo

    def __call__(self, event: str, task: str | None = None, **kw) -> None:
        rec = {"time": time.time(), "run_id": self.run_id, "event": event, "task": task, **kw}
        self.jsonl.write(json.dumps(rec, default=str) + "\n")
        self.jsonl.flush()
        extra = " ".join(f"{k}={v}" for k, v in kw.items() if v not in (None, "", {}, []))
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} [{self.run_id}] {event:<8} {task or ''} {extra}".rstrip()
        self.text.write(line + "\n")
        self.text.flush()
        if self.echo:
            print(line, file=sys.stderr)

    def close(self) -> None:
        self.jsonl.close()
        self.text.close()


def read_log(run_dir: str | os.PathLike, run_id: str | None = None) -> list[dict]:
    """Events of log.jsonl (all runs, or one ``run_id``; ``run_id="last"`` for the latest invocation)."""
    path = Path(run_dir) / "log.jsonl"
    out = []
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    out.append(json.loads(line))
                except ValueError:  # a line cut by a kill
                    continue
    except FileNotFoundError:
        return []
    if run_id == "last":
        ids = [e["run_id"] for e in out if e.get("event") == "begin"]
        run_id = ids[-1] if ids else None
    if run_id is not None:
        out = [e for e in out if e.get("run_id") == run_id]
    return out


@contextlib.contextmanager
def _lock(run_dir: Path, what: str = "twolevel run"):
    """Hold an exclusive lock on ``run_dir`` (one writer per directory); one-line error when it is taken."""
    try:
        fh = open(run_dir / ".lock", "a+")
    except OSError as exc:
        raise InputError(f"{run_dir}: cannot write here ({exc.strerror or exc})") from None
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        st = read_status(run_dir) or {}
        who = f" (pid {st['pid']} on {st.get('host', '?')})" if "pid" in st else ""
        raise InputError(f"{run_dir}: another {what} is using this directory{who}") from None
    try:
        yield
    finally:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


lock_dir = _lock  # public name: the stand-alone stage commands lock their output directory the same way


# --------------------------------------------------------------------------- ownership
OWNER_FILE = "config.json"  # the frozen config names the study (name, seed) that owns the directory
_OWN_HIDDEN = {".lock"}


def _mkdir(path: Path) -> None:
    """``mkdir -p`` with one-line errors naming the path."""
    if path.exists() and not path.is_dir():
        raise InputError(f"{path}: exists and is not a directory (choose another --out)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{path}: cannot create the run directory ({exc.strerror or exc})") from None


def check_owner(run_dir: Path, cfg: C.StudyConfig, *, overwrite: bool = False) -> str:
    """Which study owns ``run_dir``: "new" (missing or empty), "same" (this study), "other" (allowed by overwrite).

    A run directory belongs to the study named in its frozen ``config.json``
    (study name and seed). Another study, or a non-empty directory that is not
    a run directory, is refused with the way out; ``overwrite=True`` accepts a
    run directory of another study (its contents are then removed by the run).
    Reads only, writes nothing.
    """
    run_dir = Path(run_dir)
    if not run_dir.exists():
        return "new"
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: exists and is not a directory (choose another --out)")
    try:
        entries = [e.name for e in run_dir.iterdir() if e.name not in _OWN_HIDDEN]
    except OSError as exc:
        raise InputError(f"{run_dir}: cannot read the run directory ({exc.strerror or exc})") from None
    if not entries:
        return "new"
    owner = read_json(run_dir / OWNER_FILE)
    study = owner.get("study") if isinstance(owner, dict) else None
    if not isinstance(study, dict):
        raise InputError(f"{run_dir}: not empty and not a twolevel run directory (no {OWNER_FILE}); "
                         f"choose a new --out")
    mine = (cfg.study.name, cfg.study.seed)
    theirs = (study.get("name"), study.get("seed"))
    if theirs == mine:
        return "same"
    if overwrite:
        return "other"
    raise InputError(f"{run_dir}: holds study {theirs[0]!r} (seed {theirs[1]}), not {mine[0]!r} (seed {mine[1]}); "
                     f"choose a new --out, or pass --overwrite to replace it")


def _clear_run_dir(run_dir: Path) -> None:
    """Remove another study's files (``overwrite``): the owner record first, so a kill leaves no false owner."""
    import shutil

    for name in (OWNER_FILE, "config.toml"):
        with contextlib.suppress(FileNotFoundError):
            (run_dir / name).unlink()
    for e in run_dir.iterdir():
        if e.name in _OWN_HIDDEN:
            continue
        if e.is_dir() and not e.is_symlink():
            shutil.rmtree(e)
        else:
            e.unlink()


# --------------------------------------------------------------------------- the study
class Study:
    """A study bound to its run directory; see the module docstring."""

    def __init__(self, config: Any = None, *, out: str | os.PathLike | None = None,
                 stages: Sequence[Stage] | None = None, **kwargs: Any) -> None:
        if config is None:
            config = _config_from_kwargs(kwargs)
        elif kwargs:
            raise InputError(f"give a config or keyword arguments, not both (got {', '.join(kwargs)})")
        self.config, self.source_text = _as_config(config)
        # absolute: workers of a remote Dask cluster do not share our working directory
        self.run_dir = (Path(out) if out is not None else self.config.output_dir()).absolute()
        self.stages: list[Stage] = list(stages) if stages is not None else list(STAGES)
        self._by_name = {s.name: s for s in self.stages}
        for s in self.stages:
            for r in s.requires:
                if r not in self._by_name:
                    raise InputError(f"stage {s.name!r} requires unknown stage {r!r}")

    @classmethod
    def from_file(cls, path: str | os.PathLike, **kw) -> "Study":
        return cls(path, **kw)

    def __repr__(self) -> str:
        return f"Study({self.config.study.name!r}, run_dir={str(self.run_dir)!r}, {len(self.samples())} samples)"

    # ------------------------------------------------------------------ structure
    def samples(self) -> list[SampleRef]:
        out = []
        cfg = self.config
        for spec in cfg.models:
            units = tuple(C.model_units(cfg, spec))
            for i, tf in enumerate(spec.tf):
                for k in range(spec.samples_for(i)):
                    d = self.run_dir / spec.label / f"Tf_{C.format_tf(tf)}" / f"sample_{k}"
                    out.append(SampleRef(spec.label, spec.model, spec.n, spec.dim, spec.density,
                                         None, float(tf), k, d,
                                         units))
        return out

    def _spec(self, label: str) -> C.ModelSpec:
        return next(m for m in self.config.models if m.label == label)

    def _enabled_stages(self, only: Iterable[str] | None) -> list[Stage]:
        stages = [s for s in self.stages if s.enabled is None or s.enabled(self.config)]
        if only is None:
            return stages
        only = list(only)
        for o in only:
            if o not in self._by_name:
                raise InputError(f"unknown stage {o!r} (stages: {', '.join(self._by_name)})")
        want: set[str] = set()

        def add(n: str) -> None:
            if n not in want:
                want.add(n)
                for r in self._by_name[n].requires:
                    add(r)

        for o in only:
            add(o)
        return [s for s in stages if s.name in want]

    def _params(self, stage: str, spec: C.ModelSpec | None) -> dict:
        if stage in C.StudyConfig.model_fields and stage in ("prepare", "explore", "paths", "quantum") and spec:
            return C.resolved_stage_params(self.config, spec, stage)
        if stage == "search" and spec and self.config.search is not None:  # the loop runs the paths stage's bands
            return {**self.config.search.model_dump(), "paths": C.resolved_stage_params(self.config, spec, "paths")}
        sec = getattr(self.config, stage, None)
        return sec.model_dump() if hasattr(sec, "model_dump") else {}

    def plan(self, stages: Iterable[str] | None = None, *, check: bool = True) -> list[PlannedTask]:
        """Every task of the study (for ``stages`` and what they need), reused/todo with reasons."""
        cfg = self.config
        chosen = self._enabled_stages(stages)
        sample_stages = [s for s in chosen if s.scope == "sample"]
        study_stages = [s for s in chosen if s.scope == "study"]
        integrity = cfg.execution.integrity
        seed0 = cfg.study.seed
        tasks: list[PlannedTask] = []
        by_key: dict[str, PlannedTask] = {}
        last_of_sample: list[PlannedTask] = []
        sample_refs = self.samples()
        for ref in sample_refs:
            spec = self._spec(ref.label)
            prev: dict[str, PlannedTask] = {}
            for st in sample_stages:
                key = f"{ref.key}/{st.name}"
                params = self._params(st.name, spec)
                seed = task_seed(seed0, key)
                deps = tuple(prev[r].key for r in st.requires if r in prev)
                fp = fingerprint({"stage": st.name, "version": st.version, "key": key, "seed": seed, "params": params,
                                  "model": [ref.model, ref.n, ref.dim, ref.density, ref.composition, ref.T_f],
                                  "units": list(ref.units) if st.name in ("quantum", "search") else None,
                                  "upstream": [by_key[d].payload["fingerprint"] for d in deps]})
                d = ref.dir / st.name
                args = {"out_dir": str(d), "inputs": {s: str(ref.dir / s) for s in prev}, "model": ref.model,
                        "label": ref.label, "n": ref.n, "dim": ref.dim, "density": ref.density,
                        "composition": list(ref.composition) if ref.composition else None, "T_f": ref.T_f,
                        "sample": ref.index, "seed": seed, "params": params, "units": list(ref.units)}
                payload = {"key": key, "stage": st.name, "fn": st.fn, "dir": str(d), "outputs": list(st.outputs),
                           "fingerprint": fp, "integrity": integrity, "args": args}
                t = PlannedTask(key, st, d, payload, deps, ref)
                tasks.append(t)
                by_key[key] = t
                prev[st.name] = t
            if prev:
                last_of_sample.append(prev[sample_stages[-1].name])
        prev_study: dict[str, PlannedTask] = {}
        for st in study_stages:
            key = st.name
            params = self._params(st.name, None)
            seed = task_seed(seed0, key)
            deps_l: list[str] = []
            for r in st.requires:
                if r in prev_study:
                    deps_l.append(prev_study[r].key)
                else:
                    deps_l += [t.key for t in tasks if t.stage.name == r]
            deps = tuple(deps_l)
            d = self.run_dir / st.name
            base = {"stage": st.name, "version": st.version, "key": key, "seed": seed, "params": params}
            args = {"out_dir": str(d), "run_dir": str(self.run_dir), "study": cfg.study.name, "seed": seed,
                    "params": params, "config": cfg.canonical(), "inputs": {s: str(self.run_dir / s) for s in prev_study},
                    "samples": [dict(r.as_dict(), ok=True) for r in sample_refs]}
            payload = {"key": key, "stage": st.name, "fn": st.fn, "dir": str(d), "outputs": list(st.outputs),
                       "integrity": integrity, "args": args, "_base": base}
            payload["fingerprint"] = fingerprint({**base, "upstream": sorted(by_key[x].payload["fingerprint"] for x in deps)})
            t = PlannedTask(key, st, d, payload, deps, None)
            tasks.append(t)
            by_key[key] = t
            prev_study[st.name] = t
        # study tasks that need nothing (the lattice route) go first: they start while the samples run
        tasks = [t for t in tasks if t.sample is None and not t.deps] + [t for t in tasks if t.sample is not None or t.deps]
        if check:
            for t in tasks:  # topological order by construction
                up_todo = [d for d in t.deps if by_key[d].status != "reused"]
                if up_todo:
                    t.status, t.reason = "todo", f"upstream {up_todo[0]} runs"
                    t.payload["fresh"] = True  # its inputs are rewritten: start from an empty directory
                    continue
                ok, bad = task_done(t.payload)
                if ok:
                    t.status, t.reason = "reused", "verified"
                else:
                    t.status = "todo"
                    t.reason = "; ".join(f"{k}: {v}" for k, v in bad.items())
        return tasks

    def pending(self, stages: Iterable[str] | None = None) -> list[tuple[str, str]]:
        """(task, reason) for every task a run would do now."""
        return [(t.key, t.reason) for t in self.plan(stages) if t.status == "todo"]

    # ------------------------------------------------------------------ running
    def check(self, *, stages: Iterable[str] | None = None, retries: int | None = None,
              overwrite: bool = False) -> int:
        """Validate everything a run needs before anything is written; returns the retries to use.

        Raises a one-line InputError for an unavailable stage, a negative
        ``retries``, an ``--out`` that is a file, or a run directory that
        belongs to another study (see :func:`check_owner`).
        """
        for st in self._enabled_stages(stages):
            ok, why = st.available()
            if not ok:
                raise InputError(f"stage {st.name!r} is not available: {why}")
        retries = self.config.execution.retries if retries is None else retries
        try:
            n = operator.index(retries)  # int or numpy integer, not 2.5 or "2"
        except TypeError:
            n = -1
        if isinstance(retries, bool) or n < 0:
            raise InputError(f"--retries: must be an integer >= 0 (got {retries!r})")
        retries = n
        check_owner(self.run_dir, self.config, overwrite=overwrite)
        return retries

    def run(self, executor: Executor | str | None = None, *, stages: Iterable[str] | None = None,
            progress: bool = True, retries: int | None = None, echo: bool = False,
            overwrite: bool = False) -> RunResult:
        """Run every task that is not stored yet (see :func:`run_study`).

        ``overwrite``: the run directory may hold another study (other name or
        seed); its contents are removed first. Without it such a directory is
        refused, before anything is written.
        """
        cfg = self.config
        retries = self.check(stages=stages, retries=retries, overwrite=overwrite)
        own = not isinstance(executor, Executor)
        if own:
            ex = cfg.execution
            executor = make_executor(executor if isinstance(executor, str) else ex.executor, workers=ex.workers,
                                     scheduler=ex.scheduler, dask_local=ex.dask_local)
        assert isinstance(executor, Executor)
        try:
            _mkdir(self.run_dir)
            with _lock(self.run_dir):
                # again under the lock: another run may have claimed the directory meanwhile
                if check_owner(self.run_dir, cfg, overwrite=overwrite) == "other":
                    _clear_run_dir(self.run_dir)
                return self._run_locked(executor, stages, progress, retries, echo)
        finally:
            if own:
                executor.close()

    def _run_locked(self, executor: Executor, stages, progress: bool, retries: int, echo: bool) -> RunResult:
        cfg = self.config
        run_dir = self.run_dir
        run_id = new_run_id()
        t_start = time.time()
        canon = cfg.canonical()
        cfg_hash = fingerprint(canon)
        write_json(run_dir / "config.json", canon)
        from ..io.atomic import atomic_open

        with atomic_open(run_dir / "config.toml", "w") as fh:
            fh.write(f"# frozen config of study {cfg.study.name!r} (every default filled in), run {run_id}\n")
            fh.write(cfg.to_toml())
        (run_dir / "provenance").mkdir(exist_ok=True)
        if self.source_text is not None:
            with atomic_open(run_dir / "provenance" / f"{run_id}.source.toml", "w") as fh:
                fh.write(self.source_text)
        prov = collect(run_id=run_id, config_hash=cfg_hash, executor=executor.describe(), study_seed=cfg.study.seed)
        write_json(run_dir / "provenance" / f"{run_id}.json", prov)

        log = _Log(run_dir, run_id, echo=echo)
        plan = self.plan(stages)
        by_key = {t.key: t for t in plan}
        write_json(run_dir / "seeds.json", {"study_seed": cfg.study.seed,
                                            "tasks": {t.key: t.payload["args"]["seed"] for t in plan}})
        todo = [t for t in plan if t.status == "todo"]
        reused = [t for t in plan if t.status == "reused"]
        log("begin", None, executor=executor.describe(), tasks=len(plan), todo=len(todo), reused=len(reused),
            config_sha256=cfg_hash)
        for t in reused:
            log("reused", t.key, stage=t.stage.name)
        for t in todo:
            log("todo", t.key, stage=t.stage.name, reason=t.reason)
        stage_names = [s.name for s in self._enabled_stages(stages)]
        totals = {s: sum(1 for t in plan if t.stage.name == s) for s in stage_names}
        nreused = {s: sum(1 for t in reused if t.stage.name == s) for s in stage_names}
        from .cost import per_task_seconds

        prog = StudyProgress(run_dir, cfg.study.name, run_id, stage_names, totals, nreused, executor.workers,
                             show=progress, prior=per_task_seconds(todo))
        todo_keys = {t.key for t in todo}
        reused_keys = {t.key for t in reused}

        def finalize_study(t: PlannedTask):
            def fin(results: dict[str, TaskResult]) -> dict:
                p = json.loads(json.dumps({k: v for k, v in t.payload.items() if k != "_base"}))
                ok_fps = []
                okset = set()
                for d in t.deps:
                    if d in reused_keys or (d in results and results[d].ok):
                        ok_fps.append(by_key[d].payload["fingerprint"])
                        okset.add(d)
                for s in p["args"]["samples"]:
                    prefix = f"{s['label']}/Tf_{C.format_tf(s['T_f'])}/sample_{s['sample']}/"
                    s["ok"] = all(k in okset for k in t.deps if k.startswith(prefix)) if any(
                        k.startswith(prefix) for k in t.deps) else True
                p["fingerprint"] = fingerprint({**t.payload["_base"], "upstream": sorted(ok_fps)})
                return p
            return fin

        tasks = []
        for t in todo:
            deps = tuple(d for d in t.deps if d in todo_keys)
            if t.stage.scope == "study":
                tasks.append(Task(t.key, None, deps, soft=True, finalize=finalize_study(t),
                                  meta={"stage": t.stage.name}))
            else:
                tasks.append(Task(t.key, t.payload, deps, meta={"stage": t.stage.name}))

        result = RunResult(run_id, run_dir, reused=[t.key for t in reused])

        def on_event(kind: str, task: Task, res: TaskResult | None) -> None:
            stage = task.meta.get("stage", "")
            prog.event(kind, stage, task.key, res)
            if kind == "done":
                v = res.value or {}
                result.ran.append(task.key)
                log("ran", task.key, stage=stage, attempts=res.attempts, wall=round(res.wall, 3),
                    stage_wall=round(float(v.get("stage_wall", 0.0)), 3), host=res.host,
                    pid=res.pid, info=v.get("info"), discarded=v.get("discarded"))
            elif kind == "failed":
                result.failed.append({"task": task.key, "error": res.error, "attempts": res.attempts})
                log("failed", task.key, stage=stage, attempts=res.attempts, error=res.error,
                    traceback=res.traceback)
            elif kind == "skipped":
                result.skipped.append({"task": task.key, "error": res.error})
                log("skipped", task.key, stage=stage, error=res.error)
            elif kind == "error":
                log("error", task.key, stage=stage, attempt=res.attempts, error=res.error, traceback=res.traceback)
            elif kind in ("start", "retry"):
                log(kind, task.key, stage=stage)

        state = "failed"
        try:
            with sigterm_as_interrupt():  # SIGTERM shuts the workers down like Ctrl-C
                executor.run_graph(execute_task, tasks, retries=retries, on_event=on_event)
            state = "finished" if result.complete else "finished_with_failures"
        except KeyboardInterrupt:
            state = "interrupted"
            log("interrupted", None)
            raise
        finally:
            result.wall = time.time() - t_start
            prog.close(state)
            walls = {s: prog.c[s]["wall"] for s in stage_names}
            prov.update({"finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "state": state,
                         "elapsed_s": result.wall, "stage_wall_s": walls,
                         "tasks": {"ran": len(result.ran), "reused": len(result.reused),
                                   "failed": len(result.failed), "skipped": len(result.skipped)}})
            write_json(run_dir / "provenance" / f"{run_id}.json", prov)
            write_json(run_dir / "provenance.json", prov)
            result.summary = self._write_summary(plan, result, state)
            log("end", None, state=state, ran=len(result.ran), failed=len(result.failed),
                skipped=len(result.skipped), elapsed=round(result.wall, 3))
            log.close()
        return result

    def _write_summary(self, plan: list[PlannedTask], result: RunResult, state: str) -> dict:
        failed_keys = {f["task"] for f in result.failed} | {s["task"] for s in result.skipped}
        per: dict[str, dict[str, dict[str, int]]] = {}
        sample_stages = [t.stage.name for t in plan if t.sample is not None]
        last = sample_stages[-1] if sample_stages else None
        for t in plan:
            if t.sample is None or t.stage.name != last:
                continue
            d = per.setdefault(t.sample.label, {}).setdefault(C.format_tf(t.sample.T_f), {"samples": 0, "complete": 0})
            d["samples"] += 1
            if t.key not in failed_keys:
                d["complete"] += 1
        stats = read_json(stage_file(self.run_dir, STATS, STATS_JSON))
        report_summary = read_json(self.run_dir / "report" / "summary.json")
        summary = {
            "study": self.config.study.name,
            "seed": self.config.study.seed,
            "state": state,
            "complete": result.complete,
            "tasks": {"total": len(plan), "failed": len(result.failed), "skipped": len(result.skipped)},
            "failed": sorted(result.failed, key=lambda f: f["task"]),
            "skipped": sorted(result.skipped, key=lambda f: f["task"]),
            "samples": per,
            "results": report_summary if report_summary is not None else stats,
            "report": f"{REPORT}/{REPORT_INDEX}" if stage_file(self.run_dir, REPORT, REPORT_INDEX).exists() else None,
            "lattice": read_json(self.run_dir / "lattice" / "results.json"),
            "harmonic": read_json(self.run_dir / "harmonic" / "harmonic.json"),
            "tables": self._write_tables(),
            "last_run": result.run_id,
        }
        write_json(self.run_dir / RUN_SUMMARY, summary)
        return summary

    # ------------------------------------------------------------------ one stage at a time
    def prepare(self, executor=None, **kw) -> RunResult:
        """Prepare every glass (equilibrium liquid at T_f, quench)."""
        return self.run(executor, stages=["prepare"], **kw)

    def explore(self, executor=None, **kw) -> RunResult:
        """Explore every glass (and prepare those that are missing)."""
        return self.run(executor, stages=["explore"], **kw)

    def paths(self, executor=None, **kw) -> RunResult:
        return self.run(executor, stages=["paths"], **kw)

    def quantum(self, executor=None, **kw) -> RunResult:
        return self.run(executor, stages=["quantum"], **kw)

    def stats(self, executor=None, **kw) -> RunResult:
        return self.run(executor, stages=["stats"], **kw)

    def report(self, executor=None, **kw) -> RunResult:
        return self.run(executor, stages=["report"], **kw)

    # ------------------------------------------------------------------ stored results
    def status(self) -> dict | None:
        return read_status(self.run_dir)

    def _write_tables(self) -> dict:
        """RUN/tables/<level> from the verified sample artefacts ({level: path or None})."""
        from .tables import write_tables

        mode = self.config.execution.integrity
        try:
            return {k: v["path"] for k, v in write_tables(self.run_dir, mode).items()}
        except Exception as exc:  # the tables are a view of stored results: never lose the run summary over them
            return {"error": " ".join(f"{type(exc).__name__}: {exc}".split())}

    def summary(self) -> dict | None:
        """RUN/run_summary.json (the report's own RUN/report/summary.json holds the statistics only)."""
        return read_json(self.run_dir / RUN_SUMMARY)

    def log(self, run_id: str | None = None) -> list[dict]:
        return read_log(self.run_dir, run_id)

    def _table(self, stage: str, name: str, label=None, T_f=None):
        import pandas as pd

        from .artifacts import verify

        frames = []
        for ref in self.samples():
            if (label is not None and ref.label != label) or (T_f is not None and C.format_tf(T_f) != C.format_tf(ref.T_f)):
                continue
            p = ref.dir / stage / name
            ok, _ = verify(p, None, self.config.execution.integrity)
            if not ok:
                continue  # missing or not verified: never read
            df = pd.read_parquet(p)
            df.insert(0, "sample", ref.index)
            df.insert(0, "T_f", ref.T_f)
            df.insert(0, "model", ref.label)
            frames.append(df)
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True)

    def catalogue(self, label: str | None = None, T_f: float | None = None):
        """All double wells (paths/double_wells.parquet) of the verified samples, with model/T_f/sample."""
        return self._table("paths", DOUBLE_WELLS, label, T_f)

    def tls(self, label: str | None = None, T_f: float | None = None):
        """All quantum results (quantum/tls.parquet) of the verified samples."""
        return self._table("quantum", TLS, label, T_f)


def run_study(config: Any, executor: Executor | str | None = None, *, out: str | os.PathLike | None = None,
              stages: Iterable[str] | None = None, progress: bool = True, retries: int | None = None,
              stage_specs: Sequence[Stage] | None = None, echo: bool = False, overwrite: bool = False) -> RunResult:
    """Run a study: for each model, T_f and sample prepare -> explore -> paths -> quantum, then stats
    and report; every task already stored (and verified) is skipped.

    ``config``: a TOML path, a mapping or a StudyConfig. ``executor``: an
    :class:`Executor`, or "process" / "in-process" / "dask", or None for the
    config's ``[execution]``. ``stages``: run only these stages (and what
    they need). ``stage_specs``: replace the stage registry (tests, plug-ins).
    ``overwrite``: replace a run directory that holds another study (refused otherwise).
    """
    return Study(config, out=out, stages=stage_specs).run(executor, stages=stages, progress=progress,
                                                          retries=retries, echo=echo, overwrite=overwrite)
