"""``twolevel run CONFIG``, ``twolevel status RUN_DIR``, ``twolevel demo``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer

from ..errors import InputError
from . import app


def _executor(workers: Optional[int], scheduler: Optional[str], dask_local: Optional[int], in_process: bool, cfg):
    from ..pipeline.executors import make_executor

    given = [x for x in (workers is not None, scheduler is not None, dask_local is not None, in_process) if x]
    if len(given) > 1:
        raise InputError("give at most one of --workers, --scheduler, --dask-local, --in-process")
    if in_process:
        return make_executor("in-process")
    if scheduler is not None or dask_local is not None:
        return make_executor("dask", scheduler=scheduler, dask_local=dask_local)
    if workers is not None:
        return make_executor("process", workers=workers)
    ex = cfg.execution
    return make_executor(ex.executor, workers=ex.workers, scheduler=ex.scheduler, dask_local=ex.dask_local)


def _run(config, out: Optional[Path], workers, scheduler, dask_local, in_process, retries, quiet, dry_run,
         stages: Optional[list[str]], log: bool, overwrite: bool = False) -> None:
    from ..pipeline.study import Study

    study = Study(config, out=out)  # validates the whole config before anything runs
    # ... and the run options and the run directory, before any executor starts or any file is written
    retries = study.check(stages=stages, retries=retries, overwrite=overwrite)
    if dry_run:
        plan = study.plan(stages)
        todo = [t for t in plan if t.status == "todo"]
        print(f"{study.config.study.name}: {len(plan)} tasks, {len(plan) - len(todo)} stored, {len(todo)} to run "
              f"(run directory {study.run_dir})")
        for t in todo:
            print(f"  {t.key}: {t.reason}")
        if todo:
            from ..pipeline.cost import estimate, format_estimate

            ex = study.config.execution
            n_workers = workers or ex.workers or os.cpu_count() or 1
            print(format_estimate(estimate(todo), 1 if in_process else n_workers))
        return
    executor = _executor(workers, scheduler, dask_local, in_process, study.config)
    try:
        res = study.run(executor, stages=stages, progress=not quiet, retries=retries, echo=log, overwrite=overwrite)
    finally:
        executor.close()
    print(f"{study.config.study.name}: ran {len(res.ran)} task(s), reused {len(res.reused)}, "
          f"failed {len(res.failed)}, skipped {len(res.skipped)} in {res.wall:.1f} s -> {study.run_dir}")
    for f in res.failed:
        print(f"  FAILED {f['task']} after {f['attempts']} attempt(s): {f['error']}", file=sys.stderr)
    if res.summary.get("report"):
        print(f"report: {study.run_dir / res.summary['report']}")
    if res.failed or res.skipped:
        raise typer.Exit(1)


_WORKERS = typer.Option(None, "--workers", "-j", help="Local process pool with N workers (default: all cores).")
_SCHED = typer.Option(None, "--scheduler", help="Run on a Dask cluster: scheduler address tcp://HOST:PORT.")
_DASK_LOCAL = typer.Option(None, "--dask-local", help="Start a Dask LocalCluster with N single-threaded workers.")
_INPROC = typer.Option(False, "--in-process", help="Run tasks one by one in this process (debugging).")
_RETRIES = typer.Option(None, "--retries", help="Retries of a failing task (default: \\[execution] retries = 2).")
_QUIET = typer.Option(False, "--quiet", "-q", help="No progress display (status.json is still written).")
_DRY = typer.Option(False, "--dry-run", help="Validate the config and list the tasks to run, run nothing.")
_STAGES = typer.Option(None, "--stage", help="Run only this stage and what it needs (repeatable).")
_LOG = typer.Option(False, "--log", help="Also print the task log (ran / reused / failed) on stderr.")
_OVERWRITE = typer.Option(False, "--overwrite", help="Replace a run directory that holds another study (refused otherwise).")


@app.command("run")
def run_cmd(
    config: Path = typer.Argument(..., help="Study config (TOML), see docs/pipeline.md."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run directory (default: \\[study] output, or runs/<name>)."),
    workers: Optional[int] = _WORKERS,
    scheduler: Optional[str] = _SCHED,
    dask_local: Optional[int] = _DASK_LOCAL,
    in_process: bool = _INPROC,
    retries: Optional[int] = _RETRIES,
    quiet: bool = _QUIET,
    dry_run: bool = _DRY,
    stage: Optional[list[str]] = _STAGES,
    log: bool = _LOG,
    overwrite: bool = _OVERWRITE,
) -> None:
    """Run a whole study: prepare, explore, paths, quantum per sample, then stats and report.

    Everything already stored and verified is skipped: a rerun of a finished
    study does nothing, an interrupted one continues.
    """
    _run(config, out, workers, scheduler, dask_local, in_process, retries, quiet, dry_run, stage or None, log,
         overwrite)


@app.command("status")
def status_cmd(
    run_dir: Path = typer.Argument(..., help="Run directory of a study."),
    as_json: bool = typer.Option(False, "--json", help="Print status.json as JSON."),
) -> None:
    """Progress of a study (running, finished or interrupted), per stage, and its failed tasks."""
    from ..pipeline.progress import format_status, read_status

    if not Path(run_dir).is_dir():
        raise InputError(f"{run_dir}: no such run directory")
    st = read_status(run_dir)
    if st is None:
        raise InputError(f"{run_dir}: no status.json (not a run directory, or the run has not started)")
    if as_json:
        print(json.dumps(st, indent=1, sort_keys=True))
    else:
        print(format_status(st))


def demo_config_text() -> str:
    """The embedded default study (twolevel/data/demo.toml)."""
    from importlib import resources

    return resources.files("twolevel").joinpath("data/demo.toml").read_text(encoding="utf-8")


@app.command("demo")
def demo_cmd(
    out: Path = typer.Option(Path("runs/demo"), "--out", "-o", help="Run directory."),
    workers: Optional[int] = _WORKERS,
    scheduler: Optional[str] = _SCHED,
    dask_local: Optional[int] = _DASK_LOCAL,
    in_process: bool = _INPROC,
    quiet: bool = _QUIET,
    dry_run: bool = _DRY,
    show_config: bool = typer.Option(False, "--show-config", help="Print the demo config and exit."),
) -> None:
    """Run the embedded default study (a small PSS system at a few T_f) and write its report."""
    import tomllib

    text = demo_config_text()
    if show_config:
        print(text)
        return
    data = tomllib.loads(text)
    _run(data, out, workers, scheduler, dask_local, in_process, None, quiet, dry_run, None, False)
