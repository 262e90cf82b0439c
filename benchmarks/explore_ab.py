"""PSS N = 1500 exploration, IS per CPU-minute, of any checkout of twolevel: the A/B behind the
issue #19 target (">= 2x today's 85"), run alternately against the code before issue #19.

The same protocol as benchmarks/explore.py --pss-only (the reference IS of shared/reference/pss,
T_exp = 0.04, Berendsen tau_t 0.1, dt 0.0025, a minimisation every 200 steps to max force 1e-6,
40 minimisations x 2 runs, seed 0), through whichever `explore_glass` signature the checkout
has. A short warm-up case runs first in the process, so the figure excludes the numba cache
loads (~1 s per process; a fresh process per round counted them before).

    python benchmarks/explore_ab.py --tree /path/to/checkout [--rounds 1]

Run it alternately for two trees (e.g. a `git worktree` at the commit before issue #19, f65b8df^)
in separate processes; it prints one JSON line.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tree", default=str(Path(__file__).resolve().parents[1]))
    ap.add_argument("--rounds", type=int, default=1)
    a = ap.parse_args()
    sys.path.insert(0, str(Path(a.tree) / "src"))
    import glob

    from twolevel import io
    from twolevel.explore import explore_glass

    ref = sorted(glob.glob(str(Path(__file__).resolve().parents[2] / "shared/reference/pss/*.data")))
    if not ref:
        raise SystemExit("shared/reference/pss not found beside the checkout")
    conf = io.read(ref[0])
    conf = type(conf)(conf.positions, conf.box, conf.types, conf.diameters, "pss", conf.meta)
    new_api = "n_cg" in inspect.signature(explore_glass).parameters or "params" in inspect.signature(explore_glass).parameters

    def case(tmp, label, n, runs):
        path = Path(tmp) / f"{label}.h5"
        io.write(path, conf)
        out = Path(tmp) / label
        t0 = time.process_time()
        if new_api:
            res = explore_glass(path, out, temperature=0.04, tau_cg=200 * 0.0025, dt=0.0025, n_cg=n, runs=runs,
                                ftol=1e-6, seed=0)
        else:
            res = explore_glass(path, out, 0.04, 200, n, runs, seed=0)
        cpu = time.process_time() - t0
        return {"n_is": res.n_is, "minimisations": res.minimisations, "cpu_s": cpu, "is_per_cpu_minute": res.n_is / cpu * 60}

    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        case(tmp, "warm", 3, 1)
        figs = [case(tmp, f"r{k}", 40, 2) for k in range(a.rounds)]
    print(json.dumps({"tree": a.tree, "rounds": figs, "load_before": load0, "load_after": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
