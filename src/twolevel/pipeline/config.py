"""The study configuration: a TOML file validated before anything runs.

A study is a list of glass models (``[[models]]``), each with a system size,
a density, a list of preparation (fictive) temperatures T_f and a number of
glass samples per T_f, plus one parameter table per stage (``[prepare]``,
``[explore]``, ``[paths]``, ``[quantum]``, ``[stats]``, ``[report]``), the
optional routes (``[lattice]``, ``[harmonic]``) and how to execute it
(``[execution]``). Stage tables given inside a ``[[models]]`` entry override
the study-wide ones for that model only.

Validation is complete before the first task starts: an unknown key, a wrong
type or an impossible value raises one :class:`~twolevel.errors.InputError`
whose one-line message names the file and the key path, e.g.::

    study.toml: models[0].tf[1]: must be > 0 (got -0.07)

Defaults come from the papers (file and place cited at each field); fields
whose paper value depends on the model (the exploration temperature, the MD
time step) default to ``None`` and are resolved per model by
:func:`resolved_stage_params`.

:func:`render_markdown` renders this schema as the reference table of
docs/pipeline.md (``python -m twolevel.pipeline.config``).
"""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..errors import InputError
from ..explore import ExploreParams
from ..instanton.stage import InstantonParams
from ..ml.loop import SearchParams
from ..models import ALL_MODEL_NAMES, get_model
from ..params import Params, PosFloat, config_error
from ..paths import PathsParams
from ..prepare import PrepareParams
from ..quantum import QuantumParams
from ..seeds import format_tf
from ..stats import StatsParams

__all__ = [
    "ExecutionParams",
    "ExploreParams",
    "HarmonicParams",
    "InstantonParams",
    "LatticeParams",
    "ModelSpec",
    "PathsParams",
    "PrepareParams",
    "QuantumParams",
    "ReportParams",
    "SearchParams",
    "StatsParams",
    "StudyConfig",
    "StudySection",
    "config_error",
    "default_units",
    "format_tf",
    "load_config",
    "parse_config",
    "render_markdown",
    "resolved_stage_params",
]


def _model_defaults(name: str) -> dict[str, Any]:
    """Model-dependent defaults, read from the model itself (twolevel.models, which cites them)."""
    m = get_model(name)
    return {"explore.temperature": m.explore_temperature, "explore.dt": m.explore_dt, "units": list(m.units)}


MODEL_DEFAULTS: dict[str, dict[str, Any]] = {name: _model_defaults(name) for name in ALL_MODEL_NAMES}
MODEL_KINDS = tuple(MODEL_DEFAULTS)


_Section = Params  # every table validates like a stage's parameters (twolevel.params)


# --------------------------------------------------------------------------- study
class StudySection(_Section):
    """``[study]``: what the study is called, its seed and where it is written."""

    name: str = Field(description="Study name (letters, digits, '_', '.', '-'); names the default output directory.")
    seed: int = Field(0, ge=0, lt=2**63, description="Study seed; every task's seed derives from it and the task's identity, so the same config gives the same numbers on any executor.")
    output: str | None = Field(None, description="Run directory (relative paths are relative to the current directory). Default `runs/<name>`. `twolevel run --out` overrides it.")
    units: list[str] | None = Field(None, description="Unit systems (built-in names such as `pss-ar`, `tlj-nip`, or a TOML file) for m~ and physical units. Default per model: PSS Ar and Ni (001), TLJ Ar and NiP (002).")
    description: str = Field("", description="Free text, copied into the report.")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", v):
            raise ValueError(f"must be letters, digits, '_', '.', '-' (got {v!r})")
        return v

    @field_validator("units")
    @classmethod
    def _units(cls, v):
        if v is not None:
            _check_units(v)
        return v


def _check_units(names: list[str]) -> None:
    from ..units import get_units

    if not names:
        raise ValueError("must name at least one unit system")
    for i, u in enumerate(names):
        try:
            get_units(u)
        except InputError as exc:
            raise ValueError(f"[{i}] {exc}") from None


# --------------------------------------------------------------------------- stages
# The stage tables are owned by their stages (PrepareParams, ExploreParams, PathsParams, QuantumParams,
# SearchParams, InstantonParams, StatsParams, imported above); the tables below are the pipeline's own.
class ReportParams(_Section):
    """``[report]``: the HTML report (index.html, PNG figures, CSV/JSON numbers)."""

    enabled: bool = Field(True, description="Write the report directory RUN/report/.")
    title: str | None = Field(None, description="Report title; default the study name.")


class ExecutionParams(_Section):
    """``[execution]``: how tasks run (the `twolevel run` options override these)."""

    executor: Literal["process", "in-process", "dask"] = Field("process", description="`process`: local process pool (all cores); `in-process`: one by one in this process (debugging); `dask`: Dask distributed (`scheduler` or a LocalCluster of `dask_local` workers).")
    workers: int | None = Field(None, ge=1, description="Workers of the process pool (default: all cores).")
    scheduler: str | None = Field(None, description="Dask scheduler address, e.g. `tcp://host:8786`.")
    dask_local: int | None = Field(None, ge=1, description="Start a Dask LocalCluster with this many single-threaded workers.")
    retries: int = Field(2, ge=0, le=100, description="Retries of a task whose worker raises or dies, before it is marked failed (the other tasks go on).")
    integrity: Literal["sha256", "size"] = Field("sha256", description="How stored artefacts are verified before they are trusted: full SHA-256 or size only.")

    @field_validator("scheduler")
    @classmethod
    def _sched(cls, v):
        if v is not None and not re.fullmatch(r"(tcp|tls|inproc|ucx|ws|wss)://\S+", v):
            raise ValueError(f"must be an address like tcp://HOST:PORT (got {v!r})")
        return v


def _lattice_config_cls():
    """The lattice route's own schema (twolevel.lattice.config.LatticeConfig), reused as ``[lattice]``."""
    try:
        from ..lattice.config import LatticeConfig
    except ImportError:  # pragma: no cover - the lattice route is part of the package
        return dict
    return LatticeConfig


LatticeParams = _lattice_config_cls()


class HarmonicParams(_Section):
    """``[harmonic]`` (optional): the harmonic route on the prepared glasses of each model and T_f (004; 002 Sec. IV C; twolevel.vibrations)."""

    k: int | None = Field(60, ge=1, description="Lowest vibrational modes per glass (all of them for small systems, or when unset).")
    elastic: bool = Field(True, description="Shear and bulk moduli, for the Debye frequency (002 Sec. IV C).")
    shear: Literal["born", "aqs"] = Field("born", description="Shear modulus by Born minus non-affine (exact, the default) or AQS (refused where sigma(gamma) is not linear).")
    aqs_check: bool = Field(True, description="Also run AQS (gamma_max, steps) as a check of G.")
    elastic_samples: int = Field(4, ge=1, description="Glasses per T_f whose moduli are measured and averaged.")
    nonlinear: bool = Field(True, description="Nonlinear (cubic) modes from the quasi-localised modes (004 SI).")
    max_nonlinear: int = Field(20, ge=1, description="At most this many nonlinear modes per glass.")
    gamma_max: float = Field(1e-6, gt=0, description="Largest AQS shear strain (small: sigma(gamma) must be linear).")
    steps: int = Field(5, ge=2, description="AQS strain steps.")
    bulk_strain: float = Field(1e-3, gt=0, description="Largest hydrostatic strain.")
    qlm_fraction: float = Field(0.9, gt=0, le=1, description="Quasi-localised modes: below this fraction of omega_t.")
    a4_window: list[PosFloat] = Field(default_factory=lambda: [0.5, 1.0], min_length=2, max_length=2, description="A4 fit window in units of qlm_fraction x omega_t.")
    f_window: list[PosFloat] = Field(default_factory=lambda: [0.04, 0.16], min_length=2, max_length=2, description="Window of the soft-potential fraction f (004).")
    ftol: float = Field(1e-10, gt=0, description="Relaxation of each glass before the Hessian (max force).")
    figures: bool = Field(True, description="Write the route's figures.")


class ModelSpec(_Section):
    """One ``[[models]]`` entry: a model, a system, its T_f list and samples, stage overrides."""

    model: Literal[MODEL_KINDS] = Field(description="Glass model: " + ", ".join(MODEL_KINDS) + " (see twolevel.models).")  # type: ignore[valid-type]
    name: str | None = Field(None, description="Label of this entry and its directory `RUN/<name>/` (default: the model). Must be unique.")
    n: int = Field(ge=4, description="Number of particles (001: 1500 PSS; 002: 1200 TLJ).")
    dim: Literal[2, 3] = Field(3, description="Dimension.")
    density: float | None = Field(None, gt=0, description="Number density (default: the model's, PSS 1.0, TLJ 1.35).")
    tf: list[PosFloat] = Field(min_length=1, description="Preparation (fictive) temperatures T_f.")
    samples: int | list[int] = Field(1, description="Glass samples per T_f: one number, or one per T_f (001: N_g = 200, 50, 15).")
    units: list[str] | None = Field(None, description="Unit systems for this model (overrides study.units).")
    prepare: PrepareParams | None = None
    explore: ExploreParams | None = None
    paths: PathsParams | None = None
    quantum: QuantumParams | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v):
        if v is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", v):
            raise ValueError(f"must be letters, digits, '_', '.', '-' (got {v!r})")
        return v

    @field_validator("tf")
    @classmethod
    def _tf(cls, v):
        seen = set()
        for i, t in enumerate(v):
            if not math.isfinite(t):
                raise ValueError(f"[{i}] must be finite")
            if format_tf(t) in seen:
                raise ValueError(f"[{i}] duplicate T_f {t}")
            seen.add(format_tf(t))
        return v

    @field_validator("units")
    @classmethod
    def _units(cls, v):
        if v is not None:
            _check_units(v)
        return v

    @model_validator(mode="after")
    def _samples(self):
        if isinstance(self.samples, list):
            if len(self.samples) != len(self.tf):
                raise ValueError(f"samples: {len(self.samples)} values for {len(self.tf)} T_f (give one number or one per T_f)")
            for i, s in enumerate(self.samples):
                if s < 1:
                    raise ValueError(f"samples[{i}]: must be >= 1 (got {s})")
        elif self.samples < 1:
            raise ValueError(f"samples: must be >= 1 (got {self.samples})")
        return self

    @property
    def label(self) -> str:
        return self.name or self.model

    def samples_for(self, i_tf: int) -> int:
        return self.samples[i_tf] if isinstance(self.samples, list) else self.samples


class StudyConfig(_Section):
    """The whole study file."""

    study: StudySection
    models: list[ModelSpec] = Field(min_length=1, description="Glass models of the study, one `[[models]]` table each.")
    prepare: PrepareParams = Field(default_factory=PrepareParams)
    explore: ExploreParams = Field(default_factory=ExploreParams)
    paths: PathsParams = Field(default_factory=PathsParams)
    quantum: QuantumParams = Field(default_factory=QuantumParams)
    stats: StatsParams = Field(default_factory=StatsParams)
    report: ReportParams = Field(default_factory=ReportParams)
    execution: ExecutionParams = Field(default_factory=ExecutionParams)
    lattice: LatticeParams | None = Field(None, description="The lattice route (DPLM, 000): the tables of a `twolevel lattice cool` config ([lattice.lattice], [lattice.g], [lattice.start], [lattice.cooling], [lattice.measure], [lattice.run]); run.output is ignored (RUN/lattice/).")  # type: ignore[valid-type]
    harmonic: HarmonicParams | None = None
    search: SearchParams | None = Field(None, description="The learned search stage (twolevel.ml, docs/ml.md); off unless the table is given.")
    instanton: InstantonParams | None = None

    @model_validator(mode="after")
    def _unique(self):
        seen: dict[str, int] = {}
        for i, m in enumerate(self.models):
            if m.label in seen:
                raise ValueError(f"models[{i}].name: {m.label!r} already used by models[{seen[m.label]}] (give each entry a unique name)")
            seen[m.label] = i
        lat = self.lattice
        if lat is not None and not isinstance(lat, dict) and lat.cooling.T_end >= lat.start.T_I:
            raise ValueError(f"lattice.cooling.T_end: must be below lattice.start.T_I = {lat.start.T_I} (got {lat.cooling.T_end})")
        if lat is not None and not isinstance(lat, dict):
            try:
                lat.make_g()
            except InputError as exc:
                raise ValueError(f"lattice.g: {exc}") from None
        ex = self.execution
        if ex.scheduler is not None and ex.dask_local is not None:
            raise ValueError("execution: give either scheduler or dask_local, not both")
        return self

    @model_validator(mode="after")
    def _budget(self):
        for i, spec in enumerate(self.models):
            problem = task_budget_problem(self, spec)
            if problem:
                raise ValueError(f"models[{i}].{problem}")
        return self

    # ---------------------------------------------------------------- helpers
    def output_dir(self) -> Path:
        return Path(self.study.output) if self.study.output else Path("runs") / self.study.name

    def canonical(self) -> dict:
        """The config as plain JSON data, every default filled in (the frozen config)."""
        return json.loads(self.model_dump_json())

    def to_toml(self) -> str:
        """The frozen config as TOML text (None values left out)."""
        return _to_toml(self.canonical())


# --------------------------------------------------------------------------- resolution
def default_units(model: str) -> list[str]:
    return list(MODEL_DEFAULTS[model]["units"])


def resolved_stage_params(cfg: StudyConfig, spec: ModelSpec, stage: str) -> dict:
    """The parameters of ``stage`` for one model: study table, then the model's override, then model defaults."""
    base: BaseModel = getattr(cfg, stage)
    out = base.model_dump()
    over = getattr(spec, stage, None)
    if over is not None:
        for k in over.model_fields_set:
            out[k] = getattr(over, k)
    for key, val in MODEL_DEFAULTS[spec.model].items():
        st, _, field = key.partition(".")
        if st == stage and out.get(field) is None:
            out[field] = val
    if stage == "prepare" and out.get("T_quench") is None:
        out["T_quench"] = resolved_stage_params(cfg, spec, "explore")["temperature"]
    return out


# --------------------------------------------------------------------------- absurd sizes
#: refused above these estimates, per task (a config that asks for more is a typo, not a study)
MAX_TASK_BYTES = 2**40  # 1 TiB
MAX_TASK_CPU_S = 365.25 * 86400.0  # one CPU-year
#: particle-steps per second per core assumed by the time estimate: 100x more than measured for PSS
#: N = 1000 in 3D (7.6e5 on the project's 2-core machine under load, docs/reliability.md), so the
#: estimate is a lower bound and only configs that certainly cannot finish are refused
PARTICLE_STEPS_PER_S = 1e8


def _human_bytes(b: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if b < 1024 or unit == "EiB":
            return f"{b:.3g} {unit}"
        b /= 1024
    return f"{b:.3g} B"  # pragma: no cover


def task_budget_problem(cfg: StudyConfig, spec: ModelSpec) -> str | None:
    """'<key>: <why, with the estimate>' when one task of ``spec`` needs an absurd memory or time, else None.

    Memory: the largest stage's arrays, n x dim doubles for each of the band's images (paths, 6 arrays
    each) or 64 work arrays, plus a neighbour list of 200 entries per particle. Time: the MD of one
    exploration task, n_cg x runs x round(tau_cg / dt) steps of n particles, at PARTICLE_STEPS_PER_S.
    """
    n, dim = spec.n, spec.dim
    images = resolved_stage_params(cfg, spec, "paths")["images"]
    mem = n * dim * 8.0 * max(64, 6 * images) + n * 200 * 8.0
    if mem > MAX_TASK_BYTES:
        return (f"n: {n} particles need about {_human_bytes(mem)} of memory per task "
                f"(limit {_human_bytes(MAX_TASK_BYTES)})")
    ex = resolved_stage_params(cfg, spec, "explore")
    steps = ex["n_cg"] * ex["runs"] * max(1, round(ex["tau_cg"] / ex["dt"]))
    cpu = steps * float(n) / PARTICLE_STEPS_PER_S
    if cpu > MAX_TASK_CPU_S:
        return (f"explore: n_cg x runs x tau_cg/dt = {steps:.3g} MD steps of {n} particles take at least "
                f"{cpu / MAX_TASK_CPU_S:.3g} CPU-years per glass (limit 1); check n_cg, runs, tau_cg and dt")
    return None


def model_units(cfg: StudyConfig, spec: ModelSpec) -> list[str]:
    return list(spec.units or cfg.study.units or default_units(spec.model))


def parse_config(data: Mapping[str, Any], source: str = "config") -> StudyConfig:
    """Validate a config mapping (as read from TOML); raise a one-line InputError naming the key."""
    if not isinstance(data, Mapping):
        raise InputError(f"{source}: the config must be a table, got {type(data).__name__}")
    try:
        return StudyConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise config_error(exc, source, StudyConfig) from None


def load_config(path: str | os.PathLike) -> StudyConfig:
    """Read and validate a study TOML file."""
    from ..io.atomic import read_text

    p = Path(path)
    text = read_text(p)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{p}: not valid TOML ({exc})") from None
    return parse_config(data, source=str(p))


# --------------------------------------------------------------------------- TOML out
def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items() if x is not None) + "}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def _to_toml(data: dict) -> str:
    lines: list[str] = []

    def table(prefix: str, d: dict, array: bool = False) -> None:
        scalars = {k: v for k, v in d.items() if v is not None and not (isinstance(v, dict) and _is_section(k, v))
                   and not (isinstance(v, list) and v and all(isinstance(x, dict) for x in v))}
        lines.append(f"[[{prefix}]]" if array else f"[{prefix}]")
        for k, v in scalars.items():
            lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
        lines.append("")
        for k, v in d.items():
            if isinstance(v, dict) and _is_section(k, v):
                table(f"{prefix}.{k}", v)

    for k, v in data.items():
        if v is None:
            continue
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for item in v:
                table(k, item, array=True)
        elif isinstance(v, dict):
            table(k, v)
        else:
            lines.insert(0, f"{_toml_key(k)} = {_toml_value(v)}")
    return "\n".join(lines)


def _is_section(key: str, v: dict) -> bool:
    return isinstance(v, dict)


# --------------------------------------------------------------------------- docs
def _type_name(ann: Any) -> str:
    s = str(ann)
    s = s.replace("typing.", "").replace("NoneType", "None").replace("<class '", "").replace("'>", "")
    s = re.sub(r"Annotated\[(\w+), FieldInfo\([^]]*\)\]", r"\1", s)
    s = re.sub(r"twolevel\.pipeline\.config\.(\w+)", r"\1", s)
    return s


def _default_repr(f) -> str:
    if f.is_required():
        return "required"
    if f.default_factory is not None:
        try:
            v = f.default_factory()
        except TypeError:  # pragma: no cover
            return "(computed)"
        if isinstance(v, BaseModel):
            return "table defaults"
        return f"`{_toml_value(v)}`"
    if f.default is None:
        return "per model / none"
    return f"`{_toml_value(f.default)}`"


def _bounds(f) -> str:
    parts = []
    for m in f.metadata:
        for attr, op in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="), ("min_length", "len >=")):
            val = getattr(m, attr, None)
            if val is not None:
                parts.append(f"{op} {val}")
    return ", ".join(parts)


def render_markdown() -> str:
    """The config reference: one table per section, generated from the pydantic schema."""
    sections = [
        ("study", StudySection, "[study]"),
        ("models", ModelSpec, "[[models]]"),
        ("prepare", PrepareParams, "[prepare]"),
        ("explore", ExploreParams, "[explore]"),
        ("paths", PathsParams, "[paths]"),
        ("quantum", QuantumParams, "[quantum]"),
        ("stats", StatsParams, "[stats]"),
        ("report", ReportParams, "[report]"),
        ("execution", ExecutionParams, "[execution]"),
        ("harmonic", HarmonicParams, "[harmonic] (optional)"),
        ("search", SearchParams, "[search] (optional)"),
        ("instanton", InstantonParams, "[instanton] (optional)"),
    ]
    out = []
    for _, cls, title in sections:
        out.append(f"### `{title}`\n")
        out.append((cls.__doc__ or "").strip().split("\n")[0] + "\n")
        out.append("| key | type | default | constraint | meaning |")
        out.append("| --- | --- | --- | --- | --- |")
        for name, f in cls.model_fields.items():
            if cls is ModelSpec and name in ("prepare", "explore", "paths", "quantum"):
                continue
            desc = (f.description or "").replace("|", "\\|")
            typ = _type_name(f.annotation).replace("|", "\\|")
            out.append(f"| `{name}` | {typ} | {_default_repr(f)} | {_bounds(f)} | {desc} |")
        if cls is ModelSpec:
            out.append("| `prepare`, `explore`, `paths`, `quantum` | table | none | | Per-model overrides of the study-wide stage tables (same keys). |")
        out.append("")
    lat = _lattice_config_cls()
    if lat is not dict:
        out.append("### `[lattice]` (optional)\n")
        out.append("The lattice route (DPLM, 000_ac86d19d448073de.txt): the same tables as a `twolevel lattice cool` "
                   "config, one level down (`[lattice.cooling]` here is `[cooling]` there). Run once per study into "
                   "`RUN/lattice/` with the seed derived from the study seed; `run.output` and `run.progress` are ignored.\n")
        out.append("| key | type | default | constraint |")
        out.append("| --- | --- | --- | --- |")
        for sec, f0 in lat.model_fields.items():
            sub = f0.annotation
            for name, f in getattr(sub, "model_fields", {}).items():
                typ = _type_name(f.annotation).replace("|", "\\|")
                out.append(f"| `{sec}.{name}` | {typ} | {_default_repr(f)} | {_bounds(f)} |")
        out.append("")
    out.append("Model-dependent defaults (used where a key above says *per model*):\n")
    out.append("| model | explore.temperature | explore.dt | units |")
    out.append("| --- | --- | --- | --- |")
    for k, d in MODEL_DEFAULTS.items():
        out.append(f"| `{k}` | {d['explore.temperature']} | {d['explore.dt']} | {', '.join(d['units'])} |")
    out.append("")
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    print(render_markdown())
