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


def test_stage_api_defaults_match_the_study_file():
    """The paths and quantum stage functions take the same defaults as [paths] and [quantum]."""
    import inspect

    from twolevel import paths, quantum
    from twolevel.pipeline import config

    for fn, cls in ((paths.paths_for_library, config.PathsParams), (quantum.run_catalogue, config.QuantumParams)):
        sig = inspect.signature(fn).parameters
        shared = [k for k, f in cls.model_fields.items() if k in sig and f.default_factory is None]
        assert len(shared) >= 3, fn.__name__
        for k in shared:
            assert sig[k].default == cls.model_fields[k].default, (fn.__name__, k)
