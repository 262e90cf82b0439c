"""CPU-time estimates of `twolevel run --dry-run` and the time left of `twolevel status`
(issue #18 item 9), from the measured throughput of docs/benchmarks.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from twolevel.pipeline.cost import (
    estimate,
    task_cpu_seconds,
    tau_alpha_sweeps,
    throughput,
)
from twolevel.pipeline.progress import StudyProgress, format_status
from twolevel.pipeline.study import Study

ROOT = Path(__file__).resolve().parents[1]


def test_stored_throughput_is_the_documented_one():
    """Every figure of twolevel/data/throughput.json is printed in docs/benchmarks.md."""
    doc = (ROOT / "docs" / "benchmarks.md").read_text()
    t = throughput()
    for text in ("5333", "577", "24.18", "597 DW/s", "717", "2.4e3 / 4.9e3 sweeps", "2.8e4 sweeps"):
        assert text in doc, text
    assert t["explore"]["pss"]["md_steps_per_cpu_s"] == 5333 and t["paths"]["cpu_s_per_band"] == 24.18
    for T, tau in t["prepare_pss"]["tau_alpha_sweeps"]:
        assert tau_alpha_sweeps(T) == pytest.approx(tau)


def test_explore_estimate_reproduces_the_benchmark():
    """docs/benchmarks.md (session 4): PSS N = 1500, 200 MD steps (dt 0.0025) per minimisation, 717
    minimisations per CPU-minute: 717 of them must be estimated at one CPU-minute."""
    args = {"model": "pss", "n": 1500, "params": {"dt": 0.0025, "tau_cg": 0.5, "n_cg": 717, "runs": 1}}
    s, _ = task_cpu_seconds("explore", args)
    assert s == pytest.approx(60.0, rel=0.1)


def test_dry_run_estimate_of_the_001_study():
    """examples/pss_001.toml is about a thousand CPU-hours (265 glasses x 200 runs x 1000 minimisations):
    the dry run says so per stage, and says which stage it cannot estimate (paths)."""
    study = Study(ROOT / "examples" / "pss_001.toml", out=ROOT / "runs" / "_never_written")
    rows = {r["stage"]: r for r in estimate([t for t in study.plan(check=False)])}
    assert rows["explore"]["tasks"] == 265
    assert 500 * 3600 < rows["explore"]["cpu_s"] < 5000 * 3600
    assert rows["paths"]["cpu_s"] is None and "after explore" in rows["paths"]["basis"]
    assert rows["prepare"]["cpu_s"] > 0


def test_status_has_time_left_before_the_first_task_finishes(tmp_path):
    prog = StudyProgress(tmp_path, "s", "r", ["prepare", "explore"], {"prepare": 4, "explore": 4}, {}, workers=2,
                         show=False, prior={"prepare": 30.0, "explore": 100.0})
    st = json.loads((tmp_path / "status.json").read_text())
    assert st["eta_s"] == pytest.approx((4 * 30 + 4 * 100) / 2) and not st["eta_lower_bound"]
    assert "left ~4m20s" in format_status(st)
    # a stage without an estimate makes the figure a lower bound, said as such
    prog = StudyProgress(tmp_path, "s", "r", ["prepare", "paths"], {"prepare": 4, "paths": 4}, {}, workers=2,
                         show=False, prior={"prepare": 30.0})
    st = json.loads((tmp_path / "status.json").read_text())
    assert st["eta_s"] == pytest.approx(60.0) and st["eta_lower_bound"]
    assert "left >= 1m00s" in format_status(st)
    prog.close("finished")
