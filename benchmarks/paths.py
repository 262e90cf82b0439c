"""Benchmark: climbing-image NEB bands on a stored, fixed set of double wells, against ASE.

The set: ``benchmarks/data/pss_double_wells.npz`` (22 pairs of minima of N = 200 PSS glasses:
14 single hops, 8 composite pairs with intermediate minima; made once by
benchmarks/make_double_wells.py, the file is the reference). Building the pair from MD at run
time, as this benchmark used to, gives another pair on another CPU.

For every pair: the same initial band (``--images`` images, linear interpolation with minimum
image and no net translation, twolevel.paths.interpolate), the same spring (0.125, 002 Sec. II D),
the improved tangent and a climbing image, and the same convergence test: the largest per-atom
norm of the NEB force over the interior images <= ``--ftol`` (ASE's ``fmax``; criterion="neb" on
our side). Ours: twolevel.paths.optimize_band with each named scheme (``--schemes``: fire2,
frozen, frozen-particle, and cK[/F]-<scheme> = a K-image band relaxed to F x ftol first (F = 10 by default), then the full band on it, coarse_to_fine). Peer: ASE 3.29 ``NEB(climb=True, method="improvedtangent")`` + ``FIRE`` (defaults),
one calculator (a tiny Calculator over our engine's energy/forces) per image.

Accuracy: the climbing image of each run is refined by Newton's method on grad E = 0 (dense
Hessian, translations left out) to a stationary point; V_a(Newton) - V_a(band) is that run's
barrier error. The cost ratio ours / ASE (image evaluations, end images included) is reported
per pair with both errors; a pair counts as "equal accuracy" when our error is at most
max(ASE's error, ``--acc``). Ends with the median and the worst ratio per scheme and one JSON
line.

    python benchmarks/paths.py [--ftol 0.01] [--images 64] [--schemes fire2,frozen] [--pairs 0-21]

ASE's rows (counts, barriers, errors) are cached in ``benchmarks/data/paths_ase_cache.json`` with
ASE's version and the settings (images, ftol, max_steps, the data file's SHA-256); ``--ase-cache``
names another file, ``--ase-cache ''`` runs ASE every time. A cached row is used only when all of
those match; otherwise ASE runs again and the file is rewritten.

``--stage`` instead runs our schemes at the stage's own test (criterion "perp", ftol 1e-4, the
[paths] defaults) without ASE: the validation of a scheme as the stage default.
"""

from __future__ import annotations

import argparse
import json
import os
import time

# one BLAS thread: on a loaded 2-core machine a threaded np.vdot of a band (62 x 600) took 33 ms
# instead of 14 us (measured 2026-12-03, load 12)
for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np

from twolevel.config import Configuration
from twolevel.engine import ParticleSystem
from twolevel.errors import ConvergenceError, PhysicsError
from twolevel.paths import band_scheme, coarse_to_fine, interpolate, optimize_band

DATA = os.path.join(os.path.dirname(__file__), "data", "pss_double_wells.npz")
ASE_CACHE = os.path.join(os.path.dirname(__file__), "data", "paths_ase_cache.json")
ASE_KEYS = ("converged", "steps", "evals", "wall", "barrier", "V_a_newton", "error")
OUR_KEYS = (*ASE_KEYS, "stalled")


def load_set(path: str = DATA):
    """[(ParticleSystem, x_a, x_b, kind)] of the stored pairs (kind: "single" or "composite")."""
    z = np.load(path)
    out = []
    for k in range(len(z["kind"])):
        conf = Configuration(z["x_a"][k], z["box"][k], None, z["diameters"][k], "pss")
        out.append((ParticleSystem(conf), z["x_a"][k], z["x_b"][k], "composite" if z["kind"][k] else "single"))
    return out


def run_ours(s, band, scheme: str, ftol: float, criterion: str, max_steps: int) -> dict:
    """One of our schemes: a named band scheme (fire2, frozen, frozen-particle), or
    cK[/F]-<scheme>: a K-image band relaxed first to F ftol (default 10), then the full band on it
    (twolevel.paths.coarse_to_fine)."""
    coarse, cf = None, 10.0
    if scheme.startswith("c") and "-" in scheme:
        head, scheme = scheme[1:scheme.index("-")], scheme[scheme.index("-") + 1:]
        coarse, _, f = head.partition("/")
        coarse, cf = int(coarse), float(f or cf)
    kw = band_scheme(scheme, ftol)
    t0 = time.perf_counter()
    try:
        r = _band(s, band, coarse, cf, ftol, criterion, max_steps, kw)
    except ConvergenceError as exc:  # the band blew up: a failed run, not a crashed benchmark
        print(f"  {scheme}: {exc}", flush=True)
        return {"converged": False, "stalled": False, "steps": None, "evals": None, "diverged": True,
                "wall": time.perf_counter() - t0, "barrier": float("nan"), "saddle": None}
    return {"converged": r.converged, "stalled": r.climb_stalled, "steps": r.iterations, "evals": r.force_evaluations,
                "wall": time.perf_counter() - t0, "barrier": r.barrier, "saddle": r.saddle.copy()}


def _band(s, band, coarse, cf, ftol, criterion, max_steps, kw):
    if coarse:
        return coarse_to_fine(s, band, coarse=coarse, coarse_ftol=cf * ftol, ftol=ftol, criterion=criterion,
                              max_steps=max_steps, **kw)
    return optimize_band(s, band, ftol=ftol, criterion=criterion, max_steps=max_steps, **kw)


def run_ase(s, band, ftol: float, max_steps: int) -> dict:
    from ase import Atoms
    from ase.calculators.calculator import Calculator, all_changes
    from ase.mep import NEB
    from ase.optimize import FIRE

    counter = {"n": 0}

    class TwolevelCalc(Calculator):
        """Our engine's energy and forces as an ASE calculator (benchmark only)."""

        implemented_properties = ("energy", "forces")

        def __init__(self):
            super().__init__()
            self.sys = ParticleSystem(s.conf)  # one neighbour list per image, as ours

        def check_state(self, atoms, tol=1e-15):
            # ASE compares every property with allclose (most of ASE's time here); only the
            # positions ever change in a NEB, so compare them exactly: same evaluations, less CPU
            if self.atoms is None or not np.array_equal(self.atoms.positions, atoms.positions):
                return ["positions"]
            return []

        def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
            super().calculate(atoms, properties, system_changes)
            e, f = self.sys.energy_forces(self.atoms.positions)
            counter["n"] += 1
            self.results = {"energy": e, "forces": f}

    imgs = []
    for x in band:
        a = Atoms(f"H{s.n}", positions=x, cell=np.diag(s.box), pbc=True)
        a.calc = TwolevelCalc()
        imgs.append(a)
    neb = NEB(imgs, k=0.125, climb=True, method="improvedtangent")
    opt = FIRE(neb, logfile=None)
    t0 = time.perf_counter()
    conv = opt.run(fmax=ftol, steps=max_steps)
    e = np.array([im.get_potential_energy() for im in imgs])
    c = int(np.argmax(e))
    return {"converged": bool(conv), "steps": int(opt.nsteps), "evals": counter["n"], "wall": time.perf_counter() - t0,
                "barrier": float(e.max() - e[0]), "saddle": imgs[c].positions.copy()}


def ase_settings(args, data: str) -> dict:
    """What an ASE run depends on: ASE's version, the band, the test and the data file's hash."""
    import hashlib

    import ase

    with open(data, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()
    return {"ase": ase.__version__, "neb": "NEB(climb=True, method='improvedtangent', k=0.125)",
            "optimizer": "FIRE (ASE defaults)", "images": args.images, "ftol": args.ftol,
            "max_steps": args.max_steps, "data_sha256": digest}


def load_ase_cache(path: str, settings: dict) -> dict:
    """{pair: ASE row} from ``path`` when its settings equal ``settings``, else {} (rerun ASE)."""
    if not path or not os.path.isfile(path):
        return {}
    with open(path) as fh:
        c = json.load(fh)
    if c.get("settings") != settings:
        print(f"ASE cache {path}: other settings ({c.get('settings')}); ASE is run again", flush=True)
        return {}
    return {int(k): v for k, v in c["pairs"].items()}


def save_ase_cache(path: str, settings: dict, pairs: dict) -> None:
    """Write the ASE rows (merged with what the file holds for the same settings) atomically."""
    merged = {**load_ase_cache(path, settings), **pairs}
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump({"settings": settings, "pairs": {str(k): merged[k] for k in sorted(merged)}}, fh, indent=1)
        fh.write("\n")
    os.replace(tmp, path)


def newton_saddle(s, x, iters: int = 12) -> float | None:
    """Energy of the stationary point next to x: Newton's method on grad E = 0 with the dense
    Hessian (uniform translations, |lambda| < 1e-6, left out); None if it does not converge to a
    max force of 1e-8. An independent check of V_a."""
    try:
        return _newton(s, x, iters)
    except PhysicsError:  # Newton's step went far off (particles overlap): no saddle next to x
        return None


def _newton(s, x, iters: int) -> float | None:
    for _ in range(iters):
        e, f = s.energy_forces(x)
        if np.sqrt((f * f).sum(axis=1)).max() < 1e-10:
            break
        w, V = np.linalg.eigh(s.hessian(x).toarray())
        keep = np.abs(w) > 1e-6
        step = V[:, keep] @ ((V[:, keep].T @ f.reshape(-1)) / w[keep])
        x = x + step.reshape(x.shape)
    e, f = s.energy_forces(x)
    return float(e) if np.sqrt((f * f).sum(axis=1)).max() < 1e-8 else None


def _pairs(spec: str | None, n: int) -> list[int]:
    if not spec:
        return list(range(n))
    out = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--ftol", type=float, default=1e-2)
    ap.add_argument("--max-steps", type=int, default=5000)
    ap.add_argument("--schemes", default="fire2,frozen")
    ap.add_argument("--pairs", default=None, help="e.g. 0-5,9 (default: all)")
    ap.add_argument("--acc", type=float, default=1e-3, help="barrier error that counts as accurate")
    ap.add_argument("--stage", action="store_true", help="our schemes at the stage test (perp, 1e-4), no ASE")
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--ase-cache", default=ASE_CACHE, nargs="?", const=ASE_CACHE,
                    help="JSON of ASE's per-pair results (reused when ASE's version and the settings "
                         "match, else ASE is run and the file rewritten); '' to always run ASE")
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()}", flush=True)
    schemes = [q for q in args.schemes.split(",") if q]  # --schemes "": ASE only (fills the cache)
    crit, ftol = ("perp", 1e-4) if args.stage else ("neb", args.ftol)
    pairs = load_set(args.data)
    s0, xa0, xb0, _ = pairs[0]
    optimize_band(s0, interpolate(s0, xa0, xb0, 4), max_steps=2, freeze=1.0)  # compile outside the timing
    rows = []
    ase_set = None if args.stage else ase_settings(args, args.data)
    ase_rows = load_ase_cache(args.ase_cache, ase_set) if ase_set else {}
    for k in _pairs(args.pairs, len(pairs)):
        s, xa, xb, kind = pairs[k]
        band = interpolate(s, xa, xb, args.images)
        ea = s.energy_forces(xa)[0]
        runs = {sc: run_ours(s, band, sc, ftol, crit, args.max_steps) for sc in schemes}
        if not args.stage and k not in ase_rows:
            runs["ase"] = run_ase(s, band, ftol, args.max_steps)
        row = {"pair": k, "kind": kind}
        for name, r in runs.items():
            e_s = None if r["saddle"] is None else newton_saddle(s, r["saddle"])
            r["V_a_newton"] = None if e_s is None else e_s - ea
            r["error"] = None if e_s is None else r["barrier"] - (e_s - ea)
            row[name] = {q: r[q] for q in (ASE_KEYS if name == "ase" else OUR_KEYS)}
        if not args.stage and k in ase_rows:
            runs["ase"] = row["ase"] = dict(ase_rows[k], cached=True)
        elif not args.stage and args.ase_cache:
            save_ase_cache(args.ase_cache, ase_set, {k: row["ase"]})
        rows.append(row)
        line = " ".join(f"{n}: {r['evals'] if r['evals'] is not None else 'DIVERGED'} ev ({r['steps']} st, {'ok' if r['converged'] else 'NOT CONV'}"
                        f"{' stalled' if r.get('stalled') else ''}, "
                        f"err {r['error'] if r['error'] is None else format(r['error'], '+.1e')})"
                        for n, r in runs.items())
        print(f"pair {k:2d} {kind:9s} V_a={next(iter(runs.values()))['barrier'] if runs else float('nan'):.4f} | {line}", flush=True)
    summary = {}
    ref = "ase" if not args.stage else schemes[0]
    for sc in schemes:
        if sc == ref:
            continue
        ratios = [np.inf if r[sc]["evals"] is None else r[sc]["evals"] / r[ref]["evals"] for r in rows]  # diverged: inf
        equal = [r[sc]["error"] is not None and r[ref]["error"] is not None
                 and abs(r[sc]["error"]) <= max(abs(r[ref]["error"]), args.acc) for r in rows]
        conv = [r[sc]["converged"] for r in rows]
        summary[sc] = {"median_ratio": float(np.median(ratios)), "worst_ratio": float(np.max(ratios)),
                       "worst_pair": rows[int(np.argmax(ratios))]["pair"],
                       "median_ratio_single": float(np.median([q for q, r in zip(ratios, rows) if r["kind"] == "single"] or [np.nan])),
                       "median_ratio_composite": float(np.median([q for q, r in zip(ratios, rows) if r["kind"] == "composite"] or [np.nan])),
                       "equal_accuracy": int(sum(equal)), "converged": int(sum(conv)), "pairs": len(rows),
                       "max_abs_error": float(max(abs(r[sc]["error"]) for r in rows if r[sc]["error"] is not None))}
        print(f"{sc} / {ref}: image evaluations median {summary[sc]['median_ratio']:.3f} "
              f"(single {summary[sc]['median_ratio_single']:.3f}, composite {summary[sc]['median_ratio_composite']:.3f}), "
              f"worst {summary[sc]['worst_ratio']:.3f} (pair {summary[sc]['worst_pair']}); "
              f"converged {summary[sc]['converged']}/{len(rows)}, equal accuracy {summary[sc]['equal_accuracy']}/{len(rows)}, "
              f"max |barrier error| {summary[sc]['max_abs_error']:.1e}", flush=True)
    if ref in runs:
        print(f"{ref}: converged {sum(r[ref]['converged'] for r in rows)}/{len(rows)}, max |barrier error| "
              f"{max(abs(r[ref]['error']) for r in rows if r[ref]['error'] is not None):.1e}")
    if ase_rows:
        print(f"ASE: {len(ase_rows)} pair(s) from the cache {args.ase_cache} ({ase_set['ase']}, same settings)")
    la = os.getloadavg()
    print(f"load average after: {la}" + ("  (LOAD > 1.5: wall times unreliable; evaluation counts are not "
                                          "affected)" if la[0] > 1.5 else ""), flush=True)
    print(json.dumps({"images": args.images, "ftol": ftol, "criterion": crit, "summary": summary, "pairs": rows}))


if __name__ == "__main__":
    main()
