"""Fault injection (issue #17): kill, terminate, corrupt and feed bad input; count tried / survived / lost.

Usage: python validation/faults.py [--kills N] [--seed S] [--skip-dask] [--json FILE]

Every fault is applied to a tiny study (tests/pipeline_fakes.py: 16 particles in 2D, 2 T_f x 2 samples,
the real quantum and statistics stages) or to the stage code itself, and judged against an uninterrupted
reference run:

* kill:<executor>     SIGKILL of the whole process group at a random moment (in-process, a process pool
                      of 2, a Dask LocalCluster of 2), then a rerun: survived when every per-sample
                      artefact is byte-identical to the reference and the statistics are equal;
* term:<executor>     SIGTERM to the main process only: survived when no worker, forkserver or Dask process
                      is alive 10 s later, the status reads "interrupted", the lock is free, and a rerun
                      gives the reference bytes;
* corrupt:<file>:<how>  every artefact kind of a finished run (glass, catalogue, TLS table, statistics,
                      an undeclared checkpoint) flipped, truncated, deleted, or its marker deleted: survived
                      when the rerun recomputes it (and what follows) to the reference bytes;
* explore:<how>       a damaged checkpoint of an interrupted exploration (state.npz, series.parquet,
                      is_configs.h5): survived when the finished exploration equals an uninterrupted one;
* bad:<name>          bad input to `twolevel run` / `twolevel explore`: survived when the exit status is
                      not 0, stderr is one line, and nothing is written.

"lost" is everything else (a wrong or missing result, a traceback, a file written by refused input);
each is printed with its reason. The machine's load average is printed before and after.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
sys.path.insert(0, str(TESTS))

import pipeline_fakes as F  # noqa: E402

from twolevel.pipeline import InProcessExecutor, read_log, run_study  # noqa: E402
from twolevel.pipeline.progress import read_status  # noqa: E402

CLI = "import sys; from twolevel.cli import main; sys.argv = ['twolevel'] + sys.argv[1:]; main()"
SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import pipeline_fakes as F
from twolevel.pipeline import run_study, make_executor
if __name__ == "__main__":
    ex = make_executor({kind!r}, workers=2, dask_local=2 if {kind!r} == "dask" else None)
    try:
        run_study(F.tiny_config({out!r}), ex, stage_specs=F.{stages}(), progress=False)
    finally:
        ex.close()
"""


class Tally:
    def __init__(self) -> None:
        self.rows: list[tuple[str, bool, str]] = []

    def add(self, name: str, ok: bool, why: str = "") -> None:
        self.rows.append((name, ok, why))
        print(f"  {'survived' if ok else 'LOST    '}  {name}" + (f"  ({why})" if why and not ok else ""), flush=True)

    def run(self, name: str, fn) -> None:
        try:
            ok, why = fn()
        except Exception as exc:  # noqa: BLE001 - a crash of the check is a lost fault, reported
            ok, why = False, f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
        self.add(name, ok, why)


# --------------------------------------------------------------------------- helpers
def artefacts(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in sorted(run_dir.glob("*/Tf_*/sample_*/*/*"))
            if p.is_file() and not p.name.startswith(".") and not p.name.endswith(".done.json")}


def rerun(out: Path, stages=F.stages_with_state):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_study(F.tiny_config(out), InProcessExecutor(), stage_specs=stages(), progress=False)


def same_as(ref: Path, ref_res, out: Path, res) -> tuple[bool, str]:
    if not res.complete:
        return False, f"rerun incomplete: {res.failed or res.skipped}"
    a, b = artefacts(ref), artefacts(out)
    if a.keys() != b.keys():
        return False, f"files differ: {sorted(a.keys() ^ b.keys())[:3]}"
    diff = [k for k in a if a[k] != b[k]]
    if diff:
        return False, f"bytes differ: {diff[:3]}"
    if res.summary["results"] != ref_res.summary["results"]:
        return False, "statistics differ"
    return True, ""


def tree(pid: int) -> set[int]:
    parent = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parent[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out.update(kids)
        todo += kids
    return out


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def start(kind: str, out: Path, sleep: float) -> subprocess.Popen:
    env = dict(os.environ, TWOLEVEL_FAKE_SLEEP=str(sleep))
    code = SCRIPT.format(tests=str(TESTS), out=str(out), kind=kind, stages="stages_with_state")
    return subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_started(proc: subprocess.Popen, out: Path, n_ran: int, timeout: float = 180) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        ev = read_log(out) if (out / "log.jsonl").exists() else []
        if sum(e["event"] == "ran" for e in ev) >= n_ran and any(e["event"] == "start" for e in ev):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"run ended before the fault: {proc.stderr.read().decode()[-300:]}")
        time.sleep(0.02)
    raise RuntimeError("run did not start in time")


# --------------------------------------------------------------------------- faults
def kill(kind: str, ref: Path, ref_res, work: Path, rng: np.random.Generator):
    def go():
        out = Path(tempfile.mkdtemp(dir=work)) / "run"
        proc = start(kind, out, 0.3)
        try:
            wait_started(proc, out, int(rng.integers(0, 14)))
            time.sleep(float(rng.uniform(0.0, 0.3)))
            os.killpg(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=60)
        time.sleep(0.5)
        return same_as(ref, ref_res, out, rerun(out))
    return go


def term(kind: str, ref: Path, ref_res, work: Path):
    def go():
        out = Path(tempfile.mkdtemp(dir=work)) / "run"
        proc = start(kind, out, 1.0)
        try:
            wait_started(proc, out, 2)
            procs = tree(proc.pid)
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
            t0 = time.time()
            while any(alive(p) for p in procs) and time.time() - t0 < 10:
                time.sleep(0.1)
            left = [p for p in procs if alive(p)]
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        if left:
            return False, f"{len(left)} processes alive 10 s after SIGTERM"
        st = (read_status(out) or {}).get("state")
        if st != "interrupted":
            return False, f"status {st!r}"
        return same_as(ref, ref_res, out, rerun(out))
    return go


def corrupt(rel: str, how: str, ref: Path, ref_res, work: Path):
    def go():
        out = Path(tempfile.mkdtemp(dir=work)) / "run"
        shutil.copytree(ref, out)
        f = out / rel
        if how == "flip":
            raw = bytearray(f.read_bytes())
            raw[len(raw) // 2] ^= 0xFF
            f.write_bytes(bytes(raw))
        elif how == "truncate":
            f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
        elif how == "delete":
            f.unlink()
        else:
            Path(str(f) + ".done.json").unlink()
        return same_as(ref, ref_res, out, rerun(out))
    return go


def explore_damage(name: str, how: str, work: Path):
    from twolevel.explore import explore
    from twolevel.landscapes import random_double_wells

    wells = random_double_wells(4, seed=1, delta_v=(0.0, 0.2), barrier=(0.3, 0.5))
    x0 = wells.minima()[1][0]
    kw = dict(temperature=0.25, tau_cg=0.5, n_cg=60, runs=2, seed=1, dt=0.05, checkpoint_every=20)

    def go():
        base = Path(tempfile.mkdtemp(dir=work))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            explore(wells, x0, base / "ref", **kw)
            explore(wells, x0, base / "cut", stop_after=50, **kw)
            f = base / "cut" / name
            if how == "flip":
                raw = bytearray(f.read_bytes())
                raw[int(len(raw) * 0.6)] ^= 0xFF
                f.write_bytes(bytes(raw))
            else:
                f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
            res = explore(wells, x0, base / "cut", **kw)
        if not res.complete:
            return False, "incomplete"
        for n in ("series.parquet", "is_configs.h5", "inherent_structures.parquet", "transitions.parquet",
                  "pairs.parquet"):
            if (base / "ref" / n).read_bytes() != (base / "cut" / n).read_bytes():
                return False, f"{n} differs"
        return True, ""
    return go


TOML = '[study]\nname = "t"\nseed = 1\n[[models]]\nmodel = "pss"\nn = 16\ndim = 2\ntf = [0.1]\n'


def bad_inputs(work: Path, ref: Path) -> dict[str, tuple[list[str], str]]:
    """name -> (CLI arguments with {out}, {toml}, {file}, {ref} placeholders, extra TOML text)."""
    return {
        "retries -1": (["run", "{toml}", "--out", "{out}", "--retries", "-1"], ""),
        "dask-local 0": (["run", "{toml}", "--out", "{out}", "--dask-local", "0"], ""),
        "workers 0": (["run", "{toml}", "--out", "{out}", "--workers", "0"], ""),
        "malformed scheduler": (["run", "{toml}", "--out", "{out}", "--scheduler", "nonsense:://x"], ""),
        "out is a file": (["run", "{toml}", "--out", "{file}"], ""),
        "other study's directory": (["run", "{toml}", "--out", "{ref}"], ""),
        "temperature inf": (["run", "{toml}", "--out", "{out}"], "[explore]\ntemperature = inf\n"),
        "tau_cg inf": (["run", "{toml}", "--out", "{out}"], "[explore]\ntau_cg = inf\n"),
        "dt nan": (["run", "{toml}", "--out", "{out}"], "[explore]\ndt = nan\n"),
        "T_f inf": (["run", "{toml}", "--out", "{out}"], "[[models]]\nmodel = \"pss\"\nn = 16\ntf = [inf]\nname = \"b\"\n"),
        "n 1e12": (["run", "{toml}", "--out", "{out}"], "[[models]]\nmodel = \"pss\"\nn = 1000000000000\ntf = [0.1]\nname = \"b\"\n"),
        "n_cg 1e14": (["run", "{toml}", "--out", "{out}"], "[explore]\nn_cg = 100000000000000\n"),
        "unknown key": (["run", "{toml}", "--out", "{out}"], "[explore]\ntemprature = 0.1\n"),
        "negative tf": (["run", "{toml}", "--out", "{out}"], "[[models]]\nmodel = \"pss\"\nn = 16\ntf = [-0.1]\nname = \"b\"\n"),
        "missing config": (["run", "{out}/nope.toml", "--out", "{out}"], ""),
        "explore: missing glass": (["explore", "{out}/nope.h5", "-T", "0.04", "--tau-cg", "0.1", "--n-cg", "5", "-o", "{out}"], ""),
        "explore: overlapping glass": (["explore", "{overlap}", "-T", "0.04", "--tau-cg", "0.1", "--n-cg", "5", "-o", "{out}"], ""),
    }


def bad(name: str, args: list[str], extra: str, work: Path, ref: Path, overlap: Path):
    def go():
        d = Path(tempfile.mkdtemp(dir=work))
        toml = d / "s.toml"
        toml.write_text(TOML + extra)
        f = d / "afile"
        f.write_text("x")
        before = {p: p.read_bytes() for p in ref.rglob("*") if p.is_file()} if "{ref}" in args else None
        sub = {"{toml}": str(toml), "{out}": str(d / "out"), "{file}": str(f), "{ref}": str(ref),
               "{overlap}": str(overlap)}
        argv = [sub.get(a, a) for a in args]
        argv = [a.replace("{out}", str(d / "out")) for a in argv]
        p = subprocess.run([sys.executable, "-c", CLI, *argv, *(["--quiet"] if args[0] == "run" else ["--no-progress"])],
                           capture_output=True, text=True, timeout=300)
        lines = p.stderr.strip().splitlines()
        if p.returncode == 0:
            return False, "exit status 0"
        if len(lines) != 1:
            return False, f"{len(lines)} lines on stderr: {lines[-1][:200] if lines else ''}"
        if (d / "out").exists():
            return False, "the output directory was written"
        if f.read_text() != "x":
            return False, "the file named by --out changed"
        if before is not None and {p: p.read_bytes() for p in ref.rglob("*") if p.is_file()} != before:
            return False, "the other study's directory changed"
        return True, ""
    return go


# --------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=4, help="random kill moments per executor")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--json", type=Path, default=None, help="write the counts and every fault here")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    load0 = os.getloadavg()
    print(f"load average before: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} on {os.cpu_count()} cores")
    t0 = time.time()
    work = Path(tempfile.mkdtemp(prefix="twolevel-faults-"))
    tally = Tally()
    try:
        ref = work / "ref" / "run"
        ref_res = rerun(ref)
        assert ref_res.complete, ref_res.failed
        kinds = ["in-process", "process"] + ([] if a.skip_dask else ["dask"])
        print("kills (SIGKILL of the process group at a random moment, then a rerun):")
        for kind in kinds:
            for i in range(a.kills):
                tally.run(f"kill:{kind}:{i}", kill(kind, ref, ref_res, work, rng))
        print("SIGTERM to the main process:")
        for kind in kinds[1:]:
            tally.run(f"term:{kind}", term(kind, ref, ref_res, work))
        print("corrupted artefacts of a finished run:")
        s = "pss/Tf_0.1/sample_0"
        files = [f"{s}/prepare/glass.h5", f"{s}/prepare/prepare.json", f"{s}/explore/pairs.parquet",
                 f"{s}/explore/state.npz", f"{s}/paths/double_wells.parquet", f"{s}/quantum/tls.parquet"]
        for rel in files:
            for how in ("flip", "truncate", "delete", "delete marker"):
                tally.run(f"corrupt:{rel}:{how}", corrupt(rel, how, ref, ref_res, work))
        print("damaged checkpoints of an interrupted exploration:")
        for name in ("state.npz", "series.parquet", "is_configs.h5"):
            for how in ("flip", "truncate"):
                tally.run(f"explore:{name}:{how}", explore_damage(name, how, work))
        print("bad input (exit != 0, one line, nothing written):")
        from twolevel import io
        from twolevel.models import get_model

        conf = get_model("pss").random_configuration(16, dim=2, seed=3)
        conf.positions[1] = conf.positions[0] + 1e-3
        overlap = work / "overlap.h5"
        io.write(overlap, conf)
        for name, (args, extra) in bad_inputs(work, ref).items():
            tally.run(f"bad:{name}", bad(name, args, extra, work, ref, overlap))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    tried = len(tally.rows)
    survived = sum(ok for _, ok, _ in tally.rows)
    load1 = os.getloadavg()
    print(f"load average after: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}; {time.time() - t0:.0f} s")
    print(f"tried {tried}, survived {survived}, lost {tried - survived}")
    if a.json:
        a.json.write_text(json.dumps({"tried": tried, "survived": survived, "lost": tried - survived,
                                      "load": [load0, load1],
                                      "faults": [{"name": n, "ok": ok, "why": w} for n, ok, w in tally.rows]},
                                     indent=1))
    return 0 if survived == tried else 1


if __name__ == "__main__":
    sys.exit(main())
