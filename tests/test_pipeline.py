"""The pipeline: executors, determinism, resumable runs, data integrity, provenance, CLI.

Tiny studies (16 particles in 2D, 2 T_f x 2 samples) with small, fast stage
functions for prepare/explore/paths (tests/pipeline_fakes.py, registered
through the same Stage interface as the real ones) and the REAL quantum and
statistics stages on their output.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import pipeline_fakes as F  # noqa: E402

from twolevel.errors import InputError  # noqa: E402
from twolevel.pipeline import (  # noqa: E402
    InProcessExecutor,
    ProcessPoolExecutor,
    Study,
    read_log,
    run_study,
    task_seed,
)
from twolevel.pipeline.artifacts import marker_path, read_marker  # noqa: E402

N_TASKS = 4 * 4 + 1  # 4 samples x (prepare, explore, paths, quantum) + stats


def _run(out, executor=None, **kw):
    cfg = F.tiny_config(out, **kw.pop("cfg", {}))
    return run_study(cfg, executor or InProcessExecutor(), stage_specs=F.fake_stages(), progress=False, **kw)


def _artefact_hashes(run_dir: Path) -> dict[str, str]:
    """sha256 of every per-sample artefact (from the markers), keyed by the path inside the run dir."""
    out = {}
    for m in sorted(run_dir.glob("*/Tf_*/sample_*/*/*.done.json")):
        out[str(m.relative_to(run_dir))] = json.loads(m.read_text())["sha256"]
    return out


def _ran(run_dir, run_id="last") -> set[str]:
    return {e["task"] for e in read_log(run_dir, run_id) if e["event"] == "ran"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted in-process run of the tiny study: the reference for everything else."""
    out = tmp_path_factory.mktemp("ref") / "run"
    res = _run(out)
    assert res.complete and len(res.ran) == N_TASKS
    return out, res


# --------------------------------------------------------------------------- seeds
def test_task_seed_depends_only_on_study_seed_and_key():
    a = task_seed(7, "pss/Tf_0.1/sample_0/prepare")
    assert a == task_seed(7, "pss/Tf_0.1/sample_0/prepare")
    assert a != task_seed(8, "pss/Tf_0.1/sample_0/prepare")
    assert a != task_seed(7, "pss/Tf_0.1/sample_1/prepare")
    # the same in a fresh interpreter (no per-process hash randomisation)
    code = "from twolevel.pipeline import task_seed; print(task_seed(7, 'pss/Tf_0.1/sample_0/prepare'))"
    env = dict(os.environ, PYTHONHASHSEED="123")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert int(out.stdout) == a
    assert 0 <= a < 2**63


# --------------------------------------------------------------------------- executors
def test_executors_give_identical_results(reference, tmp_path):
    """In-process, a process pool of 2 and a Dask LocalCluster of 2 workers: same catalogues and summary."""
    pytest.importorskip("distributed")
    from twolevel.pipeline import DaskExecutor

    ref_dir, ref = reference
    ref_hash = _artefact_hashes(ref_dir)
    assert len(ref_hash) == 4 * 5
    runs = {}
    with ProcessPoolExecutor(2) as ex:
        runs["pool"] = _run(tmp_path / "pool", ex)
    with DaskExecutor(local_workers=2) as ex:
        assert ex.workers == 2
        runs["dask"] = _run(tmp_path / "dask", ex)
    ref_cat = Study(F.tiny_config(ref_dir), stages=F.fake_stages()).catalogue()
    ref_tls = Study(F.tiny_config(ref_dir), stages=F.fake_stages()).tls()
    assert len(ref_cat) == 4 * 12 and len(ref_tls) == 4 * 12
    for name, res in runs.items():
        assert res.complete, (name, res.failed)
        assert sorted(res.ran) == sorted(ref.ran)
        # byte-identical artefacts (catalogue, TLS table, glass, ...)
        assert _artefact_hashes(tmp_path / name) == ref_hash, name
        st = Study(F.tiny_config(tmp_path / name), stages=F.fake_stages())
        pd.testing.assert_frame_equal(st.catalogue(), ref_cat)
        pd.testing.assert_frame_equal(st.tls(), ref_tls)
        assert res.summary["results"] == ref.summary["results"], name
        # the tasks really ran in worker processes
        pids = {e["pid"] for e in read_log(tmp_path / name, "last") if e["event"] == "ran"}
        assert os.getpid() not in pids and len(pids) >= 1


def test_rerun_of_finished_study_does_nothing(reference):
    ref_dir, ref = reference
    mtimes = {p: p.stat().st_mtime_ns for p in ref_dir.rglob("*.parquet")}
    res = _run(ref_dir)
    assert res.ran == [] and res.failed == [] and len(res.reused) == N_TASKS
    assert _ran(ref_dir) == set()
    assert {p: p.stat().st_mtime_ns for p in ref_dir.rglob("*.parquet")} == mtimes
    assert res.summary["results"] == ref.summary["results"]
    st = json.loads((ref_dir / "status.json").read_text())
    assert st["state"] == "finished" and st["stages"]["quantum"]["reused"] == 4


def test_provenance_and_frozen_config(reference):
    ref_dir, _ = reference
    prov = json.loads((ref_dir / "provenance.json").read_text())
    assert prov["package"]["version"]
    assert prov["dependencies"]["numpy"] and prov["host"]["cpu_count"] >= 1
    assert prov["study_seed"] == 7 and prov["executor"]["executor"] == "in-process"
    assert set(prov["stage_wall_s"]) == {"prepare", "explore", "paths", "quantum", "stats"}
    seeds = json.loads((ref_dir / "seeds.json").read_text())["tasks"]
    assert seeds["pss/Tf_0.1/sample_0/prepare"] == task_seed(7, "pss/Tf_0.1/sample_0/prepare")
    import tomllib

    from twolevel.pipeline import parse_config

    frozen = parse_config(tomllib.loads((ref_dir / "config.toml").read_text()))
    assert frozen == Study(F.tiny_config(ref_dir), stages=F.fake_stages()).config


# --------------------------------------------------------------------------- kill and resume
_KILL_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import pipeline_fakes as F
from twolevel.pipeline import run_study, ProcessPoolExecutor
if __name__ == "__main__":
    with ProcessPoolExecutor(2) as ex:
        run_study(F.tiny_config({out!r}), ex, stage_specs=F.fake_stages(), progress=False)
"""


def test_sigkill_mid_stage_then_rerun_gives_same_summary(reference, tmp_path):
    ref_dir, ref = reference
    out = tmp_path / "killed"
    env = dict(os.environ, TWOLEVEL_FAKE_SLEEP="0.4")
    proc = subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT.format(tests=str(HERE), out=str(out))], env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t0 = time.time()
    try:
        # wait until some tasks are done and others are running, then kill the whole process group
        while time.time() - t0 < 60:
            ev = read_log(out) if (out / "log.jsonl").exists() else []
            if sum(e["event"] == "ran" for e in ev) >= 5 and any(e["event"] == "start" for e in ev[-3:]):
                break
            if proc.poll() is not None:
                pytest.fail(f"the run ended before it could be killed: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    first = _ran(out, read_log(out)[0]["run_id"])
    assert 5 <= len(first) < N_TASKS
    st = Study(F.tiny_config(out), stages=F.fake_stages())
    pending = {k for k, _ in st.pending()}
    assert pending and not (pending & first)  # what was done and logged is not redone
    assert len(pending) + len(first) >= N_TASKS - 1  # (at most one task can finish between log and kill)
    res = _run(out)
    assert res.complete
    assert set(res.ran) == pending  # exactly the missing tasks ran
    assert _ran(out) == pending
    assert res.summary["results"] == ref.summary["results"]
    assert _artefact_hashes(out) == _artefact_hashes(ref_dir)
    assert not list(out.rglob(".*.tmp*"))  # no temporary file of a cut write is left behind


# --------------------------------------------------------------------------- failures
def test_failing_task_is_retried_then_marked_failed_others_complete(reference, tmp_path, monkeypatch):
    ref_dir, ref = reference
    counts = tmp_path / "counts"
    counts.mkdir()
    monkeypatch.setenv("TWOLEVEL_FAKE_FAIL", "Tf_0.2/sample_1/explore")
    monkeypatch.setenv("TWOLEVEL_FAKE_COUNT", str(counts))
    out = tmp_path / "run"
    res = _run(out, retries=2)
    calls = [line for f in counts.iterdir() for line in f.read_text().splitlines()]
    assert sum("Tf_0.2/sample_1/explore" in c for c in calls) == 3  # 1 + 2 retries
    assert [f["task"] for f in res.failed] == ["pss/Tf_0.2/sample_1/explore"]
    assert "injected failure" in res.failed[0]["error"] and res.failed[0]["attempts"] == 3
    assert {s["task"] for s in res.skipped} == {"pss/Tf_0.2/sample_1/paths", "pss/Tf_0.2/sample_1/quantum"}
    assert "stats" in res.ran  # statistics on the samples that completed
    summ = json.loads((out / "run_summary.json").read_text())
    assert summ["complete"] is False
    assert summ["failed"][0]["task"] == "pss/Tf_0.2/sample_1/explore"
    assert summ["samples"]["pss"]["0.2"] == {"samples": 2, "complete": 1}
    groups = {g["T_f"]: g for g in summ["results"]["groups"]}
    assert groups[0.2]["N_g"] == 1 and groups[0.1]["N_g"] == 2
    assert json.loads((out / "status.json").read_text())["stages"]["explore"]["failed"] == 1
    # the cause is gone: the rerun does exactly the failed task, what it blocked, and the statistics
    monkeypatch.delenv("TWOLEVEL_FAKE_FAIL")
    res2 = _run(out)
    assert set(res2.ran) == {"pss/Tf_0.2/sample_1/explore", "pss/Tf_0.2/sample_1/paths",
                             "pss/Tf_0.2/sample_1/quantum", "stats"}
    assert res2.complete and res2.summary["results"] == ref.summary["results"]


def test_worker_death_is_retried_alone_then_failed():
    """A task that kills its worker process: charged alone, retried, then failed; the others complete."""
    with ProcessPoolExecutor(2) as ex:
        res = ex.map("pipeline_fakes:square_or_die", [1, 2, "die", 3, 4], retries=1)
    assert [r.status for r in res] == ["ok", "ok", "failed", "ok", "ok"]
    assert [r.value for r in res if r.ok] == [1, 4, 9, 16]
    assert res[2].attempts == 2 and "died" in res[2].error
    assert all(r.attempts == 1 for r in res if r.ok)


# --------------------------------------------------------------------------- integrity
def test_truncated_or_corrupt_artefact_is_detected_and_recomputed(reference, tmp_path):
    ref_dir, ref = reference
    import shutil

    out = tmp_path / "run"
    shutil.copytree(ref_dir, out)
    tls = out / "pss/Tf_0.1/sample_1/quantum/tls.parquet"
    data = tls.read_bytes()
    tls.write_bytes(data[: len(data) // 2])  # truncated
    glass = out / "pss/Tf_0.2/sample_0/prepare/glass.h5"
    raw = bytearray(glass.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # same size, one byte flipped
    glass.write_bytes(bytes(raw))
    st = Study(F.tiny_config(out), stages=F.fake_stages())
    why = dict(st.pending())
    assert "truncated" in why["pss/Tf_0.1/sample_1/quantum"]
    assert "checksum" in why["pss/Tf_0.2/sample_0/prepare"]
    # never read: the verified reader leaves the damaged sample out
    assert set(zip(st.tls()["T_f"], st.tls()["sample"])) == {(0.1, 0), (0.2, 0), (0.2, 1)}
    res = _run(out)
    assert set(res.ran) == {"pss/Tf_0.1/sample_1/quantum", "pss/Tf_0.2/sample_0/prepare",
                            "pss/Tf_0.2/sample_0/explore", "pss/Tf_0.2/sample_0/paths",
                            "pss/Tf_0.2/sample_0/quantum", "stats"}
    discarded = {e["task"]: e.get("discarded") for e in read_log(out, "last") if e["event"] == "ran"}
    assert "tls.parquet" in discarded["pss/Tf_0.1/sample_1/quantum"]
    assert tls.read_bytes() == data
    assert _artefact_hashes(out) == _artefact_hashes(ref_dir)
    assert res.summary["results"] == ref.summary["results"]


def test_changed_parameters_recompute_that_stage_and_downstream(reference, tmp_path):
    import shutil

    ref_dir, _ = reference
    out = tmp_path / "run"
    shutil.copytree(ref_dir, out)
    res = _run(out, cfg={"quantum": {"n_xi": 400}})
    assert set(res.ran) == {f"pss/Tf_{t}/sample_{k}/quantum" for t in ("0.1", "0.2") for k in (0, 1)} | {"stats"}
    res = _run(out, cfg={"quantum": {"n_xi": 400}, "models": [
        {"model": "pss", "n": 16, "dim": 2, "tf": [0.1, 0.2], "samples": 3}]})
    assert {k for k in res.ran if "sample_2" in k} == {f"pss/Tf_{t}/sample_2/{s}" for t in ("0.1", "0.2")
                                                        for s in ("prepare", "explore", "paths", "quantum")}
    assert set(res.ran) - {k for k in res.ran if "sample_2" in k} == {"stats"}


# --------------------------------------------------------------------------- config, CLI, status
def test_config_errors_are_reported_by_key_before_anything_runs(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[study]\nname = "x"\n[[models]]\nmodel = "pss"\nn = 100\ntf = [0.062, -0.07]\n')
    with pytest.raises(InputError, match=r"bad.toml: models\[0\]\.tf\[1\]: must be > 0"):
        Study(bad, out=tmp_path / "run")
    code = "import sys; from twolevel.cli import main; sys.argv = ['twolevel'] + sys.argv[1:]; main()"
    proc = subprocess.run([sys.executable, "-c", code, "run", str(bad), "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "models[0].tf[1]: must be > 0" in err[0]
    assert not (tmp_path / "run").exists()  # nothing ran, nothing written


def test_cli_status_reads_status_json(reference, capsys):
    from typer.testing import CliRunner

    from twolevel.cli import app

    ref_dir, _ = reference
    r = CliRunner().invoke(app, ["status", str(ref_dir)])
    assert r.exit_code == 0, r.output
    assert "state finished" in r.output and "quantum" in r.output
    r = CliRunner().invoke(app, ["status", str(ref_dir), "--json"])
    assert json.loads(r.output)["stages"]["prepare"]["total"] == 4


def test_interrupted_status_and_lock(tmp_path):
    """A status.json left 'running' by a dead process reads as interrupted; a live run locks its directory."""
    from twolevel.pipeline.progress import read_status
    from twolevel.pipeline.study import _lock

    out = tmp_path / "run"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    import socket

    (out / "status.json").write_text(json.dumps({"state": "running", "pid": int(dead.stdout), "host": socket.gethostname(),
                                                 "stages": {}}))
    assert read_status(out)["state"] == "interrupted"
    (out / "config.json").write_text(json.dumps({"study": {"name": "tiny", "seed": 7}}))  # this study's directory
    with _lock(out):
        with pytest.raises(InputError, match="another twolevel run"):
            _run(out)


def test_study_from_keyword_arguments(tmp_path):
    st = Study(name="kw", seed=3, model="pss", n=16, dim=2, tf=[0.1], samples=2, out=tmp_path / "kw",
               quantum={"n_xi": 300}, stages=F.fake_stages())
    assert [s.key for s in st.samples()] == ["pss/Tf_0.1/sample_0", "pss/Tf_0.1/sample_1"]
    res = st.prepare(InProcessExecutor(), progress=False)
    assert set(res.ran) == {"pss/Tf_0.1/sample_0/prepare", "pss/Tf_0.1/sample_1/prepare"}
    assert all(read_marker(s.dir / "prepare" / "glass.h5") for s in st.samples())
    assert marker_path(st.samples()[0].dir / "prepare" / "glass.h5").name == "glass.h5.done.json"
    assert {k.split("/")[-1] for k, _ in st.pending()} == {"explore", "paths", "quantum", "stats"}


# --------------------------------------------------------------------------- the real stages, end to end
def test_twolevel_run_end_to_end_with_the_real_stages(tmp_path):
    """`twolevel run` on a tiny config with every real stage (prepare, explore, paths, quantum, stats, report,
    lattice), then again: the second run does no work."""
    from typer.testing import CliRunner

    from twolevel.cli import app

    cfg = tmp_path / "tiny.toml"
    cfg.write_text(f"""
[study]
name = "tiny"
seed = 5
output = "{tmp_path / 'run'}"
units = ["pss-ar"]

[[models]]
model = "pss"
n = 32
dim = 2
tf = [0.15]
samples = 1

[prepare]
max_seconds = 2.0
tune_sweeps = 20

[explore]
temperature = 0.1
tau_cg = 0.3
n_cg = 40

[paths]
images = 8
limit = 2
hessian = false
max_steps = 3000

[quantum]
n_xi = 400

[stats]
bootstrap = 50

[lattice.lattice]
L = 12
phi_v = 0.05
[lattice.start]
T_I = 0.3
[lattice.cooling]
nu = 0.05
T_end = 0.03
dT_rel = 0.1
dT_max = 0.05
[lattice.run]
figures = false
""")
    r = CliRunner().invoke(app, ["run", str(cfg), "--in-process", "--quiet"])
    assert r.exit_code == 0, r.output
    run = tmp_path / "run"
    summ = json.loads((run / "run_summary.json").read_text())
    assert summ["complete"] and summ["report"] == "report/index.html"
    assert (run / "report" / "index.html").is_file()
    # the report took the stats stage's numbers (issue #16) and shows the lattice route it waited for
    page = (run / "report" / "index.html").read_text()
    assert "read from " + str(run / "stats" / "stats.json") in page and "id='lattice'" in page
    assert summ["lattice"]["samples"] == 1
    st = Study(cfg)
    assert set(e["task"] for e in read_log(run, "last") if e["event"] == "ran") == {t.key for t in st.plan(check=False)}
    cat = st.catalogue()
    assert {"dw_id", "d", "xi", "V"} <= set(cat.columns)
    # the glass's IS library after paths: explore's IS, then any minimum found by splitting
    sd = run / "pss" / "Tf_0.15" / "sample_0"
    lib = pd.read_parquet(sd / "paths" / "library.parquet")
    ist = pd.read_parquet(sd / "explore" / "inherent_structures.parquet")
    assert list(lib["is_id"][:len(ist)]) == list(ist["is_id"])
    assert len(lib) == len(ist) + json.loads((sd / "paths" / "paths.json").read_text())["new_minima"]
    assert set(cat["is_a"]) | set(cat["is_b"]) <= set(lib["is_id"])
    groups = summ["results"]["groups"]
    assert groups and groups[0]["N_g"] == 1 and groups[0]["N_DW"] == len(cat)
    # the study-wide tables: one line opens each level, with model / T_f / sample columns
    assert summ["tables"] == {"inherent_structures": "tables/inherent_structures",
                              "double_wells": "tables/double_wells", "tls": "tables/tls"}
    tls = pd.read_parquet(run / "tables" / "tls")
    assert len(tls) == len(st.tls()) and {"model", "T_f", "sample", "units"} <= set(tls.columns)
    assert len(pd.read_parquet(run / "tables" / "double_wells")) == len(cat)
    r = CliRunner().invoke(app, ["run", str(cfg), "--in-process", "--quiet"])
    assert r.exit_code == 0 and "ran 0 task(s)" in r.output


def test_harmonic_route_on_the_prepared_glasses(tmp_path):
    """[harmonic]: one study task runs twolevel.vibrations on the glasses of each model and T_f."""
    from twolevel.pipeline import default_stages
    from twolevel.pipeline.stages import Stage

    stages = [Stage("prepare", "pipeline_fakes:prepare_quench", ("glass.h5", "prepare.json"))] + [
        s for s in default_stages() if s.name == "harmonic"]
    cfg = F.tiny_config(tmp_path / "run", harmonic={"elastic_samples": 1, "max_nonlinear": 2, "figures": False})
    res = run_study(cfg, InProcessExecutor(), stage_specs=stages, progress=False)
    assert res.complete and "harmonic" in res.ran
    h = res.summary["harmonic"]
    assert set(h["pss"]) == {"0.1", "0.2"}
    s = h["pss"]["0.1"]["summary"]
    assert s["n_glasses"] == 2 and s["n"] == 16 and s["omega_D"] > 0 and s["G"] > 0
    assert run_study(cfg, InProcessExecutor(), stage_specs=stages, progress=False).ran == []
