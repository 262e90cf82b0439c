"""The study config: schema, defaults from the papers, one-line errors naming the key, examples, docs."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from twolevel.errors import InputError
from twolevel.pipeline.config import (
    ExploreParams,
    ModelSpec,
    PathsParams,
    QuantumParams,
    StudyConfig,
    load_config,
    model_units,
    parse_config,
    render_markdown,
    resolved_stage_params,
)

REPO = Path(__file__).resolve().parents[1]
BASE = {"study": {"name": "t", "seed": 1}, "models": [{"model": "pss", "n": 100, "tf": [0.062, 0.07]}]}


def _with(path: str, value):
    """BASE with one value set at a dotted/indexed path like 'models[0].tf[1]'."""
    d = copy.deepcopy(BASE)
    parts = path.replace("[", ".[").split(".")
    cur = d
    for i, p in enumerate(parts):
        last = i == len(parts) - 1
        key = int(p[1:-1]) if p.startswith("[") else p
        if last:
            if value is _DELETE:
                del cur[key]
            else:
                cur[key] = value
        else:
            if isinstance(key, str) and key not in cur:
                cur[key] = {}
            cur = cur[key]
    return d


_DELETE = object()


@pytest.mark.parametrize("path, value, expected", [
    ("models[0].tf[1]", -0.07, "models[0].tf[1]: must be > 0"),
    ("models[0].tf[1]", "0.07", "models[0].tf[1]: must be a number"),
    ("models[0].tf", [], "models[0].tf: must have at least 1 item"),
    ("models[0].tf", [0.07, 0.07], "models[0].tf[1]: duplicate T_f"),
    ("models[0].n", 2, "models[0].n: must be >= 4"),
    ("models[0].n", 100.0, "models[0].n: must be an integer"),
    ("models[0].n", True, "models[0].n: must be an integer"),
    ("models[0].dim", 4, "models[0].dim: must be one of 2 or 3"),
    ("models[0].model", "lj", "models[0].model: must be one of"),
    ("models[0].samples", [1], "models[0].samples: 1 values for 2 T_f"),
    ("models[0].samples", [3, 0], "models[0].samples[1]: must be >= 1"),
    ("models[0].tff", 1, "models[0].tff: unknown key; did you mean 'tf'?"),
    ("models[0].explore.dt", -1.0, "models[0].explore.dt: must be > 0"),
    ("models[0].units", ["argon"], "models[0].units[0]: unknown unit system 'argon'"),
    ("explore.temprature", 0.04, "explore.temprature: unknown key; did you mean 'temperature'?"),
    ("explore.n_cg", 0, "explore.n_cg: must be >= 1"),
    ("explore.thermostat", "nose", "explore.thermostat: must be one of"),
    ("paths.images", 2, "paths.images: must be >= 3"),
    ("quantum.masses", [1000.0, -1.0], "quantum.masses[1]: must be > 0"),
    ("stats.confidence", 1.5, "stats.confidence: must be < 1"),
    ("execution.retries", -1, "execution.retries: must be >= 0"),
    ("execution.scheduler", "localhost", "execution.scheduler: must be an address like tcp://HOST:PORT"),
    ("study.seed", -3, "study.seed: must be >= 0"),
    ("study.name", "my study", "study.name: must be letters"),
    ("study.name", _DELETE, "study.name: required key is missing"),
    ("study.units", ["pss-xx"], "study.units[0]: unknown unit system"),
    ("repport", {}, "repport: unknown key; did you mean 'report'?"),
    ("lattice.start.T_I", -1.0, "lattice.start.T_I: must be > 0"),
    ("lattice.cooling.T_end", 0.5, "lattice.cooling.T_end: must be below lattice.start.T_I"),
])
def test_errors_name_the_key(path, value, expected):
    with pytest.raises(InputError) as exc:
        parse_config(_with(path, value), source="study.toml")
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith("study.toml: ")
    assert expected in msg, msg


def test_duplicate_model_names_and_executor_conflict():
    d = copy.deepcopy(BASE)
    d["models"].append({"model": "pss", "n": 50, "tf": [0.1]})
    with pytest.raises(InputError, match=r"models\[1\]\.name: 'pss' already used by models\[0\]"):
        parse_config(d)
    d["models"][1]["name"] = "pss_small"
    assert [m.label for m in parse_config(d).models] == ["pss", "pss_small"]
    with pytest.raises(InputError, match="either scheduler or dask_local"):
        parse_config(dict(BASE, execution={"scheduler": "tcp://h:8786", "dask_local": 2}))


def test_toml_file_errors_name_the_file(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text("[study\nname = 'x'\n")
    with pytest.raises(InputError, match=r"s.toml: not valid TOML"):
        load_config(p)
    with pytest.raises(InputError, match="no such file"):
        load_config(tmp_path / "missing.toml")


def test_defaults_come_from_the_papers():
    cfg = parse_config({"study": {"name": "t"}, "models": [
        {"model": "pss", "n": 100, "tf": [0.07]}, {"model": "tlj", "n": 100, "tf": [0.5]}]})
    pss, tlj = cfg.models
    # 001: T_MD = 0.04; 002: T_exp = 0.4, dt = 2.5e-3
    assert resolved_stage_params(cfg, pss, "explore")["temperature"] == 0.04
    assert resolved_stage_params(cfg, tlj, "explore")["temperature"] == 0.4
    assert resolved_stage_params(cfg, tlj, "explore")["dt"] == 0.0025
    # 002 Sec. II D: 64 images, spring 0.125; Sec. III C: N_xi = 2000
    assert PathsParams().images == 64 and PathsParams().spring == 0.125
    assert QuantumParams().n_xi == 2000
    # 001 / 002 unit systems
    assert model_units(cfg, pss) == ["pss-ar", "pss-ni"] and model_units(cfg, tlj) == ["tlj-ar", "tlj-nip"]
    # the quench goes to the exploration temperature unless given
    assert resolved_stage_params(cfg, pss, "prepare")["T_quench"] == 0.04
    assert cfg.output_dir() == Path("runs/t")


def test_model_overrides_take_precedence():
    d = copy.deepcopy(BASE)
    d["explore"] = {"n_cg": 50, "temperature": 0.05}
    d["models"][0]["explore"] = {"temperature": 0.03}
    cfg = parse_config(d)
    p = resolved_stage_params(cfg, cfg.models[0], "explore")
    assert p["temperature"] == 0.03 and p["n_cg"] == 50
    assert set(p) == set(ExploreParams.model_fields)


def test_frozen_toml_round_trip():
    d = copy.deepcopy(BASE)
    d["models"][0]["explore"] = {"tau_cg": 3.0}
    d["lattice"] = {"lattice": {"L": 20}, "start": {"T_I": 0.3}}
    cfg = parse_config(d)
    again = parse_config(tomllib.loads(cfg.to_toml()))
    assert again == cfg and again.canonical() == cfg.canonical()


def test_examples_and_embedded_demo_validate():
    files = sorted((REPO / "examples").glob("*.toml"))
    study_files = [f for f in files if "[study]" in f.read_text()]
    assert {f.name for f in study_files} >= {"pss_001.toml", "tlj_002.toml"}
    for f in study_files:
        load_config(f)
    demo = resources.files("twolevel").joinpath("data/demo.toml").read_text(encoding="utf-8")
    cfg = parse_config(tomllib.loads(demo))
    assert cfg.lattice is not None and cfg.models[0].model == "pss"
    pss = load_config(REPO / "examples" / "pss_001.toml")
    assert pss.models[0].tf == [0.062, 0.07, 0.092] and pss.models[0].n == 1500
    tlj = load_config(REPO / "examples" / "tlj_002.toml")
    assert sorted(t for m in tlj.models for t in m.tf) == [0.488, 0.509, 0.558, 0.617]
    assert {m.label: m.explore.tau_cg for m in tlj.models}["tlj_0.488"] == 31.0  # 002 Table I


def test_reference_documents_every_key_and_docs_are_current():
    md = render_markdown()
    for cls in (StudyConfig.model_fields["study"].annotation, ModelSpec, ExploreParams, PathsParams, QuantumParams):
        for name in cls.model_fields:
            if name in ("prepare", "explore", "paths", "quantum"):
                continue
            assert f"| `{name}` |" in md, (cls.__name__, name)
    doc = (REPO / "docs" / "pipeline.md").read_text(encoding="utf-8")
    assert md.strip() in doc, "docs/pipeline.md is out of date: regenerate with python -m twolevel.pipeline.config"


def test_prepare_defaults_are_the_same_through_every_entry_point():
    """twolevel prepare (CLI), the study file's [prepare] and prepare.prepare_sample (API) share one set
    of defaults (they used to disagree: the CLI drew PSS diameters by quantiles, `twolevel run` at
    random): one class, prepare.PrepareParams, owns them."""
    import inspect

    import typer

    from twolevel import prepare
    from twolevel.cli import app
    from twolevel.models.pss import DEFAULT_DIAMETERS
    from twolevel.pipeline import config

    assert config.PrepareParams is prepare.PrepareParams
    cmd = typer.main.get_command(app).commands["prepare"]
    cli = {p.name: p.default for p in cmd.params}
    fields = prepare.PrepareParams.model_fields
    shared = [k for k in cli if k in fields]
    assert {"n_tau", "quench", "diameters", "max_time", "max_seconds"} <= set(shared)
    for k in shared:
        assert cli[k] == fields[k].default, k
    api = inspect.signature(prepare.prepare_sample).parameters
    assert cli["dim"] == api["dim"].default == config.ModelSpec.model_fields["dim"].default == 3
    assert cli["diameters"] == prepare.PrepareParams().diameters == DEFAULT_DIAMETERS == "quantiles"
    # the API validates through the same class: a misspelt key is refused with a suggestion
    with pytest.raises(InputError, match="prepare: n_taus: unknown key; did you mean 'n_tau'"):
        prepare._params(prepare.get_model("pss"), {"n_taus": 3}, 3, None)


def test_explore_defaults_are_the_same_through_every_entry_point():
    """twolevel explore, the study file's [explore] and explore.explore_glass share explore.ExploreParams:
    they used to differ in ftol (1e-6 vs 1e-8), in the unit of tau_cg (steps vs time) and in the name
    of the run count (n_min vs n_cg)."""
    import typer

    from twolevel import explore
    from twolevel.cli import app
    from twolevel.pipeline import config

    assert config.ExploreParams is explore.ExploreParams
    cmd = typer.main.get_command(app).commands["explore"]
    cli = {p.name: p.default for p in cmd.params}
    fields = explore.ExploreParams.model_fields
    shared = [k for k in cli if k in fields]
    assert {"tau_cg", "n_cg", "runs", "ftol", "e_tol", "d_tol", "thermostat", "temperature", "dt"} <= set(shared)
    for k in shared:
        assert cli[k] == fields[k].default, k
    # temperature and dt come from the model on every route
    from twolevel.models import get_model

    for name in ("pss", "tlj"):
        m = get_model(name)
        assert config.MODEL_DEFAULTS[name]["explore.temperature"] == m.explore_temperature
        assert config.MODEL_DEFAULTS[name]["explore.dt"] == m.explore_dt


class _Stop(Exception):
    """Raised by the spies below once the entry point has handed over its parameters."""


def _stage_classes():
    from twolevel import paths, quantum, stats
    from twolevel.instanton.stage import InstantonParams
    from twolevel.ml import SearchParams

    return {"paths": paths.PathsParams, "quantum": quantum.QuantumParams, "stats": stats.StatsParams,
            "search": SearchParams, "instanton": InstantonParams}


def _study_defaults(stage: str) -> dict:
    """The stage's table as the study file gives it when the table is empty."""
    cfg = parse_config({**BASE, stage: {}})
    return getattr(cfg, stage).model_dump()


def _api_params(monkeypatch, cls, call):
    """The parameters an API call validates (its ``cls.merged``), caught before any work is done."""
    got = {}
    orig = cls.merged.__func__

    def spy(c, where, params=None, /, **kw):
        got["p"] = orig(c, where, params, **kw)
        raise _Stop

    monkeypatch.setattr(cls, "merged", classmethod(spy))
    with pytest.raises(_Stop):
        call()
    monkeypatch.undo()
    return got["p"].model_dump()


def _cli_kwargs(monkeypatch, module, name, argv):
    """The keyword arguments a `twolevel` command passes to its stage function ``module.name``."""
    from typer.testing import CliRunner

    from twolevel.cli import app

    got = {}

    def fake(*a, **kw):
        got.update(kw)
        raise _Stop

    monkeypatch.setattr(module, name, fake)
    r = CliRunner().invoke(app, argv)
    assert isinstance(r.exception, _Stop), r.output
    return got


def test_stage_classes_are_owned_by_their_stages():
    """paths, quantum, stats, search and instanton own their parameter classes (issue #16); the
    study file composes exactly those classes, and ml.loop has no second hand-validated copy."""
    from twolevel.pipeline import config

    for stage, cls in _stage_classes().items():
        assert getattr(config, cls.__name__) is cls, stage
        ann = config.StudyConfig.model_fields[stage].annotation
        assert cls is ann or cls in getattr(ann, "__args__", ()), stage
        assert cls.__module__ != config.__name__


def test_paths_defaults_are_the_same_through_every_entry_point(monkeypatch, tmp_path):
    """twolevel paths, the study file's [paths] and paths.paths_for_library give one set of defaults."""
    from twolevel import paths

    want = paths.PathsParams().model_dump()
    assert _study_defaults("paths") == want
    assert _api_params(monkeypatch, paths.PathsParams,
                       lambda: paths.paths_for_library(tmp_path, tmp_path / "o")) == want
    kw = _cli_kwargs(monkeypatch, paths, "paths_for_library", ["paths", str(tmp_path), "--out", str(tmp_path / "o")])
    kw.pop("progress")
    assert paths.PathsParams.build("cli", **kw).model_dump() == want
    assert set(kw) == set(want) - {"max_depth", "hessian_modes"}  # the CLI offers every other key


def test_quantum_defaults_are_the_same_through_every_entry_point(monkeypatch, tmp_path):
    """twolevel quantum, the study file's [quantum] and quantum.run_catalogue give one set of defaults."""
    from twolevel import quantum

    want = quantum.QuantumParams().model_dump()
    assert _study_defaults("quantum") == want
    assert _api_params(monkeypatch, quantum.QuantumParams, lambda: quantum.run_catalogue(None)) == want
    monkeypatch.setattr(quantum, "read_catalogue", lambda path: None)
    kw = _cli_kwargs(monkeypatch, quantum, "run_catalogue",
                     ["quantum", str(tmp_path / "c.parquet"), "--units", "pss-ar", "--out", str(tmp_path / "t.parquet")])
    for k in ("workers", "progress"):
        kw.pop(k)
    assert quantum.QuantumParams.build("cli", **kw).model_dump() == want  # masses: the CLI's --mass go into specs


def test_stats_defaults_are_the_same_through_every_entry_point(monkeypatch, tmp_path):
    """The study file's [stats] and stats.study_stats give one set of defaults (no `twolevel stats`
    command exists: `twolevel run` is the CLI route)."""
    from twolevel import stats

    want = stats.StatsParams().model_dump()
    assert _study_defaults("stats") == want
    assert _api_params(monkeypatch, stats.StatsParams, lambda: stats.study_stats(run_dir=tmp_path)) == want


def test_search_defaults_are_the_same_through_every_entry_point(monkeypatch, tmp_path):
    """twolevel search, the study file's [search] and ml.search_glass / ml.search give one set of
    defaults; the band options of `twolevel search` are the paths stage's defaults."""
    from twolevel import paths
    from twolevel.ml import SearchParams, loop

    want = SearchParams().model_dump()
    assert _study_defaults("search") == want
    assert _api_params(monkeypatch, SearchParams, lambda: loop.search_glass(tmp_path, tmp_path / "o")) == want
    assert _api_params(monkeypatch, SearchParams, lambda: loop.search(None, None, tmp_path, e_max=1.0)) == want
    kw = _cli_kwargs(monkeypatch, loop, "search_glass", ["search", str(tmp_path), "--out", str(tmp_path / "o")])
    path_kw = kw.pop("path_kw")
    kw.pop("progress")
    assert SearchParams.build("cli", **kw).model_dump() == want and set(kw) == set(want)
    assert path_kw == {k: paths.PathsParams().model_dump()[k] for k in path_kw}


def test_instanton_defaults_are_the_same_through_every_entry_point(monkeypatch, tmp_path):
    """twolevel instanton, the study file's [instanton] and instanton.stage.run_tables / run_sample
    give one set of defaults (run_tables used to take 128 beads and every double well while the
    study file and the CLI took 64 beads and at most 20)."""
    from twolevel.instanton import stage

    want = stage.InstantonParams().model_dump()
    assert _study_defaults("instanton") == want
    assert _api_params(monkeypatch, stage.InstantonParams, lambda: stage.run_tables("t", "p", "g")) == want
    assert _api_params(monkeypatch, stage.InstantonParams, lambda: stage.run_sample(tmp_path)) == want
    kw = _cli_kwargs(monkeypatch, stage, "run_sample", ["instanton", str(tmp_path), "--out", str(tmp_path / "i.parquet")])
    for k in ("out", "progress"):
        kw.pop(k)
    assert stage.InstantonParams.build("cli", **kw).model_dump() == want and set(kw) == set(want)


def test_misspelt_keywords_to_each_stage_api_are_refused_in_one_line(tmp_path):
    """A typo in a keyword of a stage API is an InputError naming the stage and the key, with a
    suggestion, before any work is done (it used to be swallowed or a deep TypeError)."""
    from twolevel import paths, quantum, stats
    from twolevel.instanton import stage
    from twolevel.ml import loop

    calls = {
        "paths: imgaes: unknown key; did you mean 'images'": lambda: paths.paths_for_library(
            tmp_path, tmp_path / "o", imgaes=8),
        "quantum: n_xii: unknown key; did you mean 'n_xi'": lambda: quantum.run_catalogue(None, n_xii=100),
        "stats: bootstap: unknown key; did you mean 'bootstrap'": lambda: stats.study_stats(
            run_dir=tmp_path, bootstap=10),
        "search: bacth: unknown key; did you mean 'batch'": lambda: loop.search_glass(tmp_path, tmp_path / "o", bacth=5),
        "search: min_hit_rte: unknown key; did you mean 'min_hit_rate'": lambda: loop.search(
            None, None, tmp_path, e_max=1.0, min_hit_rte=0.1),
        "instanton: n_bead: unknown key; did you mean 'n_beads'": lambda: stage.run_tables("t", "p", "g", n_bead=8),
    }
    for msg, call in calls.items():
        with pytest.raises(InputError, match=msg) as exc:
            call()
        assert "\n" not in str(exc.value)
    # a bad value reads the same as in the study file
    with pytest.raises(InputError, match=r"paths: images: must be >= 3 \(got 2\)"):
        paths.paths_for_library(tmp_path, tmp_path / "o", images=2)
    assert not (tmp_path / "o").exists()  # refused before anything was written
