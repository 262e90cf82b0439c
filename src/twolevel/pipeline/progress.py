"""One progress display for a whole study, and ``RUN/status.json``.

:class:`StudyProgress` receives the executor's events (start, done, failed,
skipped, retry) and keeps per-stage counts: total, done (this run), reused
(verified from an earlier run), running, failed, skipped (upstream failed).
It shows them as one rich progress bar per stage with the estimated time left
(mean task wall time of the stage so far x tasks left / workers; before a stage's first task has
finished, the estimate from measured throughput of twolevel.pipeline.cost), and writes
the same numbers atomically to ``RUN/status.json`` (at most every
``interval`` seconds, and at the end), which ``twolevel status RUN_DIR`` reads.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

from .artifacts import read_json, write_json

__all__ = ["StudyProgress", "read_status", "format_status", "pid_alive"]


class StudyProgress:
    def __init__(self, run_dir: Path, study: str, run_id: str, stages: list[str], totals: dict[str, int],
                 reused: dict[str, int], workers: int, show: bool = True, interval: float = 1.0,
                 prior: dict[str, float] | None = None) -> None:
        self.path = Path(run_dir) / "status.json"
        self.study, self.run_id = study, run_id
        self.stages = list(stages)
        self.workers = max(1, int(workers))
        # estimated seconds per task from measured throughput (twolevel.pipeline.cost), used until a
        # stage's own first task has finished
        self.prior = dict(prior or {})
        self.interval = interval
        self.t0 = time.time()
        self._last = 0.0
        self.c = {s: {"total": totals.get(s, 0), "reused": reused.get(s, 0), "done": 0, "running": 0, "failed": 0,
                      "skipped": 0, "retries": 0, "wall": 0.0} for s in self.stages}
        self.failed: list[dict] = []
        self.state = "running"
        self._rich = None
        self._bars: dict[str, Any] = {}
        if show:
            self._start_rich()
        self.write(force=True)

    # ------------------------------------------------------------------ display
    def _start_rich(self) -> None:
        try:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        except ImportError:  # pragma: no cover
            return
        self._rich = Progress(TextColumn("{task.description:<9}"), BarColumn(), MofNCompleteColumn(),
                              TextColumn("{task.fields[extra]}"), TimeElapsedColumn(),
                              TextColumn("left {task.fields[eta]}"), transient=False)
        for s in self.stages:
            c = self.c[s]
            self._bars[s] = self._rich.add_task(s, total=max(c["total"], 1), completed=c["reused"],
                                                extra="", eta="-")
        self._rich.start()

    def _refresh(self) -> None:
        if self._rich is None:
            return
        for s in self.stages:
            c = self.c[s]
            extra = []
            if c["running"]:
                extra.append(f"{c['running']} running")
            if c["failed"]:
                extra.append(f"[red]{c['failed']} failed[/red]")
            if c["skipped"]:
                extra.append(f"{c['skipped']} skipped")
            if c["reused"]:
                extra.append(f"{c['reused']} reused")
            eta = self.stage_eta(s)
            self._rich.update(self._bars[s], completed=c["reused"] + c["done"] + c["failed"] + c["skipped"],
                              extra=", ".join(extra), eta=_fmt_s(eta) if eta is not None else "-")

    # ------------------------------------------------------------------ events
    def event(self, kind: str, stage: str, key: str, result: Any = None) -> None:
        c = self.c.get(stage)
        if c is None:
            return
        if kind == "start":
            c["running"] += 1
        elif kind == "retry":
            c["running"] += 1
            c["retries"] += 1
        elif kind == "error":
            c["running"] = max(0, c["running"] - 1)
        elif kind in ("done", "failed"):
            c["running"] = max(0, c["running"] - 1)
            c[kind] += 1
            if result is not None:
                c["wall"] += float(getattr(result, "wall", 0.0) or 0.0)
            if kind == "failed":
                self.failed.append({"task": key, "error": getattr(result, "error", None),
                                    "attempts": getattr(result, "attempts", None)})
        elif kind == "skipped":
            c["skipped"] += 1
            self.failed.append({"task": key, "error": getattr(result, "error", None), "attempts": 0,
                                "skipped": True})
        self._refresh()
        self.write()

    def stage_eta(self, s: str) -> float | None:
        c = self.c[s]
        left = c["total"] - c["reused"] - c["done"] - c["failed"] - c["skipped"]
        if left <= 0:
            return 0.0
        if c["done"] == 0:
            per = self.prior.get(s)
            return None if per is None else per * left / self.workers
        return c["wall"] / c["done"] * left / self.workers

    def eta(self) -> float | None:
        """Seconds left: the sum over the stages with an estimate (None when no stage has one; a
        lower bound when some stage has none, see :meth:`eta_is_lower_bound`)."""
        known = [e for e in (self.stage_eta(s) for s in self.stages) if e is not None]
        return sum(known) if known else None

    def eta_is_lower_bound(self) -> bool:
        return any(self.stage_eta(s) is None for s in self.stages)

    # ------------------------------------------------------------------ status.json
    def snapshot(self) -> dict:
        return {
            "study": self.study,
            "run_id": self.run_id,
            "state": self.state,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": self.t0,
            "updated": time.time(),
            "elapsed_s": time.time() - self.t0,
            "eta_s": self.eta(),
            "eta_lower_bound": self.eta_is_lower_bound(),
            "workers": self.workers,
            "stage_order": self.stages,
            "stages": {s: {**{k: v for k, v in self.c[s].items() if k != "wall"},
                           "wall_s": round(self.c[s]["wall"], 3), "eta_s": self.stage_eta(s)} for s in self.stages},
            "failed": self.failed,
        }

    def write(self, force: bool = False) -> None:
        now = time.time()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        try:
            write_json(self.path, self.snapshot())
        except OSError:  # pragma: no cover - status is best effort
            pass

    def close(self, state: str) -> None:
        self.state = state
        self._refresh()
        if self._rich is not None:
            self._rich.stop()
            self._rich = None
        self.write(force=True)


def _fmt_s(s: float) -> str:
    s = int(round(s))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, ValueError, TypeError):
        return False
    return True


def read_status(run_dir: str | os.PathLike) -> dict | None:
    """status.json of a run directory, with ``state`` corrected to "interrupted" when its process is gone."""
    st = read_json(Path(run_dir) / "status.json")
    if not isinstance(st, dict):
        return None
    if st.get("state") == "running" and st.get("host") == socket.gethostname() and not pid_alive(st.get("pid", -1)):
        st["state"] = "interrupted"
    return st


def format_status(st: dict) -> str:
    """A plain-text table of a status.json."""
    elapsed = st.get("elapsed_s") or 0
    if st.get("state") == "running" and isinstance(st.get("started"), (int, float)):
        elapsed = time.time() - st["started"]
    lines = [f"study {st.get('study')}  run {st.get('run_id')}  state {st.get('state')}  "
             f"elapsed {_fmt_s(elapsed)}"
             + (f"  left {'>= ' if st.get('eta_lower_bound') else '~'}{_fmt_s(st['eta_s'])}"
                if st.get("eta_s") not in (None, 0) and st.get('state') == 'running' else "")]
    lines.append(f"{'stage':<9} {'total':>6} {'reused':>6} {'done':>6} {'running':>7} {'failed':>6} {'skipped':>7} {'wall_s':>9}")
    stages = st.get("stages") or {}
    order = [s for s in st.get("stage_order") or [] if s in stages] + [s for s in stages if s not in (st.get("stage_order") or [])]
    for s in order:
        c = stages[s]
        lines.append(f"{s:<9} {c.get('total', 0):>6} {c.get('reused', 0):>6} {c.get('done', 0):>6} "
                     f"{c.get('running', 0):>7} {c.get('failed', 0):>6} {c.get('skipped', 0):>7} {c.get('wall_s', 0):>9.1f}")
    for f in st.get("failed") or []:
        what = "skipped" if f.get("skipped") else f"failed after {f.get('attempts')} attempt(s)"
        lines.append(f"  {what}: {f.get('task')}: {f.get('error')}")
    return "\n".join(lines)
