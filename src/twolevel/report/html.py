"""The HTML report of a study: ``index.html`` + ``figures/*.png`` + ``data/*.csv`` + ``summary.json``.

:func:`write_report` reads a run directory (or takes tables in memory), computes
the statistics with :func:`twolevel.stats.summarise` and writes a directory that a
person opens in a browser: plain HTML and CSS, PNG figures referenced by relative
paths (``embed=True`` inlines them for a single self-contained file), no
JavaScript. Every section is optional: what is missing (no exploration times, no
configurations, no lattice or harmonic results) is said in one line instead of a
figure. docs/report.md describes the sections and the files.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html as _html
import importlib
import json
import pkgutil
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from .. import stats as st
from ..errors import InputError
from ..io.atomic import atomic_open
from ..layout import (BANDS, GLASS, HARMONIC, HARMONIC_INDEX, IS_CONFIGS, LATTICE, LATTICE_RESULTS,
                      PREPARE_META, REPORT, STATS, STATS_JSON, STATS_TABLES)
from . import stats_figs as sf

__all__ = ["write_report", "Section", "SUMMARY_KEYS"]

#: keys of every group entry of summary.json
SUMMARY_KEYS = ("model", "T_f", "units", "m_tilde", "kT_Q", "n0", "n0_err", "n0_lo", "n0_hi", "n0_lo95", "n0_hi95",
                "n0_upper95", "count", "n0_SI", "n0_SI_err", "n0_SI_lo", "n0_SI_hi", "n0_SI_upper95",
                "N_g", "N", "N_IS", "N_DW", "N_TLS", "n_active", "n_TLS", "N_IS_per_N_g", "N_DW_per_N_IS",
                "N_TLS_per_N_DW", "e_lo", "e_hi", "order", "c1", "c1_over_pi2n0_6", "tau_cg", "N_cg", "tau_total",
                "N_rows", "N_excluded", "N_paths_not_ok")

CSS = """
body{font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;color:#1d2430;background:#f6f7f9;line-height:1.45}
header{background:#1f3b57;color:#fff;padding:1.4em 2em}
header h1{margin:0 0 .2em 0;font-weight:600}
header p{margin:.2em 0;opacity:.85}
nav{background:#fff;border-bottom:1px solid #dde2e8;padding:.5em 2em;position:sticky;top:0;z-index:2}
nav a{margin-right:1.1em;color:#1f5f99;text-decoration:none;font-size:.92em}
main{max-width:1150px;margin:0 auto;padding:1em 2em 3em 2em}
section{background:#fff;border:1px solid #dde2e8;border-radius:8px;padding:1em 1.4em;margin:1.2em 0}
h2{margin-top:.2em;color:#1f3b57;font-weight:600}
h3{color:#2c4a66;font-weight:600;margin-bottom:.3em}
figure{margin:1em 0;text-align:center}
figure img{max-width:100%;border:1px solid #e6e9ee;border-radius:4px}
figcaption{font-size:.9em;color:#4a5566;text-align:left;margin-top:.4em}
table{border-collapse:collapse;font-size:.86em;margin:.6em 0;display:block;overflow-x:auto}
th,td{border-bottom:1px solid #e3e7ec;padding:.3em .6em;text-align:right;white-space:nowrap}
th{background:#eef2f6;color:#1f3b57;position:sticky;top:0}
td:first-child,th:first-child{text-align:left}
.note{color:#6b7480;font-style:italic}
.warn{color:#9a4a00}
.big{font-size:1.15em}
pre{background:#f1f3f6;padding:.8em;border-radius:6px;overflow-x:auto;font-size:.82em;max-height:30em}
code{background:#f1f3f6;padding:0 .25em;border-radius:3px}
.files li{margin:.15em 0}
"""


@dataclass
class Section:
    """One part of the report: a title, an explanatory text (HTML), figures and tables."""

    key: str
    title: str
    text: str = ""
    figures: list[tuple[Path, str]] = field(default_factory=list)  # (png path, caption)
    tables: list[tuple[str, str]] = field(default_factory=list)  # (caption, html table)
    notes: list[str] = field(default_factory=list)
    html: str = ""  # extra raw HTML


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------
def _esc(s: Any) -> str:
    return _html.escape(str(s))


#: table columns whose cells are already HTML (built here from numbers, not escaped again)
_RAW_COLS = frozenset({"n0_text", "n0_SI_text"})


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):d}"
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            return "–"
        if v == int(v) and abs(v) < 1e7:
            return f"{int(v):d}"
        a = abs(v)
        if a != 0 and (a < 1e-3 or a >= 1e5):
            return f"{v:.3g}"
        return f"{v:.4g}"
    return _esc(v)


def _table_html(df: pd.DataFrame, columns: Mapping[str, str] | None = None, max_rows: int = 200) -> str:
    if df is None or not len(df):
        return "<p class='note'>(empty)</p>"
    cols = [c for c in (columns or {c: c for c in df.columns}) if c in df.columns]
    names = columns or {c: c for c in cols}
    head = "".join(f"<th>{names[c]}</th>" for c in cols)
    body = []
    for _, r in df.head(max_rows).iterrows():
        body.append("<tr>" + "".join(f"<td>{r[c] if c in _RAW_COLS else _fmt(r[c])}</td>" for c in cols) + "</tr>")
    more = f"<p class='note'>{len(df) - max_rows} more rows in the CSV file</p>" if len(df) > max_rows else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(name))


def _write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "w") as fh:
        fh.write(text)
    return path


def _write_csv(path: Path, df: pd.DataFrame) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "w") as fh:
        (df if df is not None else pd.DataFrame()).to_csv(fh, index=False)
    return path


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating, float)):
        return None if not np.isfinite(o) else float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.bool_,)):
        return bool(o)
    if isinstance(o, Path):
        return str(o)
    return str(o)


def _clean(v):
    """JSON-safe scalar (NaN -> None)."""
    if isinstance(v, (np.floating, float)):
        return float(v) if np.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


class _Figs:
    """Draws figures, records failures as notes instead of raising."""

    def __init__(self, out: Path):
        self.out = out
        self.dir = out / "figures"
        self.dir.mkdir(parents=True, exist_ok=True)

    def draw(self, sec: Section, name: str, fn: Callable, *args, caption: str = "", **kw) -> None:
        path = self.dir / f"{_safe(name)}.png"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # degenerate axis limits of tiny data sets
                fn(*args, path=path, **kw)
            sec.figures.append((path, caption))
        except Exception as exc:  # noqa: BLE001 - a broken figure must not sink the report
            sec.notes.append(f"figure {name} could not be drawn: {type(exc).__name__}: {exc}".splitlines()[0])


# ----------------------------------------------------------------------------
# inputs
# ----------------------------------------------------------------------------
def _tables_from(source, samples) -> tuple[st.StudyTables | None, str | None]:
    if isinstance(source, st.StudyTables):
        return source, None
    if isinstance(source, Mapping):
        if "samples" not in source or "tls" not in source:
            raise InputError("write_report: a dict of tables needs 'samples' and 'tls'")
        return st.StudyTables(pd.DataFrame(source["samples"]), pd.DataFrame(source["tls"]),
                              source.get("inherent_structures"), source.get("double_wells"),
                              list(source.get("incomplete", [])), source.get("path_results")), None
    try:
        return st.load_study(source, samples), None
    except InputError as exc:
        return None, str(exc)


def _stats_settings(stats_dir) -> dict:
    if stats_dir is None:
        return {}
    return _read_json_file(Path(stats_dir) / STATS_JSON).get("settings", {})


def _summary_from_stats(stats_dir) -> st.Summary | None:
    """The statistics the stats stage wrote (``stats.json`` and its tables, twolevel.stats.study_stats),
    as a :class:`twolevel.stats.Summary`; None when any part is missing or unreadable, so that the
    report computes them itself instead."""
    if stats_dir is None:
        return None
    d = _read_json_file(Path(stats_dir) / STATS_JSON)
    if not isinstance(d.get("settings"), dict) or not isinstance(d.get("groups"), list):
        return None
    frames = {}
    for name in STATS_TABLES:
        p = Path(stats_dir) / f"{name}.csv"
        try:
            frames[name] = pd.read_csv(p)
        except pd.errors.EmptyDataError:
            frames[name] = pd.DataFrame()
        except (OSError, ValueError):
            return None
    if len(frames["table"]) != len(d["groups"]):
        return None  # tables from another run of the stage than stats.json
    for k in ("excluded", "paths_not_ok"):
        if k in frames["table"]:
            frames["table"][k] = frames["table"][k].astype(object).where(frames["table"][k].notna(), "")
    return st.Summary(frames["table"], frames["curves"], frames["heat_capacity"], frames["time"],
                      frames["decomposition"], frames["samples"], dict(d["settings"]), frames["exclusions"])


# ----------------------------------------------------------------------------
# the lowest-E TLS in real space
# ----------------------------------------------------------------------------
def _lowest_tls_section(S: st.Summary, tables: st.StudyTables, figs: _Figs, snapshot: Mapping | None) -> Section:
    sec = Section("lowest", "The lowest-splitting double well",
                  "The double well with the smallest tunnel splitting E of the study, for the first unit system: "
                  "its profile V(&xi;) along the minimum energy path with the two lowest levels of the 1D "
                  "Schrödinger equation, and its particles sized and coloured by their displacement between the "
                  "two minima, normalised to the largest (as in 001 Fig. 4 and 002 Fig. 8). The most displaced "
                  "particles (about PR of them) are drawn opaque, the others faded.")
    tls = tables.tls
    if tls is None or not len(tls):
        sec.notes.append("no double wells")
        return sec
    lab = str(tls["units"].iloc[0])
    t = tls[(tls["units"].astype(str) == lab) & np.isfinite(tls["E"].to_numpy(dtype=float)) & (tls["E"] > 0)]
    if not len(t):
        sec.notes.append("no double well with a finite splitting")
        return sec
    r = t.loc[t["E"].idxmin()]
    info = {k: r[k] for k in ("model", "T_f", "sample", "dw_id", "units", "E", "Delta", "Delta_0", "Gamma", "dV", "V_b", "d", "PR")
            if k in r.index}
    sec.tables.append(("Its parameters (energies in epsilon, Gamma in epsilon/hbar, d in sigma).",
                       _table_html(pd.DataFrame([info]))))
    # profile: from the catalogue (xi, V) or bands.h5
    xi = V = None
    dw = tables.double_wells
    if dw is not None and len(dw) and {"xi", "V", "dw_id"} <= set(dw.columns):
        m = dw[(dw["model"] == r["model"]) & (dw["T_f"] == r["T_f"]) & (dw["sample"] == r["sample"]) & (dw["dw_id"] == r["dw_id"])]
        if len(m):
            xi, V = np.asarray(m["xi"].iloc[0], dtype=float), np.asarray(m["V"].iloc[0], dtype=float)
    sample_dir = None
    if "dir" in tables.samples.columns:
        sm = tables.samples[(tables.samples["model"] == r["model"]) & (tables.samples["T_f"] == r["T_f"]) & (tables.samples["sample"] == r["sample"])]
        if len(sm):
            sample_dir = Path(sm["dir"].iloc[0])
    snap = dict(snapshot) if snapshot else None
    if sample_dir is not None and snap is None:
        snap, prof = _read_snapshot(sample_dir, int(r["dw_id"]))
        if xi is None and prof is not None:
            xi, V = prof
    if xi is not None and V is not None and len(xi) >= 2:
        levels = None
        if "levels" in r.index and r["levels"] is not None:
            levels = np.asarray(r["levels"], dtype=float)
        elif {"e1", "e2"} <= set(r.index):
            levels = np.array([r["e1"], r["e2"]], dtype=float)
        figs.draw(sec, "lowest_tls_profile", sf.fig_profile, xi, V, levels=levels,
                  title=f"dw {r['dw_id']}, {r['model']} T_f={r['T_f']:g} sample {r['sample']}, E = {r['E']:.3g}",
                  caption="Profile V(&xi;) at the band images (lower minimum at 0) and the levels "
                          "&#8496;<sub>1</sub>, &#8496;<sub>2</sub> (their difference is E; levels measured from the lower minimum).")
    else:
        sec.notes.append("no profile V(&xi;) stored for this double well")
    if snap is not None:
        figs.draw(sec, "lowest_tls_snapshot", sf.fig_snapshot, snap["positions"], snap["box"], snap["displacement"],
                  diameters=snap.get("diameters"), title=f"dw {r['dw_id']}: displacement between the two minima",
                  caption="Real-space picture (periodic box, centred on the most displaced particle).")
    else:
        sec.notes.append("configurations of the two minima not available (paths/bands.h5 with x_low and displacement, "
                         "and the box from explore/is_configs.h5 or prepare/glass.h5)")
    return sec


def _read_snapshot(sample_dir: Path, dw_id: int):
    """(snapshot dict or None, (xi, V) or None) from paths/bands.h5 of a sample."""
    snap = prof = None
    bands = sample_dir / "paths" / BANDS
    if not bands.is_file():
        return None, None
    try:
        import h5py

        with h5py.File(bands, "r") as f:
            g = f.get(str(dw_id))
            if g is None:
                return None, None
            if "xi" in g and "V" in g:
                prof = (g["xi"][()], g["V"][()])
            if "x_low" in g and "displacement" in g:
                x = np.asarray(g["x_low"][()], dtype=float)
                disp = np.asarray(g["displacement"][()], dtype=float)
                box = diam = None
                isc = sample_dir / "explore" / IS_CONFIGS
                if isc.is_file():
                    with h5py.File(isc, "r") as h:
                        if "meta" in h and "box" in h["meta"]:
                            box = h["meta"]["box"][()]
                            diam = h["meta"]["diameters"][()] if "diameters" in h["meta"] else None
                if box is None:
                    glass = sample_dir / "prepare" / GLASS
                    if glass.is_file():
                        from ..io import read as _read

                        c = _read(glass)
                        box, diam = c.box, c.diameters
                if box is not None:
                    box = np.asarray(box, dtype=float)
                    x = x.reshape(-1, box.size)
                    snap = {"positions": x, "box": box, "displacement": disp.reshape(-1), "diameters": diam}
    except (OSError, KeyError, ValueError):
        return snap, prof
    return snap, prof


# ----------------------------------------------------------------------------
# optional sections: lattice, harmonic, plug-ins, provenance
# ----------------------------------------------------------------------------
def _json_table(path: Path, max_items: int = 40) -> str:
    try:
        d = json.loads(path.read_text())
    except (OSError, ValueError):
        return ""
    if not isinstance(d, dict):
        return ""
    rows = [(k, v) for k, v in d.items()
            if isinstance(v, (int, float, bool)) or (isinstance(v, str) and len(v) < 80)]
    if not rows:
        return ""
    body = "".join(f"<tr><td>{_esc(k)}</td><td>{_fmt(v)}</td></tr>" for k, v in rows[:max_items])
    return f"<table><thead><tr><th>key</th><th>value</th></tr></thead><tbody>{body}</tbody></table>"


def _bookkeeping(p: Path) -> bool:
    """Pipeline bookkeeping (``.task.json``, ``*.done.json`` markers, locks) and figure records
    (``*.axes.json``): never shown as results."""
    return p.name.startswith(".") or p.name.endswith((".done.json", ".axes.json")) or p.suffix == ".lock"


def _copy_figure(p: Path, root: Path, dest: Path) -> Path:
    """Copy a PNG (and its ``.axes.json`` record, if any) under the report; returns the copy."""
    from ._mpl import axes_path

    q = dest / _safe(str(p.relative_to(root)).replace("/", "__"))
    q.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(p, q)
    if axes_path(p).is_file():
        shutil.copyfile(axes_path(p), axes_path(q))
    return q


def _files_section(key: str, title: str, text: str, root: Path, pngs: list[Path], jsons: list[Path], out: Path) -> Section:
    sec = Section(key, title, text)
    dest = out / "figures" / key
    for p in pngs[:40]:
        sec.figures.append((_copy_figure(p, root, dest), f"<code>{_esc(p.relative_to(root))}</code>"))
    if len(pngs) > 40:
        sec.notes.append(f"{len(pngs) - 40} more figures under {root}")
    for j in [j for j in jsons if not _bookkeeping(j)][:10]:
        t = _json_table(j)
        if t:
            sec.tables.append((f"<code>{_esc(j.relative_to(root))}</code>", t))
    return sec


def _pm(v, err) -> str:
    """``v ± err`` (HTML) from a results record; "–" when ``v`` is missing."""
    if not isinstance(v, (int, float)) or not np.isfinite(v):
        return "–"
    if isinstance(err, (int, float)) and np.isfinite(err):
        return f"{v:.3g} &plusmn; {err:.2g}"
    return f"{v:.3g}"


#: the lattice figures in the order the section shows them, with their captions (000's figures)
_LATTICE_FIGS = {
    "fig_cv.png": "000 Fig. 1: (a) C<sub>v</sub>(T) from the energy fluctuations and from N<sup>-1</sup>dE/dT; "
                  "(b) C<sub>v</sub>/T against T&sup2;: the intercept is c<sub>1</sub>, the slope c<sub>3</sub>; "
                  "dashed: the exact theory (000 Eqs. (A13), (A19)), red: the fit.",
    "fig_cv_loglog.png": "000 Fig. 9(b): C<sub>v</sub> on log-log axes with slope-1 and slope-3 guides.",
    "fig_void_maps.png": "000 Fig. 2: void occupation maps.",
    "fig_tls_traces.png": "000 Fig. 3: trajectories of the voids that act as two-level systems.",
    "fig_returns.png": "000 Fig. 4: return probabilities P<sub>ret</sub>, Q<sub>ret</sub>.",
    "fig_diffusion.png": "Diffusion coefficient D(T) and the glass transition.",
}


def _lattice_section(lat: Path, run_dir: Path, out: Path) -> Section:
    """c1, c3 measured (with errors) next to the exact theory, the C_v/T figure, void maps and TLS
    trajectories where the lattice stage drew them (000_ac86d19d448073de.txt Sec. V, App. A)."""
    sec = Section("lattice", "Lattice route (DPLM)",
                  "The distinguishable-particle lattice model of 000, cooled by kinetic Monte Carlo. Its result is "
                  "the low-temperature heat capacity C<sub>v</sub> = c<sub>1</sub>T + c<sub>3</sub>T<sup>3</sup> "
                  "(000 Eq. (1)), fitted over the window below, against the exact theory of the same lattice: "
                  "c<sub>1</sub>, c<sub>3</sub> from the distribution of hop energies P(&Delta;E) (000 Eqs. (A13), "
                  "(A16)) and, for a uniform g(V) on a z = 4 or 6 lattice, their closed forms (000 Eqs. (A19), "
                  "(A21)). Errors are the standard errors over samples.")
    res = _read_json_file(lat / LATTICE_RESULTS)
    if not res:
        sec.notes.append("no lattice results (RUN/lattice/results.json): the lattice stage has not finished")
    else:
        fits = {"measured, Var(E)/(N T&sup2;)": res.get("fit_fluctuation") or {},
                "measured, N<sup>-1</sup>dE/dT": res.get("fit_derivative") or {}}
        th = res.get("theory_A13_convolution") or {}
        cf = res.get("theory_closed_form") or {}
        rows = []
        for name in ("c1", "c3"):
            r = {"": f"c<sub>{name[1]}</sub>"}
            for lab, f in fits.items():
                r[lab] = _pm(f.get(name), f.get(f"{name}_err"))
            r["exact theory (A13)"] = _pm(th.get(name), None)
            if cf:
                r[f"closed form ({_esc(cf.get('equation', ''))})"] = _pm(cf.get(name), None)
            f0, t0 = fits["measured, Var(E)/(N T&sup2;)"].get(name), th.get(name)
            ok = isinstance(f0, (int, float)) and isinstance(t0, (int, float)) and t0
            r["measured / theory"] = f"{f0 / t0:.3g}" if ok else "–"
            rows.append(r)
        head = "".join(f"<th>{k}</th>" for k in rows[0])
        body = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in r.values()) + "</tr>" for r in rows)
        win = res.get("fit_window") or [None, None]
        sec.tables.append((f"Fit window {_fmt(win[0])} &le; T &le; {_fmt(win[1])}; N = {_fmt(res.get('N'))}, "
                           f"&phi;<sub>v</sub> = {_fmt(res.get('phi_v'))}, z = {_fmt(res.get('z'))}, "
                           f"T<sub>I</sub> = {_fmt(res.get('T_I'))}, {_fmt(res.get('samples'))} sample(s).",
                           f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"))
        for w in res.get("warnings") or []:
            sec.notes.append(f"<span class='warn'>{_esc(w)}</span>")
    shown = set()
    for name, cap in _LATTICE_FIGS.items():
        p = lat / name
        if p.is_file():
            sec.figures.append((_copy_figure(p, run_dir, out / "figures" / "lattice"), cap))
            shown.add(p)
    if not (lat / "fig_void_maps.png").is_file():
        sec.notes.append("no void maps or TLS trajectories (000 Figs. 2, 3): set [lattice.measure] maps_T to record them")
    for p in sorted(lat.rglob("*.png")):
        if p not in shown and len(sec.figures) < 40:
            sec.figures.append((_copy_figure(p, run_dir, out / "figures" / "lattice"), f"<code>{_esc(p.relative_to(run_dir))}</code>"))
    for j in sorted(lat.rglob("*.json")):
        if not _bookkeeping(j) and j.name != LATTICE_RESULTS:
            t = _json_table(j)
            if t:
                sec.tables.append((f"<code>{_esc(j.relative_to(run_dir))}</code>", t))
    return sec


def _read_json_file(path: Path) -> dict:
    try:
        d = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return d if isinstance(d, dict) else {}


def _optional_sections(run_dir: Path | None, out: Path) -> list[Section]:
    secs = []
    if run_dir is None or not run_dir.is_dir():
        return secs
    lat = run_dir / LATTICE
    if lat.is_dir():
        secs.append(_lattice_section(lat, run_dir, out))
    modes = sorted(d for d in run_dir.glob("*/Tf_*/sample_*/modes") if d.is_dir())
    modes += sorted(d for d in (run_dir / HARMONIC,) if d.is_dir())
    if modes:
        pngs = sorted(p for d in modes for p in d.rglob("*.png"))
        jsons = sorted(p for d in modes for p in d.rglob("*.json"))
        sec = _files_section(
            "harmonic", "Harmonic route (modes, soft potentials)",
            "Vibrational modes, quasi-localized modes, elastic moduli and the soft-potential estimate of n0 (002 Sec. IV C, "
            "004), as written by the harmonic stage under <code>RUN/&lt;model&gt;/.../modes/</code>.", run_dir, pngs, jsons, out)
        cmp_png = _routes_comparison(run_dir, out)
        if cmp_png is not None:
            sec.figures.insert(0, (cmp_png, "A<sub>4</sub>&omega;<sub>D</sub><sup>5</sup> (harmonic route) against "
                                            "n<sub>0</sub> (TLS route), per model and T<sub>f</sub>, as 002 Fig. 10b"))
        secs.append(sec)
    else:
        sec = Section("harmonic", "Harmonic route (002 Fig. 10)")
        sec.notes.append("The harmonic route is off in this study (no <code>[harmonic]</code> section in the config), "
                         "so there is no A<sub>4</sub>&omega;<sub>D</sub><sup>5</sup> against n<sub>0</sub> "
                         "(002 Fig. 10b): add <code>[harmonic]</code> (docs/harmonic.md) to compute it.")
        secs.append(sec)
    inst = _instanton_section(run_dir, out)
    if inst is not None:
        secs.append(inst)
    return secs


def _instanton_section(run_dir: Path, out: Path) -> Section | None:
    """The optional instanton stage (docs/instanton.md): how far the 1D splittings are from the
    multidimensional ones, over the converged rows of every sample's instanton.parquet."""
    from .instanton_figs import collect, ratio_figure, summary

    df = collect(run_dir)
    if not len(df):
        return None
    sm = summary(df)
    sec = Section("instanton", "Beyond the 1D approximation: instanton splittings",
                  text="Ring-polymer instanton (Richardson and Althorpe 2011) and vibrationally adiabatic estimates "
                       "of the splitting of the lowest double wells, against the 1D Schrödinger result along the "
                       "minimum-energy path (docs/instanton.md). A row whose instanton did not converge keeps its "
                       "1D result.")
    sec.figures.append((ratio_figure(df, out / "instanton_ratios.png"),
                        "log10 of E<sub>inst</sub>/E<sub>1D</sub> and &Delta;<sub>0,inst</sub>/&Delta;<sub>0,1D</sub>"))
    status = ", ".join(f"{_esc(k)}: {v}" for k, v in sm.get("status", {}).items())
    sec.notes.append(f"{sm['rows']} double wells; instanton status {status}.")
    for col, lab in (("ratio_E_inst_1d", "E<sub>inst</sub>/E<sub>1D</sub>"),
                     ("ratio_D0_inst_1d", "&Delta;<sub>0,inst</sub>/&Delta;<sub>0,1D</sub>")):
        q = sm.get(col) or {}
        if q:
            sec.notes.append(f"{lab}: median {q['q50']:.3g} (5-95 %: {q['q5']:.3g} to {q['q95']:.3g}).")
    return sec


def _routes_comparison(run_dir: Path, out: Path) -> Path | None:
    """A4 omega_D^5 (harmonic route) against n0 (TLS route) per model and T_f, as 002 Fig. 10b.

    Needs RUN/harmonic/harmonic.json (the pipeline's harmonic stage) and RUN/stats/stats.json;
    uses the first unit system of the TLS table. Returns the figure's path, or None when either
    side is missing (the harmonic section then shows what it has).
    """
    hfile = run_dir / HARMONIC / HARMONIC_INDEX
    sfile = run_dir / STATS / STATS_JSON
    if not (hfile.is_file() and sfile.is_file()):
        return None
    try:
        h_index = json.loads(hfile.read_text())
        groups = json.loads(sfile.read_text()).get("groups") or []
    except (OSError, ValueError):
        return None
    units = next((g.get("units") for g in groups if g.get("units")), None)
    harmonic, tls = [], []
    for label, by_tf in h_index.items():
        for tf, rec in by_tf.items():
            summ = rec.get("summary") or {}
            if summ.get("A4_omega_D5") is None:
                continue
            harmonic.append({"label": f"{label} T_f={float(tf):g}", "A4_omega_D5": summ["A4_omega_D5"],
                             "A4_omega_D5_err": summ.get("A4_omega_D5_err")})
    for g in groups:
        if g.get("units") == units and g.get("n0") is not None:
            tls.append({"label": f"{g['model']} T_f={float(g['T_f']):g}", "n0": g["n0"], "n0_err": g.get("n0_err")})
    if not harmonic or not tls:
        return None
    from ..vibrations.softpotential import compare_routes
    from .vibrations_figs import plot_a4_vs_n0

    try:
        table = compare_routes(harmonic, tls, key="label")
    except Exception:  # noqa: BLE001 - a comparison that cannot be made is left out, not fatal
        return None
    table = table[(table["n0"] > 0) & (table["A4_omega_D5"] > 0)]
    if table.empty:
        return None
    return plot_a4_vs_n0(table, out / "figures" / "harmonic" / "a4_vs_n0.png")


def _plugin_sections(run_dir: Path | None, out: Path) -> list[Section]:
    """Sections from ``twolevel.report.<name>_figs`` modules that define ``report_sections``."""
    secs = []
    from . import __path__ as pkg_path

    for mi in pkgutil.iter_modules(pkg_path):
        if not mi.name.endswith("_figs") or mi.name == "stats_figs":
            continue
        try:
            mod = importlib.import_module(f"{__package__}.{mi.name}")
            fn = getattr(mod, "report_sections", None)
            if fn is None:
                continue
            for d in fn(run_dir, out) or []:
                s = Section(str(d.get("key", mi.name)), str(d.get("title", mi.name)), str(d.get("text", "")))
                for f in d.get("figures", []):
                    p, cap = (f, "") if isinstance(f, (str, Path)) else (f[0], f[1])
                    p = Path(p)
                    if not p.is_absolute():
                        p = out / p
                    if p.is_file():
                        s.figures.append((p, cap))
                for cap, df in d.get("tables", []):
                    s.tables.append((cap, _table_html(df) if isinstance(df, pd.DataFrame) else str(df)))
                secs.append(s)
        except Exception as exc:  # noqa: BLE001 - a broken plug-in must not sink the report
            s = Section(mi.name, mi.name)
            s.notes.append(f"section from {mi.name} failed: {type(exc).__name__}: {exc}".splitlines()[0])
            secs.append(s)
    return secs


def _provenance_section(run_dir: Path | None, config: Any, settings: dict, tables: st.StudyTables | None,
                        stats_source: Path | None = None) -> Section:
    from .. import __version__

    sec = Section("provenance", "Configuration and provenance",
                  "What produced these numbers: the study configuration, the provenance records found in the run "
                  "directory, and the settings of the statistics.")
    parts = []
    if config is not None:
        txt = config if isinstance(config, str) else json.dumps(config, indent=1, default=_json_default)
        parts.append(f"<h3>Configuration</h3><pre>{_esc(txt)}</pre>")
    if run_dir is not None and run_dir.is_dir():
        for p in sorted(run_dir.glob("*.toml")) + sorted(run_dir.glob("*.json")):
            try:
                txt = p.read_text()
            except OSError:
                continue
            if len(txt) > 20000:
                txt = txt[:20000] + "\n... (truncated)"
            parts.append(f"<h3><code>{_esc(p.name)}</code></h3><pre>{_esc(txt)}</pre>")
    parts.append("<h3>Statistics settings</h3><pre>" + _esc(json.dumps(settings, indent=1, default=_json_default)) + "</pre>")
    prov = {"twolevel version": __version__, "generated": _dt.datetime.now().isoformat(timespec="seconds"),
            "run directory": str(run_dir) if run_dir is not None else "(tables in memory)"}
    try:
        import subprocess

        here = Path(__file__).resolve().parent
        c = subprocess.run(["git", "-C", str(here), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5)
        if c.returncode == 0:
            prov["git commit"] = c.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    prov["statistics"] = (f"read from {stats_source}" if stats_source is not None
                          else "computed by the report (no stats.json, or settings given to write_report)")
    if tables is not None and tables.incomplete:
        prov["incomplete samples (left out)"] = len(tables.incomplete)
    parts.append("<h3>Report</h3>" + _table_html(pd.DataFrame([prov])))
    sec.html = "".join(parts)
    if tables is not None and tables.incomplete:
        sec.notes.append("incomplete samples: " + ", ".join(_esc(s) for s in tables.incomplete[:20]))
    return sec


# ----------------------------------------------------------------------------
# HTML
# ----------------------------------------------------------------------------
def _img_src(p: Path, out: Path, embed: bool) -> str:
    if embed:
        return "data:image/png;base64," + base64.b64encode(p.read_bytes()).decode()
    return p.relative_to(out).as_posix()


def _render(title: str, subtitle: str, sections: list[Section], out: Path, embed: bool, files: list[Path]) -> str:
    nav = "".join(f"<a href='#{_esc(s.key)}'>{_esc(s.title)}</a>" for s in sections)
    body = []
    for s in sections:
        h = [f"<section id='{_esc(s.key)}'><h2>{_esc(s.title)}</h2>"]
        if s.text:
            h.append(f"<p>{s.text}</p>")
        for cap, tab in s.tables:
            h.append(f"<p>{cap}</p>{tab}" if cap else tab)
        if s.html:
            h.append(s.html)
        for p, cap in s.figures:
            h.append(f"<figure><img src='{_img_src(p, out, embed)}' alt='{_esc(p.stem)}'>"
                     f"<figcaption>{cap} <a href='{p.relative_to(out).as_posix()}'>PNG</a></figcaption></figure>")
        for n in s.notes:
            h.append(f"<p class='note'>{n}</p>")
        h.append("</section>")
        body.append("".join(h))
    flist = "".join(f"<li><a href='{f.relative_to(out).as_posix()}'>{_esc(f.relative_to(out).as_posix())}</a></li>" for f in files)
    body.append(f"<section id='files'><h2>Files</h2><p>Every number of this page as CSV/JSON "
                f"(figures are in <code>figures/</code>):</p><ul class='files'>{flist}</ul></section>")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{_esc(title)}</title><style>{CSS}</style></head><body>"
            f"<header><h1>{_esc(title)}</h1><p>{subtitle}</p></header>"
            f"<nav>{nav}<a href='#files'>Files</a></nav><main>{''.join(body)}</main></body></html>")


_SUMMARY_COLS = {
    "model": "model", "T_f": "T<sub>f</sub>", "units": "units", "m_tilde": "m&#771;", "kT_Q": "k<sub>B</sub>T<sub>Q</sub> (&epsilon;)",
    "N_g": "N<sub>g</sub>", "count": "K (in window)", "N_TLS": "N<sub>TLS</sub>",
    "n0_text": "n<sub>0</sub> (&epsilon;<sup>-1</sup>/particle)",
    "n0_SI_text": "n<sub>0</sub> (J<sup>-1</sup> m<sup>-3</sup>)",
    "n_TLS": "n<sub>TLS</sub> = n<sub>0</sub>k<sub>B</sub>T<sub>Q</sub>", "n_active": "n<sub>active</sub>",
    "c1_over_pi2n0_6": "c<sub>1</sub> / (&pi;&sup2;n<sub>0</sub>/6)",
}
_COUNTS_COLS = {
    "model": "model", "T_f": "T<sub>f</sub>", "units": "units", "N_g": "N<sub>g</sub>", "N_IS": "N<sub>IS</sub>",
    "N_rows": "rows offered", "N_DW": "double wells used", "N_TLS": "TLS (E &lt; k<sub>B</sub>T<sub>Q</sub>)",
    "N_excluded": "rows excluded", "excluded": "excluded, why", "N_paths_not_ok": "paths not ok",
    "paths_not_ok": "paths not ok, why",
}
_TABLE1_COLS = {
    "model": "model", "T_f": "T<sub>f</sub>", "units": "units", "N_g": "N<sub>g</sub>", "tau_cg": "&tau;<sub>cg</sub>",
    "N_cg": "N<sub>cg</sub>", "tau_total": "&tau;<sub>total</sub>", "N_IS": "N<sub>IS</sub>", "N_DW": "N<sub>DW</sub>",
    "N_TLS": "N<sub>TLS</sub>", "N_IS_per_N_g": "N<sub>IS</sub>/N<sub>g</sub>", "N_DW_per_N_IS": "N<sub>DW</sub>/N<sub>IS</sub>",
    "N_TLS_per_N_DW": "N<sub>TLS</sub>/N<sub>DW</sub>", "N_excluded": "excluded",
}


def _num(v: float) -> str:
    return f"{v:.3g}"


def n0_text(n0, lo, hi, upper95, count) -> str:
    """The n0 cell of the report (HTML): "&lt; x (95 %)" for an empty window (``count`` 0), else
    the value with its asymmetric interval as +up/-down (read from the statistics, not recomputed)."""
    n0, lo, hi, up = (float(v) if v is not None else float("nan") for v in (n0, lo, hi, upper95))
    if count is not None and np.isfinite(float(count)) and int(count) == 0:
        return f"&lt; {_num(up)} (95 %)" if np.isfinite(up) else "–"
    if not np.isfinite(n0):
        return "–"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return _num(n0)
    return f"{_num(n0)}<sup>+{_num(hi - n0)}</sup><sub>&minus;{_num(n0 - lo)}</sub>"


def _display_table(tab: pd.DataFrame) -> pd.DataFrame:
    """The summary table with the n0 cells formatted from the statistics' own intervals."""
    t = tab.copy()
    if not len(t):
        return t

    def g(r, k):
        return r[k] if k in r.index else None

    t["n0_text"] = [n0_text(g(r, "n0"), g(r, "n0_lo"), g(r, "n0_hi"), g(r, "n0_upper95"), g(r, "count"))
                    for _, r in t.iterrows()]
    t["n0_SI_text"] = [n0_text(g(r, "n0_SI"), g(r, "n0_SI_lo"), g(r, "n0_SI_hi"), g(r, "n0_SI_upper95"), g(r, "count"))
                       for _, r in t.iterrows()]
    return t


#: 001_1b8b0be289dbb4b8.txt (N = 1500): inherent structures sampled per T_f and the active TLS
#: (E < k_B T_Q) found among them, per unit system: how far a run is from the papers' statistics
PAPER_001_TLS = {"pss-ar": ((0.092, 848698, 1008), (0.07, 26898, 291), (0.062, 13252, 61)),
                 "pss-ni": ((0.092, 848698, 248), (0.07, 26898, 46), (0.062, 13252, 28))}


def _paper_comparison(r) -> str:
    """For PSS in 001's unit systems: the TLS expected from this group's N_IS at 001's rates."""
    rates = PAPER_001_TLS.get(str(r.get("units")))
    n_is = r.get("N_IS")
    if rates is None or str(r.get("model")).split("-")[0] != "pss" or n_is is None or not pd.notna(n_is):
        return ""
    per = sorted(n / k for _, n, k in rates)  # IS per active TLS in 001
    lo, hi = float(n_is) / per[-1], float(n_is) / per[0]
    txt = (f"; {int(n_is)} inherent structures explored, where 001 (N = 1500) found one active TLS per "
           f"{per[0]:.0f}-{per[-1]:.0f} IS (T<sub>f</sub> = 0.062-0.092), i.e. {lo:.2g}-{hi:.2g} TLS expected at "
           "those rates")
    if int(r.get("N_TLS", 0) or 0) == 0 and hi < 3:
        txt += ": the upper limit, not a detection, is this run's result"
    return txt


def _counts_lines(tab: pd.DataFrame) -> list[str]:
    """One sentence per (model, T_f, units): double wells and TLS found, rows excluded and why, and
    how far the run is from the statistics of 001."""
    out = []
    for _, r in tab.iterrows():
        who = f"{_esc(r['model'])}, T<sub>f</sub> = {float(r['T_f']):g}, {_esc(r['units'])}"
        txt = (f"{who}: {int(r.get('N_DW', 0) or 0)} double wells and {int(r.get('N_TLS', 0) or 0)} TLS "
               f"(E &lt; k<sub>B</sub>T<sub>Q</sub>) used")
        ne = int(r.get("N_excluded", 0) or 0) if pd.notna(r.get("N_excluded", 0)) else 0
        txt += f"; excluded: {_esc(r.get('excluded') or '')}" if ne else "; no row excluded"
        npth = r.get("N_paths_not_ok", 0)
        if pd.notna(npth) and int(npth):
            txt += f"; paths not ok: {_esc(r.get('paths_not_ok') or '')}"
        out.append(txt + _paper_comparison(r) + ".")
    return out


def _summary_json(S: st.Summary, tables: st.StudyTables | None, settings: dict) -> dict:
    groups = []
    by = {}
    for _, r in S.table.iterrows():
        g = {k: _clean(r[k]) if k in r.index else None for k in SUMMARY_KEYS}
        for k in ("N_rejected", "ci_level", "n_boot", "T_Q_K", "excluded", "paths_not_ok", "n0_dispersion",
                  "n0_dispersion_dof", "n0_phi", "n0_phi95", "n0_boot_err", "n0_SI_lo95", "n0_SI_hi95"):
            if k in r.index:
                g[k] = _clean(r[k])
        g["exclusions"], g["paths_not_ok"] = S.group_exclusions(r["model"], r["T_f"], r["units"])
        groups.append(g)
        by.setdefault(str(r["model"]), {}).setdefault(f"{float(r['T_f']):g}", {})[str(r["units"])] = g
    from .. import __version__

    return {"version": __version__, "generated": _dt.datetime.now().isoformat(timespec="seconds"),
            "density_convention": st.DENSITY_CONVENTION, "settings": settings,
            "n_samples": int(len(S.samples)), "incomplete_samples": list(tables.incomplete) if tables else [],
            "groups": groups, "by_T_f": by}


def write_report(run_dir=None, out_dir=None, *, stats_dir=None, config: Any = None, samples=None,
                 title: str | None = None, units: Mapping[str, Any] | None = None,
                 plateau_emin: float | None = None, plateau_emax: float | None = None, order: int | None = None,
                 bootstrap: int | None = None, confidence: float | None = None, seed: int | None = None,
                 time: float | None = None, snapshot: Mapping[str, Any] | None = None, embed: bool = False,
                 progress: bool = False) -> Path:
    """Write the study report; returns the path of ``index.html``.

    ``run_dir``: a run directory (``RUN/<model>/Tf_<T_f>/sample_<k>/...``), or
    the tables themselves: a :class:`twolevel.stats.StudyTables` or a dict with
    ``samples`` and ``tls`` (optional ``inherent_structures``, ``double_wells``).
    ``out_dir``: the report directory (default ``RUN/report``). ``stats_dir``: a
    stats stage directory whose ``stats.json`` settings (plateau range, order,
    bootstrap, confidence, seed) are reused unless given here. ``config``: the
    study configuration (dict or text) shown in the provenance section.
    ``samples``: the pipeline's sample records (default: scan ``run_dir``).
    ``snapshot``: positions/box/displacement (and diameters) for the real-space
    picture when ``run_dir`` holds no configurations. ``embed``: inline the PNGs.

    Output: ``index.html``, ``summary.json`` (n0, its error, N_TLS and the
    ratios per model, T_f and unit system), ``figures/*.png`` and
    ``data/*.csv``. Missing inputs become one-line notes.
    """
    src_dir = Path(run_dir) if isinstance(run_dir, (str, Path)) else None
    if out_dir is None:
        if src_dir is None:
            raise InputError("write_report: give out_dir when the tables are passed in memory")
        out_dir = src_dir / REPORT
    if stats_dir is None and src_dir is not None and (src_dir / STATS / STATS_JSON).is_file():
        stats_dir = src_dir / STATS
    stats_source = None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figs = _Figs(out)
    tables, why = _tables_from(run_dir, samples)
    prev = _stats_settings(stats_dir)
    er = prev.get("e_range") or [None, None]
    lo = plateau_emin if plateau_emin is not None else (er[0] if er and er[0] is not None else 0.0)
    hi = plateau_emax if plateau_emax is not None else (er[1] if er and len(er) > 1 else None)
    kw = dict(e_range=(lo, hi),
              order=order if order is not None else int(prev.get("order", 0)),
              n_boot=bootstrap if bootstrap is not None else int(prev.get("n_boot", st.DEFAULT_N_BOOT)),
              ci=confidence if confidence is not None else float(prev.get("ci_level", 0.68)),
              seed=seed if seed is not None else int(prev.get("seed", 0)), time=time, units=units)
    sections: list[Section] = []
    files: list[Path] = []
    S = None
    if tables is not None:
        # the stats stage's numbers when nothing here asks for other settings (docs/report.md)
        given = (plateau_emin, plateau_emax, order, bootstrap, confidence, seed, time, units)
        S = _summary_from_stats(stats_dir) if all(v is None for v in given) else None
        if S is None:
            S = st.summarise(tables.samples, tables.tls, tables.inherent_structures, path_results=tables.path_results,
                             double_wells=tables.double_wells, **kw)
        else:
            stats_source = Path(stats_dir) / STATS_JSON
        settings = S.settings
    else:
        settings = {k: v for k, v in kw.items() if k != "units"}
    title = title or (f"TLS report: {src_dir.name}" if src_dir is not None else "TLS report")
    if S is not None:
        sections += _stat_sections(S, tables, figs, snapshot)
        d = out / "data"
        for name, df in (("summary_table", S.table), ("n_of_E", S.curves), ("heat_capacity", S.heat_capacity),
                         ("counts_vs_time", S.time), ("decomposition_eq3", S.decomposition), ("samples", S.samples),
                         ("exclusions", S.exclusions)):
            files.append(_write_csv(d / f"{name}.csv", df))
        summ = _summary_json(S, tables, settings)
        dw = _dw_table(tables)
        if dw is not None and len(dw):
            keep = [c for c in ("model", "T_f", "sample", "dw_id", "is_a", "is_b", "d", "dV", "V_a", "V_b", "PR",
                                "d_over_sqrt_PR", "t_detect") if c in dw.columns]
            files.append(_write_csv(d / "double_wells.csv", dw[keep]))
        tk = [c for c in tables.tls.columns if c not in ("xi", "V", "levels", "_good", "_t")]
        files.append(_write_csv(d / "tls.csv", tables.tls[tk]))
    else:
        s = Section("summary", "Summary", "")
        s.notes.append(f"<span class='warn'>No landscape statistics: {_esc(why)}</span>")
        sections.append(s)
        summ = {"version": None, "density_convention": st.DENSITY_CONVENTION, "settings": settings, "groups": [],
                "by_T_f": {}, "n_samples": 0, "error": why}
    sections += _optional_sections(src_dir, out)
    sections += _plugin_sections(src_dir, out)
    sections.append(_provenance_section(src_dir, config, settings, tables, stats_source))
    sj = out / "summary.json"
    _write_text(sj, json.dumps(summ, indent=1, default=_json_default) + "\n")
    files.insert(0, sj)
    sub = (f"{len(S.samples)} glass samples, {S.table['model'].nunique()} model(s), "
           f"{S.table['T_f'].nunique()} preparation temperature(s)" if S is not None else "no statistics")
    sub += f" &middot; generated {_dt.datetime.now():%Y-%m-%d %H:%M}"
    index = out / "index.html"
    _write_text(index, _render(title, sub, sections, out, embed, files))
    return index


def _tau_alpha(tables: st.StudyTables) -> tuple[pd.DataFrame | None, str]:
    """(model, T_f, tau_alpha) with the median tau_alpha over the samples of each T_f (from each
    sample's prepare/prepare.json), and its time unit; (None, "") when none was measured."""
    sm = tables.samples
    if sm is None or not len(sm) or "dir" not in sm.columns:
        return None, ""
    rows, units = [], set()
    for model, T_f, d in sm[["model", "T_f", "dir"]].itertuples(index=False):
        meta = _read_json_file(Path(d) / "prepare" / PREPARE_META)
        tau = meta.get("tau_alpha")
        if isinstance(tau, (int, float)) and np.isfinite(tau) and tau > 0:
            rows.append({"model": model, "T_f": T_f, "tau_alpha": float(tau)})
            units.add(str(meta.get("time_unit", "")))
    if not rows:
        return None, ""
    df = pd.DataFrame(rows).groupby(["model", "T_f"], as_index=False)["tau_alpha"].median()
    return df, (units.pop() if len(units) == 1 else "")


def _explore_section(tables: st.StudyTables, out: Path, max_groups: int = 6) -> Section:
    """002 Fig. 2 (IS matrices) and Fig. 3 (tau_p distribution) for the first complete sample of each
    model and T_f (twolevel.report.explore_figs, drawn from explore/)."""
    from .explore_figs import explore_figures

    sec = Section("exploration", "The landscape of one glass per T_f (002 Figs. 2 and 3)",
                  "For the first sample of each T<sub>f</sub>: (002 Fig. 2) the inherent structures ordered by "
                  "energy, with the matrices of energy differences |e<sub>a</sub> - e<sub>b</sub>|, of transitions "
                  "T<sub>a&rarr;b</sub> and of distances d<sub>ab</sub>, and the distribution of IS energies; "
                  "(002 Fig. 3) the cumulative distribution of the persistence times &tau;<sub>p</sub> in one "
                  "inherent structure.")
    sm = tables.samples
    if sm is None or not len(sm) or "dir" not in sm.columns:
        sec.notes.append("no sample directories (tables passed in memory)")
        return sec
    firsts = sm.sort_values(["model", "T_f", "sample"]).groupby(["model", "T_f"], as_index=False).first()
    for model, T_f, d in firsts[["model", "T_f", "dir"]].head(max_groups).itertuples(index=False):
        ex = Path(d) / "explore"
        who = f"{_esc(model)}, T<sub>f</sub> = {float(T_f):g}, sample {Path(d).name.split('_')[-1]}"
        dest = out / "figures" / "explore" / _safe(f"{model}_Tf_{float(T_f):g}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                paths = explore_figures(ex, dest)
        except Exception as exc:  # noqa: BLE001 - a missing exploration must not sink the report
            sec.notes.append(f"{who}: exploration figures not drawn ({type(exc).__name__}: {_esc(exc)})".splitlines()[0])
            continue
        for p in paths:
            if p.stem == "matrices":
                sec.figures.append((p, f"002 Fig. 2, {who}."))
            elif p.stem == "tau_p_cdf":
                sec.figures.append((p, f"002 Fig. 3, {who}: CDF of the persistence times."))
    return sec


def _dw_table(tables: st.StudyTables) -> pd.DataFrame | None:
    """One row per double well with its classical parameters (catalogue, or the TLS rows of the first unit system)."""
    dw = tables.double_wells
    if dw is not None and len(dw):
        return dw
    t = tables.tls
    if t is None or not len(t):
        return None
    lab = t["units"].astype(str).iloc[0]
    return t[t["units"].astype(str) == lab]


def _stat_sections(S: st.Summary, tables: st.StudyTables, figs: _Figs, snapshot) -> list[Section]:
    secs = []
    tab = S.table.dropna(subset=["units"]) if len(S.table) and "units" in S.table else S.table
    labels = list(dict.fromkeys(tab["units"].astype(str))) if len(tab) else []
    level = float(S.settings.get("ci_level", 0.68))
    lvl = f"{100 * level:g} %"
    # summary
    s = Section("summary", "Summary",
                "The TLS density n<sub>0</sub>: the plateau of n(E)/E at small splitting E, per particle and per "
                "&epsilon; (001 Fig. 3, 002 Eq. (1)), fitted over the window shown in the settings (default "
                "0 &lt; E &le; k<sub>B</sub>T<sub>Q</sub> of each unit system) from the K double wells in the window. "
                f"Each n<sub>0</sub> is given with its {lvl} interval as +up/&minus;down: the Poisson (Garwood) "
                "interval of K scaled to n<sub>0</sub>, widened when the glasses differ more than Poisson "
                "(docs/statistics.md); a window without any double well gives the one-sided 95 % upper limit "
                "&lsquo;&lt; x (95 %)&rsquo;. In physical units n<sub>0</sub>&rho;/(&epsilon;&sigma;<sup>3</sup>); "
                "experiments give about 10<sup>46</sup> J<sup>-1</sup>m<sup>-3</sup> (001). N<sub>TLS</sub> = "
                "n<sub>active</sub> counts the double wells with E &lt; k<sub>B</sub>T<sub>Q</sub>; the last column "
                "compares the low-T slope of the TLS heat capacity with (&pi;&sup2;/6)n<sub>0</sub>. Only rows the "
                "quantum stage classed as tunnelling doublets with a finite splitting count; the others are listed "
                "below with their reasons.")
    s.tables.append(("", _table_html(_display_table(tab), _SUMMARY_COLS)))
    s.notes.append(_esc(st.DENSITY_CONVENTION))
    figs.draw(s, "n0_vs_Tf", sf.fig_n0_vs_tf, tab,
              caption=f"n<sub>0</sub> against the preparation temperature T<sub>f</sub> with its {lvl} interval; "
                      "downward arrows: 95 % upper limits of T<sub>f</sub> without any double well in the window "
                      "(left: simulation units; right: J<sup>-1</sup>m<sup>-3</sup>, dashed: the experimental order of magnitude).")
    tau, unit = _tau_alpha(tables)
    if tau is not None:
        tab_tau = tab.merge(tau, on=["model", "T_f"], how="left")
        figs.draw(s, "n0_vs_tau_alpha", sf.fig_n0_vs_tau_alpha, tab_tau, unit=unit,
                  caption="n<sub>0</sub> against the relaxation time &tau;<sub>&alpha;</sub>(T<sub>f</sub>) of the "
                          "liquid each glass was prepared from (002 Fig. 9b; the median over the samples of a "
                          "T<sub>f</sub>, from prepare/prepare.json; arrows: 95 % upper limits).")
    else:
        s.notes.append("n<sub>0</sub> against &tau;<sub>&alpha;</sub>(T<sub>f</sub>) (002 Fig. 9b): no "
                       "&tau;<sub>&alpha;</sub> measured in prepare/prepare.json")
    secs.append(s)
    # counts and exclusions
    s = Section("counts", "Double wells found and rows excluded",
                "Per T<sub>f</sub> and unit system: the rows of the TLS table offered to the statistics, the double "
                "wells used (tunnelling doublets with a finite splitting), the TLS among them "
                "(E &lt; k<sub>B</sub>T<sub>Q</sub>), and every row left out with its reason (the quantum stage's "
                "class: single_well, above_barrier, domain_not_converged, bad_profile, not_converged, ...; "
                "non_finite_E; no_quantum_row for a catalogue double well without a row of that unit system). "
                "&lsquo;paths not ok&rsquo; counts the candidate paths the paths stage did not accept "
                "(not_converged, no_barrier, max_depth, failed; a duplicate of a double well found through "
                "another pair is not counted), per T<sub>f</sub>.")
    s.tables.append(("", _table_html(tab, _COUNTS_COLS)))
    s.html = "<ul>" + "".join(f"<li>{line}</li>" for line in _counts_lines(tab)) + "</ul>" if len(tab) else ""
    secs.append(s)
    # n(E)/E
    s = Section("nE", "n(E)/E and the plateau n0",
                "The cumulative distribution of tunnel splittings n(E) = N<sub>DW</sub>(E)/(N N<sub>g</sub>) divided by E "
                "(001 Fig. 3, 002 Fig. 9a), one curve per T<sub>f</sub> with its counting band (the n<sub>0</sub> interval "
                "applied to N<sub>DW</sub>(E) at each E). "
                "The dotted segment is the fitted plateau n<sub>0</sub> over the fit window, the dashed line "
                "k<sub>B</sub>T<sub>Q</sub>. A flat part at small E is what the tunnelling model predicts.")
    for lab in labels:
        figs.draw(s, f"n_over_E_{lab}", sf.fig_n_over_e, S.curves, tab, units=lab, caption=f"Unit system {_esc(lab)}.")
    if not labels:
        s.notes.append("no double wells")
    secs.append(s)
    # Table I and Eq. (3)
    s = Section("table1", "Exploration statistics (002 Table I) and the decomposition of Eq. (3)",
                "Per T<sub>f</sub>: the number of glass samples N<sub>g</sub>, the minimisation period &tau;<sub>cg</sub>, "
                "the number of minimisations N<sub>cg</sub> and the exploration time &tau;<sub>total</sub> = "
                "N<sub>cg</sub>&tau;<sub>cg</sub> (both summed over samples), the inherent structures, double wells and "
                "TLS found, and the three ratios of 002 Eq. (3): "
                "n(E) = (1/N)(N<sub>IS</sub>/N<sub>g</sub>)(N<sub>DW</sub>/N<sub>IS</sub>)(N<sub>DW</sub>(E)/N<sub>DW</sub>). "
                "&lsquo;excluded&rsquo; counts TLS-table rows left out of the statistics (reasons in the section above).")
    s.tables.append(("", _table_html(tab, _TABLE1_COLS)))
    if len(S.decomposition):
        figs.draw(s, "decomposition_eq3", sf.fig_decomposition, S.decomposition,
                  caption="The factors of 002 Eq. (3) at E = k<sub>B</sub>T<sub>Q</sub> against T<sub>f</sub>; their product "
                          "is n(k<sub>B</sub>T<sub>Q</sub>).")
    secs.append(s)
    # time
    s = Section("time", "Counts against exploration time (002 Fig. 4)",
                "The numbers of inherent structures, double wells and TLS found up to exploration time t (summed over "
                "samples, each sample's time running over its isoconfigurational runs) and the ratio "
                "N<sub>DW</sub>/N<sub>IS</sub>. A double well counts from the time its pair had been seen in both "
                "directions (or, without that record, from the later first visit of its two minima). Saturation of "
                "N<sub>DW</sub> while N<sub>IS</sub> still grows means the double-well library is converging.")
    if len(S.time):
        lab0 = labels[0] if labels else None
        figs.draw(s, "counts_vs_time", sf.fig_counts_vs_time, S.time, units=lab0,
                  caption=f"TLS counted with k<sub>B</sub>T<sub>Q</sub> of {_esc(lab0)}.")
    else:
        s.notes.append("no first-seen times (explore/inherent_structures.parquet) in this run")
    secs.append(s)
    # distributions
    s = Section("distributions", "Double-well parameters (001 Fig. 2)",
                "Probability densities of the classical double-well parameters per T<sub>f</sub>: (a) asymmetry "
                "&Delta;V, (b) barrier V<sub>b</sub> = V<sub>a</sub> - &Delta;V/2, (c) d/&radic;PR, the typical "
                "displacement of a participating particle, (d) participation ratio PR.")
    dw = _dw_table(tables)
    if dw is not None and len(dw):
        figs.draw(s, "dw_distributions", sf.fig_distributions, dw, caption="All double wells of the catalogue.")
    else:
        s.notes.append("no double-well catalogue")
    secs.append(s)
    # TLS statistics
    s = Section("tls", "TLS statistics (002 Figs. 6, 7 and 14)",
                "For each unit system: (Fig. 6) the splitting E against &radic;(&Delta;&sup2;+&Delta;<sub>0</sub>&sup2;) "
                "of the two-level mapping, and the cumulative distributions of &Delta;<sub>0</sub> (inset: decay rate "
                "&Gamma; against &Delta;<sub>0</sub>), of &Delta; and of E (linear below k<sub>B</sub>T<sub>Q</sub> in "
                "the tunnelling model); (Fig. 7) asymmetry, barrier, decay rate and participation ratio against E, "
                "with geometric means in bins of E; (Fig. 14) the path length d against E.")
    for lab in labels:
        t = tables.tls[tables.tls["units"].astype(str) == lab]
        kq = float(tab.loc[tab["units"] == lab, "kT_Q"].iloc[0])
        figs.draw(s, f"tls_fig6_{lab}", sf.fig_tls_quantities, t, kT_Q=kq, caption=f"002 Fig. 6, {_esc(lab)}.")
        figs.draw(s, f"tls_fig7_{lab}", sf.fig_tls_vs_splitting, t, kT_Q=kq, caption=f"002 Fig. 7, {_esc(lab)}.")
        if "d" in t.columns:
            figs.draw(s, f"tls_fig14_{lab}", sf.fig_distance_vs_splitting, t, kT_Q=kq, caption=f"002 Fig. 14, {_esc(lab)}.")
    secs.append(s)
    # heat capacity
    s = Section("heat", "Heat capacity of the TLS",
                "C(T) per particle from the splittings, C = (1/(N N<sub>g</sub>)) &Sigma;<sub>i</sub> "
                "(E<sub>i</sub>/2T)&sup2; sech&sup2;(E<sub>i</sub>/2T) (two-level heat capacity, 000 Eq. (7)), shown as "
                "C/T. For a flat density of splittings C/T = (&pi;&sup2;/6)n<sub>0</sub> (dotted); it falls below at "
                "temperatures under the smallest splittings found and above the plateau.")
    for lab in labels:
        figs.draw(s, f"heat_capacity_{lab}", sf.fig_heat_capacity, S.heat_capacity, units=lab, caption=f"{_esc(lab)}.")
    secs.append(s)
    secs.append(_lowest_tls_section(S, tables, figs, snapshot))
    secs.append(_explore_section(tables, figs.out))
    return secs
