"""The HTML report, written from synthetic tables and from a synthetic run directory."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from twolevel import stats
from twolevel.errors import InputError
from twolevel.report.html import SUMMARY_KEYS, write_report

KEYS = {"n0", "n0_err", "N_TLS", "N_IS_per_N_g", "N_DW_per_N_IS", "N_TLS_per_N_DW", "T_f", "units", "n0_SI"}


def _tls_rows(rng, n_dw, kq_list, tf, sample, model="pss"):
    rows = []
    E = np.concatenate([rng.uniform(0, 2e-3, n_dw // 3), 10 ** rng.uniform(-3, -1, n_dw - n_dw // 3)])
    for j, e in enumerate(E):
        dV = float(rng.exponential(0.02))
        d0 = float(e * rng.uniform(0.1, 1.0))
        for lab, kq in kq_list:
            rows.append({"model": model, "T_f": tf, "sample": sample, "dw_id": j, "units": lab,
                         "m_tilde": 2 * math.pi / kq, "kT_Q": kq, "is_tls": e < kq, "E": e,
                         "Delta": math.sqrt(max(e * e - d0 * d0, 0)), "Delta_0": d0, "Gamma": d0 * d0 * e * 1e3,
                         "dV": dV, "V_a": dV + 0.05, "V_b": 0.05 + dV / 2, "d": float(rng.uniform(0.3, 2)),
                         "PR": float(rng.uniform(1, 40)), "is_a": j, "is_b": j + 1,
                         "levels": [0.01, 0.01 + e, 0.02, 0.03, 0.04]})
    return rows


def synthetic_tables(rng, with_time=True):
    samples, tls, ist = [], [], []
    for tf in (0.062, 0.092):
        for s in range(5):
            samples.append({"model": "pss", "T_f": tf, "sample": s, "N": 300, "tau_cg": 1.0, "N_cg": 200})
            n_dw = int(rng.integers(5, 40)) if s else 0  # sample 0 has no double wells
            tls += _tls_rows(rng, n_dw, [("pss-ar", 0.0015), ("pss-ni", 0.00023)], tf, s)
            for i in range(n_dw + 2):
                ist.append({"model": "pss", "T_f": tf, "sample": s, "is_id": i, "first_seen": float(rng.uniform(0, 200))})
    d = {"samples": pd.DataFrame(samples), "tls": pd.DataFrame(tls)}
    if with_time:
        d["inherent_structures"] = pd.DataFrame(ist)
    return d


def _check_report(index: Path):
    out = index.parent
    assert index.is_file()
    html = index.read_text()
    srcs = re.findall(r"<img src='([^']+)'", html)
    assert srcs, "no figures referenced"
    for s in srcs:
        assert (out / s).is_file(), s
        assert (out / s).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for href in re.findall(r"href='([^'#][^']*)'", html):
        assert (out / href).is_file(), href
    summ = json.loads((out / "summary.json").read_text())
    assert summ["groups"], "summary.json has no groups"
    for g in summ["groups"]:
        assert KEYS <= set(g) and set(SUMMARY_KEYS) <= set(g)
    return html, summ


def test_report_from_tables(tmp_path):
    rng = np.random.default_rng(0)
    tables = synthetic_tables(rng)
    index = write_report(tables, tmp_path / "rep", bootstrap=50, config={"study": {"name": "synthetic"}})
    html, summ = _check_report(index)
    # one entry per T_f and unit system, numbers equal to the statistics module's
    assert {(g["T_f"], g["units"]) for g in summ["groups"]} == {(t, u) for t in (0.062, 0.092) for u in ("pss-ar", "pss-ni")}
    S = stats.summarise(tables["samples"], tables["tls"], tables["inherent_structures"], n_boot=50)
    for g in summ["groups"]:
        r = S.table[(S.table["T_f"] == g["T_f"]) & (S.table["units"] == g["units"])].iloc[0]
        assert g["n0"] == pytest.approx(r["n0"]) and g["N_TLS"] == r["N_TLS"] and g["N_g"] == 5
        assert g["n0_SI"] == pytest.approx(stats.n0_physical(r["n0"], g["units"]))
    assert summ["by_T_f"]["pss"]["0.062"]["pss-ar"]["n0"] == pytest.approx(
        next(g["n0"] for g in summ["groups"] if g["T_f"] == 0.062 and g["units"] == "pss-ar"))
    for name in ("n0_vs_Tf", "n_over_E_pss-ar", "dw_distributions", "tls_fig6_pss-ar", "tls_fig7_pss-ar",
                 "tls_fig14_pss-ar", "counts_vs_time", "heat_capacity_pss-ni"):
        assert f"figures/{name}.png" in html, name
    for csv in ("summary_table", "n_of_E", "heat_capacity", "counts_vs_time", "decomposition_eq3", "samples", "tls"):
        assert (tmp_path / "rep" / "data" / f"{csv}.csv").is_file()
    # no configurations: the real-space picture degrades to a note
    assert "configurations of the two minima not available" in html
    assert "synthetic" in html  # the config is shown


def test_report_degrades_without_optional_inputs(tmp_path):
    rng = np.random.default_rng(1)
    tables = synthetic_tables(rng, with_time=False)
    t = tables["tls"]
    tables["tls"] = t.loc[t["units"] == "pss-ar", ["model", "T_f", "sample", "dw_id", "units", "m_tilde", "kT_Q", "E"]]
    index = write_report(tables, tmp_path / "rep", bootstrap=20, embed=True)
    html = index.read_text()
    assert "no first-seen times" in html
    assert "data:image/png;base64," in html
    summ = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert len(summ["groups"]) == 2
    # an empty run directory still gives a report that says why there are no numbers
    empty = tmp_path / "empty_run"
    empty.mkdir()
    index = write_report(empty, tmp_path / "rep2")
    assert "No landscape statistics" in index.read_text()
    assert json.loads((tmp_path / "rep2" / "summary.json").read_text())["groups"] == []


def _write_run(run: Path, rng):
    """A run directory in the pipeline layout, with the artefacts the report reads."""
    box = np.array([6.0, 6.0, 6.0])
    for tf in (0.07, 0.09):
        for k in range(3):
            d = run / "pss" / f"Tf_{tf:g}" / f"sample_{k}"
            for sub in ("prepare", "explore", "paths", "quantum"):
                (d / sub).mkdir(parents=True, exist_ok=True)
            n = 216
            (d / "prepare" / "prepare.json").write_text(json.dumps({"model": "pss", "N": n, "T_f": tf}))
            (d / "explore" / "explore.json").write_text(json.dumps(
                {"params": {"tau_cg": 400, "dt": 0.0025, "n_min": 100, "runs": 2}, "regular_minimisations": 200, "n_is": 12}))
            pd.DataFrame({"is_id": np.arange(12), "energy": rng.normal(size=12),
                          "first_seen": np.arange(12) * 400, "first_seen_time": np.arange(12) * 1.0}).to_parquet(
                d / "explore" / "inherent_structures.parquet")
            pd.DataFrame({"is_a": [0, 2, 4, 6], "is_b": [1, 3, 5, 7], "first_time": [2.0, 4.0, 6.0, 9.0]}).to_parquet(
                d / "explore" / "pairs.parquet")
            xi = np.linspace(0, 1, 16)
            cat = pd.DataFrame({"dw_id": np.arange(4), "is_a": [0, 2, 4, 6], "is_b": [1, 3, 5, 7],
                                "pair_a": [0, 2, 4, 6], "pair_b": [1, 3, 5, 7], "d": [0.5, 0.6, 0.7, 0.8],
                                "xi": [xi.tolist()] * 4, "V": [(0.1 * np.sin(np.pi * xi) ** 2 + 0.001 * xi).tolist()] * 4,
                                "dV": [0.001] * 4, "V_a": [0.1] * 4, "V_b": [0.0995] * 4, "PR": [3.0, 5, 8, 2],
                                "status": ["ok"] * 4})
            cat.to_parquet(d / "paths" / "double_wells.parquet")
            rows = []
            for j, e in enumerate(rng.uniform(1e-4, 5e-3, 4)):
                rows.append({"dw_id": j, "units": "pss-ar", "m_tilde": 4188.8, "kT_Q": 0.0015, "is_tls": e < 0.0015,
                             "E": e, "Delta": e / 2, "Delta_0": e / 2, "Gamma": 1e-6, "dV": 0.001, "V_b": 0.0995,
                             "PR": 3.0, "d": 0.5})
            pd.DataFrame(rows).to_parquet(d / "quantum" / "tls.parquet")
            x = rng.uniform(0, 6, (n, 3))
            disp = np.zeros(n)
            disp[:5] = [0.5, 0.3, 0.2, 0.1, 0.05]
            with h5py.File(d / "paths" / "bands.h5", "w") as f:
                for j in range(4):
                    g = f.create_group(str(j))
                    g["xi"] = xi
                    g["V"] = 0.1 * np.sin(np.pi * xi) ** 2
                    g["x_low"] = x
                    g["displacement"] = disp
            with h5py.File(d / "explore" / "is_configs.h5", "w") as f:
                g = f.create_group("meta")
                g["box"] = box
                g["diameters"] = np.ones(n)
    # an interrupted sample: no quantum stage yet
    (run / "pss" / "Tf_0.09" / "sample_3" / "prepare").mkdir(parents=True)
    # optional results of the other routes
    (run / "lattice").mkdir()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    fig.savefig(run / "lattice" / "cv.png")
    plt.close(fig)
    (run / "lattice" / "fit.json").write_text(json.dumps({"c1": 0.12, "c3": 3.4}))
    (run / "config.toml").write_text("[study]\nname = 'tiny'\n")


def test_report_from_run_directory(tmp_path):
    rng = np.random.default_rng(2)
    run = tmp_path / "RUN"
    _write_run(run, rng)
    tables = stats.load_study(run)
    assert len(tables.samples) == 6 and len(tables.incomplete) == 1
    s = tables.samples.iloc[0]
    assert s["N"] == 216 and s["tau_cg"] == pytest.approx(1.0) and s["N_IS"] == 12 and s["tau_total"] == pytest.approx(200.0)
    assert tables.tls["t_detect"].notna().all()  # from the pairs' first_time
    index = write_report(run, bootstrap=30)
    assert index == run / "report" / "index.html"
    html, summ = _check_report(index)
    assert {g["T_f"] for g in summ["groups"]} == {0.07, 0.09}
    assert summ["incomplete_samples"] and "sample_3" in summ["incomplete_samples"][0]
    assert "figures/lowest_tls_snapshot.png" in html and "figures/lowest_tls_profile.png" in html
    assert "Lattice route" in html and "cv.png" in html
    assert "tiny" in html  # config.toml shown in the provenance section
    # the stats stage writes stats.json whose settings the report reuses
    S = stats.study_stats(run_dir=run, out_dir=tmp_path / "stats", bootstrap=40, plateau_emax=0.002)
    d = json.loads((tmp_path / "stats" / "stats.json").read_text())
    assert d["settings"]["n_boot"] == 40 and d["settings"]["e_range"][1] == 0.002
    index = write_report(run, tmp_path / "rep3", stats_dir=tmp_path / "stats")
    summ = json.loads((tmp_path / "rep3" / "summary.json").read_text())
    assert summ["settings"]["n_boot"] == 40
    assert summ["groups"][0]["e_hi"] == 0.002
    assert summ["groups"][0]["n0"] == pytest.approx(S.table.iloc[0]["n0"])


def test_zero_count_group_and_exclusions_in_report(tmp_path):
    """A T_f whose rows are all non-doublets: the n0 cell reads "< x (95 %)" with x the statistics'
    one-sided 95 % upper limit ln(20)/(M k_B T_Q); excluded rows are counted with their reasons in
    summary.json and the page; the n0 figure is drawn (upper limit as an arrow, not dropped)."""
    import html as _h

    kq = 0.0015
    samples = pd.DataFrame([{"model": "pss", "T_f": tf, "sample": s, "N": 300} for tf in (0.062, 0.092) for s in range(2)])
    rows = []
    for j, (tf, s, cls, e) in enumerate([(0.092, 0, "doublet", 2e-4), (0.092, 1, "doublet", 9e-4),
                                         (0.092, 1, "single_well", 1e-4), (0.092, 0, "doublet", 5e-3),
                                         (0.062, 0, "single_well", 3e-4), (0.062, 1, "above_barrier", 1e-3),
                                         (0.062, 1, "not_converged", np.nan)]):
        rows.append({"model": "pss", "T_f": tf, "sample": s, "dw_id": j, "units": "pss-ar",
                     "m_tilde": 2 * math.pi / kq, "kT_Q": kq, "E": e, "tls_class": cls})
    tables = {"samples": samples, "tls": pd.DataFrame(rows),
              "path_results": pd.DataFrame({"model": "pss", "T_f": [0.062, 0.062, 0.092], "sample": [0, 1, 0],
                                            "status": ["no_barrier", "ok", "max_depth"]})}
    index = write_report(tables, tmp_path / "rep", bootstrap=0)
    page = index.read_text()
    summ = json.loads((tmp_path / "rep" / "summary.json").read_text())
    z = summ["by_T_f"]["pss"]["0.062"]["pss-ar"]
    up = math.log(20) / (2 * 300 * kq)
    assert z["count"] == 0 and z["n0"] == 0 and z["n0_lo"] == 0 and z["n0_upper95"] == pytest.approx(up)
    assert z["exclusions"] == {"single_well": 1, "above_barrier": 1, "not_converged": 1} and z["N_excluded"] == 3
    assert z["paths_not_ok"] == {"no_barrier": 1}
    text = _h.unescape(re.sub(r"<[^>]+>", " ", page))
    assert f"< {up:.3g} (95 %)" in text
    assert "excluded: 1 above_barrier, 1 not_converged, 1 single_well" in text
    assert "paths not ok: 1 max_depth" in text
    g = summ["by_T_f"]["pss"]["0.092"]["pss-ar"]
    assert g["count"] == 2 and g["N_TLS"] == 2 and g["exclusions"] == {"single_well": 1}
    assert 0 < g["n0_lo95"] < g["n0_lo"] < g["n0"] < g["n0_hi"] < g["n0_hi95"]
    assert "figures/n0_vs_Tf.png" in page
    # the figure's arrow: the upper-limit point is drawn (checked on the axes, not the pixels)
    import matplotlib.pyplot as plt

    from twolevel.report import stats_figs as sf

    S = stats.summarise(samples, tables["tls"], n_boot=0)
    fig, ax = plt.subplots()
    assert sf._n0_points(ax, S.table[S.table["T_f"] == 0.062], "n0", "n0_lo", "n0_hi", "n0_upper95", "o", "x")
    ys = np.concatenate([ln.get_ydata() for ln in ax.lines if len(ln.get_ydata())])
    assert np.isclose(ys, up).any()
    plt.close(fig)


def test_report_says_how_far_a_run_is_from_001():
    """The counts sentence compares N_IS with 001's statistics (N = 1500, Argon units: 1008 active TLS
    in 848 698 IS at T_f = 0.092, 291 in 26 898 at 0.07, 61 in 13 252 at 0.062): 100 IS -> 0.12-1.1."""
    from twolevel.report.html import _paper_comparison

    row = {"model": "pss", "units": "pss-ar", "N_IS": 100, "N_TLS": 0}
    txt = _paper_comparison(row)
    assert "one active TLS per 92-842 IS" in txt
    assert f"{100 / (848698 / 1008):.2g}-{100 / (26898 / 291):.2g} TLS expected" in txt
    assert "upper limit, not a detection" in txt
    assert _paper_comparison({**row, "units": "tlj-ar"}) == ""       # 001's rates are for PSS only
    assert _paper_comparison({**row, "model": "tlj"}) == ""


def test_twolevel_leaves_the_matplotlib_backend_alone(tmp_path):
    """Importing every twolevel module and drawing a figure keeps the backend the user chose (a
    notebook's inline backend used to be overridden by matplotlib.use("Agg") at import)."""
    import subprocess
    import sys

    code = f"""
import importlib, pkgutil, matplotlib
matplotlib.use("svg")
import twolevel
for m in pkgutil.walk_packages(twolevel.__path__, "twolevel."):
    if not m.name.endswith("__main__"):
        importlib.import_module(m.name)
from twolevel.report._mpl import plt, save
fig, ax = plt().subplots(1, 2, figsize=(4, 2))
ax[0].plot([0, 1], [1, 0])
save(fig, {str(tmp_path / "f.png")!r})
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
print("ok")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr[-2000:]
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_misspelt_keyword_arguments_are_refused(tmp_path):
    """write_report and study_stats used to swallow unknown keywords (**_ignored): a typo such as
    bootstrapp=10 silently ran with the default."""
    from twolevel import stats

    with pytest.raises(TypeError, match="bootstrapp"):
        write_report(tmp_path / "nothing", tmp_path / "rep", bootstrapp=10)
    # the stats stage validates its keywords through stats.StatsParams: one line with a suggestion
    with pytest.raises(InputError, match="stats: plateau_e_max: unknown key; did you mean 'plateau_emax'"):
        stats.study_stats(run_dir=tmp_path / "nothing", out_dir=tmp_path / "s", plateau_e_max=0.1)
