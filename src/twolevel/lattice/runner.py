"""A full lattice job: samples, cooling, aggregation, theory, files and figures.

Run directory layout:
  config.toml        the frozen configuration
  provenance.json    version, git commit, seeds, timings, events/s, memory
  steps.parquet      one row per (sample, temperature step)
  summary.parquet    sample-averaged C_v (both estimators) with standard errors and theory
  diffusion.parquet  D(T) windows per sample
  results.json       fits c1, c3 with errors, theory (A13)/(A19), T_g and fragility
  maps_sampleK.npz   void occupation maps, traces, TLS tables (when maps_T is set)
  fig_*.png          figures like 000 Figs. 1, 2, 3, 4, 9
"""

from __future__ import annotations

import json
import platform
import resource
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np

from ..seeds import task_seed

from .analysis import cv_derivative, cv_fluctuation, fit_samples, glass_transition, sample_count_warnings
from ..errors import InputError
from .config import LatticeConfig
from .geometry import make_geometry
from .model import DPLM
from .protocol import CoolingOptions, cool
from . import theory


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                              cwd=Path(__file__).parent).stdout.strip() or None
    except Exception:  # noqa: BLE001
        return None


def sample_seed(seed: int, k: int) -> int:
    """Seed of lattice sample k: the package's one seed scheme (twolevel.seeds). The former
    ``seed * 1000003 + k`` collided: (0, 1000003) and (1, 0) gave the same sample."""
    return task_seed(seed, f"lattice/sample_{int(k)}") % 2**32  # the DPLM hashes 2 seed + 1 in 64 bits


def _progress_factory(enabled: bool, total_steps: int, samples: int):
    if not enabled:
        return None, None
    from ..progressbar import progress_bar

    bar = progress_bar(total=total_steps * samples, desc="cooling", unit="step")
    def cb(i, n, model):
        bar.update(1)
        if i % 20 == 0 or i == n:
            bar.set_postfix(T=f"{model.T:.4g}", events=f"{model.events:.3g}")

    return cb, bar


def run_cooling(cfg: LatticeConfig, outdir: str | Path | None = None, config_path: str | Path | None = None) -> dict:
    """Run cfg.run.samples independent cooling runs and write the run directory."""
    import pandas as pd

    from .protocol import temperature_steps

    from .config import check_fit_window

    if cfg.cooling.T_end >= cfg.start.T_I:
        raise InputError("lattice config: cooling.T_end must be below start.T_I")
    check_fit_window(cfg)
    out = Path(outdir or cfg.run.output)
    out.mkdir(parents=True, exist_ok=True)
    if config_path is not None:
        shutil.copyfile(config_path, out / "config.toml")
    g = cfg.make_g()
    T_I = cfg.start.T_I
    opts = CoolingOptions(nu=cfg.cooling.nu, T_end=cfg.cooling.T_end, dT_rel=cfg.cooling.dT_rel,
                          dT_max=cfg.cooling.dT_max, maps_T=tuple(cfg.measure.maps_T), map_hops=cfg.measure.map_hops,
                          trace_voids=cfg.measure.trace_voids,
                          returns_from_snapshots=cfg.measure.returns_from_snapshots, D_every=cfg.measure.D_every)
    nsteps = len(temperature_steps(T_I, opts.T_end, opts.dT_rel, opts.dT_max)) - 1
    cb, bar = _progress_factory(cfg.run.progress, nsteps, cfg.run.samples)
    frames, dframes, runs_meta, maps_all = [], [], [], []
    t0 = time.perf_counter()
    ident = _checkpoint_ident(cfg)
    for k in range(cfg.run.samples):
        stored = _load_sample(out, k, ident)
        if stored is not None:  # a finished sample of an interrupted run, with its void maps if any
            steps_k, diff_k, meta_k, maps_k = stored
            if maps_k:
                geom = make_geometry(cfg.lattice.kind, cfg.lattice.L)
                if not (out / f"maps_sample{k}.npz").is_file():
                    _save_maps(out / f"maps_sample{k}.npz", maps_k, geom.L)
                maps_all.append((k, maps_k, geom))
            if bar is not None:
                bar.update(nsteps)
        else:
            model = DPLM(cfg.lattice.kind, cfg.lattice.L, cfg.lattice.phi_v, g, seed=sample_seed(cfg.run.seed, k),
                         w0=cfg.run.w0)
            setup = model.start(T_I, cfg.start.method, cfg.start.void_sweeps)
            r = cool(model, T_I, opts, progress=cb)
            steps_k, diff_k = r.steps, r.diffusion
            meta_k = {"sample": k, "seed": sample_seed(cfg.run.seed, k), "setup_s": setup.seconds,
                      "void_contacts": setup.n_vv, "memory_bytes_arrays": model.memory_bytes(), **r.meta,
                      "phi_v": model.phi_v, "z": model.geom.z}
            if r.maps:
                _save_maps(out / f"maps_sample{k}.npz", r.maps, model.geom.L)
                maps_all.append((k, r.maps, model.geom))
            _save_sample(out, k, ident, steps_k, diff_k, meta_k, r.maps)
        df = pd.DataFrame(steps_k)
        df.insert(0, "sample", k)
        frames.append(df)
        dd = pd.DataFrame(diff_k)
        dd.insert(0, "sample", k)
        dframes.append(dd)
        runs_meta.append(meta_k)
        N, nv, phi_v, z = meta_k["N"], meta_k["nv"], meta_k["phi_v"], meta_k["z"]
    if bar is not None:
        bar.close()
    wall = time.perf_counter() - t0
    steps = pd.concat(frames, ignore_index=True)
    steps["Cv_fluct"] = cv_fluctuation(steps["T"].to_numpy(), steps["E_var"].to_numpy(), N)
    steps["Cv_deriv"] = np.concatenate([cv_derivative(f["T"].to_numpy(), f["E_mean"].to_numpy(), N,
                                                      cfg.measure.cv_window_rel) for f in frames])
    steps.to_parquet(out / "steps.parquet")
    diff = pd.concat(dframes, ignore_index=True)
    diff.to_parquet(out / "diffusion.parquet")

    T = frames[0]["T"].to_numpy()
    CF = steps.pivot(index="sample", columns="T", values="Cv_fluct")[np.sort(np.unique(T))].to_numpy()[:, ::-1]
    CD = steps.pivot(index="sample", columns="T", values="Cv_deriv")[np.sort(np.unique(T))].to_numpy()[:, ::-1]
    Ts = np.sort(np.unique(T))[::-1]
    ns = CF.shape[0]
    dist = theory.delta_e_distribution(g, T_I, z)
    P0, P2 = dist.derivatives0()
    c1_conv, c3_conv = theory.c_from_P(P0, P2, phi_v, z)
    cv_th = theory.cv_exact(dist, Ts, phi_v, emax=theory.delta_e_max(Ts, opts.nu, cfg.run.w0)) / (1 - phi_v)
    summary = pd.DataFrame({
        "T": Ts, "Cv_fluct": CF.mean(0), "Cv_fluct_err": CF.std(0, ddof=1) / np.sqrt(ns) if ns > 1 else np.nan,
        "Cv_deriv": np.nanmean(CD, 0), "Cv_deriv_err": np.nanstd(CD, 0, ddof=1) / np.sqrt(ns) if ns > 1 else np.nan,
        "Cv_theory_A5": cv_th, "Cv_theory_A13": c1_conv * Ts + c3_conv * Ts**3,
        "q": steps.groupby("T")["q"].mean().reindex(Ts).to_numpy(),
    })
    for a, b, name in (("p_prev", "p_ret", "P_ret"), ("v_prev", "v_ret", "Q_ret"), ("p_prev_snap", "p_ret_snap",
                       "P_ret_snap"), ("v_prev_snap", "v_ret_snap", "Q_ret_snap")):
        gsum = steps.groupby("T")[[a, b]].sum().reindex(Ts)
        with np.errstate(invalid="ignore", divide="ignore"):
            summary[name] = (gsum[b] / gsum[a]).to_numpy()
    summary.to_parquet(out / "summary.parquet")

    Tmin = cfg.measure.fit_T_min or 0.1 * T_I
    Tmax = cfg.measure.fit_T_max or 0.6 * T_I
    fit_f = fit_samples(Ts, CF, Tmin, Tmax)
    fit_d = fit_samples(Ts, CD, Tmin, Tmax)
    # the per-sample scatter of c1, c3 expected from the exact theory (independent hop slots, 000 Eqs. (A5),
    # (A16)), and the sample count for +-10 % (docs/lattice.md, "How many samples")
    sc = theory.sample_scatter(dist, Ts, phi_v, N + nv, Tmin, Tmax,
                               emax=theory.delta_e_max(Ts, opts.nu, cfg.run.w0))
    need, warns = sample_count_warnings(ns, sc, N, phi_v)
    results = {
        "fit_window": [Tmin, Tmax], "fit_fluctuation": fit_f, "fit_derivative": fit_d,
        "sample_statistics": {"per_sample_rel_std_theory": {"c1": sc["rel_c1"], "c3": sc["rel_c3"]},
                              "expected_err": {k: abs(sc[f"mean_{k}"]) * sc[f"rel_{k}"] / np.sqrt(ns)
                                               for k in ("c1", "c3")},
                              "samples_needed_10pct": need},
        "warnings": warns,
        "theory_A13_convolution": {"P0": P0, "P2": P2, "c1": c1_conv, "c3": c3_conv},
        "theory_fit_A5_same_window": theory_fit(Ts, cv_th, Tmin, Tmax),
        "N": N, "phi_v": phi_v, "z": z, "T_I": T_I, "samples": ns,
    }
    if g.uniform is not None and z in (4, 6) and g.uniform[0] == 0.0:
        c1c, c3c = theory.closed_form_c(T_I, phi_v, z, g.uniform[1])
        results["theory_closed_form"] = {"c1": c1c, "c3": c3c, "equation": "A19" if z == 4 else "A21"}
    Dm = diff.groupby(np.round(diff["T"], 5))["D"].mean()
    results["glass_transition"] = glass_transition(Dm.index.to_numpy(), Dm.to_numpy(), cfg.measure.D_ref)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    prov = {"twolevel_version": _version(), "git_commit": _git_commit(), "python": platform.python_version(),
            "machine": platform.machine(), "wall_s": wall, "peak_rss_MB": ru.ru_maxrss / 1024.0,
            "samples": runs_meta}
    (out / "results.json").write_text(json.dumps(_clean(results), indent=2))
    (out / "provenance.json").write_text(json.dumps(_clean(prov), indent=2))
    if cfg.run.figures:
        from . import figures

        figures.cooling_figures(out, summary, steps, diff, results, maps_all, T_I)
    return {"results": results, "summary": summary, "steps": steps, "provenance": prov, "outdir": out}


def theory_fit(T, cv, Tmin, Tmax):
    from .analysis import fit_c1_c3

    r = fit_c1_c3(T, cv, Tmin, Tmax)
    return {"c1": r["c1"], "c3": r["c3"]}


# --------------------------------------------------------------------------- per-sample checkpoints
CHECKPOINT_DIR = ".checkpoint"  # hidden: not an artefact; RUN/lattice/.checkpoint/sample_<k>.npz


def _checkpoint_ident(cfg: LatticeConfig) -> str:
    """What a stored sample depends on: the whole config except the sample count and the output options."""
    d = cfg.model_dump(mode="json")
    for key in ("samples", "output", "figures", "progress"):
        d["run"].pop(key, None)
    return json.dumps(d, sort_keys=True)


_LEAF_TYPES = {"ndarray": None, "list": list, "int": int, "float": float, "bool": bool, "float64": np.float64,
               "int64": np.int64, "str": str}


def _flatten_maps(maps: list) -> tuple[dict, dict]:
    """The void maps of a sample (nested dicts of arrays, lists and scalars, lattice.protocol.cool) as
    flat npz arrays plus the type of each leaf, so that they come back exactly."""
    arrays, kinds = {}, {}

    def walk(prefix, obj):
        if isinstance(obj, dict):
            for key, v in obj.items():
                walk(f"{prefix}/{key}", v)
            return
        kind = type(obj).__name__ if not isinstance(obj, np.ndarray) else "ndarray"
        if kind not in _LEAF_TYPES:
            raise TypeError(f"cannot store {prefix} of type {kind} in a lattice checkpoint")
        arrays[prefix] = np.asarray(obj)
        kinds[prefix] = kind

    for i, mp in enumerate(maps):
        walk(f"maps/{i}", mp)
    return arrays, kinds


def _unflatten_maps(data: dict, kinds: dict) -> list:
    maps: dict[int, dict] = {}
    for key, kind in kinds.items():
        parts = key.split("/")[1:]
        node = maps.setdefault(int(parts[0]), {})
        for p in parts[1:-1]:
            node = node.setdefault(p, {})
        v = data[key]
        conv = _LEAF_TYPES[kind]
        node[parts[-1]] = v if conv is None else (v.tolist() if conv is list else conv(v.item() if conv in (int, float, bool, str) else v))
    return [maps[i] for i in sorted(maps)]


def _save_sample(out: Path, k: int, ident: str, steps: dict, diffusion: dict, meta: dict, maps: list | None = None) -> None:
    """Store one finished sample (atomically), its void maps included, so that a killed run does not
    cool it again (issue #17 item 13)."""
    from ..io.atomic import atomic_write

    d = out / CHECKPOINT_DIR
    d.mkdir(exist_ok=True)
    arrays = {f"steps/{c}": np.asarray(v) for c, v in steps.items()}
    arrays.update({f"diffusion/{c}": np.asarray(v) for c, v in diffusion.items()})
    arrays["ident"] = np.array(ident)
    arrays["meta"] = np.array(json.dumps(_clean(meta)))
    m_arrays, kinds = _flatten_maps(maps or [])
    arrays.update(m_arrays)
    arrays["map_kinds"] = np.array(json.dumps(kinds))
    atomic_write(d / f"sample_{k}.npz", lambda tmp: np.savez(tmp, **arrays))


def _load_sample(out: Path, k: int, ident: str) -> tuple[dict, dict, dict, list] | None:
    """A stored sample, or None: missing, of another config, or damaged (zip CRC; warned and removed)."""
    import warnings

    p = out / CHECKPOINT_DIR / f"sample_{k}.npz"
    if not p.is_file():
        return None
    try:
        with np.load(p, allow_pickle=False) as z:
            data = {key: z[key] for key in z.files}
        if str(data["ident"]) != ident:
            return None
        meta = json.loads(str(data["meta"]))
        steps = {key.split("/", 1)[1]: v for key, v in data.items() if key.startswith("steps/")}
        diffusion = {key.split("/", 1)[1]: v for key, v in data.items() if key.startswith("diffusion/")}
        maps = _unflatten_maps(data, json.loads(str(data["map_kinds"]))) if "map_kinds" in data else []
    except Exception as exc:  # noqa: BLE001 - a damaged checkpoint is discarded, never trusted
        warnings.warn(f"{p}: unreadable sample checkpoint ({' '.join(str(exc).split())}); cooling it again",
                      RuntimeWarning, stacklevel=3)
        p.unlink(missing_ok=True)
        return None
    return steps, diffusion, meta, maps


def _save_maps(path: Path, maps: list, L: int) -> None:
    arrs = {}
    for i, mp in enumerate(maps):
        w, tr, cl = mp["window"], mp["trace"], mp["classes"]
        arrs[f"w{i}_T"] = np.array([mp["T_start"], mp["T_end"], mp["T_target"]])
        arrs[f"w{i}_p_void"] = w["p_void"]
        arrs[f"w{i}_start_sites"] = w["start_sites"]
        arrs[f"w{i}_vis_n"] = w["vis_n"]
        arrs[f"w{i}_tls"] = np.array(cl["tls"].tolist(), dtype=np.float64).reshape(-1, 6)
        arrs[f"w{i}_trace_t"] = tr["t"]
        arrs[f"w{i}_trace_who"] = tr["who"]
        arrs[f"w{i}_trace_pos"] = tr["pos"]
        arrs[f"w{i}_trace_voids"] = np.array(tr["voids"], dtype=np.int64)
    arrs["L"] = np.array([L])
    from ..io.atomic import atomic_write

    atomic_write(path, lambda tmp: np.savez_compressed(tmp, **arrs))


def _version() -> str:
    try:
        from .. import __version__

        return __version__
    except Exception:  # noqa: BLE001
        return "unknown"


def _clean(o):
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items() if k != "dist"}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, (np.floating, float)):
        return None if not np.isfinite(o) else float(o)
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.ndarray):
        return _clean(o.tolist())
    return o
