"""Executors: one interface, three ways to run independent tasks.

``Executor.map(fn, tasks) -> results`` runs ``fn(task.payload)`` for every task
and returns one :class:`TaskResult` per task, in the order of ``tasks``;
``Executor.run_graph`` does the same for tasks with dependencies (a task is
submitted when its dependencies have succeeded). Three implementations:

* :class:`InProcessExecutor` -- one task after the other in this process
  (debugging, tests, notebooks);
* :class:`ProcessPoolExecutor` -- a local pool of worker processes
  (``concurrent.futures`` with the ``forkserver`` start method, ``spawn`` where
  that is missing), the default, one worker per core;
* :class:`DaskExecutor` -- Dask distributed, on an existing cluster
  (``scheduler="tcp://HOST:PORT"``) or on a LocalCluster it starts
  (``local_workers=N``). Dask is the optional ``dask`` extra, imported only here.

Nothing a task computes may depend on which executor runs it: seeds come from
:func:`task_seed` (the study seed and the task's identity), never from worker
ids, clocks or completion order.

Failures. ``fn`` runs inside :func:`_call`, which turns an exception into a
failed result (with its one-line error and the traceback). A failed task is
retried up to ``retries`` times, then reported failed; the other tasks go on,
and tasks that depend on it are reported ``skipped`` (upstream failed). A
worker process that dies (killed, out of memory, a crash in compiled code)
breaks a process pool for every task then in flight: those tasks are re-run
one at a time ("solo"), so that only the task that really kills its worker is
charged an attempt.
"""

from __future__ import annotations

import contextlib
import heapq
import importlib
import multiprocessing as mp
import os
import signal
import socket
import threading
import time
import traceback
from concurrent import futures as cf
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence


from ..errors import InputError
from ..seeds import stable_hash, task_seed  # noqa: F401  (re-exported: one seed scheme)

__all__ = [
    "Task",
    "TaskResult",
    "Executor",
    "InProcessExecutor",
    "ProcessPoolExecutor",
    "DaskExecutor",
    "make_executor",
    "sigterm_as_interrupt",
    "Terminated",
    "task_seed",
    "stable_hash",
]


# seeds: one scheme for the package, owned by twolevel.seeds (re-exported here)


# --------------------------------------------------------------------------- signals
class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C: the same clean shutdown of workers."""


_TERMINATED: list[int] = []


def terminated() -> bool:
    """Has this process received SIGTERM inside :func:`sigterm_as_interrupt`?"""
    return bool(_TERMINATED)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` (a KeyboardInterrupt) in the main thread.

    Python's default for SIGTERM is to die at once, leaving pool workers, the
    forkserver and a Dask cluster behind with the run directory unlocked; as
    an exception it takes the path of Ctrl-C (workers terminated, cluster
    closed, status "interrupted"). Outside the main thread it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        _TERMINATED.append(signum)
        raise Terminated(f"signal {signum}")

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


# --------------------------------------------------------------------------- tasks
@dataclass
class Task:
    """One unit of work: ``fn(payload)`` (``fn`` given to map/run_graph).

    key: unique identity; deps: keys of tasks that must succeed first;
    soft: run even when some (not all) dependencies failed (e.g. statistics on
    the samples that completed); finalize: called in the driver just before
    submission with the results so far, returns the payload to send (lets a
    task see which of its dependencies succeeded).
    """

    key: str
    payload: Any = None
    deps: tuple[str, ...] = ()
    soft: bool = False
    finalize: Callable[[dict[str, "TaskResult"]], Any] | None = None
    meta: dict = field(default_factory=dict)


@dataclass
class TaskResult:
    key: str
    status: str  # "ok", "failed", "skipped"
    value: Any = None
    error: str | None = None
    traceback: str | None = None
    attempts: int = 0
    wall: float = 0.0
    host: str | None = None
    pid: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def resolve(ref: str | Callable) -> Callable:
    """A callable from itself or from 'package.module:qualname'."""
    if callable(ref):
        return ref
    mod, _, name = str(ref).partition(":")
    obj: Any = importlib.import_module(mod)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _call(fn: Callable | str, payload: Any) -> dict:
    """Worker side: run one task, never raise (an exception becomes a failed outcome)."""
    t0 = time.perf_counter()
    host, pid = socket.gethostname(), os.getpid()
    try:
        value = resolve(fn)(payload)
        return {"ok": True, "value": value, "wall": time.perf_counter() - t0, "host": host, "pid": pid}
    except BaseException as exc:  # noqa: BLE001 - a task must not take the worker down
        if isinstance(exc, KeyboardInterrupt):
            raise
        msg = " ".join(f"{type(exc).__name__}: {exc}".split())
        return {"ok": False, "error": msg[:2000], "traceback": traceback.format_exc()[-8000:],
                "wall": time.perf_counter() - t0, "host": host, "pid": pid}


# --------------------------------------------------------------------------- base
class Executor:
    """Run independent or dependent tasks; see the module docstring."""

    name = "executor"
    #: a worker death breaks every task in flight (process pool): re-run them one at a time
    ambiguous_deaths = False

    def __init__(self) -> None:
        self.workers = 1

    # -- backend hooks ----------------------------------------------------
    def _submit(self, fn, payload, key: str):  # -> handle
        raise NotImplementedError

    def _wait(self, handles: list) -> list:  # -> handles that are finished (at least one)
        raise NotImplementedError

    def _outcome(self, handle) -> dict:  # -> {"ok":..} from _call, or {"died": True, "error": ..}
        raise NotImplementedError

    def _recover(self) -> None:
        """Called after a worker death was seen (rebuild a broken pool)."""

    def _cancel(self, handles: list) -> None:
        pass

    @property
    def slots(self) -> int:
        """Tasks kept in flight at once (the rest wait in priority order)."""
        return max(1, self.workers)

    def close(self) -> None:
        pass

    def describe(self) -> dict:
        return {"executor": self.name, "workers": self.workers}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- public API ---------------------------------------------------------
    def map(self, fn: Callable | str, tasks: Sequence[Task | Any], *, retries: int = 2,
            on_event: Callable[[str, Task, TaskResult | None], None] | None = None) -> list[TaskResult]:
        """Run independent tasks; results in the order of ``tasks``.

        Items that are not :class:`Task` are wrapped (key = their index).
        """
        tasks = [t if isinstance(t, Task) else Task(key=str(i), payload=t) for i, t in enumerate(tasks)]
        res = self.run_graph(fn, tasks, retries=retries, on_event=on_event)
        return [res[t.key] for t in tasks]

    def run_graph(self, fn: Callable | str, tasks: Sequence[Task], *, retries: int = 2,
                  on_event: Callable[[str, Task, TaskResult | None], None] | None = None) -> dict[str, TaskResult]:
        """Run tasks with dependencies; returns {key: TaskResult}.

        Ready tasks are submitted in the order of ``tasks`` (so put the
        downstream tasks of early samples before the later samples to finish
        samples early), at most :attr:`slots` at once. Events passed to
        ``on_event(kind, task, result)``: "start", "retry", "done", "failed",
        "skipped".
        """
        retries = int(retries)
        if retries < 0:
            raise InputError(f"retries: must be >= 0 (got {retries})")
        order = {t.key: i for i, t in enumerate(tasks)}
        if len(order) != len(tasks):
            dup = next(t.key for t in tasks if sum(1 for u in tasks if u.key == t.key) > 1)
            raise InputError(f"task key {dup!r} is used twice")
        by_key = {t.key: t for t in tasks}
        for t in tasks:
            for d in t.deps:
                if d not in by_key:
                    raise InputError(f"task {t.key!r}: unknown dependency {d!r}")
        emit = on_event or (lambda *a: None)
        children: dict[str, list[str]] = {t.key: [] for t in tasks}
        waiting: dict[str, int] = {}
        for t in tasks:
            waiting[t.key] = len(t.deps)
            for d in t.deps:
                children[d].append(t.key)
        results: dict[str, TaskResult] = {}
        attempts: dict[str, int] = {t.key: 0 for t in tasks}
        ready: list[tuple[int, str]] = [(order[t.key], t.key) for t in tasks if not t.deps]
        heapq.heapify(ready)
        solo: list[tuple[int, str]] = []  # suspects of a worker death, run one at a time
        inflight: dict[Any, tuple[str, bool]] = {}  # handle -> (key, submitted solo)

        def settle(key: str, res: TaskResult) -> None:
            results[key] = res
            emit("done" if res.ok else ("failed" if res.status == "failed" else "skipped"), by_key[key], res)
            for c in children[key]:
                waiting[c] -= 1
                if waiting[c] == 0:
                    ct = by_key[c]
                    deps_ok = [results[d].ok for d in ct.deps]
                    if all(deps_ok) or (ct.soft and any(deps_ok)):
                        heapq.heappush(ready, (order[c], c))
                    else:
                        bad = next(d for d in ct.deps if not results[d].ok)
                        settle(c, TaskResult(c, "skipped", error=f"upstream task {bad} did not complete", attempts=0))

        def submit(key: str, is_solo: bool) -> None:
            t = by_key[key]
            payload = t.finalize(results) if t.finalize is not None else t.payload
            attempts[key] += 1
            emit("start" if attempts[key] == 1 else "retry", t, None)
            h = self._submit(fn, payload, f"{key}#{attempts[key]}")
            inflight[h] = (key, is_solo)

        try:
            while ready or solo or inflight:
                if solo:
                    if not inflight:
                        submit(heapq.heappop(solo)[1], True)
                else:
                    while ready and len(inflight) < self.slots:
                        submit(heapq.heappop(ready)[1], False)
                if not inflight:
                    continue
                done = self._wait(list(inflight))
                died_any = False
                for h in done:
                    key, was_solo = inflight.pop(h)
                    out = self._outcome(h)
                    if out.get("died") and self.ambiguous_deaths and not was_solo:
                        # cannot tell which task killed the pool: re-run alone, not charged
                        attempts[key] -= 1
                        heapq.heappush(solo, (order[key], key))
                        died_any = True
                        continue
                    if out.get("died"):
                        died_any = True
                    if out.get("ok"):
                        settle(key, TaskResult(key, "ok", value=out.get("value"), attempts=attempts[key],
                                               wall=out.get("wall", 0.0), host=out.get("host"), pid=out.get("pid")))
                    elif attempts[key] <= retries:
                        emit("error", by_key[key], TaskResult(key, "failed", error=out.get("error"),
                                                                traceback=out.get("traceback"), attempts=attempts[key]))
                        heapq.heappush(solo if out.get("died") and self.ambiguous_deaths else ready, (order[key], key))
                    else:
                        settle(key, TaskResult(key, "failed", error=out.get("error"), traceback=out.get("traceback"),
                                               attempts=attempts[key], wall=out.get("wall", 0.0),
                                               host=out.get("host"), pid=out.get("pid")))
                if died_any:
                    # every other task in flight on a broken pool died with it
                    for h in list(inflight):
                        out = self._outcome(h) if self._finished(h) else None
                        if out is not None and out.get("died") and self.ambiguous_deaths:
                            key, _ = inflight.pop(h)
                            attempts[key] -= 1
                            heapq.heappush(solo, (order[key], key))
                    self._recover()
        except BaseException:
            self._cancel(list(inflight))
            raise
        return results

    def _finished(self, handle) -> bool:
        return True


# --------------------------------------------------------------------------- in-process
class _Done:
    __slots__ = ("out",)

    def __init__(self, out):
        self.out = out


class InProcessExecutor(Executor):
    """Tasks run one after the other in this process."""

    name = "in-process"

    def _submit(self, fn, payload, key):
        return _Done(_call(fn, payload))

    def _wait(self, handles):
        return handles[:1]

    def _outcome(self, handle):
        return handle.out


# --------------------------------------------------------------------------- process pool
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def _one_thread_env() -> dict[str, str]:
    """Environment for workers: one compute thread each (the pool already uses every core)."""
    return {v: "1" for v in _THREAD_VARS if v not in os.environ}


def _pid(_: Any = None) -> int:
    return os.getpid()


def _worker_init() -> None:  # pragma: no cover - runs in the workers
    import signal

    # Ctrl-C goes to the whole process group; the driver handles it and shuts the pool down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class ProcessPoolExecutor(Executor):
    """A local pool of worker processes (default: one per core)."""

    name = "process"
    ambiguous_deaths = True

    def __init__(self, workers: int | None = None, start_method: str | None = None) -> None:
        super().__init__()
        n = workers if workers is not None else (os.cpu_count() or 1)
        if int(n) < 1:
            raise InputError(f"--workers: must be >= 1 (got {n})")
        self.workers = int(n)
        methods = mp.get_all_start_methods()
        self.start_method = start_method or ("forkserver" if "forkserver" in methods else "spawn")
        self._pool: cf.ProcessPoolExecutor | None = None

    def _make_pool(self) -> cf.ProcessPoolExecutor:
        env = _one_thread_env()
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)  # inherited by the workers (and the forkserver) started now
        try:
            pool = cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context(self.start_method),
                                          initializer=_worker_init)
            # start the workers now, while the environment is set
            list(pool.map(_pid, range(self.workers)))
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        return pool

    @property
    def pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = self._make_pool()
        return self._pool

    def _submit(self, fn, payload, key):
        try:
            return self.pool.submit(_call, fn, payload)
        except cf.process.BrokenProcessPool:
            self._recover()
            return self.pool.submit(_call, fn, payload)

    def _wait(self, handles):
        done, _ = cf.wait(handles, return_when=cf.FIRST_COMPLETED)
        return list(done)

    def _finished(self, handle):
        return handle.done()

    def _outcome(self, handle):
        try:
            return handle.result()
        except cf.process.BrokenProcessPool as exc:
            return {"ok": False, "died": True, "error": f"worker process died ({exc})".replace("\n", " ")}
        except cf.CancelledError:
            return {"ok": False, "died": True, "error": "cancelled"}
        except Exception as exc:  # unpicklable result or argument
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}".replace("\n", " ")}

    def _recover(self):
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _cancel(self, handles):
        """Interrupted (Ctrl-C): stop the workers now; their partial work is atomic and unmarked."""
        for h in handles:
            h.cancel()
        if self._pool is not None:
            procs = list(getattr(self._pool, "_processes", {}).values())  # no public handle on the workers
            for p in procs:
                try:
                    p.terminate()
                except Exception:  # pragma: no cover - already gone
                    pass
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def describe(self):
        return {"executor": self.name, "workers": self.workers, "start_method": self.start_method}


# --------------------------------------------------------------------------- dask
def _import_distributed():
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise InputError("Dask is not installed: pip install 'twolevel[dask]' (or dask[distributed]) "
                         "to use --scheduler / --dask-local") from None
    return distributed


# Settings of a LocalCluster we start (issue #19: Dask at the speed of the process pool). On a
# 2-core machine the scheduler (in the driver) and every worker's event loop share the cores that
# run the tasks, and the measured cost was CPU in those loops plus a ~9 ms round trip per task.
# Every process wakes 50 times a second for the blocked-event-loop tick (admin.tick), the worker's
# statistical profiler samples its thread every 10 ms, the system monitor polls psutil every
# 0.5 s and the nanny the worker's memory every 0.1 s: all slowed to the second scale here.
# Work stealing is off (the driver submits in dependency order and queues the next task on each
# worker itself), and workers take queued tasks eagerly (worker-saturation inf) so that a worker
# never idles for the round trip between two tasks.
LOCAL_DASK_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.scheduler.work-stealing": False,
    "distributed.scheduler.worker-saturation": float("inf"),
}


class DaskExecutor(Executor):
    """Dask distributed: an existing scheduler, or a LocalCluster of ``local_workers`` processes.

    ``prefetch`` tasks per worker are kept in flight (default 2: the next task waits on the
    worker, so the scheduler round trip is hidden behind the running one)."""

    name = "dask"

    def __init__(self, scheduler: str | None = None, local_workers: int | None = None,
                 client=None, timeout: float = 30.0, prefetch: int = 2) -> None:
        super().__init__()
        distributed = _import_distributed()
        self.prefetch = max(1, int(prefetch))
        self._cluster = None
        self._own_client = client is None
        if client is not None:
            self.client = client
        elif scheduler is not None:
            try:
                self.client = distributed.Client(scheduler, timeout=timeout)
            except OSError as exc:
                raise InputError(f"--scheduler {scheduler}: cannot connect ({exc})".replace("\n", " ")) from None
            except (ValueError, TypeError) as exc:  # a malformed address
                msg = " ".join(str(exc).split())[:200]
                raise InputError(f"--scheduler {scheduler!r}: not a scheduler address such as tcp://HOST:PORT "
                                 f"({msg})") from None
        else:
            n = int(local_workers) if local_workers is not None else int(os.cpu_count() or 1)
            if n < 1:
                raise InputError(f"--dask-local: must be >= 1 (got {n})")
            env = _one_thread_env()
            old = {k: os.environ.get(k) for k in env}
            os.environ.update(env)
            try:
                import dask

                with dask.config.set(LOCAL_DASK_CONFIG):   # the nannies hand it to their workers
                    self._cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                                             dashboard_address=None, silence_logs=40)
            finally:
                for k, v in old.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
            self.client = distributed.Client(self._cluster)
        self.scheduler = scheduler or self.client.scheduler.address
        self.workers = max(1, sum(self.client.nthreads().values()))
        self._wait_fn = distributed.wait

    @property
    def slots(self) -> int:
        # refresh (at most every 5 s): workers may join or leave an external cluster
        now = time.monotonic()
        if now - getattr(self, "_slots_t", 0.0) > 5.0:
            self._slots_t = now
            try:
                n = sum(self.client.nthreads().values())
            except Exception:  # pragma: no cover
                n = self.workers
            self.workers = max(1, n)
        return self.workers * self.prefetch

    def _submit(self, fn, payload, key):
        return self.client.submit(_call, fn, payload, pure=False, key=f"twolevel-{key}-{os.urandom(4).hex()}")

    def _wait(self, handles):
        res = self._wait_fn(handles, return_when="FIRST_COMPLETED")
        return list(res.done)

    def _outcome(self, handle):
        try:
            return handle.result()
        except Exception as exc:  # KilledWorker, CancelledError, communication errors
            kind = type(exc).__name__
            return {"ok": False, "died": True, "error": f"{kind}: {exc}".replace("\n", " ")[:2000]}

    def _cancel(self, handles):
        try:
            self.client.cancel(handles)
        except Exception:  # pragma: no cover
            pass

    def close(self):
        if self._own_client:
            try:
                self.client.close()
            finally:
                if self._cluster is not None:
                    self._cluster.close()
                    self._cluster = None

    def describe(self):
        return {"executor": self.name, "workers": self.workers, "scheduler": str(self.scheduler),
                "local_cluster": self._cluster is not None}


# --------------------------------------------------------------------------- factory
def make_executor(kind: str | None = None, *, workers: int | None = None, scheduler: str | None = None,
                  dask_local: int | None = None) -> Executor:
    """The executor for CLI/config options (``scheduler`` / ``dask_local`` imply Dask)."""
    if scheduler is not None and dask_local is not None:
        raise InputError("give either --scheduler or --dask-local, not both")
    if scheduler is not None or dask_local is not None or kind == "dask":
        return DaskExecutor(scheduler=scheduler, local_workers=dask_local if dask_local is not None else workers)
    if kind in (None, "process"):
        return ProcessPoolExecutor(workers)
    if kind == "in-process":
        return InProcessExecutor()
    raise InputError(f"unknown executor {kind!r} (process, in-process, dask)")
