"""Validation: how long equilibrating one N = 1500 PSS sample at T_f = 0.07 takes (issue 3).

Usage: python validation/equilibrate_pss1500.py [OUT_DIR] [seed] [max_seconds]

Runs twolevel.prepare.prepare_sample(OUT_DIR, "pss", 1500, 0.07, seed) with the default
protocol (swap MC, p_swap = 0.2, >= 30 tau_alpha with a stationary energy; 001 "Glass
preparation") and prints the wall and CPU time, tau_alpha (sweeps), the run length in
tau_alpha, the verdict, and one JSON line. Resumable: a rerun continues from the checkpoint.
"""

from __future__ import annotations

import json
import sys
import time

from twolevel.prepare import prepare_sample


def main(out="runs/pss1500_Tf0.07", seed=1, max_seconds=3600.0):
    t0, c0 = time.perf_counter(), time.process_time()
    last = [0.0]

    def progress(frac, info):
        now = time.perf_counter() - t0
        if now - last[0] > 30:
            last[0] = now
            print(f"[{now:7.0f} s] {100 * frac:5.1f} %  t = {info.get('time', 0):.4g} sweeps  "
                  f"tau_alpha = {info.get('tau_alpha')}  run_tau = {info.get('run_tau', 0):.3g}", flush=True)

    meta = prepare_sample(out, "pss", 1500, 0.07, int(seed), progress=progress,
                          max_seconds=float(max_seconds))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    res = {"N": 1500, "T_f": 0.07, "seed": int(seed), "wall_s": wall, "cpu_s": cpu,
           "stored_wall_seconds": meta.get("wall_seconds"),
           "equilibrated": meta["equilibrated"], "reason": meta.get("reason"),
           "tau_alpha_sweeps": meta.get("tau_alpha"), "time_run_sweeps": meta.get("time_run"),
           "run_tau": meta.get("run_tau"), "drift_z": meta.get("drift_z"),
           "acceptance_translation": meta.get("acceptance_translation"),
           "acceptance_swap": meta.get("acceptance_swap"), "attempted_moves": meta.get("attempted_moves"),
           "energy_per_particle": meta.get("energy_per_particle")}
    print(json.dumps(res))
    return res


if __name__ == "__main__":
    a = sys.argv[1:]
    main(a[0] if a else "runs/pss1500_Tf0.07", int(a[1]) if len(a) > 1 else 1,
         float(a[2]) if len(a) > 2 else 3600.0)
