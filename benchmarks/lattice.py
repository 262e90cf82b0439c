"""KMC throughput of the DPLM (issue 7), one core.

Case 1 (cooling): L = 200, phi_v = 0.005, uniform g, direct construction at T_I = 0.05,
cooling at nu_cool = 1e-4 down to T_end (default 0.002, the paper's protocol).
Case 2 (liquid): L = 100, phi_v = 0.01, T = 0.2, fixed T.

Peer: the authors' public C++ code (binary rate tree), adapted to this paper's rates,
does 2.9e6 events/s in case 1 (214 million events in 73 s, plus 30 s and 12.4 GB to fill
its N^2 table) and 1.9e6 events/s in case 2, as stated in issue 7. That code is NOT
available here, so the ratios below are against those stated figures, not a same-run peer.

Usage: python benchmarks/lattice.py [--quick]   (quick: cooling only down to T = 0.02)
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import time


from twolevel.lattice import gdist
from twolevel.lattice.model import DPLM
from twolevel.lattice.protocol import CoolingOptions, cool, run_fixed

PEER_COOL = 2.9e6
PEER_LIQUID = 1.9e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--T-end", type=float, default=None)
    ap.add_argument("--liquid-events", type=int, default=20_000_000)
    a = ap.parse_args()
    T_end = a.T_end or (0.02 if a.quick else 0.002)
    g = gdist.uniform()
    # warm-up compile on a tiny system
    w = DPLM("square", 20, 0.02, g, seed=0)
    w.start(0.05)
    cool(w, 0.05, CoolingOptions(nu=1.0, T_end=0.04, returns_from_snapshots=False))
    run_fixed(w, 0.2, events=1000, chunks=1)

    t0 = time.perf_counter()
    m = DPLM("square", 200, 0.005, g, seed=1)
    m.start(0.05)
    setup = time.perf_counter() - t0
    opts = CoolingOptions(nu=1e-4, T_end=T_end, returns_from_snapshots=False, D_every=10**9)
    r = cool(m, 0.05, opts)
    ev_cool = r.meta["events"]
    rate_cool = r.meta["events_per_cpu_s"]  # CPU time of this process: robust on a shared machine
    print(f"cooling L=200 phi_v=0.005 T_I=0.05 nu=1e-4 to T={T_end}: {ev_cool:.4g} events in {r.meta['cpu_s']:.1f} CPU s ({r.meta['wall_s']:.1f} s wall)"
          f" = {rate_cool:.3g} events/CPU-s (set-up {setup:.2f} s, arrays {m.memory_bytes() / 1e6:.1f} MB)")
    print(f"  running E = {r.meta['E_running_end']:.10g}, recomputed E = {r.meta['E_exact_end']:.10g}")

    l = DPLM("square", 100, 0.01, g, seed=2)
    l.start(0.2)
    out = run_fixed(l, 0.2, events=a.liquid_events, chunks=10)
    rate_liq = out["events_per_cpu_s"]
    print(f"liquid L=100 phi_v=0.01 T=0.2: {a.liquid_events:.3g} events in {out['cpu_s']:.1f} CPU s ({out['wall_s']:.1f} s wall) = {rate_liq:.3g} events/CPU-s,"
          f" D = {out['D_total']:.4g}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"peak RSS of this process {peak:.0f} MB (Python + numba + arrays); peer: 12.4 GB for the N^2 table")
    print(f"ratio ours/peer (peer = figures stated in issue 7, not re-run here): cooling {rate_cool / PEER_COOL:.2f},"
          f" liquid {rate_liq / PEER_LIQUID:.2f}")
    print(json.dumps({"bench": "lattice", "cool_events": ev_cool, "cool_events_per_s": rate_cool, "cool_wall_s": r.meta["wall_s"],
                      "cool_T_end": T_end, "liquid_events_per_s": rate_liq, "liquid_wall_s": out["wall_s"], "timing": "process CPU time", "setup_s": setup,
                      "arrays_MB_L200": m.memory_bytes() / 1e6, "peak_rss_MB": peak,
                      "peer_cool_events_per_s": PEER_COOL, "peer_liquid_events_per_s": PEER_LIQUID,
                      "ratio_cool": rate_cool / PEER_COOL, "ratio_liquid": rate_liq / PEER_LIQUID,
                      "peer_source": "issue 7 stated figures (authors' C++ code, not available here)"}))


if __name__ == "__main__":
    main()
